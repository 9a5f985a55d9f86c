//! Readiness of the servers the tests start, decided by asking them: a
//! server is ready for a zone once an SOA query for it is answered NOERROR,
//! authoritatively, with the SOA. A log line ("running") is printed before
//! the zones are loaded, so on a busy machine it says nothing.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// One SOA query over UDP: `Ok` when the zone is loaded and served, else
/// why not.
pub fn serves_zone(addr: SocketAddr, zone: &str) -> Result<(), String> {
    served_serial(addr, zone).map(|_| ())
}

/// One SOA query over UDP: the serial `addr` serves for `zone` when it
/// answers NOERROR, with AA and the zone's SOA; else why not.
pub fn served_serial(addr: SocketAddr, zone: &str) -> Result<u32, String> {
    let name = Name::from_ascii(format!("{}.", zone.trim_end_matches('.')))
        .map_err(|e| format!("{zone}: {e}"))?;
    let mut query = Message::new();
    query
        .set_id(rand::random())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .add_query(Query::query(name.clone(), RecordType::SOA));
    let bind = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let socket = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let bytes = query.to_vec().map_err(|e| e.to_string())?;
    socket.send_to(&bytes, addr).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    loop {
        let (n, from) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
        if from != addr {
            continue;
        }
        let reply = Message::from_vec(&buf[..n]).map_err(|e| e.to_string())?;
        if reply.id() != query.id() {
            continue;
        }
        let soa = reply
            .answers()
            .iter()
            .filter(|r| r.name() == &name)
            .find_map(|r| r.data().as_soa());
        return match (reply.response_code(), soa) {
            (ResponseCode::NoError, _) if !reply.authoritative() => {
                Err("answered without AA (the zone is not loaded)".into())
            }
            (ResponseCode::NoError, Some(soa)) => Ok(soa.serial()),
            (ResponseCode::NoError, None) => Err("answered without the SOA".into()),
            (other, _) => Err(format!("answered {other}")),
        };
    }
}
