//! One zone's scheduler as a pure state machine: (state, event, now) ->
//! (state, actions). The daemon drives it with a clock and a task; tests
//! drive it with numbers.
//!
//! At start the zone syncs once. A NOTIFY or a due timer starts a sync, or
//! queues one if a sync is running (at most one running and one queued, so
//! bursts coalesce). After a success the next sync is due after the SOA's
//! refresh (clamped), so a lost NOTIFY only delays a sync; after a failure
//! it is retried with exponential backoff (jittered, capped by the SOA's
//! retry). The zone is ready while its last success is within the SOA's
//! expire.

use std::time::Duration;

/// Time since the daemon started: the machine's only notion of time.
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
pub enum Action {
    /// Start a sync now.
    Sync,
    /// Fire `Event::Timer` at this time (replacing any earlier timer).
    TimerAt(Now),
}

/// The first retry after a failure; doubled each time, up to the SOA retry.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Schedule {
    running: bool,
    queued: bool,
    failures: u32,
    timers: Timers,
    last_success: Option<Now>,
}

impl Schedule {
    /// `timers` until the first SOA is seen.
    pub fn new(timers: Timers) -> Schedule {
        Schedule {
            running: false,
            queued: false,
            failures: 0,
            timers,
            last_success: None,
        }
    }

    pub fn handle(&mut self, event: Event, now: Now) -> Vec<Action> {
        match event {
            Event::Start | Event::Notify | Event::Timer => {
                if self.running {
                    self.queued = true;
                    Vec::new()
                } else {
                    self.running = true;
                    vec![Action::Sync]
                }
            }
            Event::Succeeded { timers } => {
                self.running = false;
                self.failures = 0;
                self.timers = timers;
                self.last_success = Some(now);
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
                let factor = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
                let delay = Duration::try_from_secs_f64(ceiling.as_secs_f64() * factor)
                    .map_or(ceiling, |d| d.min(ceiling));
                vec![Action::TimerAt(now.saturating_add(delay))]
            }
        }
    }

    fn after_sync(&mut self, next: Now) -> Vec<Action> {
        if std::mem::take(&mut self.queued) {
            self.running = true;
            vec![Action::Sync]
        } else {
            vec![Action::TimerAt(next)]
        }
    }

    /// Synced within the SOA's expire.
    pub fn is_ready(&self, now: Now) -> bool {
        self.last_success
            .is_some_and(|t| now.saturating_sub(t) <= self.timers.expire)
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

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
        assert_eq!(s.handle(Event::Start, S(0)), [Action::Sync]);
        for i in 0..100 {
            assert!(s.handle(Event::Notify, S(i)).is_empty());
        }
        // the running sync ends: exactly one more runs
        assert_eq!(
            s.handle(Event::Succeeded { timers: timers() }, S(1)),
            [Action::Sync]
        );
        assert_eq!(
            s.handle(Event::Succeeded { timers: timers() }, S(2)),
            [Action::TimerAt(S(2) + S(3600))]
        );
    }

    #[test]
    fn failures_back_off_up_to_the_soa_retry_and_reset_on_success() {
        let mut s = Schedule::new(timers());
        s.handle(Event::Start, S(0));
        let mut delays = Vec::new();
        for _ in 0..12 {
            let [Action::TimerAt(at)] = s.handle(Event::Failed { jitter: 1.0 }, S(0))[..] else {
                panic!("a failure sets a timer");
            };
            delays.push(at.as_secs());
            assert_eq!(s.handle(Event::Timer, at), [Action::Sync]);
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        // jitter spreads retries between half and all of the ceiling
        let [Action::TimerAt(at)] = s.handle(Event::Failed { jitter: 0.0 }, S(0))[..] else {
            panic!()
        };
        assert_eq!(at, S(300));
        s.handle(Event::Timer, at);
        s.handle(Event::Succeeded { timers: timers() }, S(1000));
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn ready_until_expire_after_the_last_success() {
        let mut s = Schedule::new(timers());
        assert!(!s.is_ready(S(0)));
        s.handle(Event::Start, S(0));
        s.handle(Event::Succeeded { timers: timers() }, S(10));
        assert!(s.is_ready(S(10 + 86_400)));
        assert!(!s.is_ready(S(11 + 86_400)));
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
            [Action::TimerAt(Duration::MAX)]
        );
        s.handle(Event::Timer, Duration::MAX);
        for _ in 0..30 {
            let [Action::TimerAt(_)] = s.handle(Event::Failed { jitter: 0.7 }, S(10))[..] else {
                panic!("a failure sets a timer");
            };
        }
        assert!(s.is_ready(Duration::MAX));
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
        assert_eq!(s.handle(Event::Notify, S(5)), [Action::Sync]);
    }
}
