//! IXFR answers whose first TCP message holds only the opening SOA (RFC 1995
//! section 4 allows it; PowerDNS does it): one connection, one transfer,
//! decided by what follows. Only a lone SOA that ends the answer means "no
//! IXFR on offer", and only then is a second connection (AXFR) made.

use crate::support::answers::answer;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name as DnsName, RData, Record, RecordType};
use tokio::net::TcpListener;
use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::{refresh, Transferred};
use xfr53::dns::wire::{read_frame, write_frame};

/// The messages answering one IXFR query; AXFR gets the whole zone at 6.
type Script = fn(&Message) -> Vec<Message>;

/// A primary answering every connection's query by `ixfr` (or with the
/// whole zone for AXFR); `close` ends each connection after the answer, else
/// it stays open as a primary awaiting more queries would keep it. Returns
/// its address and how many connections it took.
async fn primary(ixfr: Script, close: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let bytes = read_frame(&mut stream, 65535, Duration::from_secs(5))
                    .await
                    .unwrap()
                    .unwrap();
                let query = Message::from_vec(&bytes).unwrap();
                let messages = match query.queries()[0].query_type() {
                    RecordType::AXFR => vec![first(&query, whole_zone())],
                    _ => ixfr(&query),
                };
                for message in messages {
                    write_frame(&mut stream, &message.to_vec().unwrap())
                        .await
                        .unwrap();
                }
                if !close {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
    });
    (addr, connections)
}

fn name(text: &str) -> DnsName {
    DnsName::from_ascii(text).unwrap()
}

fn soa(serial: u32) -> Record {
    Record::from_rdata(
        name("split.test."),
        300,
        RData::SOA(SOA::new(
            name("ns.split.test."),
            name("admin.split.test."),
            serial,
            1,
            1,
            1,
            1,
        )),
    )
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::new(192, 0, 2, last)))
}

/// Serial 6: `www` moved from .1 to .2, `new` added.
fn whole_zone() -> Vec<Record> {
    vec![
        soa(6),
        a("www.split.test.", 2),
        a("new.split.test.", 3),
        soa(6),
    ]
}

/// The first message of an answer echoes the question.
fn first(query: &Message, records: Vec<Record>) -> Message {
    let mut message = answer(query, records);
    message.add_queries(query.queries().to_vec());
    message
}

/// Serial 5, held before the refresh.
fn held() -> Zone {
    let records = [soa(5), a("www.split.test.", 1)];
    Zone::from_records(Name::parse_route53("split.test").unwrap(), &records).unwrap()
}

/// A zone's serial and record sets, comparable.
fn content(zone: &Zone) -> (Option<u32>, String) {
    let sets = zone.convert().unwrap().sets;
    (zone.serial().map(|s| s.0), format!("{:?}", sets.values()))
}

fn holds_serial_6(zone: &Zone) {
    let want = Zone::from_records(zone.origin().clone(), &whole_zone()).unwrap();
    assert_eq!(
        content(zone),
        content(&want),
        "the zone held is not serial 6"
    );
}

async fn refresh_from(ixfr: Script, close: bool) -> (Transferred, usize, Zone) {
    let (addr, connections) = primary(ixfr, close).await;
    let mut primary = Primary::new(addr, None);
    primary.timeout = Duration::from_secs(2);
    let mut zone = held();
    let (outcome, _) = refresh(&primary, &mut zone).await.unwrap();
    (outcome, connections.load(Ordering::SeqCst), zone)
}

#[tokio::test]
async fn a_whole_zone_after_a_lone_opening_soa_is_one_transfer() {
    // PowerDNS's shape: the opening SOA alone, then the rest of the zone
    let (outcome, connections, zone) = refresh_from(
        |q| {
            let mut rest = whole_zone();
            let opening = rest.remove(0);
            vec![first(q, vec![opening]), answer(q, rest)]
        },
        true,
    )
    .await;
    assert_eq!(
        outcome,
        Transferred::Full {
            reason: Some("the primary sent the whole zone".into())
        }
    );
    assert_eq!(connections, 1, "the whole zone was transferred twice");
    holds_serial_6(&zone);
}

#[tokio::test]
async fn deltas_after_a_lone_opening_soa_are_applied() {
    let (outcome, connections, zone) = refresh_from(
        |q| {
            vec![
                first(q, vec![soa(6)]),
                answer(
                    q,
                    vec![
                        soa(5),
                        a("www.split.test.", 1),
                        soa(6),
                        a("www.split.test.", 2),
                        a("new.split.test.", 3),
                        soa(6),
                    ],
                ),
            ]
        },
        false,
    )
    .await;
    assert!(
        matches!(&outcome, Transferred::Incremental(d) if d.len() == 1),
        "{outcome:?}"
    );
    assert_eq!(connections, 1);
    holds_serial_6(&zone);
}

#[tokio::test]
async fn a_newer_lone_soa_that_ends_the_answer_falls_back_to_axfr() {
    let (outcome, connections, zone) = refresh_from(|q| vec![first(q, vec![soa(6)])], true).await;
    assert_eq!(
        outcome,
        Transferred::Full {
            reason: Some("the primary offers serial 6 but no IXFR".into())
        }
    );
    assert_eq!(connections, 2, "one IXFR, then one AXFR");
    holds_serial_6(&zone);
}

#[tokio::test]
async fn a_newer_lone_soa_then_silence_falls_back_to_axfr() {
    // the primary keeps the connection open and sends nothing more
    let (outcome, connections, zone) = refresh_from(|q| vec![first(q, vec![soa(6)])], false).await;
    let Transferred::Full {
        reason: Some(reason),
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(
        reason.starts_with("the primary offers serial 6, then: reading the transfer"),
        "{reason}"
    );
    assert_eq!(connections, 2, "one IXFR, then one AXFR");
    holds_serial_6(&zone);
}

#[tokio::test]
async fn a_lone_soa_no_newer_than_ours_is_up_to_date_at_once() {
    // the primary keeps the connection open: nothing more may be awaited
    let started = Instant::now();
    let (outcome, connections, zone) = refresh_from(|q| vec![first(q, vec![soa(5)])], false).await;
    assert_eq!(outcome, Transferred::UpToDate);
    assert_eq!(connections, 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it waited for more"
    );
    assert_eq!(content(&zone), content(&held()));
}
