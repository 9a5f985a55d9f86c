//! One zone's scheduler as a pure state machine: (state, event, now) ->
//! (state, steps). The daemon drives it with a clock and a task; tests
//! drive it with numbers.
//!
//! At start the zone syncs once. A NOTIFY or a due timer starts a sync, or
//! queues one if a sync is running (at most one running and one queued, so
//! bursts coalesce). After a success the next sync is due after the SOA's
//! refresh (clamped), so a lost NOTIFY only delays a sync; after a failure
//! it is retried with exponential backoff (jittered, capped by the SOA's
//! retry). The zone is ready while its last success is within the SOA's
//! expire, no sync has run past its deadline and its task has not died
//! since ([`SyncRecord::readiness`]).

use std::fmt;
use std::time::Duration;

/// A point in time, passed in by the caller: the machine reads no clock.
/// The scheduler's driver counts from the daemon's start; readiness is
/// judged on whatever one clock its caller records with.
pub type Now = Duration;

/// The SOA timers, clamped to the configured bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub refresh: Duration,
    pub retry: Duration,
    pub expire: Duration,
}

/// Bounds on the SOA's refresh and retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clamps {
    pub min: Duration,
    pub max: Duration,
}

impl Default for Clamps {
    fn default() -> Clamps {
        Clamps {
            min: Duration::from_secs(60),
            max: Duration::from_secs(86_400),
        }
    }
}

impl Timers {
    /// From the SOA's refresh, retry and expire (seconds). Bounds the wrong
    /// way round are not a reason to panic: `max` wins.
    pub fn from_soa(refresh: u32, retry: u32, expire: u32, clamps: Clamps) -> Timers {
        let clamp = |s: u32| {
            Duration::from_secs(u64::from(s))
                .max(clamps.min)
                .min(clamps.max)
        };
        let refresh = clamp(refresh);
        Timers {
            refresh,
            retry: clamp(retry),
            expire: Duration::from_secs(u64::from(expire)).max(refresh),
        }
    }
}

/// What happens to a zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    Start,
    /// A NOTIFY was accepted for the zone.
    Notify,
    /// The timer the machine asked for has fired.
    Timer,
    /// The sync finished; `timers` from the SOA it saw.
    Succeeded {
        timers: Timers,
    },
    /// The sync failed; `jitter` is a random number in [0, 1).
    Failed {
        jitter: f64,
    },
}

/// What the driver must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start a sync now; `notified` when a NOTIFY asked for it (its Route 53
    /// requests go before those of refreshes).
    Sync { notified: bool },
    /// Fire `Event::Timer` at this time (replacing any earlier timer).
    TimerAt(Now),
}

/// The first retry after a failure; doubled each time, up to the SOA retry.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Schedule {
    running: bool,
    queued: bool,
    /// A NOTIFY is among what the queued sync serves.
    queued_notify: bool,
    failures: u32,
    timers: Timers,
}

impl Schedule {
    /// `timers` until the first SOA is seen.
    pub fn new(timers: Timers) -> Schedule {
        Schedule {
            running: false,
            queued: false,
            queued_notify: false,
            failures: 0,
            timers,
        }
    }

    pub fn handle(&mut self, event: Event, now: Now) -> Vec<Step> {
        match event {
            Event::Start | Event::Notify | Event::Timer => {
                let notified = event == Event::Notify;
                if self.running {
                    self.queued = true;
                    self.queued_notify |= notified;
                    Vec::new()
                } else {
                    self.running = true;
                    vec![Step::Sync { notified }]
                }
            }
            Event::Succeeded { timers } => {
                self.running = false;
                self.failures = 0;
                self.timers = timers;
                // any configured bound, however large, is a time that never comes
                self.after_sync(now.saturating_add(timers.refresh))
            }
            Event::Failed { jitter } => {
                self.running = false;
                self.failures = self.failures.saturating_add(1);
                let ceiling = FIRST_BACKOFF
                    .saturating_mul(1 << (self.failures - 1).min(20))
                    .min(self.timers.retry);
                // a queued NOTIFY is served by the retry, not by a tight loop
                self.queued = false;
                self.queued_notify = false;
                let factor = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
                let delay = Duration::try_from_secs_f64(ceiling.as_secs_f64() * factor)
                    .map_or(ceiling, |d| d.min(ceiling));
                vec![Step::TimerAt(now.saturating_add(delay))]
            }
        }
    }

    fn after_sync(&mut self, next: Now) -> Vec<Step> {
        if std::mem::take(&mut self.queued) {
            self.running = true;
            vec![Step::Sync {
                notified: std::mem::take(&mut self.queued_notify),
            }]
        } else {
            vec![Step::TimerAt(next)]
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// One zone's sync history as far as readiness goes; every time on the
/// caller's one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncRecord {
    /// When the last successful sync ended.
    pub last_success: Option<Now>,
    /// The SOA's expire, as last seen.
    pub expire: Duration,
    /// The running sync's start and deadline.
    pub running: Option<(Now, Duration)>,
    /// A sync ran out of time or the zone's task died since the last
    /// success.
    pub stalled: bool,
}

/// Why a zone is not ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unready {
    /// The running sync is past its deadline.
    Overrunning,
    /// A sync timed out or the zone's task died, and none succeeded since.
    Stalled,
    NeverSynced,
    /// The last success is older than the SOA's expire.
    Expired,
}

impl fmt::Display for Unready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unready::Overrunning => "a sync has run past sync_timeout_seconds",
            Unready::Stalled => {
                "a sync timed out or the zone task died; ready after the next successful sync"
            }
            Unready::NeverSynced => "not synced yet",
            Unready::Expired => "not synced within its SOA expire",
        })
    }
}

impl SyncRecord {
    pub fn started(&mut self, now: Now, deadline: Duration) {
        self.running = Some((now, deadline));
    }

    /// The running sync ended, however it ended.
    pub fn ended(&mut self) {
        self.running = None;
    }

    pub fn succeeded(&mut self, now: Now) {
        self.last_success = Some(now);
        self.stalled = false;
    }

    /// A sync timed out or the zone's task died: not ready until a success.
    pub fn stall(&mut self) {
        self.stalled = true;
    }

    /// Whether the zone is ready at `now`, and if not, why: the one
    /// judgement behind `/readyz` and the `ready` metric.
    pub fn readiness(&self, now: Now) -> Result<(), Unready> {
        let overrunning = self
            .running
            .is_some_and(|(start, deadline)| now.saturating_sub(start) > deadline);
        match self.last_success {
            _ if overrunning => Err(Unready::Overrunning),
            _ if self.stalled => Err(Unready::Stalled),
            None => Err(Unready::NeverSynced),
            Some(last) if now.saturating_sub(last) > self.expire => Err(Unready::Expired),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const REFRESH_SYNC: Step = Step::Sync { notified: false };
    const NOTIFIED_SYNC: Step = Step::Sync { notified: true };

    /// A sync queued behind the running one is a NOTIFY's when a NOTIFY is
    /// among what queued it, whatever came with it.
    #[test]
    fn a_queued_sync_is_notified_when_a_notify_queued_it() {
        let mut s = Schedule::new(timers());
        s.handle(Event::Start, S(0));
        assert!(s.handle(Event::Timer, S(1)).is_empty());
        let done = Event::Succeeded { timers: timers() };
        assert_eq!(s.handle(done, S(2)), [REFRESH_SYNC]);
        s.handle(Event::Timer, S(3));
        s.handle(Event::Notify, S(3));
        assert_eq!(s.handle(done, S(4)), [NOTIFIED_SYNC]);
        // a failure drops what was queued, its NOTIFY too
        s.handle(Event::Notify, S(5));
        s.handle(Event::Failed { jitter: 0.5 }, S(6));
        assert_eq!(s.handle(Event::Timer, S(7)), [REFRESH_SYNC]);
        assert_eq!(s.handle(done, S(8)), [Step::TimerAt(S(8) + S(3600))]);
    }

    fn timers() -> Timers {
        Timers::from_soa(3600, 600, 86_400, Clamps::default())
    }

    #[test]
    fn clamps_soa_timers() {
        let t = Timers::from_soa(1, 2, 3, Clamps::default());
        assert_eq!((t.refresh, t.retry, t.expire), (S(60), S(60), S(60)));
        let t = Timers::from_soa(10_000_000, 600, 1, Clamps::default());
        assert_eq!(t.refresh, S(86_400));
    }

    #[test]
    fn a_burst_of_notifies_coalesces_into_one_queued_sync() {
        let mut s = Schedule::new(timers());
        assert_eq!(s.handle(Event::Start, S(0)), [REFRESH_SYNC]);
        for i in 0..100 {
            assert!(s.handle(Event::Notify, S(i)).is_empty());
        }
        // the running sync ends: exactly one more runs
        assert_eq!(
            s.handle(Event::Succeeded { timers: timers() }, S(1)),
            [NOTIFIED_SYNC]
        );
        assert_eq!(
            s.handle(Event::Succeeded { timers: timers() }, S(2)),
            [Step::TimerAt(S(2) + S(3600))]
        );
    }

    #[test]
    fn failures_back_off_up_to_the_soa_retry_and_reset_on_success() {
        let mut s = Schedule::new(timers());
        s.handle(Event::Start, S(0));
        let mut delays = Vec::new();
        for _ in 0..12 {
            let [Step::TimerAt(at)] = s.handle(Event::Failed { jitter: 1.0 }, S(0))[..] else {
                panic!("a failure sets a timer");
            };
            delays.push(at.as_secs());
            assert_eq!(s.handle(Event::Timer, at), [REFRESH_SYNC]);
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        // jitter spreads retries between half and all of the ceiling
        let [Step::TimerAt(at)] = s.handle(Event::Failed { jitter: 0.0 }, S(0))[..] else {
            panic!()
        };
        assert_eq!(at, S(300));
        s.handle(Event::Timer, at);
        s.handle(Event::Succeeded { timers: timers() }, S(1000));
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn ready_until_expire_after_the_last_success() {
        let mut r = SyncRecord {
            expire: timers().expire,
            ..SyncRecord::default()
        };
        assert_eq!(r.readiness(S(0)), Err(Unready::NeverSynced));
        r.started(S(0), S(30));
        r.succeeded(S(10));
        r.ended();
        assert_eq!(r.readiness(S(10 + 86_400)), Ok(()));
        assert_eq!(r.readiness(S(11 + 86_400)), Err(Unready::Expired));
        // a clock that went back is no reason to be unready
        assert_eq!(r.readiness(S(0)), Ok(()));
    }

    #[test]
    fn a_sync_running_past_its_deadline_is_not_ready() {
        let mut r = SyncRecord {
            expire: S(3600),
            ..SyncRecord::default()
        };
        r.succeeded(S(1000));
        r.started(S(1100), S(10));
        assert_eq!(r.readiness(S(1110)), Ok(()), "within its deadline");
        assert_eq!(r.readiness(S(1111)), Err(Unready::Overrunning));
        r.ended();
        assert_eq!(r.readiness(S(1111)), Ok(()));
    }

    #[test]
    fn a_stall_is_not_ready_until_a_success() {
        let mut r = SyncRecord {
            expire: S(3600),
            ..SyncRecord::default()
        };
        r.succeeded(S(1000));
        r.stall();
        assert_eq!(r.readiness(S(1001)), Err(Unready::Stalled));
        r.succeeded(S(1002));
        assert_eq!(r.readiness(S(1003)), Ok(()));
        assert_eq!(
            Unready::Stalled.to_string(),
            "a sync timed out or the zone task died; ready after the next successful sync"
        );
    }

    #[test]
    fn absurd_bounds_never_panic() {
        let huge = Clamps {
            min: Duration::MAX,
            max: Duration::MAX,
        };
        let t = Timers::from_soa(3600, 600, 86_400, huge);
        assert_eq!(
            (t.refresh, t.retry, t.expire),
            (Duration::MAX, Duration::MAX, Duration::MAX)
        );
        let mut s = Schedule::new(t);
        s.handle(Event::Start, S(0));
        assert_eq!(
            s.handle(Event::Succeeded { timers: t }, S(5)),
            [Step::TimerAt(Duration::MAX)]
        );
        s.handle(Event::Timer, Duration::MAX);
        for _ in 0..30 {
            let [Step::TimerAt(_)] = s.handle(Event::Failed { jitter: 0.7 }, S(10))[..] else {
                panic!("a failure sets a timer");
            };
        }
        let mut r = SyncRecord {
            expire: t.expire,
            ..SyncRecord::default()
        };
        r.started(S(0), Duration::MAX);
        r.succeeded(S(5));
        assert_eq!(r.readiness(Duration::MAX), Ok(()));
        let upside_down = Clamps {
            min: S(100),
            max: S(10),
        };
        assert_eq!(Timers::from_soa(50, 50, 50, upside_down).refresh, S(10));
    }

    #[test]
    fn a_notify_while_idle_syncs_at_once() {
        let mut s = Schedule::new(timers());
        s.handle(Event::Start, S(0));
        s.handle(Event::Succeeded { timers: timers() }, S(1));
        assert_eq!(s.handle(Event::Notify, S(5)), [NOTIFIED_SYNC]);
    }
}
