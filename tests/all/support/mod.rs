//! Helpers shared by the tests.

pub mod answers;
pub mod bind;
pub mod daemon;
pub mod http;
pub mod inprocess;
pub mod knot;
pub mod listener;
pub mod lost_answer;
pub mod memory_alerts;
pub mod memory_route53;
pub mod moto;
pub mod nsd;
pub mod pdns;
pub mod programs;
pub mod ready;
pub mod relay;
pub mod route53_backend;
pub mod route53_model;
pub mod server;
pub mod setup;
pub mod sns;
pub mod strict_route53;
pub mod zones;
