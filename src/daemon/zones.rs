//! The running zone tasks: started, NOTIFYed, reloaded and stopped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::audit::Auditing;
use super::notify_gate::{NotifyGate, SyncedSerial};
use super::zone_task::{supervised, ZoneLinks, ZoneShared, SHUTDOWN_GRACE};
use crate::config::{AlertSettings, AuditSettings, Config, Route53Settings, ZoneConfig};
use crate::core::name::Name;
use crate::dns::notify::NotifyEvent;
use crate::dns::primary::Primary;
use crate::engine::state::StateDir;
use crate::loaded::Loaded;
use crate::observe::alerts::{Alerter, ZoneAlerts};
use crate::observe::metrics::Metrics;
use crate::route53::throttle::{Lane, LaneCell};
use crate::route53::HostedZones;

/// The zone tasks and what they share.
pub struct Zones<Z> {
    tasks: BTreeMap<Name, ZoneTask>,
    shared: Arc<ZoneShared<Z>>,
    /// The settings every zone task depends on: a change restarts them all.
    common: Common,
    alerter: Option<Arc<Alerter>>,
    metrics: Arc<Metrics>,
    /// The running `[limits]` value (limits change only on a restart).
    notify_sync_interval: Duration,
    /// Tasks stopping in the background: each successor waits for its
    /// predecessor, and the daemon for all of them when it stops.
    stopping: Vec<JoinHandle<()>>,
}

/// The configuration every zone task shares.
#[derive(PartialEq)]
struct Common {
    route53: Route53Settings,
    alerts: Option<AlertSettings>,
    state_dir: StateDir,
    audit: Option<AuditSettings>,
}

impl Common {
    fn of(config: &Config) -> Common {
        Common {
            route53: config.route53.clone(),
            alerts: config.alerts.clone(),
            state_dir: StateDir::new(config.state_path()),
            audit: config.audit,
        }
    }
}

fn shared<Z>(common: &Common, zones: Z) -> Arc<ZoneShared<Z>> {
    Arc::new(ZoneShared {
        zones: Arc::new(zones),
        insync_timeout: common.route53.insync_timeout,
        states: common.state_dir.clone(),
        audit: common.audit.map(|a| Arc::new(Auditing::new(a))),
    })
}

struct ZoneTask {
    /// What the task runs on: a reload that changes either restarts it.
    config: ZoneConfig,
    primaries: Vec<Primary>,
    /// Kept by the task that replaces this one, so an episode alerts once.
    alerts: Arc<ZoneAlerts>,
    notify: mpsc::Sender<()>,
    gate: Arc<NotifyGate>,
    synced: Arc<SyncedSerial>,
    stop: Arc<AtomicBool>,
    audit_lane: Arc<std::sync::Mutex<Option<LaneCell>>>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl<Z: HostedZones> Zones<Z> {
    /// Starts a task for every zone of `loaded`, with `zones` for Route 53
    /// and `alerter` for alerts.
    pub fn start(
        loaded: &Loaded,
        zones: Z,
        alerter: Option<Arc<Alerter>>,
        metrics: Arc<Metrics>,
    ) -> Zones<Z> {
        let common = Common::of(&loaded.config);
        let mut running = Zones {
            tasks: BTreeMap::new(),
            shared: shared(&common, zones),
            common,
            alerter,
            metrics,
            notify_sync_interval: loaded.config.limits.notify_sync_interval,
            stopping: Vec::new(),
        };
        for zone in &loaded.config.zones {
            running.start_zone(zone, loaded.primaries(zone), None, None);
        }
        running
    }

    /// Restarts every zone with new shared settings (`zones`, `alerter`):
    /// each new task starts once its old one has stopped; alert episodes
    /// carry over when alerts still go where they went.
    pub fn restart(&mut self, loaded: &Loaded, zones: Z, alerter: Option<Arc<Alerter>>) {
        let common = Common::of(&loaded.config);
        let keep_alerts = common.alerts == self.common.alerts;
        let names: Vec<Name> = self.tasks.keys().cloned().collect();
        let (stopped, old) = self.stop_in_background(&names);
        (self.shared, self.common, self.alerter) = (shared(&common, zones), common, alerter);
        for zone in &loaded.config.zones {
            let alerts = (old.get(&zone.rules.zone).cloned()).filter(|_| keep_alerts);
            let primaries = loaded.primaries(zone);
            self.start_zone(zone, primaries, Some(stopped.clone()), alerts);
        }
    }

    /// Whether `config` keeps what every zone shares: else all restart.
    pub fn shares_with(&self, loaded: &Loaded) -> bool {
        self.common == Common::of(&loaded.config)
    }

    /// Follows a reloaded `config` that shares what the running one does:
    /// a zone whose configuration is unchanged keeps its task (its timers,
    /// alert state and held copy); a changed one is stopped and started
    /// anew; added ones start, removed ones stop. Stopping tasks finish in
    /// the background; what is returned says when they have.
    pub fn reload(&mut self, loaded: &Loaded) -> watch::Receiver<bool> {
        let wanted: BTreeMap<&Name, (&ZoneConfig, Vec<Primary>)> = (loaded.config.zones.iter())
            .map(|z| (&z.rules.zone, (z, loaded.primaries(z))))
            .collect();
        let gone: Vec<Name> = (self.tasks.iter())
            .filter(|(name, task)| {
                wanted.get(name) != Some(&(&task.config, task.primaries.clone()))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let (stopped, old) = self.stop_in_background(&gone);
        for (zone, primaries) in wanted.into_values() {
            if !self.tasks.contains_key(&zone.rules.zone) {
                let alerts = old.get(&zone.rules.zone).cloned();
                self.start_zone(zone, primaries, Some(stopped.clone()), alerts);
            }
        }
        stopped
    }

    /// Stops the tasks of `names` in the background. Returns what says
    /// they have stopped, and their alerts.
    fn stop_in_background(
        &mut self,
        names: &[Name],
    ) -> (watch::Receiver<bool>, BTreeMap<Name, Arc<ZoneAlerts>>) {
        let tasks: Vec<(Name, ZoneTask)> = (names.iter())
            .filter_map(|name| Some((name.clone(), self.tasks.remove(name)?)))
            .collect();
        let alerts = (tasks.iter())
            .map(|(name, task)| (name.clone(), task.alerts.clone()))
            .collect();
        // nothing to stop: the successors need not wait
        let (done, stopped) = watch::channel(tasks.is_empty());
        self.stopping.retain(|stopper| !stopper.is_finished());
        if !tasks.is_empty() {
            self.stopping.push(tokio::spawn(async move {
                stop_all(tasks).await;
                let _ = done.send(true);
            }));
        }
        (stopped, alerts)
    }

    /// Starts `zone`'s task, once `after` says its predecessor stopped,
    /// with the predecessor's `alerts` when given.
    fn start_zone(
        &mut self,
        zone: &ZoneConfig,
        primaries: Vec<Primary>,
        after: Option<watch::Receiver<bool>>,
        alerts: Option<Arc<ZoneAlerts>>,
    ) {
        let name = zone.rules.zone.clone();
        let (notify, notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let alerts = alerts.unwrap_or_else(|| {
            Arc::new(ZoneAlerts::new(
                name.clone(),
                (self.common.alerts.as_ref()).map_or(Duration::ZERO, |a| a.grace),
                self.alerter.clone(),
            ))
        });
        let links = ZoneLinks {
            metrics: self.metrics.zone(&name),
            alerts: alerts.clone(),
            notified: Arc::new(tokio::sync::Mutex::new(notified)),
            synced: Arc::new(SyncedSerial::default()),
            shutdown: stopping,
            stop: Arc::new(AtomicBool::new(false)),
            after,
            audit_lane: Arc::default(),
        };
        let handle = tokio::spawn(supervised(
            zone.clone(),
            primaries.clone(),
            self.shared.clone(),
            links.clone(),
        ));
        let task = ZoneTask {
            config: zone.clone(),
            primaries,
            alerts,
            notify,
            gate: NotifyGate::new(self.notify_sync_interval),
            synced: links.synced.clone(),
            stop: links.stop.clone(),
            audit_lane: links.audit_lane.clone(),
            shutdown,
            handle,
        };
        self.tasks.insert(name, task);
    }

    /// Route 53 as every zone task reaches it.
    pub fn route53(&self) -> Arc<Z> {
        self.shared.zones.clone()
    }

    /// How many zones run.
    pub fn count(&self) -> usize {
        self.tasks.len()
    }

    /// Passes a NOTIFY to its zone, unless it announces a serial not newer
    /// than the one this daemon last synced: a replayed or repeated NOTIFY
    /// then costs no SOA query and no Route 53 request. (A serial merely
    /// being synced is not dropped: a NOTIFY forged with the next serial
    /// could then hide the real one. The gate spaces those.)
    pub fn notify(&self, event: &NotifyEvent) {
        let Some(task) = self.tasks.get(&event.zone) else {
            return;
        };
        let metrics = self.metrics.zone(&event.zone);
        if let Some(audit) = task.audit_lane.lock().expect("not poisoned").as_ref() {
            audit.raise(Lane::Notify);
        }
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

    /// The zones that run.
    pub fn names(&self) -> Vec<Name> {
        self.tasks.keys().cloned().collect()
    }

    /// Stops every zone task, and waits for those stopping already: no new
    /// batch; a running sync finishes within the shutdown grace or is
    /// abandoned.
    pub async fn stop(mut self) {
        stop_all(std::mem::take(&mut self.tasks).into_iter().collect()).await;
        for stopper in self.stopping {
            let _ = stopper.await;
        }
    }
}

/// Stops `tasks` together, under one deadline.
async fn stop_all(tasks: Vec<(Name, ZoneTask)>) {
    for (_, task) in &tasks {
        task.stop.store(true, Ordering::SeqCst);
        let _ = task.shutdown.send(true);
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_secs(1);
    for (zone, task) in tasks {
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
