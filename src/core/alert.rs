//! When to alert about a zone, as a pure state machine: one message when it
//! has been failing for longer than the grace (or at once when its task
//! died: a bug), one when it recovers after that; never more, however
//! often the syncs fail or the task dies. Drift an audit finds is alerted
//! once too, until an audit finds the zone clean again.

use std::time::Duration;

use super::schedule::Now;

/// A message to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alert {
    Failing,
    /// The zone's task died (a bug) and is being restarted.
    TaskDied,
    Recovered,
    /// An audit found Route 53 differing from the primary's zone.
    Drift,
}

#[derive(Clone, Debug)]
pub struct Alerting {
    grace: Duration,
    failing_since: Option<Now>,
    alerted: bool,
    /// The last audit that compared the zone found drift.
    drifting: bool,
}

impl Alerting {
    pub fn new(grace: Duration) -> Alerting {
        Alerting {
            grace,
            failing_since: None,
            alerted: false,
            drifting: false,
        }
    }

    /// Records a sync's result; the alert to send, if any.
    pub fn observe(&mut self, succeeded: bool, now: Now) -> Option<Alert> {
        if succeeded {
            self.failing_since = None;
            return std::mem::take(&mut self.alerted).then_some(Alert::Recovered);
        }
        let since = *self.failing_since.get_or_insert(now);
        if !self.alerted && now.saturating_sub(since) >= self.grace {
            self.alerted = true;
            return Some(Alert::Failing);
        }
        None
    }

    /// Records what an audit that compared the zone found; the alert to
    /// send, if any: one for each spell of drift.
    pub fn audited(&mut self, drift: bool) -> Option<Alert> {
        let was = std::mem::replace(&mut self.drifting, drift);
        (drift && !was).then_some(Alert::Drift)
    }

    /// Records that the zone's task died; the alert to send, if any. Not
    /// a passing failure, so no grace; a sync that succeeds ends it.
    pub fn task_died(&mut self, now: Now) -> Option<Alert> {
        self.failing_since.get_or_insert(now);
        (!std::mem::replace(&mut self.alerted, true)).then_some(Alert::TaskDied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn one_alert_after_the_grace_and_one_recovery() {
        let mut a = Alerting::new(S(60));
        assert_eq!(a.observe(false, S(0)), None);
        assert_eq!(a.observe(false, S(59)), None);
        assert_eq!(a.observe(false, S(60)), Some(Alert::Failing));
        for t in 61..200 {
            assert_eq!(a.observe(false, S(t)), None, "no storm");
        }
        assert_eq!(a.observe(true, S(200)), Some(Alert::Recovered));
        assert_eq!(a.observe(true, S(201)), None);
    }

    #[test]
    fn drift_alerts_once_until_an_audit_finds_the_zone_clean() {
        let mut a = Alerting::new(S(60));
        assert_eq!(a.audited(false), None);
        assert_eq!(a.audited(true), Some(Alert::Drift));
        assert_eq!(a.audited(true), None, "the same spell");
        assert_eq!(a.audited(false), None);
        assert_eq!(a.audited(true), Some(Alert::Drift), "a new spell");
    }

    #[test]
    fn a_short_failure_within_the_grace_is_not_reported() {
        let mut a = Alerting::new(S(60));
        assert_eq!(a.observe(false, S(0)), None);
        assert_eq!(a.observe(true, S(30)), None);
        // the grace starts again with the next failure
        assert_eq!(a.observe(false, S(40)), None);
        assert_eq!(a.observe(false, S(99)), None);
        assert_eq!(a.observe(false, S(100)), Some(Alert::Failing));
    }

    #[test]
    fn a_dead_task_alerts_at_once_and_once_per_episode() {
        let mut a = Alerting::new(S(60));
        assert_eq!(a.task_died(S(0)), Some(Alert::TaskDied));
        assert_eq!(a.task_died(S(1)), None, "restarted and died again");
        assert_eq!(a.observe(false, S(100)), None, "already alerted");
        assert_eq!(a.observe(true, S(200)), Some(Alert::Recovered));
        assert_eq!(a.task_died(S(300)), Some(Alert::TaskDied), "a new episode");
        // a zone already reported failing is not reported twice
        let mut b = Alerting::new(S(0));
        assert_eq!(b.observe(false, S(0)), Some(Alert::Failing));
        assert_eq!(b.task_died(S(1)), None);
    }
}
