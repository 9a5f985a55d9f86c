//! The daemon, wiring only: the NOTIFY listener, one task per zone (each
//! running the engine on its schedule), the HTTP endpoint. `run` takes
//! sockets already bound, the configurations to reload, and a shutdown
//! future, so tests run it in-process on port 0 with Route 53 in memory.
//! Shutdown is graceful: no new batch after it, a running request
//! finishes or is abandoned within a bound. A reload keeps the listening
//! sockets and every unchanged zone's task.

mod listen;
mod notify_gate;
mod scheduler;
mod zone_task;
mod zones;

use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use tokio::sync::mpsc;

use crate::config::Route53Settings;
use crate::dns::listener::Listener;
use crate::loaded::Loaded;
use crate::observe::metrics::Metrics;
use crate::route53::HostedZones;
pub use listen::Listeners;
use zones::Zones;

/// Runs the daemon for `config` on `listeners` until `shutdown` completes.
/// `connect` reaches Route 53 with a configuration's settings; each config
/// from `reloads` replaces the running one.
pub async fn run<Z, C, F>(
    listeners: Listeners,
    mut loaded: Loaded,
    connect: C,
    mut reloads: mpsc::Receiver<Loaded>,
    shutdown: impl Future<Output = ()>,
) -> Result<()>
where
    Z: HostedZones,
    C: Fn(Route53Settings) -> F,
    F: Future<Output = Z>,
{
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
    let route53 = connect(config.route53.clone()).await;
    let mut zones = Zones::start(&loaded, route53, metrics.clone()).await;
    tracing::info!(zones = zones.count(), dns = ?config.listen.dns, http = ?config.listen.http, "xfr53 daemon running");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            Some(event) = notifies.recv() => zones.notify(&event),
            Some(new) = reloads.recv() => {
                let (config, now) = (&loaded.config, &new.config);
                if now.listen.dns != config.listen.dns || now.listen.http != config.listen.http {
                    tracing::warn!("listen addresses change only on a restart; keeping the sockets open");
                }
                if now.limits != config.limits {
                    tracing::warn!("[limits] change only on a restart; keeping the running ones");
                }
                listener.set_policy(new.notify_policy());
                if zones.shares_with(&new) {
                    zones.reload(&new);
                } else {
                    // Route 53, alerts or the state directory changed:
                    // every zone starts again with them
                    zones.stop_in_background();
                    let route53 = connect(now.route53.clone()).await;
                    zones = Zones::start(&new, route53, metrics.clone()).await;
                }
                tracing::info!(zones = zones.count(), "configuration reloaded");
                loaded = new;
            },
            () = &mut shutdown => break,
        }
    }
    tracing::info!("stopping: no new change batch will be sent");
    listener.stop().await;
    zones.stop().await;
    tracing::info!("stopped");
    Ok(())
}
