//! Spaces the syncs NOTIFYs start for one zone. A NOTIFY passes at once
//! when the zone's last one passed at least `interval` ago; otherwise one
//! pass waits until then, and later NOTIFYs join it. Forged NOTIFYs
//! announcing ever newer serials (the source of an unsigned NOTIFY can be
//! forged) then start at most one sync per interval however fast they
//! come, so they cannot spend the account's Route 53 rate; no NOTIFY is
//! lost, and none waits longer than one interval. A waiting pass whose
//! serials have been synced meanwhile is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::core::serial::Serial;
use crate::observe::metrics::ZoneMetrics;

/// The serial a zone's last successful sync left in Route 53: written by
/// the zone's task, read by the NOTIFY path to drop NOTIFYs for it.
#[derive(Debug, Default)]
pub struct SyncedSerial(
    /// Stored plus one: 0 while unknown.
    AtomicU64,
);

impl SyncedSerial {
    pub fn get(&self) -> Option<Serial> {
        let stored = self.0.load(Ordering::Relaxed);
        stored.checked_sub(1).map(|s| Serial(s as u32))
    }

    pub fn set(&self, serial: Serial) {
        self.0.store(u64::from(serial.0) + 1, Ordering::Relaxed);
    }
}

pub struct NotifyGate {
    interval: Duration,
    state: Mutex<State>,
}

struct State {
    /// When the next pass may go.
    next: Instant,
    /// What the waiting pass is for: `None` when no pass waits; the newest
    /// serial announced, or `None` inside when a NOTIFY announced none.
    waiting: Option<Option<Serial>>,
}

impl NotifyGate {
    pub fn new(interval: Duration) -> Arc<NotifyGate> {
        Arc::new(NotifyGate {
            interval,
            state: Mutex::new(State {
                next: Instant::now(),
                waiting: None,
            }),
        })
    }

    /// Passes a NOTIFY announcing `serial` to `zone` now (true) or at the
    /// next allowed time (false), unless `synced` has reached it by then.
    /// Must run inside the tokio runtime.
    pub fn pass(
        self: &Arc<Self>,
        zone: &mpsc::Sender<()>,
        serial: Option<Serial>,
        synced: &Arc<SyncedSerial>,
        metrics: &Arc<ZoneMetrics>,
    ) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock().expect("the gate lock is never poisoned");
        if now >= state.next && state.waiting.is_none() {
            state.next = now + self.interval;
            // a full queue already holds one
            let _ = zone.try_send(());
            return true;
        }
        match &mut state.waiting {
            Some(waiting) => {
                // one pass already waits: it now covers this serial too
                *waiting = match (*waiting, serial) {
                    (Some(a), Some(b)) if b > a => Some(b),
                    (Some(a), Some(_)) => Some(a),
                    _ => None,
                };
            }
            None => {
                state.waiting = Some(serial);
                let at = state.next;
                state.next = at + self.interval;
                let (gate, zone) = (self.clone(), zone.clone());
                let (synced, metrics) = (synced.clone(), metrics.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(at).await;
                    let waiting = gate.state.lock().expect("never poisoned").waiting.take();
                    match (waiting.flatten(), synced.get()) {
                        (Some(newest), Some(synced)) if newest <= synced => metrics.skip_notify(),
                        _ => {
                            let _ = zone.try_send(());
                        }
                    }
                });
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_flood_passes_once_per_interval_and_the_last_is_never_lost() {
        let gate = NotifyGate::new(Duration::from_secs(1));
        let metrics = Arc::new(ZoneMetrics::default());
        let synced = Arc::new(SyncedSerial::default());
        let (zone, mut passed) = mpsc::channel(1);
        let mut count = 0;
        // 100 a second for 5 s, each a newer serial; the zone takes each
        // pass at once
        for i in 0..500 {
            gate.pass(&zone, Some(Serial(i)), &synced, &metrics);
            while passed.try_recv().is_ok() {
                count += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!((5..=6).contains(&count), "{count} passes in 5 s");
        // the last NOTIFY's pass still comes, within one interval
        tokio::time::sleep(Duration::from_secs(1)).await;
        while passed.try_recv().is_ok() {
            count += 1;
        }
        assert!((6..=7).contains(&count), "{count}");
        // idle again: the next passes at once
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(gate.pass(&zone, None, &synced, &metrics));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_pass_for_serials_synced_meanwhile_is_dropped() {
        let gate = NotifyGate::new(Duration::from_secs(1));
        let metrics = Arc::new(ZoneMetrics::default());
        let synced = Arc::new(SyncedSerial::default());
        let (zone, mut passed) = mpsc::channel(1);
        assert!(gate.pass(&zone, Some(Serial(7)), &synced, &metrics));
        passed.try_recv().unwrap();
        for _ in 0..50 {
            assert!(!gate.pass(&zone, Some(Serial(7)), &synced, &metrics));
        }
        // the sync the first one started reaches serial 7 (the zone's
        // state, not a metrics gauge, says so)
        synced.set(Serial(7));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(passed.try_recv().is_err(), "no second sync for serial 7");
        // one without a serial is never taken as synced
        assert!(gate.pass(&zone, Some(Serial(8)), &synced, &metrics));
        passed.try_recv().unwrap();
        assert!(!gate.pass(&zone, None, &synced, &metrics));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(passed.try_recv().is_ok());
    }
}
