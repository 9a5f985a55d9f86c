//! Refusals an operator must hear of, without a line per connection: the
//! first is logged at once, later ones at most once a minute, with how
//! many there were. (A full HTTP cap is what explains a failing
//! monitoring probe; a full NOTIFY TCP cap, a primary's failing NOTIFY.)
//! The exact counts are on /metrics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Least time between two log lines of one kind of refusal.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Refusals {
    /// When the last line was logged, and the refusals since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Refusals {
    /// Counts one refusal at `now`: `Some(n)` when a line is due, for the
    /// `n` refusals since the last one.
    pub fn note(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .expect("the refusals lock is never poisoned");
        state.1 += 1;
        if state
            .0
            .is_some_and(|last| now.saturating_duration_since(last) < LOG_INTERVAL)
        {
            return None;
        }
        state.0 = Some(now);
        Some(std::mem::take(&mut state.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_is_logged_then_one_line_a_minute_with_the_count() {
        let refusals = Refusals::default();
        let t0 = Instant::now();
        assert_eq!(refusals.note(t0), Some(1));
        for i in 1..=500 {
            assert_eq!(refusals.note(t0 + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(refusals.note(t0 + LOG_INTERVAL), Some(501));
        assert_eq!(refusals.note(t0 + LOG_INTERVAL * 3), Some(1));
    }
}
