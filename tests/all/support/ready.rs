//! Readiness of the servers the tests start, decided by asking them: a
//! server is ready for a zone once an SOA query for it is answered NOERROR,
//! authoritatively, with the SOA. A log line ("running") is printed before
//! the zones are loaded, so on a busy machine it says nothing.

use std::net::{SocketAddr, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// One SOA query over UDP: `Ok` when the zone is loaded and served, else
/// why not.
pub fn serves_zone(addr: SocketAddr, zone: &str) -> Result<(), String> {
    let name = Name::from_str(zone)
        .map_err(|e| format!("{zone}: {e}"))?
        .append_domain(&Name::root())
        .map_err(|e| e.to_string())?;
    let mut query = Message::new();
    query
        .set_id(rand::random())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .add_query(Query::query(name, RecordType::SOA));
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
        return match reply.response_code() {
            ResponseCode::NoError if !reply.authoritative() => {
                Err("answered without AA (the zone is not loaded)".into())
            }
            ResponseCode::NoError
                if reply
                    .answers()
                    .iter()
                    .any(|r| r.record_type() == RecordType::SOA) =>
            {
                Ok(())
            }
            ResponseCode::NoError => Err("answered without the SOA".into()),
            other => Err(format!("answered {other}")),
        };
    }
}
