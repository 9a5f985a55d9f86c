//! Waiting for a server the harness started: ready means the zone itself
//! answers, i.e. an SOA query returns NOERROR with AA set and an SOA answer.
//! A log line such as BIND's "running" comes before the zones are loaded.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// Queries `addr` over UDP for `zone`'s SOA until it answers NOERROR, AA and
/// an SOA record; panics naming the server and zone after `deadline`.
pub fn wait_for_zone(addr: SocketAddr, zone: &str, deadline: Duration) {
    let until = Instant::now() + deadline;
    let mut last = String::from("no answer");
    while Instant::now() < until {
        match served_serial(addr, zone) {
            Ok(_) => return,
            Err(why) => last = why,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the server at {addr} did not serve zone {zone} within {deadline:?} \
         (SOA query: {last}); see its log above"
    );
}

/// One SOA query: the serial `addr` serves for `zone`, when it answers
/// NOERROR with AA and the zone's SOA; else what it did instead.
pub fn served_serial(addr: SocketAddr, zone: &str) -> Result<u32, String> {
    let absolute = format!("{}.", zone.trim_end_matches('.'));
    let name = Name::from_ascii(&absolute)
        .unwrap_or_else(|e| panic!("served_serial: {zone:?} is not a domain name: {e}"));
    let socket = UdpSocket::bind(match addr {
        SocketAddr::V4(_) => "127.0.0.1:0",
        SocketAddr::V6(_) => "[::1]:0",
    })
    .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let id: u16 = rand::random();
    let mut query = Message::new();
    query
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(false)
        .add_query(Query::query(name.clone(), RecordType::SOA));
    socket
        .send_to(&query.to_vec().unwrap(), addr)
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 4096];
    loop {
        let (len, from) = socket.recv_from(&mut buf).map_err(|e| format!("{e}"))?;
        let Ok(reply) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        if from != addr || reply.id() != id {
            continue;
        }
        if reply.response_code() != ResponseCode::NoError {
            return Err(format!("rcode {}", reply.response_code()));
        }
        if !reply.authoritative() {
            return Err("NOERROR without AA".into());
        }
        return reply
            .answers()
            .iter()
            .filter(|r| r.name() == &name)
            .find_map(|r| r.data().as_soa())
            .map(|soa| soa.serial())
            .ok_or_else(|| "NOERROR, AA, but no SOA in the answer".into());
    }
}
