//! The allowed range of every numeric setting: wide enough for any real
//! deployment, narrow enough that no timer or rate computed from it can
//! overflow or stall.

use std::fmt::Debug;
use std::ops::RangeInclusive;

use anyhow::{bail, Result};

/// Route 53 allows 5 requests per second per account; below one
/// request in ten seconds a sync of a big zone would take days.
pub const REQUESTS_PER_SECOND: RangeInclusive<f64> = 0.1..=100.0;
/// 0: do not wait for INSYNC.
pub const INSYNC_TIMEOUT_SECONDS: RangeInclusive<u64> = 0..=86_400;
pub const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=100;
/// 0 leaves the audit one request an hour.
pub const AUDIT_SHARE: RangeInclusive<f64> = 0.0..=1.0;
/// 0 turns the audit off; at most one pass a week.
pub const AUDIT_PERIOD_SECONDS: RangeInclusive<u64> = 0..=604_800;
pub const AUDIT_DEEP_EVERY: RangeInclusive<u32> = 1..=10_000;
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

/// `value` of `setting` when it lies in `range`, else an error naming both.
pub(super) fn ranged<T: PartialOrd + Debug>(
    setting: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<T> {
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
pub(super) fn hint(error: anyhow::Error, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("{error}: {hint}")
}

/// `ranged` for an optional setting with a default.
pub(super) fn ranged_or<T: PartialOrd + Debug>(
    setting: &str,
    value: Option<T>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T> {
    value.map_or(Ok(default), |v| ranged(setting, v, range))
}

pub(super) fn clamped<T: Ord + Copy>(value: T, range: RangeInclusive<T>) -> T {
    value.clamp(*range.start(), *range.end())
}
