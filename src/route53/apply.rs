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
/// one to reach every Route 53 name server (0: not at all; a time too long
/// for the clock: until the sync's own deadline). Once `stop` is set no
/// further batch is sent. Returns the batches sent.
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
        Some(last) if !last.insync && !insync_timeout.is_zero() => {
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
    let deadline = Instant::now().checked_add(timeout);
    let mut delay = Duration::from_millis(250);
    loop {
        if zone.insync(id).await? {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() + delay > d) {
            return Err(Route53Error::Fatal(format!(
                "change {id} is not INSYNC after {timeout:?}: Route 53 accepted it and will finish on its own; raise route53.insync_timeout_seconds if this recurs"
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::core::diff::Change;
    use crate::core::name::Name;
    use crate::core::plan::Batch;
    use crate::core::rrset::{CurrentSet, RecordSet, RrType};
    use crate::core::serial::Serial;

    /// A hosted zone that accepts every batch and stays PENDING forever.
    #[derive(Default)]
    struct Pending {
        polls: AtomicU32,
    }

    impl HostedZone for Pending {
        fn id(&self) -> &str {
            "Z1"
        }
        async fn list(&self) -> Result<Vec<CurrentSet>, Route53Error> {
            Ok(Vec::new())
        }
        async fn get(&self, _: &Name, _: RrType) -> Result<Option<RecordSet>, Route53Error> {
            Ok(None)
        }
        async fn change(&self, _: &Batch) -> Result<super::super::Submitted, Route53Error> {
            Ok(super::super::Submitted {
                id: "C1".into(),
                insync: false,
            })
        }
        async fn insync(&self, _: &str) -> Result<bool, Route53Error> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            Ok(false)
        }
    }

    fn plan() -> Plan {
        let zone = Name::parse_route53("a.test").unwrap();
        let set = RecordSet {
            name: Name::parse_route53("www.a.test").unwrap(),
            rtype: RrType::A,
            ttl: 300,
            values: vec!["192.0.2.1".into()],
        };
        Plan {
            zone,
            serial: Serial(1),
            previous_serial: None,
            batches: vec![Batch {
                changes: vec![Change::Create { set }],
            }],
            unmanaged: Default::default(),
            refusals: Vec::new(),
            forced: false,
            summary: Default::default(),
            managed_count: 0,
            serial_name: Name::parse_route53("_serial._dyn.a.test").unwrap(),
            changed_names: None,
        }
    }

    /// insync_timeout_seconds = 0 reported a sync that applied fully as
    /// an error.
    #[tokio::test(start_paused = true)]
    async fn a_zero_insync_timeout_does_not_wait() {
        let zone = Pending::default();
        assert_eq!(
            apply(&zone, &plan(), Duration::ZERO, None).await.unwrap(),
            1
        );
        assert_eq!(zone.polls.load(Ordering::SeqCst), 0);
    }

    /// 9223372036854775807 seconds overflowed the clock.
    #[tokio::test(start_paused = true)]
    async fn an_endless_insync_timeout_polls_until_the_caller_gives_up() {
        let zone = Pending::default();
        for timeout in [Duration::from_secs(i64::MAX as u64), Duration::MAX] {
            let waited = tokio::time::timeout(
                Duration::from_secs(3600),
                apply(&zone, &plan(), timeout, None),
            )
            .await;
            assert!(waited.is_err(), "still polling after an hour");
        }
        assert!(zone.polls.load(Ordering::SeqCst) > 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_still_pending_at_the_timeout_is_an_error() {
        let error = apply(&Pending::default(), &plan(), Duration::from_secs(10), None)
            .await
            .unwrap_err();
        assert_eq!(error.landed, 1);
        assert!(
            error.to_string().contains("is not INSYNC after 10s"),
            "{error}"
        );
    }
}
