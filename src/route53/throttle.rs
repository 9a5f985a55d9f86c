//! Pacing and retrying Route 53 requests: a client-side rate limit shared
//! by every request of the process (Route 53 allows about 5 per second per
//! account, shared with every other tool), and jittered exponential backoff
//! for transient failures.
//!
//! The limit is a token bucket (GCRA): `requests_per_second` sustained, and
//! after a quiet spell a burst of `BURST` at once, so the one or two
//! requests of a small sync are not delayed. Each free slot goes to the
//! highest lane with a request waiting: a NOTIFY's sync before refreshes,
//! refreshes before the audit, which also never takes more than its share
//! of the rate.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::Route53Error;

/// Requests allowed at once after a quiet spell.
const BURST: u32 = 2;

/// The longest wait between two requests: a rate so small that one
/// request would take longer is taken as one request an hour.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// What a request is for, highest priority first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Lane {
    /// A sync a NOTIFY asked for, or an operator's command.
    Notify,
    /// Start-up syncs, refresh timers and retries.
    Refresh,
    /// The audit: what is left, up to its share.
    Audit,
}

/// The lane of one piece of work, which may be raised while it waits: a
/// NOTIFY for a zone whose refresh is queued behind a thousand others
/// raises that refresh, so the NOTIFY never waits for the queue.
#[derive(Clone, Debug)]
pub struct LaneCell(Arc<AtomicU8>);

impl LaneCell {
    pub fn new(lane: Lane) -> LaneCell {
        LaneCell(Arc::new(AtomicU8::new(lane as u8)))
    }

    /// Moves the work up to `lane`, never down.
    pub fn raise(&self, lane: Lane) {
        self.0.fetch_min(lane as u8, Ordering::Relaxed);
    }

    fn get(&self) -> Lane {
        match self.0.load(Ordering::Relaxed) {
            0 => Lane::Notify,
            1 => Lane::Refresh,
            _ => Lane::Audit,
        }
    }
}

tokio::task_local! {
    static LANE: LaneCell;
}

/// Runs `work` with every Route 53 request it makes in `lane`.
pub async fn in_lane<F: Future>(lane: LaneCell, work: F) -> F::Output {
    LANE.scope(lane, work).await
}

/// The running task's lane: an operator's command waits for nobody.
fn current_lane() -> LaneCell {
    LANE.try_with(LaneCell::clone)
        .unwrap_or_else(|_| LaneCell::new(Lane::Notify))
}

/// A request waiting for its turn.
type Waiting = (LaneCell, oneshot::Sender<()>);

pub struct Throttle {
    /// Each request's turn is asked of the dispatcher, which owns the
    /// buckets and the queues.
    turns: mpsc::UnboundedSender<Waiting>,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Throttle {
    /// A limit of `requests_per_second`, of which the audit lane may take
    /// `audit_share` (0 to 1). Starts its dispatcher on the running
    /// runtime; it ends with the throttle.
    pub fn new(requests_per_second: f64, max_attempts: u32, audit_share: f64) -> Throttle {
        let (turns, asked) = mpsc::unbounded_channel();
        let all = Bucket::new(interval(requests_per_second), BURST);
        let audit = Bucket::new(interval(requests_per_second * audit_share), 1);
        tokio::spawn(dispatch(asked, all, audit));
        Throttle {
            turns,
            max_attempts,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }

    /// Waits for this request's turn under the rate limit, in its lane.
    async fn pace(&self) {
        let (turn, granted) = oneshot::channel();
        // the dispatcher lives as long as `self`: both always succeed
        if self.turns.send((current_lane(), turn)).is_ok() {
            let _ = granted.await;
        }
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

/// A token bucket (GCRA): one request every `interval`, `burst` at once
/// after a quiet spell.
struct Bucket {
    interval: Duration,
    burst: u32,
    /// When the next request would be due at the sustained rate.
    due: Instant,
}

impl Bucket {
    fn new(interval: Duration, burst: u32) -> Bucket {
        Bucket {
            interval,
            burst,
            due: Instant::now(),
        }
    }

    /// When the next request may go, asked at `now`.
    fn free_at(&self, now: Instant) -> Instant {
        let ahead = self.interval * (self.burst - 1);
        match self.due > now + ahead {
            true => self.due - ahead,
            false => now,
        }
    }

    fn take(&mut self, now: Instant) {
        self.due = self.due.max(self.free_at(now)) + self.interval;
    }
}

/// Hands out turns: each free slot of `all` to the oldest request of the
/// highest lane waiting (lanes as they are at that moment), an audit
/// request only when `audit` has a slot too. Ends when the throttle is
/// dropped.
async fn dispatch(mut asked: mpsc::UnboundedReceiver<Waiting>, mut all: Bucket, mut audit: Bucket) {
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    loop {
        while let Ok(request) = asked.try_recv() {
            waiting.push_back(request);
        }
        // a request dropped while waiting (its sync's deadline) takes no slot
        waiting.retain(|(_, turn)| !turn.is_closed());
        let now = Instant::now();
        let next = (waiting.iter().enumerate())
            .min_by_key(|(i, (lane, _))| (lane.get() as u8, *i))
            .map(|(i, (lane, _))| match lane.get() {
                Lane::Audit => (i, Lane::Audit, all.free_at(now).max(audit.free_at(now))),
                lane => (i, lane, all.free_at(now)),
            });
        let wake = match next {
            Some((i, lane, at)) if at <= now => {
                let (_, turn) = waiting.remove(i).expect("found");
                if turn.send(()).is_ok() {
                    all.take(now);
                    if lane == Lane::Audit {
                        audit.take(now);
                    }
                }
                continue;
            }
            Some((_, _, at)) => at,
            // nothing waits: a time that never comes
            None => now + MAX_INTERVAL * 24,
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            asked_more = asked.recv() => match asked_more {
                Some(request) => waiting.push_back(request),
                None => return,
            },
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
    use std::sync::atomic::AtomicU32;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_sustained_rate() {
        let throttle = Throttle::new(4.0, 8, 0.25);
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

    /// Starts `count` requests in `lane` at once; each records when it got
    /// its turn (ms since `started`) and its lane.
    fn queue(
        throttle: &Arc<Throttle>,
        lane: Lane,
        count: usize,
        started: Instant,
        turns: &Arc<std::sync::Mutex<Vec<(u128, Lane)>>>,
    ) {
        for _ in 0..count {
            let (throttle, turns) = (throttle.clone(), turns.clone());
            tokio::spawn(in_lane(LaneCell::new(lane), async move {
                throttle.pace().await;
                let at = started.elapsed().as_millis();
                turns.lock().unwrap().push((at, lane));
            }));
        }
    }

    /// A NOTIFY's request waits behind no queued refresh or audit request:
    /// it takes the next free slot.
    #[tokio::test(start_paused = true)]
    async fn a_notify_goes_before_everything_queued() {
        let throttle = Arc::new(Throttle::new(4.0, 8, 0.25));
        let started = Instant::now();
        let turns = Arc::new(std::sync::Mutex::new(Vec::new()));
        queue(&throttle, Lane::Audit, 5, started, &turns);
        queue(&throttle, Lane::Refresh, 20, started, &turns);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        queue(&throttle, Lane::Notify, 1, started, &turns);
        tokio::time::sleep(Duration::from_secs(20)).await;
        let turns = turns.lock().unwrap().clone();
        assert_eq!(turns.len(), 26);
        let notify = turns.iter().position(|t| t.1 == Lane::Notify).unwrap();
        assert_eq!(
            turns[notify].0, 1250,
            "the next slot after it asked: {turns:?}"
        );
        let first_audit = turns.iter().position(|t| t.1 == Lane::Audit).unwrap();
        assert_eq!(first_audit, 21, "audit after every refresh: {turns:?}");
    }

    /// Work raised to the NOTIFY lane while it waits goes next.
    #[tokio::test(start_paused = true)]
    async fn raised_work_goes_before_the_queue() {
        let throttle = Arc::new(Throttle::new(4.0, 8, 0.25));
        let started = Instant::now();
        let turns = Arc::new(std::sync::Mutex::new(Vec::new()));
        queue(&throttle, Lane::Refresh, 20, started, &turns);
        let late = LaneCell::new(Lane::Refresh);
        let (t, recorded) = (throttle.clone(), turns.clone());
        tokio::spawn(in_lane(late.clone(), async move {
            t.pace().await;
            let at = started.elapsed().as_millis();
            recorded.lock().unwrap().push((at, Lane::Notify));
        }));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        late.raise(Lane::Notify);
        late.raise(Lane::Audit);
        tokio::time::sleep(Duration::from_secs(20)).await;
        let turns = turns.lock().unwrap().clone();
        let raised = turns.iter().find(|t| t.1 == Lane::Notify).unwrap();
        assert_eq!(raised.0, 1250, "the next slot, not the 21st: {turns:?}");
    }

    /// With nothing else waiting the audit gets its share of the rate, no
    /// more: 4 a second, a quarter of them, is one a second.
    #[tokio::test(start_paused = true)]
    async fn the_audit_keeps_to_its_share() {
        let throttle = Arc::new(Throttle::new(4.0, 8, 0.25));
        let started = Instant::now();
        let turns = Arc::new(std::sync::Mutex::new(Vec::new()));
        queue(&throttle, Lane::Audit, 10, started, &turns);
        tokio::time::sleep(Duration::from_millis(9500)).await;
        let at: Vec<u128> = turns.lock().unwrap().iter().map(|t| t.0).collect();
        assert_eq!(
            at,
            [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]
        );
        // the slots between are anyone else's
        queue(&throttle, Lane::Refresh, 3, started, &turns);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            turns.lock().unwrap().len(),
            13,
            "the rest of the rate is free"
        );
    }

    /// 1e-30 and 1e-300 passed `config check` and then panicked here.
    #[tokio::test(start_paused = true)]
    async fn any_rate_paces_without_panicking() {
        for rate in [1e-30, 1e-300, 0.0, -1.0, f64::NAN, f64::MIN_POSITIVE] {
            let throttle = Throttle::new(rate, 1, 0.25);
            assert_eq!(interval(rate), MAX_INTERVAL, "{rate}");
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
        let throttle = Throttle::new(4.0, 8, 0.25);
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
