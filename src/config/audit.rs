//! `[audit]`: how often each zone is checked against Route 53 for drift
//! (changes made there by hand or by another tool), how deeply, and
//! whether drift is repaired.

use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use super::ranges::{self, ranged_or};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    period_seconds: Option<u64>,
    deep_every: Option<u32>,
    repair_drift: Option<bool>,
}

/// The audit: each zone once a `period`, every `deep_every`th time listed
/// in full (else `_serial` alone is read).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuditSettings {
    pub period: Duration,
    pub deep_every: u32,
    /// Apply the plan that repairs drift found, under the safety rules.
    pub repair_drift: bool,
}

impl Default for AuditSettings {
    /// `_serial` of every zone hourly, each zone listed in full daily.
    fn default() -> AuditSettings {
        AuditSettings {
            period: Duration::from_secs(3600),
            deep_every: 24,
            repair_drift: false,
        }
    }
}

impl RawAudit {
    /// The audit, or `None` when `period_seconds = 0` turns it off.
    pub(super) fn check(&self) -> Result<Option<AuditSettings>> {
        let defaults = AuditSettings::default();
        let period = ranged_or(
            "audit.period_seconds",
            self.period_seconds,
            defaults.period.as_secs(),
            ranges::AUDIT_PERIOD_SECONDS,
        )?;
        let deep_every = ranged_or(
            "audit.deep_every",
            self.deep_every,
            defaults.deep_every,
            ranges::AUDIT_DEEP_EVERY,
        )?;
        Ok((period > 0).then(|| AuditSettings {
            period: Duration::from_secs(period),
            deep_every,
            repair_drift: self.repair_drift.unwrap_or(defaults.repair_drift),
        }))
    }
}
