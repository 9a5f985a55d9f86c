//! Transfers that go wrong: a primary cut off mid-stream (real BIND bytes
//! through a proxy that stops forwarding), and answers a real BIND never
//! sends (from a scripted primary). Each is an error naming the zone and
//! primary, and the zone held before is untouched.

use crate::support::answers::answer_with_question;
use std::net::SocketAddr;

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name as DnsName, RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::refresh;
use xfr53::dns::wire::{read_frame, write_frame};

use crate::support::bind::{self, Bind};

/// Forwards one connection to `upstream`, passing only the first `limit`
/// bytes of the answer before closing both sides.
async fn cutting_proxy(upstream: SocketAddr, limit: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut server = TcpStream::connect(upstream).await.unwrap();
        let mut query = [0u8; 512];
        let n = client.read(&mut query).await.unwrap();
        server.write_all(&query[..n]).await.unwrap();
        let mut passed = 0;
        let mut buf = [0u8; 1024];
        while passed < limit {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            let n = n.min(limit - passed);
            client.write_all(&buf[..n]).await.unwrap();
            passed += n;
        }
    });
    addr
}

#[tokio::test]
async fn a_primary_cut_off_mid_transfer_is_an_error_and_changes_nothing() {
    let Some(bind) = Bind::start(vec![bind::Zone::fixture("realistic.zone")]) else {
        return;
    };
    let origin = Name::parse_route53("example.com").unwrap();
    let (_, whole) = xfr53::dns::transfer::axfr(&Primary::new(bind.addr, None), &origin)
        .await
        .unwrap();
    let total = whole.bytes + 2 * whole.messages;
    // cut inside the length prefix, in the middle, and one byte short
    for limit in [1, total / 2, total - 1] {
        let proxy = cutting_proxy(bind.addr, limit).await;
        let mut held = Zone::new(origin.clone());
        let error = refresh(&Primary::new(proxy, None), &mut held)
            .await
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.starts_with(&format!("zone example.com.: AXFR from primary {proxy}")),
            "{text}"
        );
        assert!(
            held.is_empty(),
            "a partial zone was kept after {limit} bytes"
        );
    }
}

/// How a scripted primary answers a query.
type Script = fn(&Message) -> Vec<Message>;

/// A primary that answers one AXFR query with `messages(query)`.
async fn scripted_primary(messages: Script) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let bytes = read_frame(&mut stream, 65535, std::time::Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        let query = Message::from_vec(&bytes).unwrap();
        for message in messages(&query) {
            write_frame(&mut stream, &message.to_vec().unwrap())
                .await
                .unwrap();
        }
        // keep the connection open, as a primary awaiting more queries would
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    });
    addr
}

fn name(text: &str) -> DnsName {
    DnsName::from_ascii(text).unwrap()
}

fn soa(serial: u32) -> Record {
    Record::from_rdata(
        name("fault.test."),
        300,
        RData::SOA(SOA::new(
            name("ns.fault.test."),
            name("admin.fault.test."),
            serial,
            1,
            1,
            1,
            1,
        )),
    )
}

fn a(owner: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::new(192, 0, 2, 1)))
}

async fn transfer_error(messages: Script) -> String {
    let addr = scripted_primary(messages).await;
    let mut primary = Primary::new(addr, None);
    primary.timeout = std::time::Duration::from_millis(500);
    let mut held = Zone::new(Name::parse_route53("fault.test").unwrap());
    let error = refresh(&primary, &mut held).await.unwrap_err();
    assert!(held.is_empty());
    format!("{error:#}")
}

#[tokio::test]
async fn answers_a_primary_must_not_send_are_errors() {
    let cases: [(Script, &str); 6] = [
        (
            |q| {
                vec![answer_with_question(
                    q,
                    vec![soa(5), a("www.fault.test."), soa(6)],
                )]
            },
            "the closing SOA has serial 6, the opening one 5",
        ),
        (
            |q| {
                vec![answer_with_question(
                    q,
                    vec![soa(5), a("www.elsewhere.test."), soa(5)],
                )]
            },
            "record www.elsewhere.test. A is outside the zone",
        ),
        (
            |q| vec![answer_with_question(q, vec![a("www.fault.test."), soa(5)])],
            "does not start with the zone's SOA",
        ),
        (
            |q| {
                vec![answer_with_question(
                    q,
                    vec![soa(5), soa(5), a("www.fault.test.")],
                )]
            },
            "records follow the closing SOA",
        ),
        (
            |q| {
                let mut m = answer_with_question(q, vec![soa(5), soa(5)]);
                m.set_id(q.id().wrapping_add(1));
                vec![m]
            },
            "does not match the query's",
        ),
        (
            // the stream stops before the closing SOA; the primary goes quiet
            |q| vec![answer_with_question(q, vec![soa(5), a("www.fault.test.")])],
            "no data for",
        ),
    ];
    for (messages, expected) in cases {
        let error = transfer_error(messages).await;
        assert!(
            error.starts_with("zone fault.test.: AXFR from primary 127.0.0.1:"),
            "{error}"
        );
        assert!(error.contains(expected), "{error} lacks {expected}");
    }
}
