//! The TOML configuration: read, checked, and turned into the settings the
//! rest of xfr53 uses. Every error names the key and says how to fix it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use serde::Deserialize;

use crate::core::name::Name;
use crate::core::rules::{
    MaxChange, Pattern, TransferLimits, ZoneRules, BYTES_PER_RECORD, DEFAULT_RECORD_SET_QUOTA,
};
use crate::core::schedule::Clamps;

mod limits;
pub use limits::{Limits, NotifyLimits};

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
    /// Bounds on one transfer; defaults follow record_set_quota.
    max_transfer_records: Option<usize>,
    max_transfer_bytes: Option<usize>,
    transfer_timeout_seconds: Option<u64>,
}

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
    pub alerts: Option<AlertSettings>,
    pub limits: Limits,
    /// Settings that work but are risky; logged at every load.
    pub warnings: Vec<String>,
}

/// The allowed range of every numeric setting: wide enough for any real
/// deployment, narrow enough that no timer or rate computed from it can
/// overflow or stall.
pub mod ranges {
    use std::ops::RangeInclusive;

    /// Route 53 allows 5 requests per second per account; below one
    /// request in ten seconds a sync of a big zone would take days.
    pub const REQUESTS_PER_SECOND: RangeInclusive<f64> = 0.1..=100.0;
    /// 0: do not wait for INSYNC.
    pub const INSYNC_TIMEOUT_SECONDS: RangeInclusive<u64> = 0..=86_400;
    pub const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=100;
    pub const GRACE_SECONDS: RangeInclusive<u64> = 0..=2_592_000;
    pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=300;
    /// Up to BIND's largest max-refresh-time (4 weeks).
    pub const REFRESH_SECONDS: RangeInclusive<u64> = 1..=2_419_200;
    /// DNS TTLs are 31-bit (RFC 2181 section 8), as are Route 53's.
    pub const TTL: RangeInclusive<u32> = 0..=crate::core::convert::MAX_TTL;
    pub const RECORD_SET_QUOTA: RangeInclusive<usize> = 3..=10_000_000;
    /// The smallest transfer: the SOA twice and one more record.
    pub const MAX_TRANSFER_RECORDS: RangeInclusive<usize> = 3..=100_000_000;
    /// At least one full-size message.
    pub const MAX_TRANSFER_BYTES: RangeInclusive<usize> = 65_535..=68_719_476_736;
    pub const TRANSFER_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=86_400;
    pub const SYNC_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=86_400;
}

/// `value` of `setting` when it lies in `range`, else an error naming both.
fn ranged<T: PartialOrd + Debug>(setting: &str, value: T, range: RangeInclusive<T>) -> Result<T> {
    if !range.contains(&value) {
        bail!(
            "{setting} = {value:?} is outside the allowed range {:?} to {:?}",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

/// `error` followed by what to know to fix it.
fn hint(error: anyhow::Error, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("{error}: {hint}")
}

/// `ranged` for an optional setting with a default.
fn ranged_or<T: PartialOrd + Debug>(
    setting: &str,
    value: Option<T>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T> {
    value.map_or(Ok(default), |v| ranged(setting, v, range))
}

fn clamped<T: Ord + Copy>(value: T, range: RangeInclusive<T>) -> T {
    value.clamp(*range.start(), *range.end())
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
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
                crate::engine::state::DEFAULT_DIR
            );
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
            requests_per_second: ranged_or(
                "route53.requests_per_second",
                raw.route53.requests_per_second,
                defaults.requests_per_second,
                ranges::REQUESTS_PER_SECOND,
            )
            .map_err(|e| hint(e, "Route 53 allows about 5 requests per second per account"))?,
            insync_timeout: Duration::from_secs(ranged_or(
                "route53.insync_timeout_seconds",
                raw.route53.insync_timeout_seconds,
                defaults.insync_timeout.as_secs(),
                ranges::INSYNC_TIMEOUT_SECONDS,
            )?),
            max_attempts: ranged_or(
                "route53.max_attempts",
                raw.route53.max_attempts,
                defaults.max_attempts,
                ranges::MAX_ATTEMPTS,
            )?,
        };
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
            warnings.extend(sync_deadline_warning(zone, &route53));
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
        let alerts = match raw.alerts {
            Some(a) => Some(AlertSettings {
                sns_topic_arn: a.sns_topic_arn,
                grace: Duration::from_secs(ranged_or(
                    "alerts.grace_seconds",
                    a.grace_seconds,
                    300,
                    ranges::GRACE_SECONDS,
                )?),
                region: a.region,
                endpoint: a.endpoint,
            }),
            None => None,
        };
        if let Some(alerts) = &alerts {
            if !alerts.sns_topic_arn.starts_with("arn:") {
                bail!("alerts.sns_topic_arn: {:?} is not an ARN like \"arn:aws:sns:us-east-1:123456789012:xfr53\"", alerts.sns_topic_arn);
            }
        }
        Ok(Config {
            listen,
            route53,
            tsig: keys,
            state_dir: raw.state_dir,
            zones,
            alerts,
            limits: raw.limits.check()?,
            warnings,
        })
    }

    /// Fails when no zone is configured: there is nothing to run.
    pub fn require_zones(&self) -> Result<()> {
        if self.zones.is_empty() {
            bail!("no [[zone]] is configured: add one (name, primaries) to keep in sync");
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

fn zone_config(raw: &RawZone, keys: &BTreeMap<String, TsigConfig>) -> Result<ZoneConfig> {
    let zone = Name::parse_route53(&raw.name).context("name: not a valid domain name")?;
    if let Some(label) = raw.tsig.as_ref().filter(|label| !keys.contains_key(*label)) {
        bail!("tsig = {label:?} names no [tsig.{label}] section: add one, or remove tsig");
    }
    let notify_tsig_required = match (raw.notify_tsig.as_deref(), &raw.tsig) {
        (None | Some("optional"), _) => false,
        (Some("required"), Some(_)) => true,
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
    let timeout = Duration::from_secs(ranged_or(
        "timeout_seconds",
        raw.timeout_seconds,
        10,
        ranges::TIMEOUT_SECONDS,
    )?);
    let quota = ranged_or(
        "record_set_quota",
        raw.record_set_quota,
        DEFAULT_RECORD_SET_QUOTA,
        ranges::RECORD_SET_QUOTA,
    )
    .map_err(|e| hint(e, "the hosted zone holds its own SOA and NS, and the serial record; Route 53's default quota is 10000"))?;
    // Each default follows the final value it derives from, kept in range.
    let defaults = TransferLimits::for_quota(quota);
    let max_records = ranged_or(
        "max_transfer_records",
        raw.max_transfer_records,
        clamped(defaults.max_records, ranges::MAX_TRANSFER_RECORDS),
        ranges::MAX_TRANSFER_RECORDS,
    )?;
    let transfer = TransferLimits {
        max_records,
        max_bytes: ranged_or(
            "max_transfer_bytes",
            raw.max_transfer_bytes,
            clamped(
                max_records.saturating_mul(BYTES_PER_RECORD),
                ranges::MAX_TRANSFER_BYTES,
            ),
            ranges::MAX_TRANSFER_BYTES,
        )?,
        deadline: Duration::from_secs(ranged_or(
            "transfer_timeout_seconds",
            raw.transfer_timeout_seconds,
            defaults.deadline.as_secs(),
            ranges::TRANSFER_TIMEOUT_SECONDS,
        )?),
    };
    let primaries: Vec<SocketAddr> = (raw.primaries.iter())
        .map(|p| primary_addr(p))
        .collect::<Result<_>>()?;
    let notify_from: Vec<IpNet> = match &raw.notify_from {
        Some(prefixes) => prefixes
            .iter()
            .map(|p| {
                prefix(p).with_context(|| {
                    format!("notify_from: {p:?} is not an address or prefix like \"192.0.2.0/24\"")
                })
            })
            .collect::<Result<_>>()?,
        None => primaries.iter().map(|p| IpNet::from(p.ip())).collect(),
    };
    if !notify_tsig_required {
        if let Some(wide) = notify_from.iter().find(|p| is_wide(p)) {
            bail!("notify_from: {wide} lets a large part of the internet make xfr53 query the primary: list the primary's NOTIFY source addresses, or set notify_tsig = \"required\"");
        }
    }
    let mut rules = ZoneRules::new(zone.clone());
    if let Some(record) = &raw.serial_record {
        rules.serial_name = Name::parse_presentation(record, &zone)
            .with_context(|| format!("serial_record: {record:?} is not a valid name"))?;
        if !rules.serial_name.is_in(&zone) || rules.serial_name == zone {
            bail!("serial_record: {record:?} must be a name below the zone, like \"_serial._dyn\"");
        }
    }
    if let Some(ttl) = raw.serial_ttl {
        rules.serial_ttl = ranged("serial_ttl", ttl, ranges::TTL)?;
    }
    rules.ignore = raw.ignore.iter().map(|g| Pattern::new(g)).collect();
    check_serial_record(&rules)?;
    if let Some(max) = &raw.max_change {
        rules.max_change = max.parse::<MaxChange>().map_err(anyhow::Error::msg)?;
    }
    rules.record_set_quota = quota;
    let defaults = Clamps::default();
    let clamps = Clamps {
        min: Duration::from_secs(ranged_or(
            "min_refresh_seconds",
            raw.min_refresh_seconds,
            defaults.min.as_secs(),
            ranges::REFRESH_SECONDS,
        )?),
        max: Duration::from_secs(ranged_or(
            "max_refresh_seconds",
            raw.max_refresh_seconds,
            defaults.max.as_secs(),
            ranges::REFRESH_SECONDS,
        )?),
    };
    if clamps.min > clamps.max {
        bail!(
            "min_refresh_seconds = {} is above max_refresh_seconds = {}",
            clamps.min.as_secs(),
            clamps.max.as_secs()
        );
    }
    Ok(ZoneConfig {
        rules,
        primaries,
        notify_from,
        tsig: raw.tsig.clone(),
        notify_tsig_required,
        timeout,
        transfer,
        hosted_zone_id: raw.hosted_zone_id.clone(),
        clamps,
        sync_timeout: Duration::from_secs(ranged_or(
            "sync_timeout_seconds",
            raw.sync_timeout_seconds,
            DEFAULT_SYNC_TIMEOUT.as_secs(),
            ranges::SYNC_TIMEOUT_SECONDS,
        )?),
    })
}

/// A sync deadline that a sync using its other deadlines in full overruns:
/// IXFR then an AXFR fallback, each bounded by the transfer deadline, then
/// the INSYNC wait. Only a warning: those deadlines are ceilings against a
/// hostile or stuck primary, and most syncs end far below them.
fn sync_deadline_warning(zone: &ZoneConfig, route53: &Route53Settings) -> Option<String> {
    let transfer = zone.transfer.deadline;
    let needed = 2 * transfer + route53.insync_timeout;
    (zone.sync_timeout < needed).then(|| {
        format!(
            "zone {}: sync_timeout_seconds = {} is below 2 x transfer_timeout_seconds ({}) + route53.insync_timeout_seconds ({}) = {}: a sync whose IXFR and AXFR fallback each run near their deadline is abandoned before INSYNC; raise sync_timeout_seconds or lower the others",
            zone.rules.zone,
            zone.sync_timeout.as_secs(),
            transfer.as_secs(),
            route53.insync_timeout.as_secs(),
            needed.as_secs()
        )
    })
}

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

/// A prefix wider than a /8 (IPv4) or /16 (IPv6): a large part of the
/// internet, or all of it.
fn is_wide(prefix: &IpNet) -> bool {
    match prefix {
        IpNet::V4(p) => p.prefix_len() < 8,
        IpNet::V6(p) => p.prefix_len() < 16,
    }
}

/// A TOML error as line, column, section, key and message, never the
/// source line: the line may hold a secret (BIND's `secret = "..."`).
/// Quoted values in the message are left out for the same reason.
fn toml_error(text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message = redact_quoted(error.message().trim());
    let Some(span) = error.span() else {
        return anyhow::anyhow!("{message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let mut place = format!("line {line}, column {column}");
    let section = before
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| l.starts_with('['))
        .and_then(|l| l.split(']').next())
        .map(|l| l.trim_start_matches('['));
    let is_section = |s: &&str| {
        s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if let Some(section) = section.filter(is_section) {
        place.push_str(&format!(", in [{section}]"));
    }
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let current = text[line_start..].lines().next().unwrap_or("");
    // xfr53's keys are lowercase words: a base64 secret pasted alone on a
    // line (its padding looks like `=`) has capitals or digits
    let key = current.split_once('=').map(|(k, _)| k.trim());
    if let Some(key) = key.filter(|k| {
        !k.is_empty() && k.len() <= 40 && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }) {
        place.push_str(&format!(", key {key}"));
    }
    anyhow::anyhow!("TOML error at {place}: {message}")
}

/// `message` with the text of every quoted span replaced: "basic" and
/// 'literal' strings, and `names` (serde's quoting) unless shaped like
/// xfr53's keys or a number (lowercase words, so an unknown-key typo still
/// shows; a base64 secret mixes capitals, digits and letters).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        out.push(c);
        // an apostrophe inside a word ("can't") opens nothing
        let opens = c == '"' || c == '`' || (c == '\'' && !previous.is_alphanumeric());
        previous = c;
        if !opens {
            continue;
        }
        let mut span = String::new();
        while let Some(next) = chars.next() {
            match next {
                '\\' if c == '"' => {
                    chars.next();
                }
                close if close == c => break,
                other => span.push(other),
            }
        }
        let shown = c == '`'
            && (1..=40).contains(&span.len())
            && (span.chars().all(|k| k.is_ascii_lowercase() || k == '_')
                || span
                    .chars()
                    .all(|k| k.is_ascii_digit() || "+-.".contains(k)));
        out.push_str(if shown { &span } else { "..." });
        out.push(c);
    }
    out
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
    fn quoted_spans_are_redacted_but_key_names_stay() {
        assert_eq!(
            redact_quoted("unknown field `Zm9v+Kg==`, expected one of `secret_file`, `secret_env`"),
            "unknown field `...`, expected one of `secret_file`, `secret_env`"
        );
        assert_eq!(
            redact_quoted("unknown field `primarys`; invalid type: string \"a\\\"b\", 'lit' can't"),
            "unknown field `primarys`; invalid type: string \"...\", '...' can't"
        );
    }

    #[test]
    fn defaults_and_derived_values() {
        let config = Config::parse(
            "[[zone]]\nname = \"Example.com\"\nprimaries = [\"192.0.2.1\", \"[2001:db8::1]:5353\"]\n",
        )
        .unwrap();
        let zone = &config.zones[0];
        assert_eq!(zone.rules.zone.as_str(), "example.com.");
        assert_eq!(zone.rules.serial_name.as_str(), "_serial._dyn.example.com.");
        assert_eq!(zone.primaries[0], "192.0.2.1:53".parse().unwrap());
        assert_eq!(
            zone.notify_from.len(),
            2,
            "notify_from defaults to the primaries"
        );
        assert_eq!(config.route53.requests_per_second, 4.0);
        assert_eq!(zone.rules.record_set_quota, 10_000);
        assert!(
            !zone.notify_tsig_required,
            "unsigned NOTIFY is accepted unless asked otherwise"
        );
        assert_eq!(zone.rules.record_set_quota, 10_000);
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
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nrecord_set_quota = 2\n", "record_set_quota = 2 is outside the allowed range 3 to 10000000: the hosted zone holds its own SOA and NS"),
            ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_ttl = 2147483648\n", "serial_ttl = 2147483648 is outside the allowed range 0 to 2147483647"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }

    fn zone_with(setting: &str) -> String {
        format!("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\n{setting}\n")
    }

    #[test]
    fn every_numeric_setting_is_range_checked_with_its_name_and_range() {
        let cases = [
            ("[route53]\nrequests_per_second = 1e-30\n".to_string(), "route53.requests_per_second = 1e-30 is outside the allowed range 0.1 to 100.0"),
            ("[route53]\nrequests_per_second = 1e-300\n".into(), "route53.requests_per_second = 1e-300 is outside"),
            ("[route53]\nrequests_per_second = nan\n".into(), "route53.requests_per_second = NaN is outside"),
            ("[route53]\nrequests_per_second = inf\n".into(), "route53.requests_per_second = inf is outside"),
            ("[route53]\nrequests_per_second = 0.0\n".into(), "route53.requests_per_second = 0.0 is outside"),
            ("[route53]\ninsync_timeout_seconds = 9223372036854775807\n".into(), "route53.insync_timeout_seconds = 9223372036854775807 is outside"),
            ("[route53]\nmax_attempts = 0\n".into(), "route53.max_attempts = 0 is outside the allowed range 1 to 100"),
            ("[alerts]\nsns_topic_arn = \"arn:aws:sns:us-east-1:1:x\"\ngrace_seconds = 9223372036854775807\n".into(), "alerts.grace_seconds = 9223372036854775807 is outside the allowed range 0 to 2592000"),
            (zone_with("sync_timeout_seconds = 0"), "sync_timeout_seconds = 0 is outside the allowed range 1 to 86400"),
            (zone_with("timeout_seconds = 0"), "zone[0] (a.test): timeout_seconds = 0 is outside the allowed range 1 to 300"),
            (zone_with("timeout_seconds = 9223372036854775807"), "timeout_seconds = 9223372036854775807 is outside"),
            (zone_with("min_refresh_seconds = 0"), "min_refresh_seconds = 0 is outside the allowed range 1 to 2419200"),
            (zone_with("max_refresh_seconds = 9223372036854775807"), "max_refresh_seconds = 9223372036854775807 is outside"),
            (zone_with("min_refresh_seconds = 600\nmax_refresh_seconds = 60"), "min_refresh_seconds = 600 is above max_refresh_seconds = 60"),
            (zone_with("serial_ttl = 4294967295"), "serial_ttl = 4294967295 is outside the allowed range 0 to 2147483647"),
            (zone_with("record_set_quota = 100000000"), "record_set_quota = 100000000 is outside"),
            (zone_with("max_transfer_records = 2"), "max_transfer_records = 2 is outside the allowed range 3 to 100000000"),
            (zone_with("max_transfer_bytes = 100"), "max_transfer_bytes = 100 is outside the allowed range 65535 to 68719476736"),
            (zone_with("transfer_timeout_seconds = 0"), "transfer_timeout_seconds = 0 is outside the allowed range 1 to 86400"),
            (zone_with("transfer_timeout_seconds = 9223372036854775807"), "transfer_timeout_seconds = 9223372036854775807 is outside"),
            ("state_dir = \"\"\n".into(), "state_dir = \"\": give a directory, or leave state_dir out for the default /var/lib/xfr53"),
            (zone_with("notify_from = [\"0.0.0.0/0\"]"), "notify_from: 0.0.0.0/0 lets a large part of the internet make xfr53 query the primary"),
            (zone_with("notify_from = [\"192.0.2.1\", \"::/0\"]"), "notify_from: ::/0 lets a large part"),
            (zone_with("notify_from = [\"0.0.0.0/1\", \"128.0.0.0/1\"]"), "notify_from: 0.0.0.0/1 lets"),
            // a negative number is no u64: serde names the type expected
            (zone_with("timeout_seconds = -1"), "line 4, column 19, in [zone], key timeout_seconds: invalid value: integer `-1`, expected u64"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }

    #[test]
    fn transfer_limits_follow_the_quota_unless_set() {
        let config = Config::parse(&zone_with("record_set_quota = 25000")).unwrap();
        let limits = config.zones[0].transfer;
        assert_eq!(limits.max_records, 250_000);
        assert_eq!(limits.max_bytes, 250_000 * 1024);
        assert_eq!(limits.deadline, Duration::from_secs(300));
        let config = Config::parse(&zone_with(
            "max_transfer_records = 500\nmax_transfer_bytes = 70000\ntransfer_timeout_seconds = 9",
        ))
        .unwrap();
        assert_eq!(
            config.zones[0].transfer,
            TransferLimits {
                max_records: 500,
                max_bytes: 70_000,
                deadline: Duration::from_secs(9)
            }
        );
    }

    #[test]
    fn the_byte_cap_follows_the_record_cap_and_stays_in_range() {
        let limits = |settings| Config::parse(&zone_with(settings)).unwrap().zones[0].transfer;
        let set = limits("max_transfer_records = 500000");
        assert_eq!((set.max_records, set.max_bytes), (500_000, 500_000 * 1024));
        // 10M sets: 100M records, whose 1 KiB each is above the byte range
        let huge = limits("record_set_quota = 10000000");
        assert_eq!(huge.max_records, 100_000_000);
        assert_eq!(huge.max_bytes, *ranges::MAX_TRANSFER_BYTES.end());
        let small = limits("max_transfer_records = 3");
        assert_eq!(small.max_bytes, *ranges::MAX_TRANSFER_BYTES.start());
    }

    #[test]
    fn a_sync_deadline_shorter_than_its_transfers_and_insync_is_warned_about() {
        let warnings = |settings| Config::parse(&zone_with(settings)).unwrap().warnings;
        assert!(
            warnings("").is_empty(),
            "the defaults fit: 2 x 300 + 300 = 900"
        );
        assert_eq!(
            warnings("transfer_timeout_seconds = 400"),
            ["zone a.test.: sync_timeout_seconds = 900 is below 2 x transfer_timeout_seconds (400) + route53.insync_timeout_seconds (300) = 1100: a sync whose IXFR and AXFR fallback each run near their deadline is abandoned before INSYNC; raise sync_timeout_seconds or lower the others"]
        );
    }

    #[test]
    fn the_whole_internet_may_notify_only_with_tsig_required() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("k.key");
        std::fs::write(&secret, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
        let text = format!(
            "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = {:?}\n{}tsig = \"k\"\nnotify_tsig = \"required\"\n",
            secret.display().to_string(),
            zone_with("notify_from = [\"0.0.0.0/0\", \"::/0\"]")
        );
        assert_eq!(Config::parse(&text).unwrap().zones[0].notify_from.len(), 2);
    }

    #[test]
    fn toml_errors_never_show_a_secret() {
        let secret = "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=";
        let cases = [
            // BIND's spelling: an unknown key
            (
                format!("[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"),
                "TOML error at line 3, column 1, in [tsig.k], key secret: unknown field `secret`",
            ),
            // a value of the wrong type
            (
                format!("[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = [\"{secret}\"]\n"),
                "line 3, column 15, in [tsig.k], key secret_file: invalid type: sequence",
            ),
            (
                format!("[route53]\nrequests_per_second = \"{secret}\"\n"),
                "key requests_per_second: invalid type: string \"...\", expected f64",
            ),
            // broken syntax on the secret's line
            (
                format!("[tsig.k]\nsecret = \"{secret}\n"),
                "TOML error at line 2, column",
            ),
            (
                format!("[tsig.k]\nsecret = {secret}\n"),
                "TOML error at line 2, column",
            ),
            // the secret pasted alone on a line
            (
                format!("[tsig.k]\n{secret}\n"),
                "TOML error at line 2, column",
            ),
            (
                format!("[tsig.k]\nsecret_env = \"X\"\n[tsig.k]\nsecret = \"{secret}\"\n"),
                "TOML error at line 3",
            ),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(!error.contains(&secret[..20]), "{error:?} shows the secret");
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
