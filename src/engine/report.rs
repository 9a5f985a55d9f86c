//! What one sync reports: how it ended, what the primary said, how long it
//! took. The daemon records it (metrics, logs, alerts, timers); the
//! commands print it.

use std::time::Duration;

use hickory_proto::rr::rdata::SOA;

use super::sync::SyncOutcome;
use crate::core::name::Name;
use crate::core::schedule::{Clamps, Timers};
use crate::core::serial::Serial;

#[derive(Debug)]
pub struct SyncReport {
    pub zone: Name,
    /// How the sync ended, or why it failed (the error names the zone).
    pub outcome: anyhow::Result<SyncOutcome>,
    /// The primary's SOA, when the sync got that far.
    pub primary: Option<PrimarySoa>,
    pub took: Duration,
    /// The sync worked on the whole zone (a whole-zone plan, a full
    /// listing, a failure part-way): its memory is worth handing back.
    pub whole_zone: bool,
}

/// The primary's SOA: its serial and the timers a secondary follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrimarySoa {
    pub serial: Serial,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
}

impl From<&SOA> for PrimarySoa {
    fn from(soa: &SOA) -> PrimarySoa {
        PrimarySoa {
            serial: Serial(soa.serial()),
            refresh: soa.refresh() as u32,
            retry: soa.retry() as u32,
            expire: soa.expire() as u32,
        }
    }
}

impl PrimarySoa {
    /// The refresh, retry and expire timers, within the zone's clamps.
    pub fn timers(&self, clamps: Clamps) -> Timers {
        Timers::from_soa(self.refresh, self.retry, self.expire, clamps)
    }
}
