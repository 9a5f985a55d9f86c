//! The NOTIFY listener's per-source limits, bounded in memory: a token
//! bucket for replies, and TCP connection slots. IPv6 sources count per
//! /64, as one host usually holds a whole /64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The address a source is counted under.
fn source_key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_sources: usize,
    buckets: HashMap<IpAddr, Bucket>,
    forgotten: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64, max_sources: usize) -> RateLimiter {
        RateLimiter {
            per_second,
            burst,
            max_sources,
            buckets: HashMap::new(),
            forgotten: 0,
        }
    }

    /// Takes a token for `source` if it has one.
    pub fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        let key = source_key(source);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max_sources {
            self.prune(now);
        }
        let (per_second, burst) = (self.per_second, self.burst);
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets sources whose bucket has refilled; if every source is busy
    /// (a flood from many addresses), forgets them all: each then gets one
    /// more burst at most, and memory stays bounded.
    fn prune(&mut self, now: Instant) {
        let refill = self.burst / self.per_second;
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < refill);
        if self.buckets.len() >= self.max_sources {
            self.forgotten += self.buckets.len() as u64;
            self.buckets.clear();
        }
    }

    pub fn sources(&self) -> usize {
        self.buckets.len()
    }

    /// Sources forgotten at `max_sources` while their bucket was not yet
    /// full again, in all: each got a fresh burst.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }
}

/// TCP connection slots: `total` at most, of which `reserved` only for
/// trusted sources (the `notify_from` addresses), so strangers can never
/// take them all; and `per_source` at most for any one stranger.
pub struct ConnectionSlots {
    total: usize,
    reserved: usize,
    per_source: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    all: usize,
    strangers: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// Why a connection got no slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSlot {
    /// This source already holds its share.
    PerSource,
    /// Every slot it may use is taken.
    Full,
}

/// A slot, given back when dropped.
pub struct Slot {
    slots: Arc<ConnectionSlots>,
    source: IpAddr,
    trusted: bool,
}

impl ConnectionSlots {
    pub fn new(total: usize, reserved: usize, per_source: usize) -> ConnectionSlots {
        ConnectionSlots {
            total,
            reserved: reserved.min(total),
            per_source,
            open: Mutex::default(),
        }
    }

    pub fn take(self: &Arc<Self>, source: IpAddr, trusted: bool) -> Result<Slot, NoSlot> {
        let key = source_key(source);
        let mut open = self.open.lock().expect("the slots lock is never poisoned");
        let held = open.by_source.get(&key).copied().unwrap_or(0);
        if !trusted {
            if held >= self.per_source {
                return Err(NoSlot::PerSource);
            }
            if open.strangers >= self.total - self.reserved {
                return Err(NoSlot::Full);
            }
        }
        if open.all >= self.total {
            return Err(NoSlot::Full);
        }
        open.all += 1;
        open.strangers += usize::from(!trusted);
        *open.by_source.entry(key).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            source: key,
            trusted,
        })
    }

    pub fn open(&self) -> usize {
        self.open.lock().expect("never poisoned").all
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("never poisoned");
        open.all -= 1;
        open.strangers -= usize::from(!self.trusted);
        if let Some(n) = open.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                open.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_limits_then_refills() {
        let mut limiter = RateLimiter::new(10.0, 5.0, 100);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!((0..8).filter(|_| limiter.allow(ip, t0)).count(), 5);
        assert!(limiter.allow(ip, t0 + Duration::from_millis(100)));
        assert!(!limiter.allow(ip, t0 + Duration::from_millis(100)));
        // another source is not affected
        assert!(limiter.allow("192.0.2.2".parse().unwrap(), t0));
    }

    #[test]
    fn ipv6_counts_per_64_and_memory_is_bounded() {
        let mut limiter = RateLimiter::new(1.0, 1.0, 50);
        let t0 = Instant::now();
        assert!(limiter.allow("2001:db8::1".parse().unwrap(), t0));
        assert!(!limiter.allow("2001:db8::2".parse().unwrap(), t0));
        assert_eq!(limiter.forgotten(), 0);
        for i in 0..10_000u32 {
            limiter.allow(IpAddr::from(std::net::Ipv4Addr::from(i)), t0);
            assert!(limiter.sources() <= 50);
        }
        // every 50th new source found all 50 busy and forgot them
        assert_eq!(limiter.forgotten(), 10_000);
    }

    #[test]
    fn strangers_get_a_share_and_never_the_reserved_slots() {
        let slots = Arc::new(ConnectionSlots::new(6, 2, 2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a1 = slots.take(ip("192.0.2.1"), false).unwrap();
        let _a2 = slots.take(ip("192.0.2.1"), false).unwrap();
        assert_eq!(
            slots.take(ip("192.0.2.1"), false).err(),
            Some(NoSlot::PerSource)
        );
        // IPv6 counts per /64
        let _b = slots.take(ip("2001:db8::1"), false).unwrap();
        let _c = slots.take(ip("2001:db8::2"), false).unwrap();
        assert_eq!(
            slots.take(ip("2001:db8::3"), false).err(),
            Some(NoSlot::PerSource)
        );
        assert_eq!(slots.take(ip("192.0.2.9"), false).err(), Some(NoSlot::Full));
        // the primary still gets the reserved two, then nothing
        let _p1 = slots.take(ip("192.0.2.53"), true).unwrap();
        let _p2 = slots.take(ip("192.0.2.53"), true).unwrap();
        assert_eq!(slots.take(ip("192.0.2.53"), true).err(), Some(NoSlot::Full));
        assert_eq!(slots.open(), 6);
        drop(a1);
        assert_eq!(slots.open(), 5);
        assert!(slots.take(ip("192.0.2.1"), false).is_ok());
    }
}
