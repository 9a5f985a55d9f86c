//! `xfr53 daemon`: the NOTIFY listener, one scheduler task per zone, the
//! HTTP endpoint, and the signals: SIGTERM/SIGINT stop gracefully (no new
//! batch after the signal, a running request finishes or is abandoned
//! within a bound), SIGHUP reloads the configuration without closing the
//! listening sockets (a bad one keeps the old).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_route53::Client;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{Config, ZoneConfig};
use crate::core::name::Name;
use crate::core::schedule::{Event, Schedule, Timers};
use crate::dns::listener::Listener;
use crate::dns::notify::NotifyEvent;
use crate::dns::wire::unix_now;
use crate::notify_gate::{NotifyGate, SyncedSerial};
use crate::observe::alerts::{Alerter, ZoneAlerts};
use crate::observe::metrics::{Metrics, SyncResult, ZoneMetrics};
use crate::route53::aws::{client, AwsHostedZone};
use crate::route53::throttle::Throttle;
use crate::scheduler::{drive, supervise};
use crate::state::{StateDir, ZoneState, DEFAULT_DIR};
use crate::sync::{Outcome, Source, ZoneSync};

/// How long a running sync may take to finish once the daemon stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

pub async fn run(config_path: &Path, state_dir: Option<PathBuf>) -> Result<()> {
    let mut config = Config::load(config_path)?;
    config.require_zones()?;
    let mut udp = Vec::new();
    let mut tcp = Vec::new();
    for addr in &config.listen.dns {
        let (u, t) = bind(*addr).with_context(|| {
            format!("listen.dns: cannot listen on {addr}: is another server on that port, and may xfr53 bind it (CAP_NET_BIND_SERVICE)?")
        })?;
        udp.push(u);
        tcp.push(t);
    }
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = config.listen.http {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listen.http: cannot listen on {addr}"))?;
        tokio::spawn(crate::observe::http::serve(
            listener,
            metrics.clone(),
            config.limits.http,
        ));
    }
    let (notify_tx, mut notifies) = mpsc::channel(config.limits.notify.queue);
    let listener = Listener::start(
        udp,
        tcp,
        config.notify_policy(),
        config.limits.notify,
        notify_tx,
    );
    metrics.set_notify_counters(listener.counters().clone());
    let states = |config: &Config| {
        StateDir::new(
            state_dir
                .clone()
                .or_else(|| config.state_dir.clone())
                .unwrap_or_else(|| DEFAULT_DIR.into()),
        )
    };
    let mut zones = Zones::start(&config, states(&config), &metrics).await;
    tracing::info!(zones = zones.tasks.len(), dns = ?config.listen.dns, http = ?config.listen.http, "xfr53 daemon running");

    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            Some(event) = notifies.recv() => zones.notify(&event, &metrics),
            _ = hangup.recv() => match Config::load(config_path) {
                Err(e) => tracing::error!("configuration reload failed; keeping the running one: {e:#}"),
                Ok(new) => {
                    if new.listen.dns != config.listen.dns || new.listen.http != config.listen.http {
                        tracing::warn!("listen addresses change only on a restart; keeping the sockets open");
                    }
                    if new.limits != config.limits {
                        tracing::warn!("[limits] change only on a restart; keeping the running ones");
                    }
                    listener.set_policy(new.notify_policy());
                    zones.stop().await;
                    let names: Vec<Name> = new.zones.iter().map(|z| z.rules.zone.clone()).collect();
                    metrics.retain(&names);
                    zones = Zones::start(&new, states(&new), &metrics).await;
                    tracing::info!(zones = names.len(), "configuration reloaded");
                    config = new;
                }
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!("stopping: no new change batch will be sent");
    listener.stop().await;
    zones.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// A UDP socket and a TCP listener on `addr` (IPv6 sockets IPv6 only, so
/// `0.0.0.0:53` and `[::]:53` can both be configured).
fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    let socket = |kind, protocol| -> Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        Ok(socket)
    };
    let udp = socket(Type::DGRAM, Protocol::UDP)?;
    udp.bind(&addr.into())?;
    let tcp = socket(Type::STREAM, Protocol::TCP)?;
    tcp.set_reuse_address(true)?;
    tcp.bind(&addr.into())?;
    tcp.listen(128)?;
    Ok((
        UdpSocket::from_std(udp.into())?,
        TcpListener::from_std(tcp.into())?,
    ))
}

/// The running zone tasks.
struct Zones {
    tasks: BTreeMap<Name, ZoneTask>,
}

struct ZoneTask {
    notify: mpsc::Sender<()>,
    gate: Arc<NotifyGate>,
    synced: Arc<SyncedSerial>,
    stop: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// What a zone task shares with the rest of the daemon.
#[derive(Clone)]
struct Shared {
    client: Client,
    /// One rate limit for every zone: Route 53's is per account.
    throttle: Arc<Throttle>,
    insync_timeout: Duration,
    states: StateDir,
    alerter: Option<Arc<Alerter>>,
    grace: Duration,
}

impl Zones {
    async fn start(config: &Config, states: StateDir, metrics: &Metrics) -> Zones {
        let shared = Shared {
            client: client(&config.route53).await,
            throttle: Arc::new(Throttle::new(
                config.route53.requests_per_second,
                config.route53.max_attempts,
            )),
            insync_timeout: config.route53.insync_timeout,
            states,
            alerter: match &config.alerts {
                Some(alerts) => Some(Arc::new(Alerter::new(alerts).await)),
                None => None,
            },
            grace: config.alerts.as_ref().map_or(Duration::ZERO, |a| a.grace),
        };
        let tasks = config
            .zones
            .iter()
            .map(|zone| {
                let (notify, notified) = mpsc::channel(1);
                let link = NotifyLink {
                    notified: Arc::new(tokio::sync::Mutex::new(notified)),
                    synced: Arc::new(SyncedSerial::default()),
                };
                let synced = link.synced.clone();
                let (shutdown, stopping) = watch::channel(false);
                let stop = Arc::new(AtomicBool::new(false));
                let metrics = metrics.zone(&zone.rules.zone);
                let (zone, shared) = (zone.clone(), shared.clone());
                let name = zone.rules.zone.clone();
                let alerts = Arc::new(ZoneAlerts::new(
                    name.clone(),
                    shared.grace,
                    shared.alerter.clone(),
                ));
                let handle = tokio::spawn(supervised(
                    name.clone(),
                    metrics.clone(),
                    stopping.clone(),
                    alerts.clone(),
                    {
                        let stop = stop.clone();
                        move || {
                            zone_task(
                                zone.clone(),
                                shared.clone(),
                                metrics.clone(),
                                alerts.clone(),
                                link.clone(),
                                stopping.clone(),
                                stop.clone(),
                            )
                        }
                    },
                ));
                let task = ZoneTask {
                    notify,
                    gate: NotifyGate::new(config.limits.notify_sync_interval),
                    synced,
                    stop,
                    shutdown,
                    handle,
                };
                (name, task)
            })
            .collect();
        Zones { tasks }
    }

    /// Passes a NOTIFY to its zone, unless it announces a serial not newer
    /// than the one this daemon last synced: a replayed or repeated NOTIFY
    /// then costs no SOA query and no Route 53 request. (A serial merely
    /// being synced is not dropped: a NOTIFY forged with the next serial
    /// could then hide the real one. The gate spaces those.)
    fn notify(&self, event: &NotifyEvent, metrics: &Metrics) {
        let Some(task) = self.tasks.get(&event.zone) else {
            return;
        };
        let metrics = metrics.zone(&event.zone);
        if let (Some(serial), Some(synced)) = (event.serial, task.synced.get()) {
            if serial <= synced {
                metrics.skip_notify();
                tracing::debug!(zone = %event.zone, serial = serial.0, synced = synced.0, "NOTIFY for a serial already synced: no sync");
                return;
            }
        }
        if !task
            .gate
            .pass(&task.notify, event.serial, &task.synced, &metrics)
        {
            metrics.defer_notify();
        }
    }

    async fn stop(&mut self) {
        for task in self.tasks.values() {
            task.stop.store(true, Ordering::SeqCst);
            let _ = task.shutdown.send(true);
        }
        // one deadline for all: the zones stop together, not one after another
        let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_secs(1);
        for (zone, task) in std::mem::take(&mut self.tasks) {
            let abort = task.handle.abort_handle();
            if tokio::time::timeout_at(deadline, task.handle)
                .await
                .is_err()
            {
                tracing::warn!(zone = %zone, "zone task did not stop in time; abandoned");
                abort.abort();
            }
        }
    }
}

/// A zone's supervisor: a task that dies is alerted on, once an episode,
/// like a failing sync.
fn supervised<F, Fut>(
    name: Name,
    metrics: Arc<ZoneMetrics>,
    stopping: watch::Receiver<bool>,
    alerts: Arc<ZoneAlerts>,
    start: F,
) -> impl std::future::Future<Output = ()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let died = move |why| {
        alerts.task_died(format!("{why} (a bug in xfr53)"));
    };
    supervise(name, metrics, stopping, died, start)
}

/// What a zone keeps from one sync to the next.
struct ZoneRuntime {
    state: ZoneState,
    hosted: Option<Arc<AwsHostedZone>>,
    /// What Route 53 holds after the last success, for the NOTIFY path.
    synced: Arc<SyncedSerial>,
}

/// A zone task's side of the NOTIFY path: the NOTIFYs passed to it (kept
/// by the supervisor across restarts), and the serial it synced, which
/// the NOTIFY path reads.
#[derive(Clone)]
struct NotifyLink {
    notified: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
    synced: Arc<SyncedSerial>,
}

async fn zone_task(
    zone: ZoneConfig,
    shared: Shared,
    metrics: Arc<ZoneMetrics>,
    alerts: Arc<ZoneAlerts>,
    link: NotifyLink,
    shutdown: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
) {
    let name = zone.rules.zone.clone();
    let mut notified = link.notified.lock_owned().await;
    // until the first SOA is seen: a day's expire, the configured clamps
    let schedule = Schedule::new(Timers::from_soa(3600, 600, 86_400, zone.clamps));
    let runtime = Arc::new(tokio::sync::Mutex::new(ZoneRuntime {
        state: shared.states.load(&name),
        hosted: None,
        synced: link.synced,
    }));
    let running = drive(schedule, &mut notified, shutdown, || {
        tokio::spawn(sync_once(
            zone.clone(),
            shared.clone(),
            metrics.clone(),
            alerts.clone(),
            runtime.clone(),
            stop.clone(),
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
async fn sync_once(
    zone: ZoneConfig,
    shared: Shared,
    metrics: Arc<ZoneMetrics>,
    alerts: Arc<ZoneAlerts>,
    runtime: Arc<tokio::sync::Mutex<ZoneRuntime>>,
    stop: Arc<AtomicBool>,
) -> Event {
    let mut runtime = runtime.lock().await;
    let started = std::time::Instant::now();
    metrics.sync_started(u64::from(unix_now()), zone.sync_timeout);
    // One deadline for the whole sync, so a primary trickling its transfer
    // or a Route 53 that never answers cannot hold the zone. Dropping the
    // sync mid-way is safe: the held zone copy only changes whole, each
    // batch is atomic, and an unfinished apply is marked in `_serial`.
    let ran = tokio::time::timeout(
        zone.sync_timeout,
        run_sync(&zone, &shared, &metrics, &mut runtime, stop),
    )
    .await;
    let (event, detail) = match ran {
        Ok(done) => done,
        Err(_) => timed_out(&zone, &shared, &metrics, &mut runtime, started.elapsed()),
    };
    metrics.sync_ended();
    alerts.sync_ended(matches!(event, Event::Succeeded { .. }), detail);
    event
}

/// A sync abandoned at its deadline: a failure like any other, retried
/// with backoff.
fn timed_out(
    zone: &ZoneConfig,
    shared: &Shared,
    metrics: &ZoneMetrics,
    runtime: &mut ZoneRuntime,
    took: Duration,
) -> (Event, String) {
    let name = &zone.rules.zone;
    // The abandoned sync may have moved the held zone copy into its
    // transfer or conversion (and dropped it there) or half-applied an
    // IXFR to it: go back to the copy
    // last saved whole, a base for the next IXFR. Batches may have landed,
    // so the Route 53 view no longer holds.
    let mut state = shared.states.load(name);
    state.route53 = None;
    shared.states.save(name, &mut state);
    runtime.state = state;
    runtime.hosted = None;
    metrics.record(SyncResult::Timeout, took, (0, 0, 0), u64::from(unix_now()));
    let detail = format!(
        "zone {name}: the sync was still running after sync_timeout_seconds ({}s) and was abandoned; it is retried with backoff. Is the primary sending its transfer slowly, or Route 53 not answering? For a zone that needs longer, raise sync_timeout_seconds",
        zone.sync_timeout.as_secs()
    );
    tracing::error!(zone = %name, duration_ms = took.as_millis() as u64, "{detail}");
    (
        Event::Failed {
            jitter: rand::random(),
        },
        detail,
    )
}

/// The sync itself: the event for the schedule and a line for an alert.
async fn run_sync(
    zone: &ZoneConfig,
    shared: &Shared,
    metrics: &ZoneMetrics,
    runtime: &mut ZoneRuntime,
    stop: Arc<AtomicBool>,
) -> (Event, String) {
    let started = std::time::Instant::now();
    let name = zone.rules.zone.clone();
    // An operator's `xfr53 sync` of this zone runs to its end first.
    let _lock = match shared.states.lock(&name).await {
        Ok(lock) => lock,
        Err(e) => {
            metrics.record(
                SyncResult::Failed,
                started.elapsed(),
                (0, 0, 0),
                u64::from(unix_now()),
            );
            tracing::error!(zone = %name, "sync not started: {e:#}");
            return (
                Event::Failed {
                    jitter: rand::random(),
                },
                format!("{e:#}"),
            );
        }
    };
    let hosted = match runtime.hosted.clone() {
        Some(hosted) => Ok(hosted),
        None => {
            let (client, throttle) = (shared.client.clone(), shared.throttle.clone());
            AwsHostedZone::for_zone(client, throttle, zone)
                .await
                .map(Arc::new)
        }
    };
    let state = &mut runtime.state;
    let (result, soa) = match &hosted {
        Ok(hosted) => {
            // the zone's metrics count the transfers that hit a limit
            let counting = |p: &crate::dns::primary::Primary| crate::dns::primary::Primary {
                limit_hits: Some(metrics.transfer_limits()),
                ..p.clone()
            };
            let source = Source::Primaries(zone.primaries.iter().map(counting).collect());
            let mut sync =
                ZoneSync::new(zone, source, hosted.as_ref(), state, shared.insync_timeout)
                    .stopping(stop);
            let result = sync.sync(false).await;
            (result, sync.soa().cloned())
        }
        Err(e) => (Err(anyhow::anyhow!("{e:#}")), None),
    };
    // Whole-zone work (a plan of the whole zone, a full listing, a failure
    // part-way) leaves the zone's transient memory free in the allocator:
    // it goes back to the system once this sync's data is gone.
    let whole_zone = match &result {
        Ok(Outcome::Applied(plan) | Outcome::Refused(plan)) => plan.changed_names.is_none(),
        Ok(Outcome::UpToDate(_)) => state.relisted,
        Err(_) => true,
    };
    let _release = whole_zone.then_some(crate::heap::ReleaseOnDrop);
    let took = started.elapsed();
    let now = u64::from(unix_now());
    if let Some(soa) = &soa {
        metrics.set_primary_serial(soa.serial());
    }
    let timers = soa.map(|soa| {
        Timers::from_soa(
            soa.refresh() as u32,
            soa.retry() as u32,
            soa.expire() as u32,
            zone.clamps,
        )
    });
    if let Some(timers) = timers {
        metrics.set_expire(timers.expire);
    }
    let succeeded = |timers: Option<Timers>| match timers {
        Some(timers) => Event::Succeeded { timers },
        None => Event::Failed {
            jitter: rand::random(),
        },
    };
    let (event, detail) = match result {
        Ok(Outcome::UpToDate(serial)) => {
            runtime.synced.set(serial);
            metrics.set_route53_serial(serial.0);
            metrics.record(SyncResult::UpToDate, took, (0, 0, 0), now);
            tracing::info!(zone = %name, serial = serial.0, duration_ms = took.as_millis() as u64, "in sync");
            (succeeded(timers), format!("in sync at serial {serial}"))
        }
        Ok(Outcome::Applied(plan)) => {
            shared.states.save(&name, state);
            metrics.count_plan(plan.changed_names.is_some());
            let s = plan.summary;
            runtime.synced.set(plan.serial);
            metrics.set_route53_serial(plan.serial.0);
            metrics.record(
                SyncResult::Applied,
                took,
                (s.create, s.delete, s.modify),
                now,
            );
            tracing::info!(zone = %name, serial = plan.serial.0, created = s.create, deleted = s.delete, modified = s.modify, batches = s.batches, duration_ms = took.as_millis() as u64, "synced");
            (succeeded(timers), format!("synced serial {}", plan.serial))
        }
        Ok(Outcome::Refused(plan)) => {
            shared.states.save(&name, state);
            metrics.count_plan(plan.changed_names.is_some());
            metrics.record(SyncResult::Refused, took, (0, 0, 0), now);
            tracing::error!(zone = %name, serial = plan.serial.0, refusals = ?plan.refusals, "plan refused by a safety rule; run `xfr53 plan` to see it and `xfr53 sync --force` to apply it");
            let detail = format!(
                "serial {} refused by a safety rule: {}",
                plan.serial,
                plan.refusals.join("; ")
            );
            (
                Event::Failed {
                    jitter: rand::random(),
                },
                detail,
            )
        }
        Err(e) => {
            // the sync kept only the view it can still trust
            shared.states.save(&name, state);
            metrics.record(SyncResult::Failed, took, (0, 0, 0), now);
            tracing::error!(zone = %name, duration_ms = took.as_millis() as u64, "sync failed: {e:#}");
            // the hosted zone is looked up again next time
            runtime.hosted = None;
            return (
                Event::Failed {
                    jitter: rand::random(),
                },
                format!("{e:#}"),
            );
        }
    };
    runtime.hosted = hosted.ok();
    (event, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::Alert;

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
        let supervisor = tokio::spawn(supervised(
            zone,
            metrics,
            stopping,
            alerts.clone(),
            || async { panic!("a bug") },
        ));
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
