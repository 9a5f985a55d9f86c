//! One zone's task: the schedule driven by its timers and NOTIFYs, each
//! sync run by the engine, and its report recorded (metrics, log, alert,
//! the next timers).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::audit::{audit_zone, Auditing};
use super::notify_gate::SyncedSerial;
use super::scheduler::{drive, supervise, AbortOnDrop};
use crate::config::ZoneConfig;
use crate::core::schedule::{Event, Schedule, Timers};
use crate::dns::primary::Primary;
use crate::dns::wire::unix_now;
use crate::engine::source::Source;
use crate::engine::state::StateDir;
use crate::engine::sync::SyncOutcome;
use crate::engine::{SyncOptions, SyncReport, ZoneEngine};
use crate::observe::alerts::ZoneAlerts;
use crate::observe::metrics::{SyncResult, ZoneMetrics};
use crate::route53::throttle::{in_lane, LaneCell};
use crate::route53::HostedZones;

/// How long a running sync may take to finish once the daemon stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// What every zone task shares with the rest of the daemon.
pub struct ZoneShared<Z> {
    /// One for every zone: Route 53's rate limit is per account.
    pub zones: Arc<Z>,
    pub insync_timeout: Duration,
    pub states: StateDir,
    /// `None`: no audit.
    pub audit: Option<Arc<Auditing>>,
}

/// A zone's engine, shared by its syncs and its audits (one at a time).
pub type Engine<Z> = Arc<tokio::sync::Mutex<ZoneEngine<<Z as HostedZones>::Zone>>>;

/// A zone task's links to the daemon: its metrics and alerts, the
/// NOTIFYs passed to it (kept by the supervisor across restarts), the
/// serial it synced (which the NOTIFY path reads), and the stop signals.
#[derive(Clone)]
pub struct ZoneLinks {
    pub metrics: Arc<ZoneMetrics>,
    pub alerts: Arc<ZoneAlerts>,
    pub notified: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
    pub synced: Arc<SyncedSerial>,
    pub shutdown: watch::Receiver<bool>,
    /// Once set, no further batch is sent.
    pub stop: Arc<AtomicBool>,
    /// Says when the task this one replaces has stopped: the two never
    /// sync the zone at once.
    pub after: Option<watch::Receiver<bool>>,
    /// The lane of the zone's audit while one runs: a NOTIFY raises it, so
    /// the sync it asks for does not wait for the audit at the audit's pace.
    pub audit_lane: Arc<std::sync::Mutex<Option<LaneCell>>>,
}

/// The zone's task under its supervisor: a task that dies is alerted on,
/// once an episode, like a failing sync, and started again.
pub async fn supervised<Z: HostedZones>(
    zone: ZoneConfig,
    primaries: Vec<Primary>,
    shared: Arc<ZoneShared<Z>>,
    links: ZoneLinks,
) {
    let name = zone.rules.zone.clone();
    let died = alert_death(links.alerts.clone());
    let (metrics, shutdown) = (links.metrics.clone(), links.shutdown.clone());
    supervise(name, metrics, shutdown, died, move || {
        zone_task(
            zone.clone(),
            primaries.clone(),
            shared.clone(),
            links.clone(),
        )
    })
    .await;
}

/// A dead zone task's alert.
fn alert_death(alerts: Arc<ZoneAlerts>) -> impl FnMut(String) {
    move |why| {
        alerts.task_died(format!("{why} (a bug in xfr53)"));
    }
}

async fn zone_task<Z: HostedZones>(
    zone: ZoneConfig,
    primaries: Vec<Primary>,
    shared: Arc<ZoneShared<Z>>,
    links: ZoneLinks,
) {
    let name = zone.rules.zone.clone();
    if let Some(mut after) = links.after.clone() {
        // an error: the stopper is gone, so is the task it stopped
        let _ = after.wait_for(|stopped| *stopped).await;
    }
    let mut notified = links.notified.clone().lock_owned().await;
    // until the first SOA is seen: a day's expire, the configured clamps
    let schedule = Schedule::new(Timers::from_soa(3600, 600, 86_400, zone.clamps));
    let engine: Engine<Z> = Arc::new(tokio::sync::Mutex::new(ZoneEngine::new(
        shared.states.clone(),
        name.clone(),
    )));
    let (zone, primaries) = (Arc::new(zone), Arc::new(primaries));
    let _audit = AbortOnDrop(tokio::spawn(audit_zone(
        zone.clone(),
        primaries.clone(),
        shared.clone(),
        links.clone(),
        engine.clone(),
    )));
    let running = drive(schedule, &mut notified, links.shutdown.clone(), |lane| {
        tokio::spawn(in_lane(
            lane,
            sync_once(
                zone.clone(),
                primaries.clone(),
                shared.clone(),
                links.clone(),
                engine.clone(),
            ),
        ))
    })
    .await;
    if let Some(task) = running {
        // `stop` is set: no further batch; the request in flight may finish
        // (dropped at the deadline, or with this task, it is aborted)
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            tracing::warn!(zone = %name, "sync still running at shutdown; abandoned");
        }
    }
}

/// One sync of the zone, its metrics, logs and alerts; the event for the
/// schedule.
async fn sync_once<Z: HostedZones>(
    zone: Arc<ZoneConfig>,
    primaries: Arc<Vec<Primary>>,
    shared: Arc<ZoneShared<Z>>,
    links: ZoneLinks,
    engine: Engine<Z>,
) -> Event {
    let mut engine = engine.lock().await;
    let metrics = &links.metrics;
    let started = std::time::Instant::now();
    metrics.sync_started(u64::from(unix_now()), zone.sync_timeout);
    let options = SyncOptions {
        insync_timeout: shared.insync_timeout,
        stop: Some(links.stop.clone()),
        ..SyncOptions::default()
    };
    // One deadline for the whole sync, so a primary trickling its transfer
    // or a Route 53 that never answers cannot hold the zone. Dropping the
    // sync mid-way is safe: the held zone copy only changes whole, each
    // batch is atomic, and an unfinished apply is marked in `_serial`.
    let ran = tokio::time::timeout(
        zone.sync_timeout,
        engine.sync(
            &zone,
            source(&primaries, metrics),
            shared.zones.as_ref(),
            options,
        ),
    )
    .await;
    let (event, detail) = match ran {
        Ok(report) => {
            // whole-zone work leaves the zone's transient memory free in
            // the allocator: it goes back once this sync's data is gone
            let release = report.whole_zone.then_some(crate::heap::ReleaseOnDrop);
            let recorded = record(&report, &zone, metrics, &links.synced);
            drop(report);
            drop(release);
            recorded
        }
        Err(_) => {
            engine.abandoned();
            timed_out(&zone, metrics, started.elapsed())
        }
    };
    metrics.sync_ended();
    links
        .alerts
        .sync_ended(matches!(event, Event::Succeeded { .. }), detail);
    event
}

/// The zone's primaries as a source, whose transfers count the limits
/// they hit in the zone's metrics.
pub fn source(primaries: &[Primary], metrics: &ZoneMetrics) -> Source {
    let counting = |p: &Primary| Primary {
        limit_hits: Some(metrics.transfer_limits()),
        ..p.clone()
    };
    Source::Primaries(primaries.iter().map(counting).collect())
}

fn failed() -> Event {
    Event::Failed {
        jitter: rand::random(),
    }
}

/// A sync abandoned at its deadline: a failure like any other, retried
/// with backoff.
fn timed_out(zone: &ZoneConfig, metrics: &ZoneMetrics, took: Duration) -> (Event, String) {
    let name = &zone.rules.zone;
    metrics.record(SyncResult::Timeout, took, (0, 0, 0), u64::from(unix_now()));
    let detail = format!(
        "zone {name}: the sync was still running after sync_timeout_seconds ({}s) and was abandoned; it is retried with backoff. Is the primary sending its transfer slowly, or Route 53 not answering? For a zone that needs longer, raise sync_timeout_seconds",
        zone.sync_timeout.as_secs()
    );
    tracing::error!(zone = %name, duration_ms = took.as_millis() as u64, "{detail}");
    (failed(), detail)
}

/// Records a sync's report: metrics, the log line, the serial synced.
/// Returns the event for the schedule and a line for an alert.
fn record(
    report: &SyncReport,
    zone: &ZoneConfig,
    metrics: &ZoneMetrics,
    synced: &SyncedSerial,
) -> (Event, String) {
    let (name, took) = (&report.zone, report.took);
    let duration_ms = took.as_millis() as u64;
    let now = u64::from(unix_now());
    if let Some(soa) = report.primary {
        metrics.set_primary_serial(soa.serial.0);
    }
    let timers = report.primary.map(|soa| soa.timers(zone.clamps));
    if let Some(timers) = timers {
        metrics.set_expire(timers.expire);
    }
    let succeeded = timers.map_or_else(failed, |timers| Event::Succeeded { timers });
    match &report.outcome {
        Ok(SyncOutcome::UpToDate(serial)) => {
            synced.set(*serial);
            metrics.set_route53_serial(serial.0);
            metrics.record(SyncResult::UpToDate, took, (0, 0, 0), now);
            tracing::info!(zone = %name, serial = serial.0, duration_ms, "in sync");
            (succeeded, format!("in sync at serial {serial}"))
        }
        // (drift is an audit's finding, recorded by the audit; a sync never
        // reports it, but a repaired one is an applied plan and one left
        // a plan not applied)
        Ok(
            SyncOutcome::Applied(plan)
            | SyncOutcome::Drifted {
                plan,
                repaired: true,
            },
        ) => {
            metrics.count_plan(plan.changed_names.is_some());
            let s = plan.summary;
            synced.set(plan.serial);
            metrics.set_route53_serial(plan.serial.0);
            metrics.record(
                SyncResult::Applied,
                took,
                (s.create, s.delete, s.modify),
                now,
            );
            tracing::info!(zone = %name, serial = plan.serial.0, created = s.create, deleted = s.delete, modified = s.modify, batches = s.batches, duration_ms, "synced");
            (succeeded, format!("synced serial {}", plan.serial))
        }
        Ok(
            SyncOutcome::Refused(plan)
            | SyncOutcome::Drifted {
                plan,
                repaired: false,
            },
        ) => {
            metrics.count_plan(plan.changed_names.is_some());
            metrics.record(SyncResult::Refused, took, (0, 0, 0), now);
            tracing::error!(zone = %name, serial = plan.serial.0, refusals = ?plan.refusals, "plan refused by a safety rule; run `xfr53 plan` to see it and `xfr53 sync --force` to apply it");
            let detail = format!(
                "serial {} refused by a safety rule: {}",
                plan.serial,
                plan.refusals.join("; ")
            );
            (failed(), detail)
        }
        Err(e) => {
            metrics.record(SyncResult::Failed, took, (0, 0, 0), now);
            tracing::error!(zone = %name, duration_ms, "sync failed: {e:#}");
            (failed(), format!("{e:#}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::Alert;
    use crate::core::name::Name;
    use crate::observe::metrics::Metrics;

    /// A zone task that dies alerts at once, once however often it dies
    /// again, and the zone's next good sync sends the recovery.
    #[tokio::test(start_paused = true)]
    async fn a_dead_zone_task_alerts_once_an_episode() {
        let zone = Name::parse_route53("a.test").unwrap();
        let metrics = Metrics::default().zone(&zone);
        let alerts = Arc::new(ZoneAlerts::new(
            zone.clone(),
            Duration::from_secs(3600),
            None,
        ));
        let (shutdown, stopping) = watch::channel(false);
        let died = alert_death(alerts.clone());
        let supervisor = tokio::spawn(supervise(zone, metrics, stopping, died, || async {
            panic!("a bug")
        }));
        // died at 0 s, 1 s and 3 s
        tokio::time::sleep(Duration::from_secs(4)).await;
        shutdown.send(true).unwrap();
        supervisor.await.unwrap();
        assert_eq!(
            alerts.task_died("again".into()),
            None,
            "the first death alerted; none since"
        );
        assert_eq!(
            alerts.sync_ended(true, "synced".into()),
            Some(Alert::Recovered)
        );
    }
}
