//! The daemon run in-process (`xfr53::daemon::run`) on sockets bound to
//! port 0, with Route 53 in memory: no process, no port race, and the test
//! reads the double directly. Stopped (aborted) when the handle is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use xfr53::config::Config;
use xfr53::config::{AlertSettings, Route53Settings};
use xfr53::daemon::{self, Backends, Listeners};
use xfr53::loaded::Loaded;
use xfr53::observe::alerts::Publish;

use super::bind::Bind;
use super::daemon::{eventually, http_get, metric};
use super::memory_alerts::Published;
use super::memory_route53::MemoryRoute53;
use super::setup::{expected, managed};

/// Route 53 and the alert topic in memory.
struct Memory {
    route53: MemoryRoute53,
    alerts: Published,
}

impl Backends for Memory {
    type Zones = MemoryRoute53;

    async fn route53(&self, _: &Route53Settings) -> MemoryRoute53 {
        self.route53.clone()
    }

    async fn alerts(&self, _: &AlertSettings) -> Arc<dyn Publish> {
        Arc::new(self.alerts.clone())
    }
}

pub struct InProcess {
    /// The alerts published, when the configuration has `[alerts]`.
    pub alerts: Published,
    /// The HTTP endpoint's port.
    http: u16,
    reloads: mpsc::Sender<Loaded>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A UDP socket on an ephemeral loopback port and a TCP listener on the
/// same port (tried again when TCP's is taken).
async fn dns_sockets() -> (UdpSocket, TcpListener) {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            return (udp, tcp);
        }
    }
}

/// The daemon's sockets, bound before it runs.
pub struct Sockets {
    listeners: Listeners,
    /// The NOTIFY listener's port (UDP and TCP), for the primary.
    pub dns: u16,
    http: u16,
}

/// A configuration with state in `state` and each of `zones` (name, extra
/// lines for its section) transferred from `primary`.
pub fn config(
    state: &std::path::Path,
    primary: std::net::SocketAddr,
    zones: &[(&str, &str)],
) -> String {
    let mut text = format!("state_dir = \"{}\"\n", state.display());
    for (name, extra) in zones {
        text += &format!("\n[[zone]]\nname = \"{name}\"\nprimaries = [\"{primary}\"]\n{extra}\n");
    }
    text
}

/// Whether Route 53 holds exactly what `bind` serves for `zone`.
pub async fn synced(route53: &MemoryRoute53, bind: &Bind, zone: &str) -> bool {
    managed(route53.contents(zone), zone) == expected(bind, zone).await
}

/// Waits up to 30 s until Route 53 holds what `bind` serves for `zone`.
pub async fn wait_synced(route53: &MemoryRoute53, bind: &Bind, zone: &str) {
    let ok = eventually(Duration::from_secs(30), || synced(route53, bind, zone)).await;
    assert!(ok, "{zone} did not converge\n{}", bind.log());
}

/// The test's configuration, made ready to run.
fn load(config_text: &str) -> Loaded {
    let config = Config::parse(config_text).expect("the test's configuration parses");
    Loaded::resolve(config).expect("the test's keys are readable")
}

impl InProcess {
    /// Binds the sockets, to give their ports to the primary; `run` starts
    /// the daemon on them.
    pub async fn bind() -> Sockets {
        let (udp, tcp) = dns_sockets().await;
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Sockets {
            dns: udp.local_addr().unwrap().port(),
            http: http.local_addr().unwrap().port(),
            listeners: Listeners {
                dns: vec![(udp, tcp)],
                http: Some(http),
            },
        }
    }

    pub fn run(sockets: Sockets, config_text: &str, route53: MemoryRoute53) -> InProcess {
        let loaded = load(config_text);
        let (reloads, reloaded) = mpsc::channel(1);
        let (shutdown, stopped) = oneshot::channel();
        let alerts = Published::default();
        let backends = Memory {
            route53,
            alerts: alerts.clone(),
        };
        let task = tokio::spawn(daemon::run(
            sockets.listeners,
            loaded,
            backends,
            reloaded,
            async {
                let _ = stopped.await;
            },
        ));
        InProcess {
            alerts,
            http: sockets.http,
            reloads,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// Reloads the daemon with `config_text` (as SIGHUP would).
    pub async fn reload(&self, config_text: &str) {
        let loaded = load(config_text);
        self.reloads.send(loaded).await.unwrap();
    }

    pub async fn metric(&self, series: &str) -> Option<f64> {
        metric(self.http, series).await
    }

    /// (status, body) of `GET path` on the HTTP endpoint.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.http, path).await
    }

    /// Waits up to `limit` until `series` is at least `value`.
    pub async fn metric_reaches(&self, series: &str, value: f64, limit: Duration) -> bool {
        eventually(limit, || async { self.metric(series).await >= Some(value) }).await
    }

    /// Stops the daemon gracefully; its result.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.take().expect("stopped once").send(());
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the daemon stops within 30 s")
            .expect("the daemon task did not panic")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.task.abort();
    }
}
