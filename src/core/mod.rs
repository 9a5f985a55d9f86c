//! The pure core: from DNS records to ordered Route 53 change batches.
//! No async, sockets, clocks or AWS SDK types live here.

pub mod alert;
pub mod catalog;
pub mod convert;
pub mod diff;
pub mod edits;
pub mod emptying;
pub mod escape;
pub mod hosted;
pub mod mnemonic;
pub mod name;
pub mod pipeline;
pub mod plan;
mod plan_text;
pub mod rrset;
pub mod rules;
pub mod schedule;
pub mod serial;
pub mod svcb;
pub mod value;
pub mod zone;
pub mod zonefile;
