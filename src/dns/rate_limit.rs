//! A per-source token bucket for the NOTIFY listener, bounded in memory.
//! IPv6 sources count per /64, as one host usually holds a whole /64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_sources: usize,
    buckets: HashMap<IpAddr, Bucket>,
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
        }
    }

    /// Takes a token for `source` if it has one.
    pub fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        let key = match source {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            v4 => v4,
        };
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
            self.buckets.clear();
        }
    }

    pub fn sources(&self) -> usize {
        self.buckets.len()
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
        for i in 0..10_000u32 {
            limiter.allow(IpAddr::from(std::net::Ipv4Addr::from(i)), t0);
            assert!(limiter.sources() <= 50);
        }
    }
}
