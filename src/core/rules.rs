//! The per-zone settings diff and plan follow.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::name::Name;
use super::rrset::{Key, RrType};

/// A glob over owner names: `*` matches any run of characters, dots too.
/// It is matched against the name relative to the zone and against the
/// absolute name, both without the trailing dot, case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(glob: &str) -> Pattern {
        Pattern(glob.trim_end_matches('.').to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn matches(&self, name: &Name, zone: &Name) -> bool {
        let absolute = name.as_str().trim_end_matches('.');
        glob(self.0.as_bytes(), absolute.as_bytes())
            || name
                .relative_to(zone)
                .is_some_and(|r| glob(self.0.as_bytes(), r.as_bytes()))
    }
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((p, rest)) => text.first() == Some(p) && glob(rest, &text[1..]),
    }
}

/// How one zone is synced: what diff and plan need to know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneRules {
    pub zone: Name,
    /// The owner of the `_serial` TXT record.
    pub serial_name: Name,
    pub serial_ttl: u32,
    /// Names xfr53 never touches.
    pub ignore: Vec<Pattern>,
    pub limits: RequestLimits,
    pub max_change: MaxChange,
    /// Record sets the hosted zone may hold, its own SOA and NS included
    /// (Route 53's default; AWS raises it on request).
    pub record_set_quota: usize,
}

/// Route 53's default quota of record sets per hosted zone.
pub const DEFAULT_RECORD_SET_QUOTA: usize = 10_000;

impl ZoneRules {
    /// The defaults: `_serial._dyn.<zone>` with a TTL of 300, nothing
    /// ignored, Route 53's request limits and record set quota, max_change
    /// 30 %.
    pub fn new(zone: Name) -> ZoneRules {
        ZoneRules {
            serial_name: Name::parse_presentation("_serial._dyn", &zone)
                .expect("a valid relative name"),
            zone,
            serial_ttl: 300,
            ignore: Vec::new(),
            limits: RequestLimits::default(),
            max_change: MaxChange::default(),
            record_set_quota: DEFAULT_RECORD_SET_QUOTA,
        }
    }

    /// The `ignore` pattern `name` matches, if any.
    pub fn ignored_by(&self, name: &Name) -> Option<&Pattern> {
        self.ignore.iter().find(|p| p.matches(name, &self.zone))
    }

    /// Sets Route 53 owns and xfr53 never touches.
    pub(super) fn route53_owned(&self, key: &Key) -> bool {
        key.0 == self.zone && matches!(key.1, RrType::SOA | RrType::NS)
    }
}

/// Route 53's limits on one ChangeResourceRecordSets request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    pub max_values: usize,
    pub max_chars: usize,
}

impl Default for RequestLimits {
    fn default() -> RequestLimits {
        RequestLimits {
            max_values: 1000,
            max_chars: 32_000,
        }
    }
}

/// How many existing record sets one plan may delete or modify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxChange {
    Percent(u32),
    Count(usize),
}

impl MaxChange {
    /// The threshold only applies to zones with at least this many sets.
    const MIN_SETS_FOR_PERCENT: usize = 10;

    pub(super) fn exceeded(self, destructive: usize, existing: usize) -> bool {
        match self {
            MaxChange::Count(n) => destructive > n,
            MaxChange::Percent(p) => {
                existing >= Self::MIN_SETS_FOR_PERCENT && destructive * 100 > p as usize * existing
            }
        }
    }
}

impl Default for MaxChange {
    fn default() -> MaxChange {
        MaxChange::Percent(30)
    }
}

impl FromStr for MaxChange {
    type Err = String;

    /// `"30%"` or an absolute count such as `"50"`.
    fn from_str(text: &str) -> Result<MaxChange, String> {
        let bad = || {
            format!(
                "max_change {text:?}: expected a percentage like \"30%\" or a count like \"50\""
            )
        };
        match text.trim().strip_suffix('%') {
            Some(p) => match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(MaxChange::Percent(p)),
                _ => Err(bad()),
            },
            None => text.trim().parse().map(MaxChange::Count).map_err(|_| bad()),
        }
    }
}

impl fmt::Display for MaxChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxChange::Percent(p) => write!(f, "{p}%"),
            MaxChange::Count(n) => write!(f, "{n}"),
        }
    }
}
/// Bounds on one transfer (one IXFR or AXFR exchange), so a primary that
/// never sends its closing SOA, or trickles, ends with an error instead of
/// holding memory or the zone forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferLimits {
    /// Answer records read.
    pub max_records: usize,
    /// Message bytes read.
    pub max_bytes: usize,
    /// From the connection to the closing SOA.
    pub deadline: Duration,
}

/// Records per transfer allowed per record set of the hosted zone's quota:
/// well above what Route 53 can hold, far below what exhausts memory.
pub const RECORDS_PER_QUOTA_SET: usize = 10;
/// Wire bytes allowed per record of `max_records` on average.
pub const BYTES_PER_RECORD: usize = 1024;
pub const DEFAULT_TRANSFER_DEADLINE: Duration = Duration::from_secs(300);

impl TransferLimits {
    /// The defaults for a hosted zone allowed `quota` record sets.
    pub fn for_quota(quota: usize) -> TransferLimits {
        let max_records = quota.saturating_mul(RECORDS_PER_QUOTA_SET);
        TransferLimits {
            max_records,
            max_bytes: max_records.saturating_mul(BYTES_PER_RECORD),
            deadline: DEFAULT_TRANSFER_DEADLINE,
        }
    }
}

impl Default for TransferLimits {
    fn default() -> TransferLimits {
        TransferLimits::for_quota(DEFAULT_RECORD_SET_QUOTA)
    }
}
