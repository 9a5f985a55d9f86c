//! The SOA query that decides whether a transfer is needed: UDP first, TCP
//! when the answer is truncated.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{anyhow, bail, Context, Result};
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;

use super::primary::Primary;
use super::wire::{read_frame, write_frame, Outgoing, ResponseError};
use crate::core::name::Name;

/// The biggest UDP answer read; a larger one would arrive truncated anyway.
const UDP_MAX: usize = 4096;

/// Asks `primary` for the SOA of `zone`.
pub async fn query_soa(primary: &Primary, zone: &Name) -> Result<SOA> {
    let soa = async {
        // one query: retried over TCP as it is when the UDP answer is truncated
        let mut query = Outgoing::new(
            &zone.to_hickory(),
            RecordType::SOA,
            None,
            primary.key.as_ref(),
        )?;
        let message = match query_udp(primary, &mut query).await? {
            Some(message) => message,
            None => query_tcp(primary, &mut query).await?,
        };
        soa_of(&message, zone)
    };
    soa.await
        .with_context(|| format!("zone {zone}: SOA query to primary {}", primary.addr))
}

/// `None` when the answer is truncated.
async fn query_udp(primary: &Primary, query: &mut Outgoing) -> Result<Option<Message>> {
    let local: SocketAddr = match primary.addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(primary.addr).await?;
    socket.send(&query.bytes).await?;
    // one limit for all packets (strangers' do not extend it); tokio's
    // timeout takes any length, where an Instant sum overflows
    tokio::time::timeout(primary.timeout, answer_udp(&socket, query))
        .await
        .map_err(|_| anyhow!("no answer over UDP within {:?}", primary.timeout))?
}

async fn answer_udp(socket: &UdpSocket, query: &mut Outgoing) -> Result<Option<Message>> {
    let mut buf = vec![0u8; UDP_MAX];
    loop {
        let len = socket.recv(&mut buf).await?;
        match query.accept(&buf[..len], true) {
            Ok(message) => return Ok(Some(message)),
            Err(ResponseError::Truncated) => return Ok(None),
            // not the answer to this query (late, or spoofed): keep waiting
            Err(ResponseError::WrongId { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

async fn query_tcp(primary: &Primary, query: &mut Outgoing) -> Result<Message> {
    let mut stream = primary.connect().await?;
    write_frame(&mut stream, &query.bytes).await?;
    let answer = read_frame(&mut stream, u16::MAX as usize, primary.timeout)
        .await?
        .context("the primary closed the TCP connection without answering")?;
    Ok(query.accept(&answer, true)?)
}

fn soa_of(message: &Message, zone: &Name) -> Result<SOA> {
    if !message.authoritative() {
        bail!("the answer is not authoritative: is the primary serving {zone}?");
    }
    message
        .answers()
        .iter()
        .filter(|r| Name::from_hickory(r.name()) == *zone)
        .find_map(|r| r.data().as_soa().cloned())
        .with_context(|| format!("the answer holds no SOA record for {zone}"))
}
