//! A configured primary: where SOA queries and transfers go, never anywhere
//! else.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpStream;

use super::tsig::TsigKey;

#[derive(Clone, Debug)]
pub struct Primary {
    pub addr: SocketAddr,
    /// Signs queries and verifies every response when set.
    pub key: Option<TsigKey>,
    /// Limit for connecting, and for each wait for data.
    pub timeout: Duration,
}

impl Primary {
    pub fn new(addr: SocketAddr, key: Option<TsigKey>) -> Primary {
        Primary {
            addr,
            key,
            timeout: Duration::from_secs(10),
        }
    }

    pub async fn connect(&self) -> Result<TcpStream> {
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| anyhow::anyhow!("no TCP connection within {:?}", self.timeout))?
            .context("TCP connection failed")?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
