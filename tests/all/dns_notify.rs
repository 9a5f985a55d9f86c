//! The NOTIFY listener: BIND's real NOTIFYs, TSIG (a signed NOTIFY must
//! verify; an unsigned one is accepted unless the zone requires TSIG), and
//! bad input in bulk.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name as DnsName, RecordType};
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use xfr53::config::NotifyLimits;
use xfr53::core::name::Name;
use xfr53::core::serial::Serial;
use xfr53::dns::listener::LimitHit;
use xfr53::dns::notify::{handle, NotifyPolicy, NotifyTsig, TsigCase, Verdict};
use xfr53::dns::tsig::TsigKey;
use xfr53::dns::wire::unix_now;

use crate::support::bind::{self, Bind, KEY_SHA256};
use crate::support::listener::{listen, policy as policy_tsig};

fn policy(zone: &str, key: Option<TsigKey>) -> NotifyPolicy {
    policy_tsig(zone, key, NotifyTsig::Optional)
}

/// A NOTIFY for `zone`, signed with `key` when given.
fn notify(zone: &str, qtype: RecordType, key: Option<&TsigKey>) -> Vec<u8> {
    let mut message = crate::support::listener::notify_message(zone, qtype, rand::random());
    if let Some(key) = key {
        message.finalize(&key.signer(), unix_now()).unwrap();
    }
    message.to_vec().unwrap()
}

async fn exchange_udp(from: &str, to: SocketAddr, query: &[u8]) -> Option<Message> {
    let reply = crate::support::listener::udp_exchange(from, to, query).await?;
    assert!(
        reply.len() <= query.len(),
        "a reply of {} bytes to a {}-byte query",
        reply.len(),
        query.len()
    );
    Some(Message::from_vec(&reply).unwrap())
}

#[tokio::test]
async fn nsupdate_on_bind_sends_a_signed_notify_the_listener_accepts() {
    let mut running = listen(
        policy("parent.test", Some(KEY_SHA256.tsig())),
        NotifyLimits::default(),
    )
    .await;
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.also_notify = Some(running.addr.port());
    zone.notify_key = Some(KEY_SHA256);
    let Some(bind) = Bind::start(vec![zone]) else {
        return;
    };
    // BIND notifies once at start, for the loaded serial
    let first = tokio::time::timeout(Duration::from_secs(10), running.events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.serial, Some(Serial(2024010100)));
    bind.nsupdate(
        "parent.test",
        "update add fresh.parent.test. 300 A 192.0.2.99",
    );
    let event = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), running.events.recv())
            .await
            .unwrap()
            .unwrap();
        if event.serial != first.serial {
            break event;
        }
    };
    assert_eq!(event.zone, Name::parse_route53("parent.test").unwrap());
    assert_eq!(event.serial, Some(Serial(2024010101)));
    assert_eq!(event.source.ip().to_string(), "127.0.0.1");
    assert!(running.listener.counters().get(Verdict::Accepted) >= 2);
    assert!(running.listener.counters().tsig(TsigCase::Signed) >= 2);
    assert_eq!(running.listener.counters().get(Verdict::BadTsig), 0);
    assert_eq!(running.listener.counters().tsig(TsigCase::Unsigned), 0);
    running.listener.stop().await;
}

/// BIND as a primary that signs transfers but not NOTIFY, to a zone with a
/// key: the NOTIFY is accepted (the SOA query it triggers is signed).
#[tokio::test]
async fn an_unsigned_notify_from_bind_is_accepted_where_the_zone_has_a_key() {
    let mut running = listen(
        policy("parent.test", Some(KEY_SHA256.tsig())),
        NotifyLimits::default(),
    )
    .await;
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.transfer_key = Some(KEY_SHA256);
    zone.also_notify = Some(running.addr.port());
    let Some(bind) = Bind::start(vec![zone]) else {
        return;
    };
    let event = tokio::time::timeout(Duration::from_secs(10), running.events.recv())
        .await
        .unwrap_or_else(|_| panic!("no NOTIFY accepted\n{}", bind.log()))
        .unwrap();
    assert_eq!(event.zone, Name::parse_route53("parent.test").unwrap());
    assert_eq!(event.serial, Some(Serial(2024010100)));
    let counters = running.listener.counters();
    assert!(counters.tsig(TsigCase::Unsigned) >= 1);
    assert_eq!(counters.tsig(TsigCase::Signed), 0);
    assert_eq!(counters.get(Verdict::BadTsig), 0);
    running.listener.stop().await;
}

#[test]
fn a_signed_notify_for_a_zone_without_a_key_is_refused() {
    // nothing to verify it with: it cannot be taken as signed
    let query = notify("parent.test.", RecordType::SOA, Some(&KEY_SHA256.tsig()));
    let handled = handle(
        &policy("parent.test", None),
        &query,
        "127.0.0.1:5300".parse().unwrap(),
        u64::from(unix_now()),
    );
    assert_eq!(handled.verdict, Verdict::BadTsig);
    assert_eq!(handled.tsig, Some(TsigCase::BadSignature));
    assert!(handled.event.is_none());
}

/// Every TSIG case, answered and counted, and shown on /metrics.
#[tokio::test]
async fn notify_tsig_cases_are_answered_and_counted() {
    let key = KEY_SHA256.tsig();
    let wrong = TsigKey::new(
        KEY_SHA256.name,
        KEY_SHA256.algorithm,
        "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldCE=",
    )
    .unwrap();
    let optional = policy("parent.test", Some(key.clone()));
    let required = policy_tsig("parent.test", Some(key.clone()), NotifyTsig::Required);
    let cases = [
        (&optional, None, ResponseCode::NoError, TsigCase::Unsigned),
        (
            &optional,
            Some(&key),
            ResponseCode::NoError,
            TsigCase::Signed,
        ),
        (
            &optional,
            Some(&wrong),
            ResponseCode::NotAuth,
            TsigCase::BadSignature,
        ),
        (
            &required,
            None,
            ResponseCode::NotAuth,
            TsigCase::UnsignedRefused,
        ),
        (
            &required,
            Some(&key),
            ResponseCode::NoError,
            TsigCase::Signed,
        ),
        (
            &required,
            Some(&wrong),
            ResponseCode::NotAuth,
            TsigCase::BadSignature,
        ),
    ];
    for (policy, signer, rcode, case) in cases {
        let mut running = listen(policy.clone(), NotifyLimits::default()).await;
        let query = notify("parent.test.", RecordType::SOA, signer);
        let reply = exchange_udp("127.0.0.1:0", running.addr, &query)
            .await
            .unwrap();
        let what = format!("{case:?} under {policy:?}");
        assert_eq!(reply.response_code(), rcode, "{what}");
        assert!(reply.answers().is_empty(), "{what}");
        assert_eq!(
            running.events.try_recv().is_ok(),
            rcode == ResponseCode::NoError,
            "{what}: an event only when accepted"
        );
        let counters = running.listener.counters();
        for other in TsigCase::ALL {
            assert_eq!(
                counters.tsig(other),
                u64::from(other == case),
                "{what}: {other:?}"
            );
        }
        let verdict = match case {
            TsigCase::Signed | TsigCase::Unsigned => Verdict::Accepted,
            TsigCase::BadSignature => Verdict::BadTsig,
            TsigCase::UnsignedRefused => Verdict::UnsignedRefused,
        };
        assert_eq!(counters.get(verdict), 1, "{what}");
        let metrics = xfr53::observe::metrics::Metrics::default();
        metrics.set_notify_counters(counters.clone());
        let text = metrics.render(0);
        let line = format!("xfr53_notify_tsig_total{{result=\"{}\"}} 1", case.as_str());
        assert!(
            text.lines().any(|l| l == line),
            "{what}: no {line:?} in\n{text}"
        );
        running.listener.stop().await;
    }
}

#[tokio::test]
async fn a_notify_with_a_bad_tsig_is_refused() {
    let other_secret = TsigKey::new(
        KEY_SHA256.name,
        KEY_SHA256.algorithm,
        "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldCE=",
    )
    .unwrap();
    let mut running = listen(
        policy("parent.test", Some(other_secret)),
        NotifyLimits::default(),
    )
    .await;
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.also_notify = Some(running.addr.port());
    zone.notify_key = Some(KEY_SHA256);
    let Some(bind) = Bind::start(vec![zone]) else {
        return;
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running.listener.counters().get(Verdict::BadTsig) == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        running.listener.counters().get(Verdict::BadTsig) >= 1,
        "{}",
        bind.log()
    );
    assert_eq!(running.listener.counters().get(Verdict::Accepted), 0);
    assert!(running.events.try_recv().is_err());

    // signed with the key BIND holds, not the zone's: NOTAUTH
    let query = notify("parent.test.", RecordType::SOA, Some(&KEY_SHA256.tsig()));
    let reply = exchange_udp("127.0.0.1:0", running.addr, &query)
        .await
        .unwrap();
    assert_eq!(reply.response_code(), ResponseCode::NotAuth);
    assert!(reply.answers().is_empty());
    assert_eq!(running.listener.counters().tsig(TsigCase::Signed), 0);
    running.listener.stop().await;
}

/// A primary retransmits the very same signed NOTIFY when our reply is
/// lost (RFC 1996 section 3.6): the copy is answered, within the reply
/// budget, but starts nothing.
#[tokio::test]
async fn a_repeated_signed_notify_is_answered_but_starts_nothing() {
    let limits = NotifyLimits {
        per_second: 0.1,
        burst: 3.0,
        ..NotifyLimits::default()
    };
    let mut running = listen(policy("parent.test", Some(KEY_SHA256.tsig())), limits).await;
    let query = notify("parent.test.", RecordType::SOA, Some(&KEY_SHA256.tsig()));
    let mut answered = 0;
    for _ in 0..6 {
        if let Some(reply) = exchange_udp("127.0.0.1:0", running.addr, &query).await {
            assert_eq!(reply.response_code(), ResponseCode::NoError);
            assert_eq!(reply.signature().len(), 1, "a signed reply");
            answered += 1;
        }
    }
    // the first reply spends the budget of accepted NOTIFYs; the copies
    // share the refusals' budget of 3
    assert_eq!(answered, 4, "the first and 3 copies answered");
    let counters = running.listener.counters();
    assert_eq!(counters.get(Verdict::Accepted), 1);
    assert_eq!(counters.get(Verdict::Replayed), 5);
    assert_eq!(counters.replies_limited(), 2);
    assert!(running.events.try_recv().is_ok());
    assert!(running.events.try_recv().is_err(), "one event only");
    running.listener.stop().await;
}

#[test]
fn a_signed_notify_gets_a_reply_signed_over_the_request_mac() {
    let key = KEY_SHA256.tsig();
    let mut message = Message::new();
    message
        .set_id(4242)
        .set_op_code(OpCode::Notify)
        .add_query(Query::query(
            DnsName::from_ascii("parent.test.").unwrap(),
            RecordType::SOA,
        ));
    let mut verify = message
        .finalize(&key.signer(), unix_now())
        .unwrap()
        .unwrap();
    let query = message.to_vec().unwrap();
    let source: SocketAddr = "127.0.0.1:5300".parse().unwrap();
    let handled = handle(
        &policy("parent.test", Some(key)),
        &query,
        source,
        u64::from(unix_now()),
    );
    assert_eq!(handled.verdict, Verdict::Accepted);
    let reply = handled.reply.unwrap();
    // hickory's client-side check of RFC 8945 section 5.3: the MAC covers
    // the request's MAC and the reply, so a changed byte fails
    let mut tampered = reply.clone();
    tampered[3] ^= 0x01;
    assert!(verify(&tampered).is_err());
    let checked = verify(&reply).expect("the reply's TSIG verifies");
    assert_eq!(checked.id(), 4242);
}

#[tokio::test]
async fn refused_notauth_and_silence_each_counted() {
    let running = listen(policy("parent.test", None), NotifyLimits::default()).await;
    let to = running.addr;
    let ok = exchange_udp(
        "127.0.0.1:0",
        to,
        &notify("parent.test.", RecordType::SOA, None),
    )
    .await
    .unwrap();
    assert_eq!(ok.response_code(), ResponseCode::NoError);
    assert!(ok.authoritative() && ok.message_type() == MessageType::Response);
    assert_eq!(ok.op_code(), OpCode::Notify);
    assert_eq!(ok.queries().len(), 1);

    let unknown = exchange_udp(
        "127.0.0.1:0",
        to,
        &notify("other.test.", RecordType::SOA, None),
    )
    .await
    .unwrap();
    // as for a stranger: the listener does not tell which zones it serves
    assert_eq!(unknown.response_code(), ResponseCode::Refused);
    let wrong_type = exchange_udp(
        "127.0.0.1:0",
        to,
        &notify("parent.test.", RecordType::A, None),
    )
    .await
    .unwrap();
    assert_eq!(wrong_type.response_code(), ResponseCode::FormErr);
    let stranger = exchange_udp(
        "127.0.0.2:0",
        to,
        &notify("parent.test.", RecordType::SOA, None),
    )
    .await
    .unwrap();
    assert_eq!(stranger.response_code(), ResponseCode::Refused);

    // a plain query: REFUSED, never data
    let mut query = Message::new();
    query.set_id(7).add_query(Query::query(
        DnsName::from_ascii("parent.test.").unwrap(),
        RecordType::A,
    ));
    let refused = exchange_udp("127.0.0.1:0", to, &query.to_vec().unwrap())
        .await
        .unwrap();
    assert_eq!(refused.response_code(), ResponseCode::Refused);
    assert!(refused.answers().is_empty());

    // garbage and responses: silence
    assert!(exchange_udp("127.0.0.1:0", to, b"\x00\x01garbage")
        .await
        .is_none());
    let mut response = Message::from_vec(&notify("parent.test.", RecordType::SOA, None)).unwrap();
    response.set_message_type(MessageType::Response);
    assert!(exchange_udp("127.0.0.1:0", to, &response.to_vec().unwrap())
        .await
        .is_none());

    // TCP: a NOTIFY is answered; an oversized length prefix closes the connection
    let mut tcp = TcpStream::connect(to).await.unwrap();
    let query = notify("parent.test.", RecordType::SOA, None);
    tcp.write_all(&(query.len() as u16).to_be_bytes())
        .await
        .unwrap();
    tcp.write_all(&query).await.unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).await.unwrap();
    assert!(u16::from_be_bytes(len) as usize <= query.len());
    let mut big = TcpStream::connect(to).await.unwrap();
    big.write_all(&[0xff, 0xff, 1, 2, 3]).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), big.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "connection left open"
    );

    let counters = running.listener.counters();
    assert_eq!(counters.get(Verdict::Accepted), 2);
    assert_eq!(counters.get(Verdict::UnknownZone), 1);
    assert_eq!(counters.get(Verdict::BadQuestion), 1);
    assert_eq!(counters.get(Verdict::SourceRefused), 1);
    assert_eq!(counters.get(Verdict::NotNotify), 1);
    assert_eq!(counters.get(Verdict::Response), 1);
    assert_eq!(counters.get(Verdict::Garbage), 1);
    assert_eq!(
        counters.limit_hit(LimitHit::MessageSize),
        1,
        "the oversized one"
    );
    running.listener.stop().await;
}

/// Messages to throw at the listener: random bytes, and real messages with
/// bytes flipped, cut short or padded.
fn bad_inputs(count: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1996);
    let key = KEY_SHA256.tsig();
    let seeds = [
        notify("parent.test.", RecordType::SOA, None),
        notify("parent.test.", RecordType::SOA, Some(&key)),
        notify("other.test.", RecordType::SOA, None),
        notify("parent.test.", RecordType::MX, None),
    ];
    (0..count).map(move |i| {
        let mut bytes = match i % 4 {
            0 => (0..rng.random_range(0..600))
                .map(|_| rng.random())
                .collect(),
            _ => seeds[i % seeds.len()].clone(),
        };
        if i % 4 != 0 && !bytes.is_empty() {
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            match i % 3 {
                0 => bytes.truncate(rng.random_range(0..bytes.len())),
                1 => bytes.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>())),
                _ => {}
            }
        }
        bytes
    })
}

#[test]
fn a_hundred_thousand_bad_messages_never_crash_or_amplify() {
    let policy = policy("parent.test", Some(KEY_SHA256.tsig()));
    let source: SocketAddr = "127.0.0.1:5300".parse().unwrap();
    let mut verdicts = std::collections::HashMap::new();
    for query in bad_inputs(100_000) {
        let handled = handle(&policy, &query, source, u64::from(unix_now()));
        if let Some(reply) = &handled.reply {
            assert!(
                reply.len() <= query.len(),
                "{} byte reply to {} byte query",
                reply.len(),
                query.len()
            );
        }
        *verdicts.entry(handled.verdict).or_insert(0) += 1;
    }
    // the mix reaches the parser's every exit
    for verdict in [
        Verdict::Garbage,
        Verdict::Response,
        Verdict::BadTsig,
        Verdict::UnknownZone,
        Verdict::BadQuestion,
    ] {
        assert!(
            verdicts.get(&verdict).copied().unwrap_or(0) > 0,
            "{verdict:?}: {verdicts:?}"
        );
    }
}

#[tokio::test]
async fn a_flood_over_udp_leaves_the_listener_answering() {
    let limits = NotifyLimits {
        per_second: 1e9,
        burst: 1e9,
        max_sources: 1000,
        ..NotifyLimits::default()
    };
    let running = listen(policy("parent.test", None), limits).await;
    let flood = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let sent = 100_000;
    let started = std::time::Instant::now();
    for (i, query) in bad_inputs(sent).enumerate() {
        flood.send_to(&query, running.addr).await.unwrap();
        if i % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counters = running.listener.counters();
    let seen: u64 = Verdict::ALL.iter().map(|v| counters.get(*v)).sum();
    assert!(seen > 0 && seen <= sent as u64, "{seen}");
    // still answering a real NOTIFY
    let ok = exchange_udp(
        "127.0.0.1:0",
        running.addr,
        &notify("parent.test.", RecordType::SOA, None),
    )
    .await
    .unwrap();
    assert_eq!(ok.response_code(), ResponseCode::NoError);
    running.listener.stop().await;
}

/// Replies are limited, not receipts: every NOTIFY reaches its zone, the
/// replies over the rate are withheld.
#[tokio::test]
async fn one_source_over_its_reply_rate_gets_silence() {
    let limits = NotifyLimits {
        per_second: 1.0,
        burst: 5.0,
        max_sources: 100,
        ..NotifyLimits::default()
    };
    let running = listen(policy("parent.test", None), limits).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let query = notify("parent.test.", RecordType::SOA, None);
    for _ in 0..20 {
        socket.send_to(&query, running.addr).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counters = running.listener.counters();
    assert_eq!(counters.get(Verdict::Accepted), 20);
    assert_eq!(counters.replies_limited(), 15);
    let mut replies = 0;
    let mut buf = [0u8; 512];
    while tokio::time::timeout(Duration::from_millis(100), socket.recv(&mut buf))
        .await
        .is_ok()
    {
        replies += 1;
    }
    assert_eq!(replies, 5);
    running.listener.stop().await;
}
