//! xfr53: keeps an Amazon Route 53 hosted zone an exact copy of a zone
//! served by a primary nameserver.

pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod daemon;
pub mod dns;
pub mod engine;
pub mod heap;
pub mod loaded;
pub mod observe;
pub mod refusals;
pub mod route53;
