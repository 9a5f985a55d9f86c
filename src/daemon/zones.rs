//! The running zone tasks: started, NOTIFYed, reloaded and stopped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::notify_gate::{NotifyGate, SyncedSerial};
use super::zone_task::{supervised, ZoneLinks, ZoneShared, SHUTDOWN_GRACE};
use crate::config::{AlertSettings, Config, Route53Settings, ZoneConfig};
use crate::core::name::Name;
use crate::dns::notify::NotifyEvent;
use crate::dns::primary::Primary;
use crate::engine::state::StateDir;
use crate::loaded::Loaded;
use crate::observe::alerts::{Alerter, ZoneAlerts};
use crate::observe::metrics::Metrics;
use crate::route53::HostedZones;

/// The zone tasks and what they share.
pub struct Zones<Z> {
    tasks: BTreeMap<Name, ZoneTask>,
    shared: Arc<ZoneShared<Z>>,
    /// The settings every zone task depends on: a change restarts them all.
    common: Common,
    alerter: Option<Arc<Alerter>>,
    metrics: Arc<Metrics>,
}

/// The configuration every zone task shares.
#[derive(PartialEq)]
struct Common {
    route53: Route53Settings,
    alerts: Option<AlertSettings>,
    state_dir: StateDir,
    notify_sync_interval: Duration,
}

impl Common {
    fn of(config: &Config) -> Common {
        Common {
            route53: config.route53.clone(),
            alerts: config.alerts.clone(),
            state_dir: StateDir::new(config.state_path()),
            notify_sync_interval: config.limits.notify_sync_interval,
        }
    }
}

struct ZoneTask {
    /// What the task runs on: a reload that changes either restarts it.
    config: ZoneConfig,
    primaries: Vec<Primary>,
    notify: mpsc::Sender<()>,
    gate: Arc<NotifyGate>,
    synced: Arc<SyncedSerial>,
    stop: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl<Z: HostedZones> Zones<Z> {
    /// Starts a task for every zone of `config`, with `zones` for Route 53.
    pub fn start(
        loaded: &Loaded,
        zones: Z,
        alerter: Option<Arc<Alerter>>,
        metrics: Arc<Metrics>,
    ) -> Zones<Z> {
        let common = Common::of(&loaded.config);
        let shared = Arc::new(ZoneShared {
            zones: Arc::new(zones),
            insync_timeout: common.route53.insync_timeout,
            states: common.state_dir.clone(),
        });
        let mut running = Zones {
            tasks: BTreeMap::new(),
            shared,
            common,
            alerter,
            metrics,
        };
        for zone in &loaded.config.zones {
            running.start_zone(zone, loaded.primaries(zone));
        }
        running
    }

    /// Whether `config` keeps what every zone shares: else all restart.
    pub fn shares_with(&self, loaded: &Loaded) -> bool {
        self.common == Common::of(&loaded.config)
    }

    /// Follows a reloaded `config` that shares what the running one does:
    /// a zone whose configuration is unchanged keeps its task (its timers,
    /// alert state and held copy); a changed one is stopped and started
    /// anew; added ones start, removed ones stop. Stopping tasks finish in
    /// the background.
    pub fn reload(&mut self, loaded: &Loaded) {
        let wanted: BTreeMap<&Name, (&ZoneConfig, Vec<Primary>)> = (loaded.config.zones.iter())
            .map(|z| (&z.rules.zone, (z, loaded.primaries(z))))
            .collect();
        let gone: Vec<Name> = (self.tasks.iter())
            .filter(|(name, task)| {
                wanted.get(name) != Some(&(&task.config, task.primaries.clone()))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            let task = self.tasks.remove(&name).expect("listed above");
            tokio::spawn(stop_all(vec![(name, task)]));
        }
        for (zone, primaries) in wanted.into_values() {
            if !self.tasks.contains_key(&zone.rules.zone) {
                self.start_zone(zone, primaries);
            }
        }
        let names: Vec<Name> = self.tasks.keys().cloned().collect();
        self.metrics.retain(&names);
    }

    fn start_zone(&mut self, zone: &ZoneConfig, primaries: Vec<Primary>) {
        let name = zone.rules.zone.clone();
        let (notify, notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let links = ZoneLinks {
            metrics: self.metrics.zone(&name),
            alerts: Arc::new(ZoneAlerts::new(
                name.clone(),
                (self.common.alerts.as_ref()).map_or(Duration::ZERO, |a| a.grace),
                self.alerter.clone(),
            )),
            notified: Arc::new(tokio::sync::Mutex::new(notified)),
            synced: Arc::new(SyncedSerial::default()),
            shutdown: stopping,
            stop: Arc::new(AtomicBool::new(false)),
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
            notify,
            gate: NotifyGate::new(self.common.notify_sync_interval),
            synced: links.synced.clone(),
            stop: links.stop.clone(),
            shutdown,
            handle,
        };
        self.tasks.insert(name, task);
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

    /// Stops every zone task: no new batch; a running sync finishes
    /// within the shutdown grace or is abandoned.
    pub async fn stop(mut self) {
        stop_all(std::mem::take(&mut self.tasks).into_iter().collect()).await;
    }

    /// Stops every zone in the background (a reload that restarts all).
    pub fn stop_in_background(mut self) {
        tokio::spawn(stop_all(
            std::mem::take(&mut self.tasks).into_iter().collect(),
        ));
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
