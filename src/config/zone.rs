//! One `[[zone]]` section checked and turned into a `ZoneConfig`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::IpNet;

use super::ranges::{self, clamped, hint, ranged, ranged_or};
use super::raw::RawZone;
use super::{Route53Settings, TsigConfig, ZoneConfig, DEFAULT_SYNC_TIMEOUT};
use crate::core::name::Name;
use crate::core::rules::{
    MaxChange, Pattern, TransferLimits, ZoneRules, BYTES_PER_RECORD, DEFAULT_RECORD_SET_QUOTA,
};
use crate::core::schedule::Clamps;

pub(super) fn zone_config(
    raw: &RawZone,
    keys: &BTreeMap<String, TsigConfig>,
) -> Result<ZoneConfig> {
    let zone = Name::parse_route53(&raw.name).context("name: not a valid domain name")?;
    if let Some(label) = raw.tsig.as_ref().filter(|label| !keys.contains_key(*label)) {
        bail!("tsig = {label:?} names no [tsig.{label}] section: add one, or remove tsig");
    }
    let notify_tsig_required = notify_tsig_required(raw)?;
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
    let transfer = transfer_limits(raw, quota)?;
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
    let rules = rules(raw, &zone, quota)?;
    let clamps = clamps(raw)?;
    Ok(ZoneConfig {
        rules,
        primaries,
        notify_from,
        tsig: raw.tsig.clone(),
        notify_tsig_required,
        timeout,
        transfer,
        hosted_zone_id: raw.hosted_zone_id.clone(),
        role_arn: raw.role_arn.as_deref().map(role_arn).transpose()?,
        clamps,
        sync_timeout: Duration::from_secs(ranged_or(
            "sync_timeout_seconds",
            raw.sync_timeout_seconds,
            DEFAULT_SYNC_TIMEOUT.as_secs(),
            ranges::SYNC_TIMEOUT_SECONDS,
        )?),
    })
}

/// `notify_tsig`: whether an unsigned NOTIFY is refused (only with a key).
fn notify_tsig_required(raw: &RawZone) -> Result<bool> {
    Ok(match (raw.notify_tsig.as_deref(), &raw.tsig) {
        (None | Some("optional"), _) => false,
        (Some("required"), Some(_)) => true,
        (Some("required"), None) => {
            bail!("notify_tsig = \"required\" needs a key: set tsig = \"<label>\" too")
        }
        (Some(other), _) => {
            bail!("notify_tsig = {other:?}: use \"optional\" (the default) or \"required\"")
        }
    })
}

/// The bounds on one transfer; each default follows the final value it
/// derives from, kept in range.
fn transfer_limits(raw: &RawZone, quota: usize) -> Result<TransferLimits> {
    let defaults = TransferLimits::for_quota(quota);
    let max_records = ranged_or(
        "max_transfer_records",
        raw.max_transfer_records,
        clamped(defaults.max_records, ranges::MAX_TRANSFER_RECORDS),
        ranges::MAX_TRANSFER_RECORDS,
    )?;
    Ok(TransferLimits {
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
    })
}

/// What diff and plan need to know about the zone.
fn rules(raw: &RawZone, zone: &Name, quota: usize) -> Result<ZoneRules> {
    let mut rules = ZoneRules::new(zone.clone());
    if let Some(record) = &raw.serial_record {
        rules.serial_name = Name::parse_presentation(record, zone)
            .with_context(|| format!("serial_record: {record:?} is not a valid name"))?;
        if !rules.serial_name.is_in(zone) || rules.serial_name == *zone {
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
    Ok(rules)
}

/// The bounds on the SOA refresh and retry the daemon follows.
fn clamps(raw: &RawZone) -> Result<Clamps> {
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
    Ok(clamps)
}

/// A sync deadline that a sync using its other deadlines in full overruns:
/// IXFR then an AXFR fallback, each bounded by the transfer deadline, then
/// the INSYNC wait. Only a warning: those deadlines are ceilings against a
/// hostile or stuck primary, and most syncs end far below them.
pub(super) fn sync_deadline_warning(
    zone: &ZoneConfig,
    route53: &Route53Settings,
) -> Option<String> {
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

/// `role_arn`: an IAM role's ARN, `arn:<partition>:iam::<account>:role/<path and name>`.
fn role_arn(text: &str) -> Result<String> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let partition_ok = |p: &str| {
        p.strip_prefix("aws")
            .is_some_and(|rest| rest.chars().all(|c| c == '-' || c.is_ascii_lowercase()))
    };
    let valid = match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            partition_ok(partition)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|r| !r.is_empty())
        }
        _ => false,
    };
    if !valid {
        bail!("role_arn: {text:?} is not an IAM role ARN like \"arn:aws:iam::123456789012:role/xfr53\" (the role in the account holding the hosted zone)");
    }
    Ok(text.to_string())
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

fn prefix(text: &str) -> Result<IpNet> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(anyhow::Error::from)
}
