//! The NOTIFY listener's sockets: UDP and TCP on addresses the caller bound.
//! Every message is decided by `notify::handle`, checked for a replayed
//! signature, answered at once and counted; accepted NOTIFYs go to a
//! channel without ever waiting on it. Nothing a sender does can make the
//! listener wait.
//!
//! Replies are limited, not receipts: a UDP source address can be forged,
//! so a flood of garbage "from" the primary must not spend the primary's
//! budget. Garbage costs nothing and gets nothing; refusals (and repeated
//! signed NOTIFYs: answered, as the sender's retransmission, but starting
//! nothing) and accepted NOTIFYs spend separate per-source reply budgets,
//! and an accepted NOTIFY reaches its zone even when its reply is withheld. TCP
//! peers cannot forge their address, so TCP is limited by connection
//! slots: a share per stranger, a reserve for `notify_from` sources, and
//! an overall deadline per connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::notify::{handle, NotifyEvent, NotifyPolicy, TsigCase, Verdict};
use super::rate_limit::{ConnectionSlots, NoSlot, RateLimiter};
use super::tsig::ReplayCache;
use super::wire::{read_frame, unix_now, write_frame};
use crate::config::NotifyLimits;
use crate::refusals::Refusals;

/// A bound of the listener's memory or time that was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// A reply budget forgot busy sources at `max_sources` (each got a
    /// fresh burst), counted per source.
    ReplySources,
    /// The replay cache dropped an unexpired MAC at `replay_cache`: that
    /// signature is replayable again until it expires.
    ReplayCache,
    /// A TCP connection closed after `tcp_messages` messages.
    TcpMessages,
    /// A TCP connection closed after `tcp_idle` without a message (or an
    /// unread reply).
    TcpIdle,
    /// An accepted NOTIFY the zones' queue (`queue`) had no room for.
    Queue,
    /// A message over `max_message` bytes: dropped (TCP: the connection
    /// closed).
    MessageSize,
}

impl LimitHit {
    pub const ALL: [LimitHit; 6] = [
        LimitHit::ReplySources,
        LimitHit::ReplayCache,
        LimitHit::TcpMessages,
        LimitHit::TcpIdle,
        LimitHit::Queue,
        LimitHit::MessageSize,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitHit::ReplySources => "reply_sources",
            LimitHit::ReplayCache => "replay_cache",
            LimitHit::TcpMessages => "tcp_messages",
            LimitHit::TcpIdle => "tcp_idle",
            LimitHit::Queue => "queue",
            LimitHit::MessageSize => "message_size",
        }
    }
}

/// Messages by verdict, NOTIFYs by signature, and what the limits turned
/// away.
#[derive(Debug, Default)]
pub struct Counters {
    by_verdict: [AtomicU64; Verdict::ALL.len()],
    by_tsig: [AtomicU64; TsigCase::ALL.len()],
    limits_hit: [AtomicU64; LimitHit::ALL.len()],
    replies_limited: AtomicU64,
    tcp_refused: [AtomicU64; 2],
    tcp_deadline: AtomicU64,
}

impl Counters {
    pub fn get(&self, verdict: Verdict) -> u64 {
        self.by_verdict[verdict as usize].load(Ordering::Relaxed)
    }

    pub fn tsig(&self, case: TsigCase) -> u64 {
        self.by_tsig[case as usize].load(Ordering::Relaxed)
    }

    pub fn limit_hit(&self, limit: LimitHit) -> u64 {
        self.limits_hit[limit as usize].load(Ordering::Relaxed)
    }

    /// UDP replies withheld by the per-source reply rate.
    pub fn replies_limited(&self) -> u64 {
        self.replies_limited.load(Ordering::Relaxed)
    }

    /// TCP connections closed at once for want of a slot.
    pub fn tcp_refused(&self, why: NoSlot) -> u64 {
        self.tcp_refused[why as usize].load(Ordering::Relaxed)
    }

    /// TCP connections closed at the connection deadline.
    pub fn tcp_deadline(&self) -> u64 {
        self.tcp_deadline.load(Ordering::Relaxed)
    }

    fn count(&self, verdict: Verdict) {
        self.by_verdict[verdict as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn hit(&self, limit: LimitHit, times: u64) {
        self.limits_hit[limit as usize].fetch_add(times, Ordering::Relaxed);
    }
}

struct Shared {
    policy: RwLock<Arc<NotifyPolicy>>,
    /// Reply budgets per source: one for accepted NOTIFYs, one for refusals.
    accepted_replies: Mutex<RateLimiter>,
    refusals: Mutex<RateLimiter>,
    replays: Mutex<ReplayCache>,
    slots: Arc<ConnectionSlots>,
    limits: NotifyLimits,
    counters: Arc<Counters>,
    events: mpsc::Sender<NotifyEvent>,
    /// For the operator's log: TCP connections refused, NOTIFYs dropped.
    tcp_refusals: Refusals,
    queue_drops: Refusals,
}

impl Shared {
    fn policy(&self) -> Arc<NotifyPolicy> {
        self.policy
            .read()
            .expect("the policy lock is never poisoned")
            .clone()
    }

    /// The verdict and the reply to send, if any.
    fn process(&self, message: &[u8], source: std::net::SocketAddr) -> (Verdict, Option<Vec<u8>>) {
        let now = u64::from(unix_now());
        let mut handled = handle(&self.policy(), message, source, now);
        if let Some(signature) = &handled.signature {
            let mut replays = self
                .replays
                .lock()
                .expect("the replay cache lock is never poisoned");
            let evicted = replays.evicted();
            let first = replays.first_use(&signature.key, &signature.mac, signature.expires, now);
            self.counters
                .hit(LimitHit::ReplayCache, replays.evicted() - evicted);
            drop(replays);
            if !first {
                // most likely the sender's retransmission (RFC 1996 section
                // 3.6: our reply was lost or withheld), sent again as it was
                // rendered: answered, but it starts nothing
                handled.verdict = Verdict::Replayed;
                (handled.tsig, handled.event) = (None, None);
            }
        }
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
                self.counters.hit(LimitHit::Queue, 1);
                if let Some(n) = self.queue_drops.note(Instant::now()) {
                    tracing::warn!(dropped = n, %source, "NOTIFY listener: {n} accepted NOTIFY(s) dropped since the last such line: the zones' queue is full (limits.notify_queue); their zones still sync on the SOA refresh timer");
                }
            }
        }
        (handled.verdict, handled.reply)
    }

    /// Whether `source` may have a UDP reply now; only replies are limited.
    fn may_reply(&self, verdict: Verdict, source: std::net::IpAddr) -> bool {
        // a replay flood (an eavesdropper's, forged from the primary)
        // spends the refusals' budget, never that of fresh NOTIFYs
        let budget = match verdict {
            Verdict::Accepted => &self.accepted_replies,
            _ => &self.refusals,
        };
        let mut budget = budget
            .lock()
            .expect("the rate limiter lock is never poisoned");
        let forgotten = budget.forgotten();
        let allowed = budget.allow(source, Instant::now());
        self.counters
            .hit(LimitHit::ReplySources, budget.forgotten() - forgotten);
        drop(budget);
        if !allowed {
            self.counters
                .replies_limited
                .fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }
}

/// The running listener; dropping it stops every socket task.
pub struct Listener {
    tasks: JoinSet<()>,
    shared: Arc<Shared>,
}

impl Listener {
    /// Serves `udp` and `tcp`, sending accepted NOTIFYs to `events` (a
    /// channel of `limits.queue`).
    pub fn start(
        udp: Vec<UdpSocket>,
        tcp: Vec<TcpListener>,
        policy: NotifyPolicy,
        limits: NotifyLimits,
        events: mpsc::Sender<NotifyEvent>,
    ) -> Listener {
        let counters = Arc::new(Counters::default());
        let budget = || {
            Mutex::new(RateLimiter::new(
                limits.per_second,
                limits.burst,
                limits.max_sources,
            ))
        };
        let shared = Arc::new(Shared {
            policy: RwLock::new(Arc::new(policy)),
            accepted_replies: budget(),
            refusals: budget(),
            replays: Mutex::new(ReplayCache::new(limits.replay_cache)),
            slots: Arc::new(ConnectionSlots::new(
                limits.tcp_connections,
                limits.tcp_reserved,
                limits.tcp_per_source,
            )),
            limits,
            counters: counters.clone(),
            events,
            tcp_refusals: Refusals::default(),
            queue_drops: Refusals::default(),
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
    // one byte more than a message may have, to see a larger one
    let mut buf = vec![0u8; shared.limits.max_message + 1];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // e.g. an ICMP error from an earlier send; the socket stays usable
                tracing::debug!("NOTIFY listener: UDP receive error: {e}");
                continue;
            }
        };
        if len > shared.limits.max_message {
            shared.counters.hit(LimitHit::MessageSize, 1);
            continue;
        }
        let (verdict, reply) = shared.process(&buf[..len], source);
        if let Some(reply) = reply.filter(|_| shared.may_reply(verdict, source.ip())) {
            if let Err(e) = socket.send_to(&reply, source).await {
                tracing::debug!(%source, "NOTIFY listener: UDP send error: {e}");
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    let accept_errors = Refusals::default();
    loop {
        let (stream, source) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // e.g. out of file descriptors: a line a minute, not 20 a second
                if let Some(n) = accept_errors.note(Instant::now()) {
                    tracing::warn!(errors = n, "NOTIFY listener: {n} TCP accept error(s) since the last such line, the last: {e}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // reap finished connections so the set does not grow
        while connections.try_join_next().is_some() {}
        let trusted = shared.policy().trusts(source.ip());
        let slot = match shared.slots.take(source.ip(), trusted) {
            Ok(slot) => slot,
            Err(why) => {
                shared.counters.tcp_refused[why as usize].fetch_add(1, Ordering::Relaxed);
                if let Some(n) = shared.tcp_refusals.note(Instant::now()) {
                    let why = match why {
                        NoSlot::PerSource => "it holds notify_tcp_per_source already",
                        NoSlot::Full => "every slot it may use is taken (notify_tcp_connections)",
                    };
                    tracing::warn!(refused = n, trusted, "NOTIFY listener: {n} TCP connection(s) refused since the last such line, the last from {source}: {why}. A primary refused here cannot NOTIFY over TCP; see xfr53_notify_tcp_refused_total");
                }
                continue; // dropping the stream closes it
            }
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let served = serve_connection(stream, source, &shared);
            if tokio::time::timeout(shared.limits.tcp_deadline, served)
                .await
                .is_err()
            {
                shared.counters.tcp_deadline.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%source, "NOTIFY listener: TCP connection deadline; closing");
            }
            drop(slot);
        });
    }
}

async fn serve_connection(mut stream: TcpStream, source: std::net::SocketAddr, shared: &Shared) {
    let idle = shared.limits.tcp_idle;
    for _ in 0..shared.limits.tcp_messages {
        let message = match read_frame(&mut stream, shared.limits.max_message, idle).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                shared.counters.hit(LimitHit::TcpIdle, 1);
                tracing::debug!(%source, "NOTIFY listener: TCP connection idle; closing");
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                shared.counters.hit(LimitHit::MessageSize, 1);
                tracing::debug!(%source, "NOTIFY listener: closing TCP connection: {e}");
                return;
            }
            Err(e) => {
                shared.counters.count(Verdict::Garbage);
                tracing::debug!(%source, "NOTIFY listener: closing TCP connection: {e}");
                return;
            }
        };
        let (_, Some(reply)) = shared.process(&message, source) else {
            return;
        };
        // a peer that does not read its answer is not waited for long
        match tokio::time::timeout(idle, write_frame(&mut stream, &reply)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => return shared.counters.hit(LimitHit::TcpIdle, 1),
        }
    }
    shared.counters.hit(LimitHit::TcpMessages, 1);
}
