//! The DNS side: SOA queries, zone transfers and the NOTIFY listener, on
//! hickory-proto.

pub mod listener;
pub mod notify;
pub mod primary;
pub mod rate_limit;
pub mod soa;
pub mod transfer;
pub mod tsig;
pub mod wire;
