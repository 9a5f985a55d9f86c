//! The daemon, wiring only: the NOTIFY listener, one task per zone (each
//! running the engine on its schedule), the HTTP endpoint. `run` takes
//! sockets already bound, the configurations to reload, and a shutdown
//! future, so tests run it in-process on port 0 with Route 53 in memory.
//! Shutdown is graceful: no new batch after it, a running request
//! finishes or is abandoned within a bound. A reload keeps the listening
//! sockets and every unchanged zone's task.

mod audit;
mod catalog_delete;
mod catalog_task;
mod catalogs;
mod listen;
mod notify_gate;
mod scheduler;
mod zone_task;
mod zones;

use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use tokio::sync::mpsc;

use crate::config::{AlertSettings, Config, Route53Settings};
use crate::dns::listener::Listener;
use crate::loaded::Loaded;
use crate::observe::alerts::{Alerter, Publish};
use crate::observe::metrics::Metrics;
use crate::route53::HostedZones;
use catalogs::Catalogs;
pub use listen::Listeners;
use zones::Zones;

/// What the daemon reaches beyond its sockets, for a configuration's
/// settings: Route 53 (through the SDK, or a double in tests) and where
/// alerts go.
pub trait Backends {
    type Zones: HostedZones;

    fn route53(&self, settings: &Route53Settings) -> impl Future<Output = Self::Zones> + Send;

    fn alerts(&self, settings: &AlertSettings) -> impl Future<Output = Arc<dyn Publish>> + Send;
}

/// Runs the daemon for `loaded` on `listeners` until `shutdown` completes;
/// each configuration from `reloads` replaces the running one. The zones
/// run are the configuration's and its catalogs' members
/// (`Catalogs::effective`), followed as either changes.
pub async fn run<B: Backends>(
    listeners: Listeners,
    mut loaded: Loaded,
    backends: B,
    mut reloads: mpsc::Receiver<Loaded>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let config = &loaded.config;
    let metrics = Arc::new(Metrics::default());
    if let Some(http) = listeners.http {
        tokio::spawn(crate::observe::http::serve(
            http,
            metrics.clone(),
            config.limits.http,
        ));
    }
    let (notify_tx, mut notifies) = mpsc::channel(config.limits.notify.queue);
    let (udp, tcp) = listeners.dns.into_iter().unzip();
    let listener = Listener::start(
        udp,
        tcp,
        loaded.notify_policy(),
        config.limits.notify,
        notify_tx,
    );
    metrics.set_notify_counters(listener.counters().clone());
    let (route53, alerter) = connect(&backends, config).await;
    let mut zones = Zones::start(&loaded, route53, alerter, metrics.clone());
    let (members_tx, mut members) = mpsc::channel(16);
    let catalogs = metrics.catalogs.clone();
    let mut catalogs = Catalogs::start(&loaded, zones.route53(), catalogs, members_tx);
    tracing::info!(zones = zones.count(), catalogs = config.catalogs.len(), dns = ?config.listen.dns, http = ?config.listen.http, "xfr53 daemon running");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            Some(event) = notifies.recv() => if !catalogs.notify(&event) {
                zones.notify(&event);
            },
            Some(set) = members.recv() => if catalogs.update(set, &loaded) {
                let effective = catalogs.effective(&loaded);
                listener.set_policy(effective.notify_policy());
                let stopped = zones.reload(&effective);
                catalogs.delete_removed(stopped, &loaded);
                metrics.retain(&zones.names());
                tracing::info!(zones = zones.count(), "catalog members changed");
            },
            Some(new) = reloads.recv() => {
                let (config, now) = (&loaded.config, &new.config);
                if now.listen.dns != config.listen.dns || now.listen.http != config.listen.http {
                    tracing::warn!("listen addresses change only on a restart; keeping the sockets open");
                }
                if now.limits != config.limits {
                    tracing::warn!("[limits] change only on a restart; keeping the running ones");
                }
                let effective = catalogs.effective(&new);
                listener.set_policy(effective.notify_policy());
                if zones.shares_with(&effective) {
                    zones.reload(&effective);
                } else {
                    // Route 53, alerts or the state directory changed:
                    // every zone starts again with them
                    let (route53, alerter) = connect(&backends, now).await;
                    zones.restart(&effective, route53, alerter);
                }
                catalogs.reload(&new, zones.route53());
                metrics.retain(&zones.names());
                tracing::info!(zones = zones.count(), "configuration reloaded");
                loaded = new;
            },
            () = &mut shutdown => break,
        }
    }
    tracing::info!("stopping: no new change batch will be sent");
    listener.stop().await;
    catalogs.stop();
    zones.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Route 53 and the alerter for `config`'s settings.
async fn connect<B: Backends>(backends: &B, config: &Config) -> (B::Zones, Option<Arc<Alerter>>) {
    let route53 = backends.route53(&config.route53).await;
    // zones with a role are found in their role's account, not listed
    let own = config.zones.iter().filter(|z| z.role_arn.is_none());
    route53.prefetch(own.count()).await;
    let alerter = match &config.alerts {
        Some(alerts) => Some(Arc::new(Alerter::new(backends.alerts(alerts).await))),
        None => None,
    };
    (route53, alerter)
}
