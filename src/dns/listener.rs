//! The NOTIFY listener's sockets: UDP and TCP on addresses the caller bound.
//! Every message is rate limited per source, decided by `notify::handle`,
//! answered at once and counted; accepted NOTIFYs go to a channel without
//! ever waiting on it. Nothing a sender does can make the listener wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::notify::{handle, NotifyEvent, NotifyPolicy, TsigCase, Verdict};
use super::rate_limit::RateLimiter;
use super::wire::{read_frame, unix_now, write_frame};

/// A NOTIFY is small; anything longer on TCP closes the connection.
const MAX_MESSAGE: usize = 4096;
/// TCP: connections served at once, messages per connection, idle limit.
const MAX_CONNECTIONS: usize = 64;
const MAX_MESSAGES_PER_CONNECTION: usize = 16;
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Messages by verdict, NOTIFYs by signature, and accepted NOTIFYs the
/// channel had no room for.
#[derive(Debug, Default)]
pub struct Counters {
    by_verdict: [AtomicU64; Verdict::ALL.len()],
    by_tsig: [AtomicU64; TsigCase::ALL.len()],
    events_dropped: AtomicU64,
}

impl Counters {
    pub fn get(&self, verdict: Verdict) -> u64 {
        self.by_verdict[verdict as usize].load(Ordering::Relaxed)
    }

    pub fn tsig(&self, case: TsigCase) -> u64 {
        self.by_tsig[case as usize].load(Ordering::Relaxed)
    }

    pub fn events_dropped(&self) -> u64 {
        self.events_dropped.load(Ordering::Relaxed)
    }

    fn count(&self, verdict: Verdict) {
        self.by_verdict[verdict as usize].fetch_add(1, Ordering::Relaxed);
    }
}

struct Shared {
    policy: RwLock<Arc<NotifyPolicy>>,
    limiter: Mutex<RateLimiter>,
    counters: Arc<Counters>,
    events: mpsc::Sender<NotifyEvent>,
}

impl Shared {
    /// The reply to send, if any.
    fn process(&self, message: &[u8], source: std::net::SocketAddr) -> Option<Vec<u8>> {
        let allowed = self
            .limiter
            .lock()
            .expect("the rate limiter lock is never poisoned")
            .allow(source.ip(), Instant::now());
        if !allowed {
            self.counters.count(Verdict::RateLimited);
            return None;
        }
        let policy = self
            .policy
            .read()
            .expect("the policy lock is never poisoned")
            .clone();
        let handled = handle(&policy, message, source, u64::from(unix_now()));
        self.counters.count(handled.verdict);
        if let Some(case) = handled.tsig {
            self.counters.by_tsig[case as usize].fetch_add(1, Ordering::Relaxed);
        }
        if handled.verdict != Verdict::Accepted {
            tracing::debug!(%source, verdict = handled.verdict.as_str(), "NOTIFY listener: message not accepted");
        }
        if let Some(event) = handled.event {
            let tsig = handled.tsig.map_or("", TsigCase::as_str);
            tracing::info!(zone = %event.zone, serial = ?event.serial.map(|s| s.0), %source, tsig, "NOTIFY accepted");
            if self.events.try_send(event).is_err() {
                self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        handled.reply
    }
}

/// Limits of the listener.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Messages per second per source (IPv6: per /64), and the burst.
    pub per_second: f64,
    pub burst: f64,
    /// Sources remembered at once by the rate limiter.
    pub max_sources: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_second: 20.0,
            burst: 40.0,
            max_sources: 10_000,
        }
    }
}

/// The running listener; dropping it stops every socket task.
pub struct Listener {
    tasks: JoinSet<()>,
    shared: Arc<Shared>,
}

impl Listener {
    /// Serves `udp` and `tcp`, sending accepted NOTIFYs to `events`.
    pub fn start(
        udp: Vec<UdpSocket>,
        tcp: Vec<TcpListener>,
        policy: NotifyPolicy,
        limits: Limits,
        events: mpsc::Sender<NotifyEvent>,
    ) -> Listener {
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            policy: RwLock::new(Arc::new(policy)),
            limiter: Mutex::new(RateLimiter::new(
                limits.per_second,
                limits.burst,
                limits.max_sources,
            )),
            counters: counters.clone(),
            events,
        });
        let mut tasks = JoinSet::new();
        for socket in udp {
            tasks.spawn(serve_udp(socket, shared.clone()));
        }
        for listener in tcp {
            tasks.spawn(serve_tcp(listener, shared.clone()));
        }
        Listener { tasks, shared }
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.shared.counters
    }

    /// Answers by `policy` from now on (a configuration reload).
    pub fn set_policy(&self, policy: NotifyPolicy) {
        *self
            .shared
            .policy
            .write()
            .expect("the policy lock is never poisoned") = Arc::new(policy);
    }

    /// Stops every socket task.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // e.g. an ICMP error from an earlier send; the socket stays usable
                tracing::debug!("NOTIFY listener: UDP receive error: {e}");
                continue;
            }
        };
        if let Some(reply) = shared.process(&buf[..len], source) {
            if let Err(e) = socket.send_to(&reply, source).await {
                tracing::debug!(%source, "NOTIFY listener: UDP send error: {e}");
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let (stream, source) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("NOTIFY listener: TCP accept error: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // reap finished connections so the set does not grow
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            shared.counters.count(Verdict::RateLimited);
            continue; // too many at once: close this one
        };
        let shared = shared.clone();
        connections.spawn(async move {
            serve_connection(stream, source, &shared).await;
            drop(slot);
        });
    }
}

async fn serve_connection(mut stream: TcpStream, source: std::net::SocketAddr, shared: &Shared) {
    for _ in 0..MAX_MESSAGES_PER_CONNECTION {
        let message = match read_frame(&mut stream, MAX_MESSAGE, TCP_IDLE).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(e) => {
                shared.counters.count(Verdict::Garbage);
                tracing::debug!(%source, "NOTIFY listener: closing TCP connection: {e}");
                return;
            }
        };
        let Some(reply) = shared.process(&message, source) else {
            return;
        };
        // a peer that does not read its answer is not waited for long
        match tokio::time::timeout(TCP_IDLE, write_frame(&mut stream, &reply)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
