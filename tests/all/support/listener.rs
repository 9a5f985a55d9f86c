//! A NOTIFY listener on a loopback port for a test, with its events.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name as DnsName, RecordType};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use xfr53::config::NotifyLimits;
use xfr53::core::name::Name;
use xfr53::dns::listener::Listener;
use xfr53::dns::notify::{NotifyEvent, NotifyPolicy, NotifyTsig, NotifyZone};
use xfr53::dns::tsig::TsigKey;

/// `zone` may be notified from 127.0.0.1, signed with `key` as `tsig` says.
pub fn policy(zone: &str, key: Option<TsigKey>, tsig: NotifyTsig) -> NotifyPolicy {
    NotifyPolicy::new([NotifyZone {
        zone: Name::parse_route53(zone).unwrap(),
        notify_from: vec!["127.0.0.1/32".parse().unwrap()],
        key,
        tsig,
    }])
}

pub struct Running {
    pub listener: Listener,
    /// Accepted NOTIFYs, in a channel of `limits.queue`.
    pub events: mpsc::Receiver<NotifyEvent>,
    /// The UDP and TCP address.
    pub addr: SocketAddr,
}

pub async fn listen(policy: NotifyPolicy, limits: NotifyLimits) -> Running {
    // a UDP port whose TCP twin is free too
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let (tx, events) = mpsc::channel(limits.queue);
    let listener = Listener::start(vec![udp], vec![tcp], policy, limits, tx);
    Running {
        listener,
        events,
        addr,
    }
}

/// A NOTIFY for `zone` (absolute) as a primary sends it, unsigned.
pub fn notify_message(zone: &str, qtype: RecordType, id: u16) -> Message {
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Notify)
        .set_authoritative(true)
        .add_query(Query::query(DnsName::from_ascii(zone).unwrap(), qtype));
    message
}

/// Sends `query` from a socket bound to `from` and waits up to 500 ms for
/// the reply's bytes.
pub async fn udp_exchange(from: &str, to: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(from).await.unwrap();
    socket.send_to(query, to).await.unwrap();
    let mut buf = [0u8; 4096];
    let len = tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(buf[..len].to_vec())
}
