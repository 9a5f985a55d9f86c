//! Applying a plan: its batches in order, then waiting until the last one
//! is INSYNC. A rejected batch stops everything after it, so `_serial`
//! (always in the last batch) moves only when all before it landed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{HostedZone, Route53Error};
use crate::core::plan::Plan;

/// Why an apply stopped, and how many batches had landed before it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Stopped {
    pub landed: usize,
    #[source]
    pub error: Route53Error,
}

/// Submits `plan`'s batches and waits up to `insync_timeout` for the last
/// one to reach every Route 53 name server. Once `stop` is set no further
/// batch is sent. Returns the batches sent.
pub async fn apply(
    zone: &impl HostedZone,
    plan: &Plan,
    insync_timeout: Duration,
    stop: Option<&AtomicBool>,
) -> Result<usize, Stopped> {
    let mut last = None;
    let total = plan.batches.len();
    for (i, batch) in plan.batches.iter().enumerate() {
        let stopped = |error| Stopped { landed: i, error };
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(stopped(Route53Error::Fatal(format!(
                "shutting down before batch {} of {total}; Route 53 holds the earlier batches, and its _serial says an apply is unfinished",
                i + 1
            ))));
        }
        let size = batch.size();
        let started = std::time::Instant::now();
        let submitted = zone.change(batch).await.map_err(|e| {
            stopped(match e {
                Route53Error::Rejected(reason) => {
                    Route53Error::Rejected(format!("batch {} of {total}: {reason}", i + 1))
                }
                other => other,
            })
        })?;
        tracing::info!(zone = %plan.zone, batch = i + 1, batches = total, changes = batch.changes.len(), values = size.values, chars = size.chars, change_id = %submitted.id, duration_ms = started.elapsed().as_millis() as u64, "change batch accepted");
        last = Some(submitted);
    }
    match last {
        Some(last) if !last.insync => {
            wait_insync(zone, &last.id, insync_timeout)
                .await
                .map_err(|error| Stopped {
                    landed: total,
                    error,
                })?
        }
        _ => {}
    }
    Ok(total)
}

async fn wait_insync(
    zone: &impl HostedZone,
    id: &str,
    timeout: Duration,
) -> Result<(), Route53Error> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(250);
    loop {
        if zone.insync(id).await? {
            return Ok(());
        }
        if Instant::now() + delay > deadline {
            return Err(Route53Error::Fatal(format!(
                "change {id} is not INSYNC after {timeout:?}: Route 53 accepted it and will finish on its own; raise route53.insync_timeout_seconds if this recurs"
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
