//! The thin tokio driver of `core::schedule`: a clock, a timer, a NOTIFY
//! channel, and the sync task it starts; and the supervisor that restarts
//! a zone's task should it ever die.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::core::name::Name;
use crate::core::schedule::{Event, Schedule, Step};
use crate::observe::metrics::ZoneMetrics;
use crate::route53::throttle::{Lane, LaneCell};

/// The wait before a dead zone task's first restart; doubled for each
/// death in a row, up to `MAX_RESTART_DELAY`.
const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(300);

/// Runs the zone task `start()` returns until it ends; when it dies (a
/// panic: a bug), counts it, marks the zone not ready, logs it, tells
/// `died` why (for an alert), and starts another after a backoff. Returns
/// when a task ends normally or `shutdown` changes during a backoff.
/// Aborting this aborts the task.
pub async fn supervise<F, Fut, D>(
    zone: Name,
    metrics: std::sync::Arc<ZoneMetrics>,
    mut shutdown: watch::Receiver<bool>,
    mut died: D,
    mut start: F,
) where
    D: FnMut(String),
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut deaths = 0u32;
    loop {
        let started = Instant::now();
        let ended = AbortOnDrop(tokio::spawn(start())).await;
        let error = match ended {
            Ok(()) => return,
            Err(e) if e.is_cancelled() => return,
            Err(e) => e,
        };
        // a task that lived through a whole backoff starts the count again
        if started.elapsed() > MAX_RESTART_DELAY {
            deaths = 0;
        }
        let delay = FIRST_RESTART_DELAY
            .saturating_mul(1 << deaths.min(16))
            .min(MAX_RESTART_DELAY);
        deaths = deaths.saturating_add(1);
        metrics.task_died();
        tracing::error!(zone = %zone, restart_in_ms = delay.as_millis() as u64, "zone task died ({error}); this is a bug in xfr53, please report it with this log. The zone is not ready until it syncs again.");
        died(error.to_string());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        tracing::warn!(zone = %zone, "restarting the zone task");
    }
}

/// A task aborted when its handle is dropped: a zone task with its
/// supervisor, a sync with its zone task.
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs `schedule` until `shutdown` changes: each `Step::Sync` calls
/// `start_sync` with the lane of its Route 53 requests (a NOTIFY's, or a
/// refresh's raised by a NOTIFY that comes while it runs), whose task's
/// event is fed back. Returns the sync still
/// running at shutdown, for the caller to finish or abandon. The sync
/// task is aborted with this future (its zone task died or was aborted),
/// so a restarted zone task never syncs beside an orphan of the old one.
pub async fn drive<F>(
    mut schedule: Schedule,
    notified: &mut mpsc::Receiver<()>,
    mut shutdown: watch::Receiver<bool>,
    mut start_sync: F,
) -> Option<AbortOnDrop<Event>>
where
    F: FnMut(LaneCell) -> JoinHandle<Event>,
{
    let origin = Instant::now();
    let mut running: Option<AbortOnDrop<Event>> = None;
    let mut timer: Option<Instant> = None;
    let mut steps = schedule.handle(Event::Start, origin.elapsed());
    // the running sync's lane, raised by a NOTIFY while it runs
    let mut lane = LaneCell::new(Lane::Refresh);
    loop {
        for step in steps.drain(..) {
            match step {
                Step::Sync { notified } => {
                    lane = LaneCell::new(match notified {
                        true => Lane::Notify,
                        false => Lane::Refresh,
                    });
                    running = Some(AbortOnDrop(start_sync(lane.clone())));
                }
                // a time past what the clock can hold never comes
                Step::TimerAt(at) => timer = origin.checked_add(at),
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
                steps = schedule.handle(event, origin.elapsed());
            }
            Some(()) = notified.recv() => {
                lane.raise(Lane::Notify);
                steps = schedule.handle(Event::Notify, origin.elapsed());
            }
            () = sleep => {
                timer = None;
                steps = schedule.handle(Event::Timer, origin.elapsed());
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
            let mut notified = notified;
            drive(
                Schedule::new(timers()),
                &mut notified,
                stopping,
                move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let fail = fail.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        match fail.load(Ordering::SeqCst) {
                            0 => Event::Succeeded { timers: timers() },
                            _ => Event::Failed { jitter: 1.0 },
                        }
                    })
                },
            )
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
        let (notify, mut notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let counter = syncs.clone();
        let driver = tokio::spawn(async move {
            drive(Schedule::new(huge), &mut notified, stopping, move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move { Event::Succeeded { timers: huge } })
            })
            .await
        });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        notify.send(()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 2, "the task is alive");
        shutdown.send(true).unwrap();
        assert!(driver.await.is_ok());
    }

    /// A zone task that dies is restarted after a backoff, counted, and
    /// the zone is not ready until it syncs again.
    #[tokio::test(start_paused = true)]
    async fn a_dead_zone_task_is_restarted_counted_and_not_ready() {
        let metrics = crate::observe::metrics::Metrics::default();
        let zone = Name::parse_route53("a.test").unwrap();
        let figures = metrics.zone(&zone);
        figures.set_expire(Duration::from_secs(3600));
        figures.record(
            crate::observe::metrics::SyncResult::UpToDate,
            Duration::ZERO,
            (0, 0, 0),
            100,
        );
        assert!(metrics.not_ready(100).is_empty());
        let starts = Arc::new(AtomicU32::new(0));
        let (shutdown, stopping) = watch::channel(false);
        let counter = starts.clone();
        let stop = stopping.clone();
        let deaths = Arc::new(std::sync::Mutex::new(Vec::new()));
        let told = deaths.clone();
        let died = move |why| told.lock().unwrap().push(why);
        let supervisor = tokio::spawn(supervise(zone, figures, stopping, died, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut stop = stop.clone();
            async move {
                if n < 2 {
                    panic!("a bug");
                }
                let _ = stop.changed().await;
            }
        }));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 1, "backing off");
        assert!(!metrics.not_ready(101).is_empty());
        // restarted after 1 s, died again, restarted after 2 s more
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        let text = metrics.render(101);
        assert!(
            text.contains("xfr53_zone_task_restarts_total{zone=\"a.test.\"} 2"),
            "{text}"
        );
        assert!(
            !metrics.not_ready(101).is_empty(),
            "not ready until a sync succeeds"
        );
        let deaths = deaths.lock().unwrap().clone();
        assert_eq!(deaths.len(), 2, "each death told, for the alert");
        assert!(deaths[0].contains("a bug"), "{deaths:?}");
        shutdown.send(true).unwrap();
        supervisor.await.unwrap();
    }

    /// Counts itself live until dropped.
    struct Live(Arc<AtomicU32>);

    impl Live {
        fn new(count: &Arc<AtomicU32>) -> Live {
            count.fetch_add(1, Ordering::SeqCst);
            Live(count.clone())
        }
    }

    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A sync still running when its zone task dies, or when the
    /// supervisor is aborted, is aborted with it: a restarted zone task
    /// never syncs beside an orphan of the old one (two writers of one
    /// state file).
    #[tokio::test(start_paused = true)]
    async fn a_sync_dies_with_its_zone_task() {
        let metrics = crate::observe::metrics::Metrics::default();
        let zone = Name::parse_route53("a.test").unwrap();
        let (syncs, starts) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (_shutdown, stopping) = watch::channel(false);
        let (live, counter, stop) = (syncs.clone(), starts.clone(), stopping.clone());
        let supervisor = tokio::spawn(supervise(
            zone.clone(),
            metrics.zone(&zone),
            stopping,
            |_| {},
            move || {
                let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
                let (live, stop) = (live.clone(), stop.clone());
                async move {
                    let (_notify, mut notified) = mpsc::channel(1);
                    // a sync that never ends by itself
                    let task = drive(Schedule::new(timers()), &mut notified, stop, |_| {
                        let live = Live::new(&live);
                        tokio::spawn(async move {
                            let _live = live;
                            std::future::pending::<Event>().await
                        })
                    });
                    tokio::select! {
                        _ = task => {}
                        () = tokio::time::sleep(Duration::from_secs(1)), if first => panic!("a bug"),
                    }
                }
            },
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        // the task died at 1 s and is restarted at 2 s
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            0,
            "the sync died with its task"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        assert_eq!(syncs.load(Ordering::SeqCst), 1, "only the new task's sync");
        supervisor.abort();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            0,
            "aborted with its supervisor"
        );
    }
}
