//! Pacing and retrying Route 53 requests: a client-side rate limit shared
//! by every request of the process (Route 53 allows about 5 per second per
//! account, shared with every other tool), and jittered exponential backoff
//! for transient failures.
//!
//! The limit is a token bucket (GCRA): `requests_per_second` sustained, and
//! after a quiet spell a burst of `BURST` at once, so the one or two
//! requests of a small sync are not delayed.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Route53Error;

/// Requests allowed at once after a quiet spell.
const BURST: u32 = 2;

/// The longest wait between two requests: a rate so small that one
/// request would take longer is taken as one request an hour.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

pub struct Throttle {
    interval: Duration,
    /// When the next request would be due at the sustained rate.
    due: Mutex<Instant>,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Throttle {
    pub fn new(requests_per_second: f64, max_attempts: u32) -> Throttle {
        Throttle {
            interval: interval(requests_per_second),
            due: Mutex::new(Instant::now()),
            max_attempts,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }

    /// Waits for this request's turn under the rate limit.
    async fn pace(&self) {
        let slot = {
            let mut due = self.due.lock().await;
            let now = Instant::now();
            let ahead = self.interval * (BURST - 1);
            let slot = match *due > now + ahead {
                true => *due - ahead,
                false => now,
            };
            *due = (*due).max(slot) + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Runs `request` under the rate limit, retrying transient failures
    /// with full-jitter exponential backoff; `what` names it in logs.
    pub async fn run<T, F, Fut>(&self, what: &str, mut request: F) -> Result<T, Route53Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Route53Error>>,
    {
        let mut attempt = 0;
        loop {
            self.pace().await;
            match request().await {
                Err(Route53Error::Transient(reason)) if attempt + 1 < self.max_attempts => {
                    let ceiling = self
                        .base_delay
                        .saturating_mul(1 << attempt.min(16))
                        .min(self.max_delay);
                    let delay = rand::rng().random_range(Duration::ZERO..=ceiling);
                    attempt += 1;
                    tracing::warn!(%reason, attempt, delay_ms = delay.as_millis() as u64, "{what}: retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(Route53Error::Transient(reason)) => {
                    return Err(Route53Error::Transient(format!(
                        "{reason} (gave up after {} attempts)",
                        self.max_attempts
                    )))
                }
                other => return other,
            }
        }
    }
}

/// The time between requests at `requests_per_second`, for any number:
/// infinity means no wait, zero, negative or NaN the longest wait.
fn interval(requests_per_second: f64) -> Duration {
    match Duration::try_from_secs_f64(1.0 / requests_per_second) {
        Ok(interval) => interval.min(MAX_INTERVAL),
        Err(_) if requests_per_second == f64::INFINITY => Duration::ZERO,
        Err(_) => MAX_INTERVAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_sustained_rate() {
        let throttle = Throttle::new(4.0, 8);
        let started = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..6 {
            throttle.pace().await;
            starts.push(started.elapsed().as_millis());
        }
        assert_eq!(starts, [0, 0, 250, 500, 750, 1000]);
        // after a quiet second the burst is back
        tokio::time::sleep(Duration::from_secs(2)).await;
        let again = Instant::now();
        throttle.pace().await;
        throttle.pace().await;
        assert_eq!(again.elapsed(), Duration::ZERO);
    }

    /// 1e-30 and 1e-300 passed `config check` and then panicked here.
    #[tokio::test(start_paused = true)]
    async fn any_rate_paces_without_panicking() {
        for rate in [1e-30, 1e-300, 0.0, -1.0, f64::NAN, f64::MIN_POSITIVE] {
            let throttle = Throttle::new(rate, 1);
            assert_eq!(throttle.interval, MAX_INTERVAL, "{rate}");
            let started = Instant::now();
            for _ in 0..3 {
                throttle.pace().await;
            }
            assert_eq!(
                started.elapsed(),
                MAX_INTERVAL,
                "{rate}: a burst of 2, then an hour"
            );
        }
        for rate in [f64::INFINITY, f64::MAX, 1e300] {
            assert_eq!(interval(rate), Duration::ZERO, "{rate}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paces_requests_and_retries_only_transient_failures() {
        let throttle = Throttle::new(4.0, 8);
        let started = Instant::now();
        let calls = AtomicU32::new(0);
        let result = throttle
            .run("test", || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=2 => Err(Route53Error::Transient("Throttling".into())),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        // four requests at 4 per second, two of them at once: at least 500 ms
        assert!(started.elapsed() >= Duration::from_millis(500));

        let calls = AtomicU32::new(0);
        let rejected: Result<(), _> = throttle
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Route53Error::Rejected("no".into()))
            })
            .await;
        assert!(matches!(rejected, Err(Route53Error::Rejected(_))));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a rejection is not retried"
        );

        // what cannot heal within seconds (no credentials, access denied)
        let calls = AtomicU32::new(0);
        let fatal: Result<(), _> = throttle
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Route53Error::Fatal("no AWS credentials found".into()))
            })
            .await;
        assert!(matches!(fatal, Err(Route53Error::Fatal(_))));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a fatal error is not retried"
        );

        let gave_up: Result<(), _> = throttle
            .run("test", || async {
                Err(Route53Error::Transient("503".into()))
            })
            .await;
        assert!(gave_up
            .unwrap_err()
            .to_string()
            .contains("gave up after 8 attempts"));
    }
}
