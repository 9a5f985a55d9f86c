//! The TOML as written: every section and key xfr53 takes, unknown ones
//! refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::audit::RawAudit;
use super::limits::RawLimits;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) listen: RawListen,
    #[serde(default)]
    pub(super) route53: RawRoute53,
    #[serde(default)]
    pub(super) tsig: BTreeMap<String, RawTsig>,
    #[serde(default)]
    pub(super) zone: Vec<RawZone>,
    #[serde(default)]
    pub(super) catalog: Vec<RawCatalog>,
    pub(super) state_dir: Option<PathBuf>,
    pub(super) alerts: Option<RawAlerts>,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default)]
    pub(super) audit: RawAudit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub(super) sns_topic_arn: String,
    pub(super) grace_seconds: Option<u64>,
    pub(super) region: Option<String>,
    pub(super) endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListen {
    #[serde(default)]
    pub(super) dns: Vec<String>,
    pub(super) http: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute53 {
    pub(super) region: Option<String>,
    pub(super) endpoint: Option<String>,
    pub(super) requests_per_second: Option<f64>,
    pub(super) insync_timeout_seconds: Option<u64>,
    pub(super) max_attempts: Option<u32>,
    pub(super) audit_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTsig {
    /// The key's name on the wire; default: the section's name.
    pub(super) name: Option<String>,
    pub(super) algorithm: Option<String>,
    pub(super) secret_file: Option<PathBuf>,
    pub(super) secret_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    pub(super) name: String,
    #[serde(default)]
    pub(super) primaries: Vec<String>,
    pub(super) notify_from: Option<Vec<String>>,
    pub(super) tsig: Option<String>,
    /// "optional" (default): unsigned NOTIFY accepted; "required": refused.
    pub(super) notify_tsig: Option<String>,
    pub(super) hosted_zone_id: Option<String>,
    /// An IAM role (often in another account) to assume for this zone's
    /// Route 53 requests.
    pub(super) role_arn: Option<String>,
    pub(super) serial_record: Option<String>,
    pub(super) serial_ttl: Option<u32>,
    #[serde(default)]
    pub(super) ignore: Vec<String>,
    pub(super) max_change: Option<String>,
    /// Record sets the hosted zone may hold (Route 53's quota for it).
    pub(super) record_set_quota: Option<usize>,
    /// Bounds on the SOA refresh and retry the daemon follows.
    pub(super) min_refresh_seconds: Option<u64>,
    pub(super) max_refresh_seconds: Option<u64>,
    /// Limit for connecting to a primary and each wait for its data.
    pub(super) timeout_seconds: Option<u64>,
    /// Limit for one whole sync, from the SOA query to INSYNC.
    pub(super) sync_timeout_seconds: Option<u64>,
    /// Bounds on one transfer; defaults follow record_set_quota.
    pub(super) max_transfer_records: Option<usize>,
    pub(super) max_transfer_bytes: Option<usize>,
    pub(super) transfer_timeout_seconds: Option<u64>,
}

/// A `[[catalog]]`: the catalog zone is transferred like a `[[zone]]`
/// (these keys mean what they mean there) and never synced; its members
/// are, with the same primaries, key and limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    /// The catalog zone's name.
    pub(super) zone: String,
    #[serde(default)]
    pub(super) primaries: Vec<String>,
    pub(super) notify_from: Option<Vec<String>>,
    pub(super) tsig: Option<String>,
    pub(super) notify_tsig: Option<String>,
    pub(super) min_refresh_seconds: Option<u64>,
    pub(super) max_refresh_seconds: Option<u64>,
    pub(super) timeout_seconds: Option<u64>,
    pub(super) max_transfer_records: Option<usize>,
    pub(super) max_transfer_bytes: Option<usize>,
    pub(super) transfer_timeout_seconds: Option<u64>,
    /// A member with no hosted zone gets a public one.
    #[serde(default)]
    pub(super) create_hosted_zones: bool,
    /// A removed member's hosted zone is deleted.
    #[serde(default)]
    pub(super) delete_removed: bool,
    /// What every member is synced with.
    #[serde(default)]
    pub(super) members: RawMembers,
}

/// `[catalog.members]`: the per-zone rules every member of a catalog gets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMembers {
    pub(super) serial_record: Option<String>,
    pub(super) serial_ttl: Option<u32>,
    #[serde(default)]
    pub(super) ignore: Vec<String>,
    pub(super) max_change: Option<String>,
    pub(super) record_set_quota: Option<usize>,
    pub(super) sync_timeout_seconds: Option<u64>,
}
