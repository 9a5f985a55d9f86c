//! The NOTIFY listener and the HTTP endpoint under attack: forged garbage
//! from the primary's address, replayed signed NOTIFYs, idle and trickling
//! TCP connections, strangers probing for zones, and idle HTTP connections.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name as DnsName, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use xfr53::config::NotifyLimits;
use xfr53::core::serial::Serial;
use xfr53::dns::listener::LimitHit;
use xfr53::dns::notify::{NotifyPolicy, NotifyTsig, Verdict};
use xfr53::dns::rate_limit::NoSlot;

use crate::support::bind::{self, KEY_SHA256};
use crate::support::daemon::{eventually, Daemon};
use crate::support::knot::Knot;
use crate::support::listener::{self, listen, Running};
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::{expected, managed, Setup};

fn policy() -> NotifyPolicy {
    listener::policy("parent.test", None, NotifyTsig::Optional)
}

/// An unsigned NOTIFY for `zone` as a primary would send it.
fn notify(zone: &str, id: u16) -> Vec<u8> {
    listener::notify_message(zone, RecordType::SOA, id)
        .to_vec()
        .unwrap()
}

async fn tcp_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(to).await
}

/// Sends `query` over `stream` and reads the answer, within `limit`.
async fn tcp_exchange(stream: &mut TcpStream, query: &[u8], limit: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(limit, async {
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed).await.ok()?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.ok()?;
        let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut reply).await.ok()?;
        Some(reply)
    })
    .await
    .ok()?
}

/// Whether the server closes `stream` within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// What a reply tells a prober, the message ID aside.
fn shape(reply: &[u8]) -> (ResponseCode, bool, usize, usize, usize, Vec<u8>) {
    let message = Message::from_vec(reply).unwrap();
    (
        message.response_code(),
        message.authoritative(),
        message.answers().len(),
        message.name_servers().len(),
        message.additionals().len(),
        reply[2..4].to_vec(),
    )
}

#[tokio::test]
async fn unknown_zones_and_strangers_get_the_same_answer() {
    let Running {
        listener,
        mut events,
        addr,
    } = listen(policy(), NotifyLimits::default()).await;
    let cases = [
        ("127.0.0.1:0", "unknown.test."),
        ("127.0.0.2:0", "parent.test."),
        ("127.0.0.2:0", "unknown.test."),
    ];
    let mut shapes = Vec::new();
    for (from, zone) in cases {
        let reply = listener::udp_exchange(from, addr, &notify(zone, 77))
            .await
            .unwrap_or_else(|| panic!("no answer to {zone} from {from}"));
        shapes.push((from, zone, shape(&reply)));
    }
    for (from, zone, seen) in &shapes {
        assert_eq!(
            seen, &shapes[0].2,
            "{zone} from {from} is answered differently from {} from {}: {shapes:?}",
            shapes[0].1, shapes[0].0
        );
    }
    assert_eq!(shapes[0].2 .0, ResponseCode::Refused);
    // the same over TCP, from a stranger and for an unknown zone
    for (from, zone) in [
        ("127.0.0.2", "parent.test."),
        ("127.0.0.1", "unknown.test."),
    ] {
        let mut stream = tcp_from(from, addr).await.unwrap();
        let reply = tcp_exchange(&mut stream, &notify(zone, 77), Duration::from_secs(2))
            .await
            .unwrap_or_else(|| panic!("no TCP answer to {zone} from {from}"));
        assert_eq!(shape(&reply), shapes[0].2, "TCP: {zone} from {from}");
    }
    assert!(events.try_recv().is_err(), "no event for any of them");
    listener.stop().await;
}

#[tokio::test]
async fn idle_connections_from_a_stranger_never_lock_out_the_primary() {
    let Running {
        listener,
        mut events,
        addr,
    } = listen(policy(), NotifyLimits::default()).await;
    let mut idle = Vec::new();
    for _ in 0..100 {
        // a stranger may be refused at once; it keeps what it gets
        if let Ok(stream) = tcp_from("127.0.0.2", addr).await {
            idle.push(stream);
        }
    }
    // those over the stranger's share are closed at once
    let mut closed = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_millis(50)).await {
            closed += 1;
        }
    }
    let held = idle.len() - closed;
    eprintln!("a stranger's 100 idle connections: {held} held, {closed} closed at once");
    assert!(held <= 8, "one address holds {held} connections");
    let mut answered = 0;
    for i in 0..20u16 {
        let mut primary = tcp_from("127.0.0.1", addr).await.unwrap();
        if tcp_exchange(
            &mut primary,
            &notify("parent.test.", i),
            Duration::from_secs(2),
        )
        .await
        .is_some()
        {
            answered += 1;
        }
    }
    assert_eq!(answered, 20, "the primary's TCP NOTIFYs answered");
    assert!(events.try_recv().is_ok());
    drop(idle);
    listener.stop().await;
}

/// Knot sends NOTIFY over TCP: with a stranger holding idle connections,
/// its NOTIFY still gets through.
#[tokio::test]
async fn knots_tcp_notify_gets_through_a_strangers_idle_connections() {
    let Running {
        listener,
        mut events,
        addr,
    } = listen(policy(), NotifyLimits::default()).await;
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.also_notify = Some(addr.port());
    let Some(mut knot) = Knot::start(&zone) else {
        return;
    };
    let mut idle = Vec::new();
    for _ in 0..100 {
        if let Ok(stream) = tcp_from("127.0.0.2", addr).await {
            idle.push(stream);
        }
    }
    let text = zone.text.replace("2024010100", "2024010101") + "knot A 192.0.2.80\n";
    knot.update(&text);
    let got = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let event = events.recv().await.unwrap();
            if event.serial == Some(Serial(2024010101)) {
                return event;
            }
        }
    })
    .await;
    let counters = listener.counters();
    let refused = counters.tcp_refused(NoSlot::PerSource);
    assert!(
        got.is_ok(),
        "Knot's NOTIFY not accepted; stranger refused {refused} times\n{}",
        knot.server.log()
    );
    assert!(refused >= 90, "{refused}");
    drop(idle);
    listener.stop().await;
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_at_the_connection_deadline() {
    let limits = NotifyLimits {
        tcp_deadline: Duration::from_secs(2),
        ..NotifyLimits::default()
    };
    let Running { listener, addr, .. } = listen(policy(), limits).await;
    let mut stream = tcp_from("127.0.0.2", addr).await.unwrap();
    let query = notify("parent.test.", 1);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    let started = Instant::now();
    // one byte every 300 ms: never idle for long, never finished
    let mut open = true;
    for byte in framed.iter().cycle().take(40) {
        if stream.write_all(&[*byte]).await.is_err()
            || closed_within(&mut stream, Duration::from_millis(300)).await
        {
            open = false;
            break;
        }
    }
    let held = started.elapsed();
    assert!(!open, "a trickling connection still open after {held:?}");
    assert!(held < Duration::from_secs(4), "closed only after {held:?}");
    listener.stop().await;
}

/// The `xfr53_notify_limit_total` line of `limit`, as /metrics shows it.
fn limit_line(running: &Running, limit: LimitHit) -> String {
    let metrics = xfr53::observe::metrics::Metrics::default();
    metrics.set_notify_counters(running.listener.counters().clone());
    let line = format!("xfr53_notify_limit_total{{limit=\"{}\"}} ", limit.as_str());
    let text = metrics.render(0);
    text.lines()
        .find(|l| l.starts_with(&line))
        .unwrap_or_else(|| panic!("no {line:?} in\n{text}"))
        .to_string()
}

#[tokio::test]
async fn a_tcp_connection_closes_after_its_messages_or_when_idle() {
    let limits = NotifyLimits {
        tcp_messages: 2,
        tcp_idle: Duration::from_secs(1),
        ..NotifyLimits::default()
    };
    let running = listen(policy(), limits).await;
    let mut stream = tcp_from("127.0.0.1", running.addr).await.unwrap();
    for id in 0..2 {
        let query = notify("parent.test.", id);
        let reply = tcp_exchange(&mut stream, &query, Duration::from_secs(2)).await;
        assert!(reply.is_some(), "message {id} answered");
    }
    assert!(closed_within(&mut stream, Duration::from_millis(500)).await);
    assert_eq!(
        limit_line(&running, LimitHit::TcpMessages),
        "xfr53_notify_limit_total{limit=\"tcp_messages\"} 1"
    );
    // silent for the idle time: closed, not taken as garbage
    let mut idle = tcp_from("127.0.0.1", running.addr).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(900));
    let counters = running.listener.counters();
    assert_eq!(counters.limit_hit(LimitHit::TcpIdle), 1);
    assert_eq!(counters.get(Verdict::Garbage), 0);
    running.listener.stop().await;
}

#[tokio::test]
async fn notifies_over_the_queue_are_dropped_and_counted() {
    let limits = NotifyLimits {
        queue: 2,
        ..NotifyLimits::default()
    };
    let mut running = listen(policy(), limits).await;
    for id in 0..5 {
        let reply =
            listener::udp_exchange("127.0.0.1:0", running.addr, &notify("parent.test.", id)).await;
        assert!(reply.is_some(), "answered though not queued");
    }
    assert_eq!(
        limit_line(&running, LimitHit::Queue),
        "xfr53_notify_limit_total{limit=\"queue\"} 3"
    );
    assert!(running.events.try_recv().is_ok() && running.events.try_recv().is_ok());
    assert!(running.events.try_recv().is_err());
    running.listener.stop().await;
}

#[tokio::test]
async fn messages_over_the_size_limit_are_dropped_and_counted() {
    let limits = NotifyLimits {
        max_message: 512,
        ..NotifyLimits::default()
    };
    let running = listen(policy(), limits).await;
    // a NOTIFY padded past the limit: silence over UDP
    let mut big = notify("parent.test.", 1);
    big.resize(600, 0);
    assert!(listener::udp_exchange("127.0.0.1:0", running.addr, &big)
        .await
        .is_none());
    // a NOTIFY of exactly the limit is still read (and answered: the
    // padding after its question is ignored)
    big.truncate(512);
    assert!(listener::udp_exchange("127.0.0.1:0", running.addr, &big)
        .await
        .is_some());
    // over TCP, an announced length past the limit closes the connection
    let mut stream = tcp_from("127.0.0.1", running.addr).await.unwrap();
    stream.write_all(&600u16.to_be_bytes()).await.unwrap();
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
    assert_eq!(
        limit_line(&running, LimitHit::MessageSize),
        "xfr53_notify_limit_total{limit=\"message_size\"} 2"
    );
    running.listener.stop().await;
}

/// A NOTIFY for parent.test signed with the test key.
fn signed_notify(id: u16) -> Vec<u8> {
    let mut message = Message::from_vec(&notify("parent.test.", id)).unwrap();
    let now = xfr53::dns::wire::unix_now();
    message.finalize(&KEY_SHA256.tsig().signer(), now).unwrap();
    message.to_vec().unwrap()
}

#[tokio::test]
async fn an_evicted_signature_is_counted_as_replayable() {
    let limits = NotifyLimits {
        replay_cache: 1,
        ..NotifyLimits::default()
    };
    let zone = listener::policy("parent.test", Some(KEY_SHA256.tsig()), NotifyTsig::Optional);
    let running = listen(zone, limits).await;
    let (first, second) = (signed_notify(1), signed_notify(2));
    for query in [&first, &first, &second, &first] {
        assert!(listener::udp_exchange("127.0.0.1:0", running.addr, query)
            .await
            .is_some());
    }
    let counters = running.listener.counters();
    // the first was pushed out by the second, so its copy counts again
    assert_eq!(counters.get(Verdict::Replayed), 1);
    assert_eq!(counters.get(Verdict::Accepted), 3);
    assert_eq!(
        limit_line(&running, LimitHit::ReplayCache),
        "xfr53_notify_limit_total{limit=\"replay_cache\"} 2"
    );
    running.listener.stop().await;
}

#[tokio::test]
async fn reply_budgets_forget_busy_sources_at_their_bound() {
    let limits = NotifyLimits {
        max_sources: 2,
        ..NotifyLimits::default()
    };
    let running = listen(policy(), limits).await;
    // strangers, each with a budget of its own: the third finds two busy
    for from in ["127.0.0.2:0", "127.0.0.3:0", "127.0.0.4:0"] {
        let reply = listener::udp_exchange(from, running.addr, &notify("parent.test.", 1)).await;
        assert!(reply.is_some(), "{from} answered");
    }
    assert_eq!(
        limit_line(&running, LimitHit::ReplySources),
        "xfr53_notify_limit_total{limit=\"reply_sources\"} 2"
    );
    running.listener.stop().await;
}

/// A daemon whose zone BIND notifies at `notify_port` (the daemon's own DNS
/// port when `None`), with its key when `tsig`, and `top` appended to the
/// configuration.
async fn daemon(notify_port: Option<u16>, top: &str, tsig: bool) -> Option<(Setup, Daemon)> {
    let (dns, http) = (free_port(), free_port());
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.also_notify = Some(notify_port.unwrap_or(dns));
    if tsig {
        zone.notify_key = Some(KEY_SHA256);
    }
    let setup = Setup::start(Kind::Strict, vec![zone]).await?;
    let key = match tsig {
        true => format!("tsig = \"{}\"", KEY_SHA256.name),
        false => String::new(),
    };
    setup.write_config(Some((dns, http)), &key, &["parent.test"]);
    let mut config = std::fs::read_to_string(setup.config_path()).unwrap();
    if tsig {
        let secret = setup.dir.path().join("xfr.key");
        std::fs::write(&secret, KEY_SHA256.secret).unwrap();
        config.push_str(&format!(
            "\n[tsig.{}]\nalgorithm = \"{}\"\nsecret_file = \"{}\"\n",
            KEY_SHA256.name,
            KEY_SHA256.algorithm,
            secret.display()
        ));
    }
    config.push_str(top);
    std::fs::write(setup.config_path(), config).unwrap();
    let daemon = Daemon::start(&setup, http);
    Some((setup, daemon))
}

async fn synced(setup: &Setup) -> bool {
    managed(setup.contents("parent.test").await, "parent.test")
        == expected(&setup.bind, "parent.test").await
}

async fn wait_synced(setup: &Setup, daemon: &Daemon) {
    let ok = eventually(Duration::from_secs(30), || synced(setup)).await;
    assert!(ok, "parent.test did not converge\n{}", daemon.log());
}

/// Waits until the daemon has counted the start-up sync, so counts taken
/// afterwards are the test's own.
async fn wait_first_sync_counted(daemon: &Daemon) {
    let counted = eventually(Duration::from_secs(10), || async {
        syncs(daemon).await >= 1.0
    })
    .await;
    assert!(counted, "{}", daemon.log());
}

async fn syncs(daemon: &Daemon) -> f64 {
    let mut total = 0.0;
    for result in ["applied", "up_to_date", "failed", "refused"] {
        let series = format!(r#"xfr53_syncs_total{{zone="parent.test.",result="{result}"}}"#);
        total += daemon.metric(&series).await.unwrap_or(0.0);
    }
    total
}

fn dns_port(setup: &Setup) -> u16 {
    let config = std::fs::read_to_string(setup.config_path()).unwrap();
    let at = config.find("dns = [\"127.0.0.1:").unwrap() + "dns = [\"127.0.0.1:".len();
    config[at..].split('"').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_garbage_from_the_primary_does_not_hold_back_its_notify() {
    let Some((setup, daemon)) = daemon(None, "", false).await else {
        return;
    };
    wait_synced(&setup, &daemon).await;
    let to: SocketAddr = ([127, 0, 0, 1], dns_port(&setup)).into();
    // 2-byte garbage from the primary's own address, 3,000 a second for 8 s
    const RATE: u64 = 3000;
    const FLOOD: Duration = Duration::from_secs(8);
    let flood = std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let started = Instant::now();
        let mut sent = 0u64;
        while started.elapsed() < FLOOD {
            let due = started.elapsed().as_millis() as u64 * RATE / 1000;
            while sent < due {
                let _ = socket.send_to(&[0x12, 0x34], to);
                sent += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (sent, started.elapsed())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    setup.bind.nsupdate(
        "parent.test",
        "update add flooded.parent.test. 300 A 192.0.2.77",
    );
    let ok = eventually(Duration::from_secs(5), || synced(&setup)).await;
    let latency = started.elapsed();
    let (sent, took) = flood.join().unwrap();
    eprintln!(
        "flood: {sent} forged 2-byte packets in {took:?} ({:.0}/s); NOTIFY -> synced in {latency:?}",
        sent as f64 / took.as_secs_f64()
    );
    assert!(ok, "no sync within 5 s during the flood\n{}", daemon.log());
    let garbage = daemon
        .metric(r#"xfr53_notify_total{result="garbage"}"#)
        .await
        .unwrap();
    assert!(
        garbage >= 10_000.0,
        "only {garbage} of {sent} garbage packets seen"
    );
    assert!(
        daemon
            .metric(r#"xfr53_notify_total{result="accepted"}"#)
            .await
            >= Some(1.0)
    );
}

/// BIND's own signed NOTIFY, caught on its way: the one announcing a
/// serial other than `not`.
async fn catch_bind_notify(socket: &UdpSocket, not: u32) -> (Vec<u8>, u32) {
    let mut buf = [0u8; 4096];
    loop {
        let (len, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf))
            .await
            .expect("BIND sends a NOTIFY")
            .unwrap();
        let message = Message::from_vec(&buf[..len]).unwrap();
        let serial = message
            .answers()
            .iter()
            .find_map(|r| r.data().as_soa())
            .map(|soa| soa.serial());
        assert!(message.signature().len() == 1, "BIND signs its NOTIFY");
        if let Some(serial) = serial.filter(|s| *s != not) {
            return (buf[..len].to_vec(), serial);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_notify_is_answered_starts_one_sync_and_costs_no_route53_request() {
    let catcher = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let Some((setup, daemon)) = daemon(Some(catcher.local_addr().unwrap().port()), "", true).await
    else {
        return;
    };
    wait_synced(&setup, &daemon).await;
    setup.bind.nsupdate(
        "parent.test",
        "update add replayed.parent.test. 300 A 192.0.2.78",
    );
    let (signed, serial) = catch_bind_notify(&catcher, 2024010100).await;
    wait_first_sync_counted(&daemon).await;
    assert_eq!(serial, 2024010101);
    let to: SocketAddr = ([127, 0, 0, 1], dns_port(&setup)).into();
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut unsigned = Message::from_vec(&signed).unwrap();
    unsigned.take_signature();
    let (requests, before) = (setup.backend.requests().len(), syncs(&daemon).await);
    // BIND's NOTIFY, then copies while its sync runs: they coalesce
    sender.send_to(&signed, to).await.unwrap();
    const COPIES: u16 = 50;
    for id in 0..COPIES {
        unsigned.set_id(id);
        let copy = unsigned.to_vec().unwrap();
        sender.send_to(&copy, to).await.unwrap();
    }
    // watched on /metrics: polling Route 53 would add requests of our own
    let settled = eventually(Duration::from_secs(5), || async {
        daemon
            .metric(r#"xfr53_route53_serial{zone="parent.test."}"#)
            .await
            == Some(f64::from(serial))
    })
    .await;
    assert!(settled, "{}", daemon.log());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = syncs(&daemon).await - before;
    eprintln!(
        "BIND's NOTIFY and {COPIES} copies during its sync: {first} syncs, {} Route 53 requests",
        setup.backend.requests().len() - requests
    );
    assert_eq!(first, 1.0, "syncs for one serial\n{}", daemon.log());
    wait_synced(&setup, &daemon).await;
    let (requests, before) = (setup.backend.requests().len(), syncs(&daemon).await);
    let accepted_before = daemon
        .metric(r#"xfr53_notify_total{result="accepted"}"#)
        .await
        .unwrap();

    // the replies so far are not the replays'
    let mut buf = [0u8; 4096];
    while tokio::time::timeout(Duration::from_millis(200), sender.recv(&mut buf))
        .await
        .is_ok()
    {}
    // the same signed bytes again and again, as an eavesdropper would (or
    // BIND itself, retransmitting when a reply is lost)
    const REPLAYS: usize = 200;
    let replaying = Instant::now();
    for _ in 0..REPLAYS {
        sender.send_to(&signed, to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut answered = 0;
    while let Ok(Ok(len)) =
        tokio::time::timeout(Duration::from_millis(200), sender.recv(&mut buf)).await
    {
        let reply = Message::from_vec(&buf[..len]).unwrap();
        assert_eq!(reply.response_code(), ResponseCode::NoError);
        answered += 1;
    }
    // answered within the default reply budget: a burst of 40, 20 a second
    let budget = 40.0 + 20.0 * replaying.elapsed().as_secs_f64();
    eprintln!(
        "{REPLAYS} replays in {:?}: {answered} answered",
        replaying.elapsed()
    );
    assert!(answered >= 40, "replays answered: {answered}");
    assert!(f64::from(answered) <= budget, "{answered} > {budget}");
    // and unsigned NOTIFYs announcing the serial already synced
    for id in 0..REPLAYS as u16 {
        unsigned.set_id(id);
        sender
            .send_to(&unsigned.to_vec().unwrap(), to)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let accepted = daemon
        .metric(r#"xfr53_notify_total{result="accepted"}"#)
        .await
        .unwrap()
        - accepted_before;
    let replayed = daemon
        .metric(r#"xfr53_notify_total{result="replayed"}"#)
        .await;
    let after = syncs(&daemon).await;
    let route53 = setup.backend.requests().len() - requests;
    eprintln!(
        "{REPLAYS} replays of BIND's signed NOTIFY and {REPLAYS} unsigned ones for the synced serial: accepted {accepted}, replayed {replayed:?}, syncs {}, Route 53 requests {route53}",
        after - before
    );
    assert_eq!(
        accepted, REPLAYS as f64,
        "no signed one again, each unsigned one"
    );
    assert_eq!(replayed, Some(REPLAYS as f64));
    assert_eq!(after, before, "no sync for a serial already synced");
    let skipped = daemon
        .metric(r#"xfr53_notify_skipped_total{zone="parent.test."}"#)
        .await;
    assert!(skipped >= Some(REPLAYS as f64), "{skipped:?}");
    assert_eq!(route53, 0, "no Route 53 request\n{}", daemon.log());
}

/// Refusals are also warned of, once a minute at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http_connections_exhaust_neither_descriptors_nor_the_endpoint() {
    // the configured limits, not the defaults
    let limits = "\n[limits]\nhttp_connections = 16\nhttp_deadline_seconds = 2\n";
    let Some((setup, daemon)) = daemon(None, limits, false).await else {
        return;
    };
    wait_synced(&setup, &daemon).await;
    // a small descriptor budget, as a busy host would leave it
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", daemon.pid()))
        .arg("--nofile=200:200")
        .status()
        .unwrap();
    assert!(status.success());
    let http: SocketAddr = ([127, 0, 0, 1], http_port(&setup)).into();
    let mut idle = Vec::new();
    for _ in 0..400 {
        if let Ok(stream) = TcpStream::connect(http).await {
            idle.push(stream);
        }
    }
    // the daemon still queries the primary and syncs
    setup.bind.nsupdate(
        "parent.test",
        "update add idle.parent.test. 300 A 192.0.2.79",
    );
    let ok = eventually(Duration::from_secs(10), || synced(&setup)).await;
    assert!(ok, "no sync while HTTP connections idle\n{}", daemon.log());
    let mut closed = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_millis(5)).await {
            closed += 1;
        }
    }
    eprintln!("400 idle HTTP connections: {closed} closed by the daemon at once");
    assert!(
        closed >= 400 - 16,
        "only {closed} of 400 idle connections refused"
    );
    let started = Instant::now();
    let answered = eventually(Duration::from_secs(5), || async {
        daemon.get("/healthz").await.map(|r| r.0) == Some(200)
    })
    .await;
    assert!(answered, "/healthz unanswered\n{}", daemon.log());
    eprintln!("/healthz answered after {:?}", started.elapsed());
    let refused = daemon.metric("xfr53_http_connections_refused_total").await;
    assert!(refused >= Some(400.0 - 16.0), "{refused:?}");
    // the held ones are closed at the 2 s deadline, unanswered: each 2 s
    // after its own accept, which under load may come late (the first freed
    // slot already answered /healthz), so wait for all 16
    let all_closed = eventually(Duration::from_secs(10), || async {
        daemon.metric("xfr53_http_deadline_total").await >= Some(16.0)
    })
    .await;
    let deadline = daemon.metric("xfr53_http_deadline_total").await;
    assert!(all_closed, "{deadline:?}");
    drop(idle);
    // a stranger over its NOTIFY TCP share
    let dns: SocketAddr = ([127, 0, 0, 1], dns_port(&setup)).into();
    let mut strangers = Vec::new();
    for _ in 0..10 {
        strangers.push(tcp_from("127.0.0.2", dns).await.unwrap());
    }
    let refused = eventually(Duration::from_secs(5), || async {
        daemon
            .metric(r#"xfr53_notify_tcp_refused_total{reason="per_source"}"#)
            .await
            >= Some(6.0)
    })
    .await;
    assert!(refused, "{}", daemon.log());
    let log = daemon.log();
    let tcp_warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("TCP connection(s) refused"))
        .count();
    assert_eq!(tcp_warned, 1, "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
    // the operator hears of it: one warning (a minute's), not one a connection
    let warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("HTTP endpoint:"))
        .count();
    assert_eq!(warned, 1, "{log}");
}

fn http_port(setup: &Setup) -> u16 {
    let config = std::fs::read_to_string(setup.config_path()).unwrap();
    let at = config.find("http = \"127.0.0.1:").unwrap() + "http = \"127.0.0.1:".len();
    config[at..].split('"').next().unwrap().parse().unwrap()
}

/// An unsigned NOTIFY announcing `serial`, as anyone able to forge the
/// primary's address can send.
fn notify_with_serial(serial: u32, id: u16) -> Vec<u8> {
    let mut message = Message::from_vec(&notify("parent.test.", id)).unwrap();
    let soa = SOA::new(
        DnsName::from_ascii("ns1.parent.test.").unwrap(),
        DnsName::from_ascii("admin.parent.test.").unwrap(),
        serial,
        3600,
        600,
        86400,
        60,
    );
    message.add_answer(Record::from_rdata(
        DnsName::from_ascii("parent.test.").unwrap(),
        0,
        RData::SOA(soa),
    ));
    message.to_vec().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifies_with_ever_newer_serials_cannot_spend_the_route53_rate() {
    let Some((setup, daemon)) = daemon(None, "", false).await else {
        return;
    };
    wait_synced(&setup, &daemon).await;
    wait_first_sync_counted(&daemon).await;
    let to: SocketAddr = ([127, 0, 0, 1], dns_port(&setup)).into();
    let (requests, before) = (setup.backend.requests().len(), syncs(&daemon).await);
    const FLOOD: Duration = Duration::from_secs(5);
    let flood = tokio::spawn(async move {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let started = Instant::now();
        let (mut serial, mut sent) = (2024020000u32, 0u16);
        while started.elapsed() < FLOOD {
            serial += 1;
            let forged = notify_with_serial(serial, sent);
            sender.send_to(&forged, to).await.unwrap();
            sent += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (sent, started.elapsed())
    });
    // a real change amid the flood, announced by BIND itself
    tokio::time::sleep(Duration::from_secs(2)).await;
    setup.bind.nsupdate(
        "parent.test",
        "update add forged.parent.test. 300 A 192.0.2.81",
    );
    let changed = Instant::now();
    // watched on /metrics: polling Route 53 would add requests of our own
    let ok = eventually(Duration::from_secs(5), || async {
        daemon
            .metric(r#"xfr53_route53_serial{zone="parent.test."}"#)
            .await
            == Some(2024010101.0)
    })
    .await;
    let latency = changed.elapsed();
    let (sent, took) = flood.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (syncs, route53) = (
        syncs(&daemon).await - before,
        setup.backend.requests().len() - requests,
    );
    eprintln!(
        "{sent} forged NOTIFYs with ever newer serials in {took:?}: {syncs} syncs, {route53} Route 53 requests; the real change synced {latency:?} after nsupdate"
    );
    assert!(ok, "the real change did not arrive\n{}", daemon.log());
    assert!(synced(&setup).await);
    // at most one interval (1 s) behind the sync already under way
    assert!(latency < Duration::from_secs(4), "{latency:?}");
    // one sync per second at most (the default notify_sync_interval_seconds),
    // plus the real change's (a handful of requests)
    assert!(syncs <= 9.0, "{syncs} syncs\n{}", daemon.log());
    assert!(route53 <= 20, "{route53} Route 53 requests");
    assert!(
        daemon
            .metric(r#"xfr53_notify_deferred_total{zone="parent.test."}"#)
            .await
            >= Some(100.0)
    );
}
