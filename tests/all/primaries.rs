//! Knot DNS, NSD and PowerDNS as the primary, each started like BIND: AXFR
//! with TSIG, the primary's own NOTIFY (signed and unsigned) taken by the
//! listener, IXFR where the primary serves it (one transfer where it does
//! not), and a change that reaches Route 53 exactly.
//!
//! The change is realistic.zone -> realistic.v2.zone: a TTL change, a CNAME
//! replaced by an A, a set added, one modified and one deleted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use xfr53::config::NotifyLimits;
use xfr53::core::name::Name;
use xfr53::core::serial::Serial;
use xfr53::core::zone::Zone;
use xfr53::dns::notify::{NotifyTsig, TsigCase, Verdict};
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::{axfr, refresh, Transferred};

use crate::support::bind::{self, Key, KEY_SHA256};
use crate::support::knot::Knot;
use crate::support::nsd::Nsd;
use crate::support::pdns::Pdns;
use crate::support::route53_backend::{change_requests, Backend, Contents, Kind};
use crate::support::setup::{expected_from, managed, show};
use crate::support::zones::data_dir;

const ZONE: &str = "example.com";
const V1: u32 = 2024060101;
const V2: u32 = 2024060102;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Knot,
    Nsd,
    Pdns,
}

/// One of the three, running.
enum Running {
    Knot(Knot),
    Nsd(Nsd),
    Pdns(Pdns),
}

impl Running {
    /// `None` when the program is missing on a developer's machine.
    fn start(which: Which, zone: &bind::Zone) -> Option<Running> {
        Some(match which {
            Which::Knot => Running::Knot(Knot::start(zone)?),
            Which::Nsd => Running::Nsd(Nsd::start(zone)?),
            Which::Pdns => Running::Pdns(Pdns::start(zone)?),
        })
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Running::Knot(s) => s.addr(),
            Running::Nsd(s) => s.addr(),
            Running::Pdns(s) => s.addr(),
        }
    }

    fn log(&self) -> String {
        match self {
            Running::Knot(s) => s.server.log(),
            Running::Nsd(s) => s.server.log(),
            Running::Pdns(s) => s.server.log(),
        }
    }

    /// Serves `file` (a fixture) from now on.
    fn update(&mut self, file: &str) {
        let text = fixture_text(file);
        match self {
            Running::Knot(s) => s.update(&text),
            Running::Nsd(s) => s.update(&text),
            Running::Pdns(s) => s.update(&text),
        }
    }
}

fn fixture_text(file: &str) -> String {
    std::fs::read_to_string(data_dir().join(file)).unwrap()
}

/// realistic.zone, transferred only with `key`; NOTIFY to `notify` (a port),
/// signed with `notify_key`.
fn zone(key: Option<Key>, notify: Option<u16>, notify_key: Option<Key>) -> bind::Zone {
    let mut zone = bind::Zone::fixture("realistic.zone");
    zone.transfer_key = key;
    zone.also_notify = notify;
    zone.notify_key = notify_key;
    zone
}

fn origin() -> Name {
    Name::parse_route53(ZONE).unwrap()
}

fn primary(addr: SocketAddr, key: Option<&Key>) -> Primary {
    Primary::new(addr, key.map(Key::tsig))
}

/// The record sets a zone converts to, for comparing two zones by content.
fn sets(zone: &Zone) -> Vec<String> {
    let converted = zone.convert().unwrap();
    converted
        .sets
        .values()
        .map(|s| format!("{} {} {} {:?}", s.name, s.rtype, s.ttl, s.values))
        .collect()
}

// --- AXFR with TSIG ---------------------------------------------------------

async fn axfr_with_tsig(which: Which) {
    let Some(server) = Running::start(which, &zone(Some(KEY_SHA256), None, None)) else {
        return;
    };
    let (held, stats) = axfr(&primary(server.addr(), Some(&KEY_SHA256)), &origin())
        .await
        .unwrap_or_else(|e| panic!("{which:?}: signed AXFR: {e:#}\n{}", server.log()));
    assert_eq!(held.serial(), Some(Serial(V1)));
    assert!(stats.messages >= 1);
    let file = crate::support::zones::load("realistic.zone");
    let want: Vec<String> = file
        .sets
        .values()
        .map(|s| format!("{} {} {} {:?}", s.name, s.rtype, s.ttl, s.values))
        .collect();
    assert_eq!(
        sets(&held),
        want,
        "{which:?} serves the zone file's content"
    );
    // without the key, or with another secret: no zone
    let wrong = Key {
        secret: "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldCE=",
        ..KEY_SHA256
    };
    for (what, key) in [("unsigned", None), ("wrong secret", Some(&wrong))] {
        let refused = axfr(&primary(server.addr(), key), &origin()).await;
        assert!(refused.is_err(), "{which:?}: an {what} AXFR got the zone");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_axfr_with_tsig() {
    axfr_with_tsig(Which::Knot).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_axfr_with_tsig() {
    axfr_with_tsig(Which::Nsd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_axfr_with_tsig() {
    axfr_with_tsig(Which::Pdns).await
}

// --- the primary's own NOTIFY -------------------------------------------------

/// The server notifies of V2 after the update; the NOTIFY is accepted and
/// counted as `signed` (or `unsigned`).
async fn notify(which: Which, signed: bool) {
    // the zone with a key and the default `notify_tsig = "optional"`
    let policy = crate::support::listener::policy(
        &origin().to_string(),
        Some(KEY_SHA256.tsig()),
        NotifyTsig::Optional,
    );
    let crate::support::listener::Running {
        listener,
        mut events,
        addr,
    } = crate::support::listener::listen(policy, NotifyLimits::default()).await;
    let port = addr.port();
    let key = signed.then_some(KEY_SHA256);
    // PowerDNS signs NOTIFY with its transfer key: unsigned means open transfers
    let transfer_key = match which {
        Which::Pdns => key.clone(),
        _ => Some(KEY_SHA256),
    };
    let Some(mut server) = Running::start(which, &zone(transfer_key, Some(port), key)) else {
        return;
    };
    server.update("realistic.v2.zone");
    let event = loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{which:?}: no NOTIFY for serial {V2} accepted ({:?})\n{}",
                    Verdict::ALL.map(|v| (v, listener.counters().get(v))),
                    server.log()
                )
            })
            .unwrap();
        // Knot and NSD also announce V1 at start; PowerDNS's NOTIFY has no
        // SOA, and its harness marks V1 as notified
        let expected = match which {
            Which::Pdns => None,
            _ => Some(Serial(V2)),
        };
        if event.serial == expected {
            break event;
        }
    };
    assert_eq!(event.zone, origin());
    let counters = listener.counters();
    let (this, other) = match signed {
        true => (TsigCase::Signed, TsigCase::Unsigned),
        false => (TsigCase::Unsigned, TsigCase::Signed),
    };
    assert!(counters.tsig(this) >= 1, "{which:?}: {this:?} not counted");
    assert_eq!(counters.tsig(other), 0, "{which:?}: {other:?} counted");
    assert_eq!(counters.tsig(TsigCase::BadSignature), 0);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_notify_signed() {
    notify(Which::Knot, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_notify_unsigned() {
    notify(Which::Knot, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_notify_signed() {
    notify(Which::Nsd, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_notify_unsigned() {
    notify(Which::Nsd, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_notify_signed() {
    notify(Which::Pdns, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_notify_unsigned() {
    notify(Which::Pdns, false).await
}

// --- IXFR ---------------------------------------------------------------------

/// A TCP forwarder to `upstream` that counts the connections made to it.
async fn counting_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (addr, count)
}

/// IXFR from V1 after the update: deltas from Knot and NSD; the whole zone
/// from PowerDNS, in the same one connection. Either way the zone held is
/// then the primary's V2.
async fn ixfr(which: Which) {
    let Some(mut server) = Running::start(which, &zone(Some(KEY_SHA256), None, None)) else {
        return;
    };
    let (proxy, connections) = counting_proxy(server.addr()).await;
    let through_proxy = primary(proxy, Some(&KEY_SHA256));
    let mut held = Zone::new(origin());
    refresh(&through_proxy, &mut held).await.unwrap();
    assert_eq!(held.serial(), Some(Serial(V1)));
    server.update("realistic.v2.zone");
    let before = connections.load(Ordering::SeqCst);
    let (outcome, stats) = refresh(&through_proxy, &mut held)
        .await
        .unwrap_or_else(|e| panic!("{which:?}: IXFR: {e:#}\n{}", server.log()));
    let transfers = connections.load(Ordering::SeqCst) - before;
    assert_eq!(
        transfers, 1,
        "{which:?}: {transfers} connections for one IXFR"
    );
    match which {
        Which::Knot | Which::Nsd => assert!(
            matches!(&outcome, Transferred::Incremental(d) if d.len() == 1),
            "{which:?}: {outcome:?}"
        ),
        Which::Pdns => assert_eq!(
            outcome,
            Transferred::Full {
                reason: Some("the primary sent the whole zone".into())
            },
            "{which:?}"
        ),
    }
    let (fresh, _) = axfr(&primary(server.addr(), Some(&KEY_SHA256)), &origin())
        .await
        .unwrap();
    assert_eq!(held.serial(), Some(Serial(V2)));
    assert_eq!(
        sets(&held),
        sets(&fresh),
        "{which:?}: the held zone is not V2"
    );
    assert!(stats.messages >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_ixfr_from_its_journal() {
    ixfr(Which::Knot).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_ixfr_from_its_ixfr_file() {
    ixfr(Which::Nsd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_ixfr_is_one_transfer_of_the_whole_zone() {
    ixfr(Which::Pdns).await
}

// --- a change that reaches Route 53 exactly -------------------------------------

/// What Route 53 must hold for the primary's zone now: its record sets and
/// `_serial` (apex SOA and NS are Route 53's own).
async fn expected(addr: SocketAddr) -> Contents {
    expected_from(&primary(addr, Some(&KEY_SHA256)), ZONE).await
}

/// `xfr53 sync` (the real binary) with TSIG from the primary into Route 53;
/// then the change; then `xfr53 sync ZONE SERIAL SOURCE` as nsnotifyd runs
/// it. Route 53 ends equal to the primary's V2, in one change request.
async fn change_reaches_route53(which: Which, kind: Kind) {
    let Some(mut server) = Running::start(which, &zone(Some(KEY_SHA256), None, None)) else {
        return;
    };
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let zone_id = backend.create_zone(ZONE, false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xfr.key"), KEY_SHA256.secret).unwrap();
    let config = dir.path().join("xfr53.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{dir}/state\"\n\n[route53]\nendpoint = \"{endpoint}\"\n\
             requests_per_second = 50\ninsync_timeout_seconds = 30\n\n\
             [tsig.xfr]\nname = \"{key}\"\nalgorithm = \"{algorithm}\"\nsecret_file = \"{dir}/xfr.key\"\n\n\
             [[zone]]\nname = \"{ZONE}\"\nprimaries = [\"{addr}\"]\ntsig = \"xfr\"\n",
            dir = dir.path().display(),
            endpoint = backend.endpoint(),
            key = KEY_SHA256.name,
            algorithm = KEY_SHA256.algorithm,
            addr = server.addr(),
        ),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| {
        let config = config.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_xfr53"))
                .args(args)
                .arg("--config")
                .arg(config)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("RUST_LOG", "info")
                .kill_on_drop(true)
                .output()
                .await
                .unwrap()
        }
    };
    let first = run(&["sync", ZONE]).await;
    assert_eq!(first.status.code(), Some(0), "{which:?}: {}", show(&first));
    let have = managed(backend.contents(&zone_id).await, ZONE);
    assert_eq!(have, expected(server.addr()).await, "{which:?}: V1");

    server.update("realistic.v2.zone");
    let before = backend.requests().len();
    let second = run(&["sync", ZONE, "2024060102", "127.0.0.1"]).await;
    assert_eq!(
        second.status.code(),
        Some(0),
        "{which:?}: {}",
        show(&second)
    );
    let have = managed(backend.contents(&zone_id).await, ZONE);
    assert_eq!(have, expected(server.addr()).await, "{which:?}: V2");
    // V2's edits, read from Route 53 by hand
    let at = |name: &str, rtype: &str| have.get(&(format!("{name}.{ZONE}."), rtype.to_string()));
    assert_eq!(
        at("new", "TXT"),
        Some(&(3600, vec!["\"added in v2\"".into()]))
    );
    assert_eq!(at("www", "A"), Some(&(3600, vec!["192.0.2.10".into()])));
    assert_eq!(at("www", "CNAME"), None);
    assert_eq!(at("sip2", "NAPTR"), None);
    assert_eq!(at("mail", "A").map(|s| s.0), Some(600));
    assert_eq!(
        at("_serial._dyn", "TXT"),
        Some(&(300, vec![format!("\"{V2}\"")]))
    );
    let requests = backend.requests();
    assert_eq!(
        change_requests(&requests[before..]).len(),
        1,
        "{which:?}: {}",
        show(&second)
    );
    let log = String::from_utf8_lossy(&second.stderr);
    let transfer = match which {
        Which::Knot | Which::Nsd => "kind=\"IXFR\"",
        Which::Pdns => "kind=\"AXFR\"",
    };
    assert!(log.contains(transfer), "{which:?}: {}", show(&second));
    assert!(
        !log.contains("falling back to AXFR"),
        "{which:?}: a second transfer\n{}",
        show(&second)
    );
}

async fn knot_change(kind: Kind) {
    change_reaches_route53(Which::Knot, kind).await
}
both!(knot_change);

async fn nsd_change(kind: Kind) {
    change_reaches_route53(Which::Nsd, kind).await
}
both!(nsd_change);

async fn pdns_change(kind: Kind) {
    change_reaches_route53(Which::Pdns, kind).await
}
both!(pdns_change);

// --- readiness ------------------------------------------------------------------

/// A UDP server that answers every query with the zone's SOA, NOERROR, and
/// AA as given: a server that is up but does not serve the zone yet.
fn soa_responder(aa: bool) -> SocketAddr {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::{Name as DnsName, RData, Record};
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let query = Message::from_vec(&buf[..len]).unwrap();
            let apex = DnsName::from_ascii("example.com.").unwrap();
            let soa = SOA::new(apex.clone(), apex.clone(), 1, 1, 1, 1, 1);
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_authoritative(aa)
                .add_queries(query.queries().to_vec())
                .add_answer(Record::from_rdata(apex, 60, RData::SOA(soa)));
            let _ = socket.send_to(&reply.to_vec().unwrap(), from);
        }
    });
    addr
}

#[test]
fn a_zone_is_served_only_with_aa() {
    use crate::support::ready::{served_serial, serves_zone};
    assert_eq!(served_serial(soa_responder(true), ZONE), Ok(1));
    let without_aa = serves_zone(soa_responder(false), ZONE).unwrap_err();
    assert!(without_aa.contains("without AA"), "{without_aa}");
}
