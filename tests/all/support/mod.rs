//! Helpers shared by the tests.

pub mod bind;
pub mod programs;
pub mod route53_model;
pub mod zones;
