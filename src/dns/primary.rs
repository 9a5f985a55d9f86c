//! A configured primary: where SOA queries and transfers go, never anywhere
//! else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpStream;

use super::transfer::LimitHits;
use super::tsig::TsigKey;
use crate::core::rules::TransferLimits;

#[derive(Clone, Debug)]
pub struct Primary {
    pub addr: SocketAddr,
    /// Signs queries and verifies every response when set.
    pub key: Option<TsigKey>,
    /// Limit for connecting, and for each wait for data.
    pub timeout: Duration,
    /// What one transfer from it may take.
    pub limits: TransferLimits,
    /// Counts transfers stopped at a limit, when the caller hands one in.
    pub limit_hits: Option<Arc<LimitHits>>,
}

/// The same configured primary: the counter a caller hands in is not
/// configuration.
impl PartialEq for Primary {
    fn eq(&self, other: &Primary) -> bool {
        (self.addr, &self.key, self.timeout, self.limits)
            == (other.addr, &other.key, other.timeout, other.limits)
    }
}

impl Primary {
    pub fn new(addr: SocketAddr, key: Option<TsigKey>) -> Primary {
        Primary {
            addr,
            key,
            timeout: Duration::from_secs(10),
            limits: TransferLimits::default(),
            limit_hits: None,
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
