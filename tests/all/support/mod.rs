//! Helpers shared by the tests.

pub mod route53_model;
pub mod zones;
