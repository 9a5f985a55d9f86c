//! A configured primary: where SOA queries and transfers go, never anywhere
//! else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpStream;

use super::transfer::LimitHits;
use super::tsig::TsigKey;
use crate::core::rules::DEFAULT_RECORD_SET_QUOTA;

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

/// Bounds on one transfer (one IXFR or AXFR exchange), so a primary that
/// never sends its closing SOA, or trickles, ends with an error instead of
/// holding memory or the zone forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferLimits {
    /// Answer records read.
    pub max_records: usize,
    /// Message bytes read.
    pub max_bytes: usize,
    /// From the connection to the closing SOA.
    pub deadline: Duration,
}

/// Records per transfer allowed per record set of the hosted zone's quota:
/// well above what Route 53 can hold, far below what exhausts memory.
pub const RECORDS_PER_QUOTA_SET: usize = 10;
/// Wire bytes allowed per record of `max_records` on average.
pub const BYTES_PER_RECORD: usize = 1024;
pub const DEFAULT_TRANSFER_DEADLINE: Duration = Duration::from_secs(300);

impl TransferLimits {
    /// The defaults for a hosted zone allowed `quota` record sets.
    pub fn for_quota(quota: usize) -> TransferLimits {
        let max_records = quota.saturating_mul(RECORDS_PER_QUOTA_SET);
        TransferLimits {
            max_records,
            max_bytes: max_records.saturating_mul(BYTES_PER_RECORD),
            deadline: DEFAULT_TRANSFER_DEADLINE,
        }
    }
}

impl Default for TransferLimits {
    fn default() -> TransferLimits {
        TransferLimits::for_quota(DEFAULT_RECORD_SET_QUOTA)
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
