//! The TOML configuration: read, checked, and turned into the settings the
//! rest of xfr53 uses. Every error names the key and says how to fix it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;

use crate::core::name::Name;
use crate::core::rules::{TransferLimits, ZoneRules};
use crate::core::schedule::Clamps;

mod audit;
mod catalog;
mod limits;
pub mod ranges;
mod raw;
mod toml_error;
mod zone;

pub use audit::AuditSettings;
pub use catalog::CatalogConfig;
pub use limits::{HttpLimits, Limits, NotifyLimits};
use ranges::{hint, ranged_or};
use raw::{RawAlerts, RawConfig, RawListen, RawRoute53, RawTsig, RawZone};
use toml_error::toml_error;
use zone::{sync_deadline_warning, zone_config};

pub const DEFAULT_PATH: &str = "/etc/xfr53/xfr53.toml";
/// Where the state is kept unless `state_dir` or `--state-dir` says.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/xfr53";

/// Where the listeners bind.
#[derive(Clone, Debug, Default)]
pub struct Listen {
    pub dns: Vec<SocketAddr>,
    pub http: Option<SocketAddr>,
}

/// How Route 53 is reached.
#[derive(Clone, Debug, PartialEq)]
pub struct Route53Settings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub requests_per_second: f64,
    pub insync_timeout: Duration,
    /// Tries per request when Route 53 throttles or fails transiently.
    pub max_attempts: u32,
    /// The share of `requests_per_second` the audit may take.
    pub audit_share: f64,
}

impl Default for Route53Settings {
    fn default() -> Route53Settings {
        Route53Settings {
            region: None,
            endpoint: None,
            requests_per_second: 4.0,
            insync_timeout: Duration::from_secs(300),
            max_attempts: 8,
            audit_share: 0.2,
        }
    }
}

/// A `[tsig.<label>]` key as configured: where its secret is, not the
/// secret (read when the configuration is made ready to run, `loaded.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct TsigConfig {
    /// The key's name on the wire: `name`, else the section's label.
    pub name: String,
    pub algorithm: Option<String>,
    pub secret: SecretSource,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// One zone xfr53 keeps in sync.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneConfig {
    pub rules: ZoneRules,
    /// SOA queries and transfers go here, in order, and nowhere else.
    pub primaries: Vec<SocketAddr>,
    pub notify_from: Vec<IpNet>,
    /// The label of the `[tsig.<label>]` key for SOA queries, transfers
    /// and NOTIFY.
    pub tsig: Option<String>,
    /// An unsigned NOTIFY is refused.
    pub notify_tsig_required: bool,
    /// Limit for connecting to a primary, and for each wait for its data.
    pub timeout: Duration,
    /// What one transfer may take.
    pub transfer: TransferLimits,
    pub hosted_zone_id: Option<String>,
    /// Route 53 requests for this zone use this role's credentials
    /// (assumed with the standard chain's), else the chain's own.
    pub role_arn: Option<String>,
    pub clamps: Clamps,
    /// A sync still running after this is abandoned and counted failed.
    pub sync_timeout: Duration,
}

/// `sync_timeout_seconds` when unset: room for a large AXFR and a paced
/// apply, short enough that a stalled zone is noticed the same hour.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(900);

/// Where alerts go: an SNS topic.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSettings {
    pub sns_topic_arn: String,
    /// How long a zone fails before the alert is sent.
    pub grace: Duration,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub listen: Listen,
    pub route53: Route53Settings,
    /// The `[tsig.<label>]` keys by label.
    pub tsig: BTreeMap<String, TsigConfig>,
    pub state_dir: Option<PathBuf>,
    pub zones: Vec<ZoneConfig>,
    /// The `[[catalog]]` zones whose members are synced too.
    pub catalogs: Vec<CatalogConfig>,
    pub alerts: Option<AlertSettings>,
    pub limits: Limits,
    /// `None`: off.
    pub audit: Option<AuditSettings>,
    /// Settings that work but are risky; logged at every load.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| {
                format!(
                    "cannot read the configuration {}: give its path with --config (default {DEFAULT_PATH}); examples/xfr53.toml in the source, installed by the package as {DEFAULT_PATH}, is a commented example",
                    path.display()
                )
            })?;
        let config =
            Config::parse(&text).with_context(|| format!("configuration {}", path.display()))?;
        for warning in &config.warnings {
            tracing::warn!("configuration {}: {warning}", path.display());
        }
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut warnings = Vec::new();
        let mut keys = BTreeMap::new();
        for (label, tsig) in &raw.tsig {
            keys.insert(label.clone(), tsig_config(label, tsig)?);
        }
        if raw
            .state_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            bail!(
                "state_dir = \"\": give a directory, or leave state_dir out for the default {}",
                DEFAULT_STATE_DIR
            );
        }
        let listen = listen(&raw.listen)?;
        let route53 = route53(&raw.route53)?;
        let zones = zones(&raw.zone, &keys)?;
        let catalogs = catalog::catalogs(&raw.catalog, &keys, &zones)?;
        for zone in &zones {
            warnings.extend(sync_deadline_warning(zone, &route53));
        }
        let alerts = raw.alerts.map(alerts).transpose()?;
        Ok(Config {
            listen,
            route53,
            tsig: keys,
            state_dir: raw.state_dir,
            zones,
            catalogs,
            alerts,
            limits: raw.limits.check()?,
            audit: raw.audit.check()?,
            warnings,
        })
    }

    /// The state directory: `state_dir`, else the default.
    pub fn state_path(&self) -> PathBuf {
        (self.state_dir.clone()).unwrap_or_else(|| DEFAULT_STATE_DIR.into())
    }

    /// Fails when no zone or catalog is configured: there is nothing to run.
    pub fn require_zones(&self) -> Result<()> {
        if self.zones.is_empty() && self.catalogs.is_empty() {
            bail!("no [[zone]] or [[catalog]] is configured: add a [[zone]] (name, primaries) to keep in sync");
        }
        Ok(())
    }

    /// The configured zone `name`.
    pub fn zone(&self, name: &Name) -> Result<&ZoneConfig> {
        self.zones.iter().find(|z| z.rules.zone == *name).with_context(|| {
            format!("zone {name} is not in the configuration: add a [[zone]] section with name = \"{name}\"")
        })
    }
}

/// `[listen]`: the addresses to bind.
fn listen(raw: &RawListen) -> Result<Listen> {
    Ok(Listen {
        dns: raw
            .dns
            .iter()
            .map(|a| {
                a.parse().with_context(|| {
                    format!("listen.dns: {a:?} is not an address:port like \"0.0.0.0:53\"")
                })
            })
            .collect::<Result<_>>()?,
        http: raw
            .http
            .as_deref()
            .map(|a| {
                a.parse().with_context(|| {
                    format!("listen.http: {a:?} is not an address:port like \"127.0.0.1:9153\"")
                })
            })
            .transpose()?,
    })
}

/// `[route53]`: how Route 53 is reached.
fn route53(raw: &RawRoute53) -> Result<Route53Settings> {
    let defaults = Route53Settings::default();
    Ok(Route53Settings {
        region: raw.region.clone(),
        endpoint: raw.endpoint.clone(),
        requests_per_second: ranged_or(
            "route53.requests_per_second",
            raw.requests_per_second,
            defaults.requests_per_second,
            ranges::REQUESTS_PER_SECOND,
        )
        .map_err(|e| hint(e, "Route 53 allows about 5 requests per second per account"))?,
        insync_timeout: Duration::from_secs(ranged_or(
            "route53.insync_timeout_seconds",
            raw.insync_timeout_seconds,
            defaults.insync_timeout.as_secs(),
            ranges::INSYNC_TIMEOUT_SECONDS,
        )?),
        max_attempts: ranged_or(
            "route53.max_attempts",
            raw.max_attempts,
            defaults.max_attempts,
            ranges::MAX_ATTEMPTS,
        )?,
        audit_share: ranged_or(
            "route53.audit_share",
            raw.audit_share,
            defaults.audit_share,
            ranges::AUDIT_SHARE,
        )?,
    })
}

/// Every `[[zone]]`: each once, and no serial record inside another
/// configured zone.
fn zones(raw: &[RawZone], keys: &BTreeMap<String, TsigConfig>) -> Result<Vec<ZoneConfig>> {
    let mut zones: Vec<ZoneConfig> = Vec::new();
    for (i, zone) in raw.iter().enumerate() {
        let parsed =
            zone_config(zone, keys).with_context(|| format!("zone[{i}] ({})", zone.name))?;
        if zones.iter().any(|z| z.rules.zone == parsed.rules.zone) {
            bail!(
                "zone[{i}]: {} is configured twice; keep one [[zone]] section",
                parsed.rules.zone
            );
        }
        zones.push(parsed);
    }
    for zone in &zones {
        // a serial record inside a child zone xfr53 also syncs sits
        // below that zone's delegation: never answered
        let serial = &zone.rules.serial_name;
        if let Some(child) = zones.iter().find(|c| {
            c.rules.zone != zone.rules.zone
                && c.rules.zone.is_in(&zone.rules.zone)
                && serial.is_in(&c.rules.zone)
        }) {
            bail!(
                "zone {}: serial_record {serial} is inside zone {}, also configured, where it would never be answered: choose another serial_record",
                zone.rules.zone,
                child.rules.zone
            );
        }
    }
    Ok(zones)
}

/// `[alerts]`: the SNS topic.
fn alerts(raw: RawAlerts) -> Result<AlertSettings> {
    if !raw.sns_topic_arn.starts_with("arn:") {
        bail!("alerts.sns_topic_arn: {:?} is not an ARN like \"arn:aws:sns:us-east-1:123456789012:xfr53\"", raw.sns_topic_arn);
    }
    Ok(AlertSettings {
        sns_topic_arn: raw.sns_topic_arn,
        grace: Duration::from_secs(ranged_or(
            "alerts.grace_seconds",
            raw.grace_seconds,
            300,
            ranges::GRACE_SECONDS,
        )?),
        region: raw.region,
        endpoint: raw.endpoint,
    })
}

fn tsig_config(label: &str, raw: &RawTsig) -> Result<TsigConfig> {
    let secret = match (&raw.secret_file, &raw.secret_env) {
        (Some(file), None) => SecretSource::File(file.clone()),
        (None, Some(var)) => SecretSource::Env(var.clone()),
        _ => bail!("tsig.{label}: set exactly one of secret_file and secret_env"),
    };
    Ok(TsigConfig {
        name: raw.name.clone().unwrap_or_else(|| label.to_string()),
        algorithm: raw.algorithm.clone(),
        secret,
    })
}

#[cfg(test)]
mod tests;
