//! Transfers are bounded: a primary that never sends the closing SOA stops
//! at the zone's record or byte cap, one that trickles stops at the
//! transfer deadline. Each is an error naming the zone, the primary and the
//! limit; the zone held before is untouched and the limit is counted.

use crate::support::answers::answer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name as DnsName, RData, Record};
use tokio::net::TcpListener;
use xfr53::core::name::Name;
use xfr53::core::rules::TransferLimits;
use xfr53::core::zone::Zone;
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::{refresh, LimitExceeded};
use xfr53::dns::wire::{read_frame, write_frame};

use crate::support::bind::{self, Bind};

/// How the scripted primary sends records after the opening SOA.
#[derive(Clone, Copy)]
enum Stream {
    /// Messages of 100 A records, as fast as the reader takes them, forever.
    Endless,
    /// One A record per message, one message per `Duration`, forever.
    Trickle(Duration),
    /// For IXFR: the newer SOA alone, then header-only messages, forever.
    Empty,
}

fn name(text: &str) -> DnsName {
    DnsName::from_ascii(text).unwrap()
}

fn soa(origin: &str, serial: u32) -> Record {
    let origin = name(origin);
    let mut record = Record::from_rdata(
        origin.clone(),
        300,
        RData::SOA(SOA::new(origin.clone(), origin, serial, 1, 1, 1, 1)),
    );
    record.set_dns_class(hickory_proto::rr::DNSClass::IN);
    record
}

/// A primary answering one query (AXFR, or IXFR from serial 1) for `origin`
/// with serial 2's opening SOA (for IXFR: then serial 1's, starting a
/// deletion list), then `stream`, never the closing SOA. It stops when the
/// reader goes away.
async fn endless_primary(origin: &'static str, stream: Stream) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let bytes = read_frame(&mut socket, 65535, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        let query = Message::from_vec(&bytes).unwrap();
        let ixfr = query.queries()[0].query_type() == hickory_proto::rr::RecordType::IXFR;
        let mut opening = vec![soa(origin, 2)];
        if ixfr && !matches!(stream, Stream::Empty) {
            opening.push(soa(origin, 1));
        }
        let mut message = answer(&query, opening);
        message.add_queries(query.queries().to_vec());
        if write_frame(&mut socket, &message.to_vec().unwrap())
            .await
            .is_err()
        {
            return;
        }
        let (per_message, pause) = match stream {
            Stream::Endless => (100, None),
            Stream::Trickle(pause) => (1, Some(pause)),
            Stream::Empty => (0, None),
        };
        for i in 0u32.. {
            let records = (0..per_message)
                .map(|j| {
                    let owner = name(&format!("h{i}-{j}.{origin}"));
                    Record::from_rdata(owner, 300, RData::A(A::from(std::net::Ipv4Addr::from(i))))
                })
                .collect();
            let message = answer(&query, records);
            if write_frame(&mut socket, &message.to_vec().unwrap())
                .await
                .is_err()
            {
                return;
            }
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
    });
    addr
}

fn primary(addr: SocketAddr, limits: TransferLimits) -> Primary {
    Primary {
        limits,
        limit_hits: Some(Arc::default()),
        ..Primary::new(addr, None)
    }
}

/// How often `primary`'s transfers hit `kind`, in the counter handed in.
fn hits(primary: &Primary, kind: &str) -> u64 {
    let counts = primary.limit_hits.as_ref().unwrap().counts();
    counts.iter().find(|(k, _)| *k == kind).unwrap().1
}

const WIDE: TransferLimits = TransferLimits {
    max_records: 100_000_000,
    max_bytes: 1 << 40,
    deadline: Duration::from_secs(30),
};

#[tokio::test]
async fn an_axfr_without_its_closing_soa_stops_at_the_record_cap() {
    let addr = endless_primary("records.test.", Stream::Endless).await;
    let origin = Name::parse_route53("records.test").unwrap();
    let mut held = Zone::new(origin.clone());
    let limits = TransferLimits {
        max_records: 5_000,
        ..WIDE
    };
    // the zone's metrics hand their counter to its primaries, as the daemon does
    let metrics = xfr53::observe::metrics::Metrics::default();
    let counted = Primary {
        limit_hits: Some(metrics.zone(&origin).transfer_limits()),
        ..primary(addr, limits)
    };
    let error = refresh(&counted, &mut held).await.unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        format!("zone records.test.: AXFR from primary {addr}: the answer goes past 5000 records (max_transfer_records): is the primary sending an endless transfer? If the zone really is this big, raise max_transfer_records for it")
    );
    assert_eq!(
        error.downcast_ref::<LimitExceeded>(),
        Some(&LimitExceeded::Records(5_000))
    );
    assert!(held.is_empty());
    assert_eq!(hits(&counted, "records"), 1);
    let text = metrics.render(0);
    for (limit, n) in [("records", 1), ("bytes", 0), ("deadline", 0)] {
        let line =
            format!("xfr53_transfer_limit_total{{zone=\"records.test.\",limit=\"{limit}\"}} {n}\n");
        assert!(text.contains(&line), "{text}");
    }
    // a zone taken out of the configuration takes its counts with it
    metrics.retain(&[]);
    assert!(!metrics.render(0).contains("records.test."));
}

#[tokio::test]
async fn an_axfr_without_its_closing_soa_stops_at_the_byte_cap() {
    let addr = endless_primary("bytes.test.", Stream::Endless).await;
    let origin = Name::parse_route53("bytes.test").unwrap();
    let mut held = Zone::new(origin.clone());
    let limits = TransferLimits {
        max_bytes: 100_000,
        ..WIDE
    };
    let primary = primary(addr, limits);
    let error = refresh(&primary, &mut held).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.starts_with(&format!("zone bytes.test.: AXFR from primary {addr}: the answer goes past 100000 bytes (max_transfer_bytes)")),
        "{text}"
    );
    assert!(held.is_empty());
    assert_eq!(hits(&primary, "bytes"), 1);
}

#[tokio::test]
async fn an_endless_ixfr_stops_at_the_cap_and_leaves_the_held_zone() {
    let addr = endless_primary("ixfr.test.", Stream::Endless).await;
    let origin = Name::parse_route53("ixfr.test").unwrap();
    let mut held = Zone::from_records(origin.clone(), &[soa("ixfr.test.", 1)]).unwrap();
    let before = held.clone();
    let limits = TransferLimits {
        max_records: 1_000,
        ..WIDE
    };
    let error = refresh(&primary(addr, limits), &mut held)
        .await
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        format!("zone ixfr.test.: IXFR from serial 1 from primary {addr}: the answer goes past 1000 records (max_transfer_records): is the primary sending an endless transfer? If the zone really is this big, raise max_transfer_records for it")
    );
    assert_eq!(held, before);
}

#[tokio::test]
async fn header_only_messages_after_a_newer_soa_are_refused_not_hoarded() {
    let addr = endless_primary("empty.test.", Stream::Empty).await;
    let origin = Name::parse_route53("empty.test").unwrap();
    let mut held = Zone::from_records(origin.clone(), &[soa("empty.test.", 1)]).unwrap();
    let before = held.clone();
    let limits = TransferLimits {
        deadline: Duration::from_secs(10),
        ..WIDE
    };
    let started = std::time::Instant::now();
    let error = refresh(&primary(addr, limits), &mut held)
        .await
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        format!("zone empty.test.: IXFR from serial 1 from primary {addr}: the primary offers serial 2, then sends 16 messages without records: it is not sending a transfer")
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(held, before);
}

#[tokio::test]
async fn a_trickling_primary_stops_at_the_transfer_deadline() {
    // each record arrives well within the per-read timeout: only the
    // overall deadline ends the transfer
    let addr = endless_primary("trickle.test.", Stream::Trickle(Duration::from_millis(100))).await;
    let origin = Name::parse_route53("trickle.test").unwrap();
    let mut held = Zone::new(origin.clone());
    let mut slow = primary(
        addr,
        TransferLimits {
            deadline: Duration::from_secs(1),
            ..WIDE
        },
    );
    slow.timeout = Duration::from_secs(5);
    let started = std::time::Instant::now();
    let error = refresh(&slow, &mut held).await.unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        format!("zone trickle.test.: AXFR from primary {addr}: not finished within 1s (transfer_timeout_seconds): the primary sends too slowly or never ends; raise transfer_timeout_seconds if the zone needs longer")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(held.is_empty());
    assert_eq!(hits(&slow, "deadline"), 1);
}

#[tokio::test]
async fn bind_zone_one_record_over_the_cap_is_refused_at_the_cap_it_fits() {
    let Some(bind) = Bind::start(vec![bind::Zone::fixture("realistic.zone")]) else {
        return;
    };
    let origin = Name::parse_route53("example.com").unwrap();
    let (_, whole) = xfr53::dns::transfer::axfr(&Primary::new(bind.addr, None), &origin)
        .await
        .unwrap();
    let capped = |max_records| {
        primary(
            bind.addr,
            TransferLimits {
                max_records,
                ..WIDE
            },
        )
    };
    let mut held = Zone::new(origin.clone());
    let error = refresh(&capped(whole.records - 1), &mut held)
        .await
        .unwrap_err();
    let expected = format!(
        "zone example.com.: AXFR from primary {}: the answer goes past {} records (max_transfer_records)",
        bind.addr,
        whole.records - 1
    );
    assert!(format!("{error:#}").starts_with(&expected), "{error:#}");
    assert!(held.is_empty());
    refresh(&capped(whole.records), &mut held).await.unwrap();
    assert_eq!(held.serial(), Some(xfr53::core::serial::Serial(2024060101)));
}
