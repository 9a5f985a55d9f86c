//! The thin tokio driver of `core::schedule`: a clock, a timer, a NOTIFY
//! channel, and the sync task it starts. Nothing here decides anything.

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::core::schedule::{Action, Event, Schedule};

/// Runs `schedule` until `shutdown` changes: each `Action::Sync` calls
/// `start_sync`, whose task's event is fed back. Returns the sync still
/// running at shutdown, for the caller to finish or abandon.
pub async fn drive<F>(
    mut schedule: Schedule,
    mut notified: mpsc::Receiver<()>,
    mut shutdown: watch::Receiver<bool>,
    mut start_sync: F,
) -> Option<JoinHandle<Event>>
where
    F: FnMut() -> JoinHandle<Event>,
{
    let origin = Instant::now();
    let mut running: Option<JoinHandle<Event>> = None;
    let mut timer: Option<Instant> = None;
    let mut actions = schedule.handle(Event::Start, origin.elapsed());
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Sync => running = Some(start_sync()),
                // a time past what the clock can hold never comes
                Action::TimerAt(at) => timer = origin.checked_add(at),
            }
        }
        let sleep = async {
            match timer {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            finished = async { running.as_mut().expect("guarded").await }, if running.is_some() => {
                running = None;
                // a sync task that panicked counts as a failed sync
                let event = finished.unwrap_or(Event::Failed { jitter: rand::random() });
                actions = schedule.handle(event, origin.elapsed());
            }
            Some(()) = notified.recv() => actions = schedule.handle(Event::Notify, origin.elapsed()),
            () = sleep => {
                timer = None;
                actions = schedule.handle(Event::Timer, origin.elapsed());
            }
            _ = shutdown.changed() => return running,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::core::schedule::{Clamps, Timers};

    const REFRESH: Duration = Duration::from_secs(60);

    fn timers() -> Timers {
        Timers::from_soa(60, 60, 3600, Clamps::default())
    }

    /// A driver whose syncs take 100 ms and succeed unless `fail` says so;
    /// returns the sync counter, the NOTIFY sender and the shutdown sender.
    fn start(
        fail: Arc<AtomicU32>,
    ) -> (
        Arc<AtomicU32>,
        mpsc::Sender<()>,
        watch::Sender<bool>,
        JoinHandle<()>,
    ) {
        let syncs = Arc::new(AtomicU32::new(0));
        let (notify, notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let counter = syncs.clone();
        let driver = tokio::spawn(async move {
            drive(Schedule::new(timers()), notified, stopping, move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let fail = fail.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    match fail.load(Ordering::SeqCst) {
                        0 => Event::Succeeded { timers: timers() },
                        _ => Event::Failed { jitter: 1.0 },
                    }
                })
            })
            .await;
        });
        (syncs, notify, shutdown, driver)
    }

    #[tokio::test(start_paused = true)]
    async fn syncs_at_start_then_every_refresh_and_never_spins() {
        let (syncs, _notify, shutdown, driver) = start(Arc::new(AtomicU32::new(0)));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        // an hour of idle time: one sync per refresh, nothing in between
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 60);
        shutdown.send(true).unwrap();
        driver.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn notifies_during_a_sync_coalesce_into_one() {
        let (syncs, notify, shutdown, driver) = start(Arc::new(AtomicU32::new(0)));
        tokio::time::sleep(Duration::from_millis(10)).await;
        for _ in 0..100 {
            let _ = notify.try_send(());
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            2,
            "the running sync and one queued"
        );
        // a NOTIFY while idle syncs at once
        notify.send(()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 3);
        shutdown.send(true).unwrap();
        driver.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off() {
        let fail = Arc::new(AtomicU32::new(1));
        let (syncs, _notify, shutdown, driver) = start(fail.clone());
        // syncs at 0, then retries 1 s, 2 s, 4 s, 8 s, 16 s after each failure
        // (each sync taking 0.1 s): 6 syncs by 32 s
        tokio::time::sleep(Duration::from_secs(32)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 6);
        fail.store(0, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(33)).await;
        let after = syncs.load(Ordering::SeqCst);
        tokio::time::sleep(REFRESH - Duration::from_secs(5)).await;
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            after,
            "back to the refresh timer"
        );
        shutdown.send(true).unwrap();
        driver.await.unwrap();
    }

    /// The zone task used to panic on the timer after its first sync when
    /// the refresh bounds were absurdly large (an Instant overflow).
    #[tokio::test(start_paused = true)]
    async fn an_absurd_refresh_never_comes_and_notifies_still_sync() {
        let huge = Timers::from_soa(
            60,
            60,
            3600,
            Clamps {
                min: Duration::from_secs(u64::MAX),
                max: Duration::from_secs(u64::MAX),
            },
        );
        let syncs = Arc::new(AtomicU32::new(0));
        let (notify, notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let counter = syncs.clone();
        let driver = tokio::spawn(drive(Schedule::new(huge), notified, stopping, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move { Event::Succeeded { timers: huge } })
        }));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        notify.send(()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 2, "the task is alive");
        shutdown.send(true).unwrap();
        assert!(driver.await.is_ok());
    }
}
