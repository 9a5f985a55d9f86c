//! xfr53: keeps an Amazon Route 53 hosted zone an exact copy of a zone
//! served by a primary nameserver.

pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod daemon;
pub mod dns;
pub mod heap;
pub mod notify_gate;
pub mod observe;
pub mod refusals;
pub mod route53;
pub mod scheduler;
pub mod state;
pub mod sync;
