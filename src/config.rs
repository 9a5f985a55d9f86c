//! The TOML configuration: read, checked, and turned into the settings the
//! rest of xfr53 uses. Every error names the key and says how to fix it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use serde::Deserialize;

use crate::core::convert::MAX_TTL;
use crate::core::name::Name;
use crate::core::rules::{MaxChange, Pattern, ZoneRules, DEFAULT_RECORD_SET_QUOTA};
use crate::core::schedule::Clamps;
use crate::dns::notify::{NotifyPolicy, NotifyTsig, NotifyZone};
use crate::dns::primary::Primary;
use crate::dns::tsig::TsigKey;

mod limits;
pub use limits::Limits;

pub const DEFAULT_PATH: &str = "/etc/xfr53/xfr53.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    listen: RawListen,
    #[serde(default)]
    route53: RawRoute53,
    #[serde(default)]
    tsig: BTreeMap<String, RawTsig>,
    #[serde(default)]
    zone: Vec<RawZone>,
    state_dir: Option<PathBuf>,
    alerts: Option<RawAlerts>,
    #[serde(default)]
    limits: limits::RawLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    sns_topic_arn: String,
    grace_seconds: Option<u64>,
    region: Option<String>,
    endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    #[serde(default)]
    dns: Vec<String>,
    http: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute53 {
    region: Option<String>,
    endpoint: Option<String>,
    requests_per_second: Option<f64>,
    insync_timeout_seconds: Option<u64>,
    max_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTsig {
    /// The key's name on the wire; default: the section's name.
    name: Option<String>,
    algorithm: Option<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: String,
    #[serde(default)]
    primaries: Vec<String>,
    notify_from: Option<Vec<String>>,
    tsig: Option<String>,
    /// "optional" (default): unsigned NOTIFY accepted; "required": refused.
    notify_tsig: Option<String>,
    hosted_zone_id: Option<String>,
    serial_record: Option<String>,
    serial_ttl: Option<u32>,
    #[serde(default)]
    ignore: Vec<String>,
    max_change: Option<String>,
    /// Record sets the hosted zone may hold (Route 53's quota for it).
    record_set_quota: Option<usize>,
    /// Bounds on the SOA refresh and retry the daemon follows.
    min_refresh_seconds: Option<u64>,
    max_refresh_seconds: Option<u64>,
    /// Limit for connecting to a primary and each wait for its data.
    timeout_seconds: Option<u64>,
    /// Limit for one whole sync, from the SOA query to INSYNC.
    sync_timeout_seconds: Option<u64>,
}

/// Where the listeners bind.
#[derive(Clone, Debug, Default)]
pub struct Listen {
    pub dns: Vec<SocketAddr>,
    pub http: Option<SocketAddr>,
}

/// How Route 53 is reached.
#[derive(Clone, Debug)]
pub struct Route53Settings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub requests_per_second: f64,
    pub insync_timeout: Duration,
    /// Tries per request when Route 53 throttles or fails transiently.
    pub max_attempts: u32,
}

impl Default for Route53Settings {
    fn default() -> Route53Settings {
        Route53Settings {
            region: None,
            endpoint: None,
            requests_per_second: 4.0,
            insync_timeout: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

/// One zone xfr53 keeps in sync.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    pub rules: ZoneRules,
    /// SOA queries and transfers go here, in order, and nowhere else.
    pub primaries: Vec<Primary>,
    pub notify_from: Vec<IpNet>,
    pub key: Option<TsigKey>,
    pub notify_tsig: NotifyTsig,
    pub hosted_zone_id: Option<String>,
    pub clamps: Clamps,
    /// A sync still running after this is abandoned and counted failed.
    pub sync_timeout: Duration,
}

/// `sync_timeout_seconds` when unset: room for a large AXFR and a paced
/// apply, short enough that a stalled zone is noticed the same hour.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(900);

/// Where alerts go: an SNS topic.
#[derive(Clone, Debug)]
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
    pub state_dir: Option<PathBuf>,
    pub zones: Vec<ZoneConfig>,
    pub alerts: Option<AlertSettings>,
    pub limits: Limits,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("configuration {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text)?;
        let mut keys = BTreeMap::new();
        for (label, tsig) in &raw.tsig {
            keys.insert(label.clone(), tsig_key(label, tsig)?);
        }
        let listen = Listen {
            dns: raw
                .listen
                .dns
                .iter()
                .map(|a| {
                    a.parse().with_context(|| {
                        format!("listen.dns: {a:?} is not an address:port like \"0.0.0.0:53\"")
                    })
                })
                .collect::<Result<_>>()?,
            http: raw
                .listen
                .http
                .as_deref()
                .map(|a| {
                    a.parse().with_context(|| {
                        format!("listen.http: {a:?} is not an address:port like \"127.0.0.1:9153\"")
                    })
                })
                .transpose()?,
        };
        let defaults = Route53Settings::default();
        let route53 = Route53Settings {
            region: raw.route53.region,
            endpoint: raw.route53.endpoint,
            requests_per_second: raw
                .route53
                .requests_per_second
                .unwrap_or(defaults.requests_per_second),
            insync_timeout: raw
                .route53
                .insync_timeout_seconds
                .map_or(defaults.insync_timeout, Duration::from_secs),
            max_attempts: raw.route53.max_attempts.unwrap_or(defaults.max_attempts),
        };
        if route53.max_attempts == 0 {
            bail!("route53.max_attempts must be at least 1");
        }
        if route53.requests_per_second.is_nan() || route53.requests_per_second <= 0.0 {
            bail!("route53.requests_per_second must be above 0 (Route 53 allows about 5 per second per account)");
        }
        let mut zones: Vec<ZoneConfig> = Vec::new();
        for (i, zone) in raw.zone.iter().enumerate() {
            let parsed =
                zone_config(zone, &keys).with_context(|| format!("zone[{i}] ({})", zone.name))?;
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
        let alerts = raw.alerts.map(|a| AlertSettings {
            sns_topic_arn: a.sns_topic_arn,
            grace: Duration::from_secs(a.grace_seconds.unwrap_or(300)),
            region: a.region,
            endpoint: a.endpoint,
        });
        if let Some(alerts) = &alerts {
            if !alerts.sns_topic_arn.starts_with("arn:") {
                bail!("alerts.sns_topic_arn: {:?} is not an ARN like \"arn:aws:sns:us-east-1:123456789012:xfr53\"", alerts.sns_topic_arn);
            }
        }
        Ok(Config {
            listen,
            route53,
            state_dir: raw.state_dir,
            zones,
            alerts,
            limits: raw.limits.check()?,
        })
    }

    /// Fails when no zone is configured: there is nothing to run.
    pub fn require_zones(&self) -> Result<()> {
        if self.zones.is_empty() {
            bail!("no [[zone]] is configured: add one (name, primaries) to keep in sync");
        }
        Ok(())
    }

    /// Who may NOTIFY which zone.
    pub fn notify_policy(&self) -> NotifyPolicy {
        NotifyPolicy::new(self.zones.iter().map(|z| NotifyZone {
            zone: z.rules.zone.clone(),
            notify_from: z.notify_from.clone(),
            key: z.key.clone(),
            tsig: z.notify_tsig,
        }))
    }

    /// The configured zone `name`.
    pub fn zone(&self, name: &Name) -> Result<&ZoneConfig> {
        self.zones.iter().find(|z| z.rules.zone == *name).with_context(|| {
            format!("zone {name} is not in the configuration: add a [[zone]] section with name = \"{name}\"")
        })
    }
}

fn tsig_key(label: &str, raw: &RawTsig) -> Result<TsigKey> {
    let name = raw.name.as_deref().unwrap_or(label);
    let algorithm = raw.algorithm.as_deref();
    match (&raw.secret_file, &raw.secret_env) {
        (Some(file), None) => TsigKey::from_file(file, name, algorithm),
        (None, Some(var)) => TsigKey::from_env(var, name, algorithm),
        _ => bail!("tsig.{label}: set exactly one of secret_file and secret_env"),
    }
    .with_context(|| format!("tsig.{label}"))
}

fn zone_config(raw: &RawZone, keys: &BTreeMap<String, TsigKey>) -> Result<ZoneConfig> {
    let zone = Name::parse_route53(&raw.name).context("name: not a valid domain name")?;
    let key = match &raw.tsig {
        Some(label) => Some(keys.get(label).cloned().with_context(|| {
            format!("tsig = {label:?} names no [tsig.{label}] section: add one, or remove tsig")
        })?),
        None => None,
    };
    let notify_tsig = match (raw.notify_tsig.as_deref(), &key) {
        (None | Some("optional"), _) => NotifyTsig::Optional,
        (Some("required"), Some(_)) => NotifyTsig::Required,
        (Some("required"), None) => {
            bail!("notify_tsig = \"required\" needs a key: set tsig = \"<label>\" too")
        }
        (Some(other), _) => {
            bail!("notify_tsig = {other:?}: use \"optional\" (the default) or \"required\"")
        }
    };
    if raw.primaries.is_empty() {
        bail!("primaries: list at least one primary, e.g. primaries = [\"192.0.2.1:53\"]");
    }
    let timeout = Duration::from_secs(raw.timeout_seconds.unwrap_or(10));
    if timeout.is_zero() {
        bail!("timeout_seconds must be above 0");
    }
    let primaries: Vec<Primary> = raw
        .primaries
        .iter()
        .map(|p| {
            primary_addr(p).map(|addr| Primary {
                timeout,
                ..Primary::new(addr, key.clone())
            })
        })
        .collect::<Result<_>>()?;
    let notify_from = match &raw.notify_from {
        Some(prefixes) => prefixes
            .iter()
            .map(|p| {
                prefix(p).with_context(|| {
                    format!("notify_from: {p:?} is not an address or prefix like \"192.0.2.0/24\"")
                })
            })
            .collect::<Result<_>>()?,
        None => primaries.iter().map(|p| IpNet::from(p.addr.ip())).collect(),
    };
    let mut rules = ZoneRules::new(zone.clone());
    if let Some(record) = &raw.serial_record {
        rules.serial_name = Name::parse_presentation(record, &zone)
            .with_context(|| format!("serial_record: {record:?} is not a valid name"))?;
        if !rules.serial_name.is_in(&zone) || rules.serial_name == zone {
            bail!("serial_record: {record:?} must be a name below the zone, like \"_serial._dyn\"");
        }
    }
    if let Some(ttl) = raw.serial_ttl {
        if ttl > MAX_TTL {
            bail!("serial_ttl: {ttl} is over Route 53's maximum TTL of {MAX_TTL}");
        }
        rules.serial_ttl = ttl;
    }
    rules.ignore = raw.ignore.iter().map(|g| Pattern::new(g)).collect();
    check_serial_record(&rules)?;
    if let Some(max) = &raw.max_change {
        rules.max_change = max.parse::<MaxChange>().map_err(anyhow::Error::msg)?;
    }
    if let Some(quota) = raw.record_set_quota {
        if quota < MIN_RECORD_SET_QUOTA {
            bail!("record_set_quota must be at least {MIN_RECORD_SET_QUOTA} (the hosted zone's own SOA and NS, and the serial record); Route 53's default is {DEFAULT_RECORD_SET_QUOTA}");
        }
        rules.record_set_quota = quota;
    }
    let defaults = Clamps::default();
    let clamps = Clamps {
        min: raw
            .min_refresh_seconds
            .map_or(defaults.min, Duration::from_secs),
        max: raw
            .max_refresh_seconds
            .map_or(defaults.max, Duration::from_secs),
    };
    if clamps.min.is_zero() || clamps.min > clamps.max {
        bail!("min_refresh_seconds must be above 0 and at most max_refresh_seconds");
    }
    Ok(ZoneConfig {
        rules,
        primaries,
        notify_from,
        key,
        notify_tsig,
        hosted_zone_id: raw.hosted_zone_id.clone(),
        clamps,
        sync_timeout: raw
            .sync_timeout_seconds
            .map_or(DEFAULT_SYNC_TIMEOUT, Duration::from_secs),
    })
}

/// A hosted zone holds at least its SOA, its NS and the serial record.
const MIN_RECORD_SET_QUOTA: usize = 3;

/// What can be told about the serial record without the zone: it is not a
/// wildcard, and not a name the zone's `ignore` leaves alone. (Records of
/// the zone at its name are refused when a sync converts the zone.)
fn check_serial_record(rules: &ZoneRules) -> Result<()> {
    let name = &rules.serial_name;
    if name.labels().first().is_some_and(|l| l == b"*") {
        bail!("serial_record: {name} is a wildcard, which would answer for every name below it: choose a name like \"_serial._dyn\"");
    }
    if let Some(pattern) = rules.ignored_by(name) {
        bail!(
            "serial_record: {name} matches ignore pattern {:?}, names xfr53 never touches: choose another serial_record or narrow the pattern",
            pattern.as_str()
        );
    }
    Ok(())
}

/// `192.0.2.1:53`, `[2001:db8::1]:53`, or an address alone (port 53).
fn primary_addr(text: &str) -> Result<SocketAddr> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .with_context(|| format!("primaries: {text:?} is not an address like \"192.0.2.1:53\" (names are not resolved)"))
}

fn prefix(text: &str) -> Result<IpNet> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(anyhow::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_values() {
        let config = Config::parse(
            "[[zone]]\nname = \"Example.com\"\nprimaries = [\"192.0.2.1\", \"[2001:db8::1]:5353\"]\n",
        )
        .unwrap();
        let zone = &config.zones[0];
        assert_eq!(zone.rules.zone.as_str(), "example.com.");
        assert_eq!(zone.rules.serial_name.as_str(), "_serial._dyn.example.com.");
        assert_eq!(zone.primaries[0].addr, "192.0.2.1:53".parse().unwrap());
        assert_eq!(
            zone.notify_from.len(),
            2,
            "notify_from defaults to the primaries"
        );
        assert_eq!(config.route53.requests_per_second, 4.0);
        assert_eq!(zone.rules.record_set_quota, 10_000);
        assert_eq!(
            zone.notify_tsig,
            NotifyTsig::Optional,
            "unsigned NOTIFY is accepted unless asked otherwise"
        );
        assert_eq!(zone.rules.record_set_quota, 10_000);
    }

    #[test]
    fn notify_tsig_required_reaches_the_notify_policy() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("k.key");
        std::fs::write(&secret, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
        let text = format!(
            "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = {:?}\n\n[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\ntsig = \"k\"\nnotify_tsig = \"required\"\n",
            secret.display().to_string()
        );
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.zones[0].notify_tsig, NotifyTsig::Required);
        // an unsigned NOTIFY from the primary is refused by the policy built
        let mut notify = hickory_proto::op::Message::new();
        notify
            .set_op_code(hickory_proto::op::OpCode::Notify)
            .add_query(hickory_proto::op::Query::query(
                "a.test.".parse().unwrap(),
                hickory_proto::rr::RecordType::SOA,
            ));
        let handled = crate::dns::notify::handle(
            &config.notify_policy(),
            &notify.to_vec().unwrap(),
            "192.0.2.1:5300".parse().unwrap(),
            0,
        );
        assert_eq!(
            handled.verdict,
            crate::dns::notify::Verdict::UnsignedRefused
        );
    }

    #[test]
    fn a_raised_record_set_quota_and_a_parent_zone_beside_its_child() {
        let config = Config::parse(
            "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nrecord_set_quota = 25000\n[[zone]]\nname = \"sub.a.test\"\nprimaries = [\"192.0.2.1\"]\n",
        )
        .unwrap();
        assert_eq!(config.zones[0].rules.record_set_quota, 25_000);
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases = [
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\ntsig = \"nope\"\n", "zone[0] (a.test): tsig = \"nope\" names no [tsig.nope] section"),
            ("[[zone]]\nname = \"a.test\"\n", "primaries: list at least one primary"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"ns1.example\"]\n", "names are not resolved"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nmax_change = \"lots\"\n", "max_change \"lots\""),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"x.other.\"\n", "must be a name below the zone"),
            ("[route53]\nregoin = \"us-east-1\"\n", "unknown field `regoin`"),
            ("[tsig.k]\nalgorithm = \"hmac-sha256\"\n", "tsig.k: set exactly one of secret_file and secret_env"),
            ("[listen]\ndns = [\"0.0.0.0\"]\n", "listen.dns"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nnotify_tsig = \"required\"\n", "zone[0] (a.test): notify_tsig = \"required\" needs a key: set tsig"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nnotify_tsig = \"yes\"\n", "notify_tsig = \"yes\": use \"optional\" (the default) or \"required\""),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"@\"\n", "must be a name below the zone"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"*\"\n", "serial_record: \\052.a.test. is a wildcard"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"*._dyn\"\n", "is a wildcard, which would answer for every name below it"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nignore = [\"_serial*\"]\n", "serial_record: _serial._dyn.a.test. matches ignore pattern \"_serial*\", names xfr53 never touches: choose another serial_record or narrow the pattern"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"_serial.sub\"\n[[zone]]\nname = \"sub.a.test\"\nprimaries = [\"192.0.2.1\"]\n", "zone a.test.: serial_record _serial.sub.a.test. is inside zone sub.a.test., also configured"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nrecord_set_quota = 2\n", "record_set_quota must be at least 3"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_ttl = 2147483648\n", "serial_ttl: 2147483648 is over Route 53's maximum TTL of 2147483647"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
