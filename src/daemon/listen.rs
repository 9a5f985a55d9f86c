//! The daemon's sockets, bound before it runs: the caller (the `daemon`
//! command, or a test on port 0) owns the addresses and the privileges.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

use crate::config::Listen;

/// The NOTIFY listener's sockets (a UDP socket and a TCP listener per
/// address) and the HTTP endpoint's.
pub struct Listeners {
    pub dns: Vec<(UdpSocket, TcpListener)>,
    pub http: Option<TcpListener>,
}

impl Listeners {
    /// Binds every address in `listen`.
    pub async fn bind(listen: &Listen) -> Result<Listeners> {
        let mut dns = Vec::new();
        for addr in &listen.dns {
            dns.push(bind_dns(*addr).with_context(|| {
                format!("listen.dns: cannot listen on {addr}: is another server on that port, and may xfr53 bind it (CAP_NET_BIND_SERVICE)?")
            })?);
        }
        let http = match listen.http {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listen.http: cannot listen on {addr}"))?,
            ),
            None => None,
        };
        Ok(Listeners { dns, http })
    }
}

/// A UDP socket and a TCP listener on `addr` (IPv6 sockets IPv6 only, so
/// `0.0.0.0:53` and `[::]:53` can both be configured).
fn bind_dns(addr: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    let socket = |kind, protocol| -> Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        Ok(socket)
    };
    let udp = socket(Type::DGRAM, Protocol::UDP)?;
    udp.bind(&addr.into())?;
    let tcp = socket(Type::STREAM, Protocol::TCP)?;
    tcp.set_reuse_address(true)?;
    tcp.bind(&addr.into())?;
    tcp.listen(128)?;
    Ok((
        UdpSocket::from_std(udp.into())?,
        TcpListener::from_std(tcp.into())?,
    ))
}
