//! The audit: each zone once a period, at a point of the period its name
//! picks (so a thousand zones are spread over it), one zone at a time
//! across the daemon, its Route 53 requests in the audit lane of the
//! shared rate limit (after NOTIFYs and refreshes, within its share).
//! Every `deep_every`th audit of a zone lists it in full.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::zone_task::{source, Engine, ZoneLinks, ZoneShared};
use crate::config::{AuditSettings, ZoneConfig};
use crate::core::name::Name;
use crate::core::plan::Plan;
use crate::dns::primary::Primary;
use crate::engine::sync::SyncOutcome;
use crate::engine::{AuditPass, SyncOptions, SyncReport};
use crate::observe::metrics::AuditResult;
use crate::route53::throttle::{in_lane, Lane, LaneCell};
use crate::route53::HostedZones;

/// The audit's settings, and the turn one zone at a time takes: an audit
/// waiting in its lane holds only its own zone's engine, and a NOTIFY for
/// that zone raises it to the NOTIFY lane.
pub struct Auditing {
    pub settings: AuditSettings,
    turn: Semaphore,
}

impl Auditing {
    pub fn new(settings: AuditSettings) -> Auditing {
        Auditing {
            settings,
            turn: Semaphore::new(1),
        }
    }
}

/// Audits `zone` once a period, for as long as its task runs (the task
/// aborts this with itself). The first audit comes after a whole period
/// (the start-up sync has just looked) and the zone's point in it.
pub async fn audit_zone<Z: HostedZones>(
    zone: Arc<ZoneConfig>,
    primaries: Arc<Vec<Primary>>,
    shared: Arc<ZoneShared<Z>>,
    links: ZoneLinks,
    engine: Engine<Z>,
) {
    let Some(auditing) = shared.audit.clone() else {
        return;
    };
    let AuditSettings {
        period,
        deep_every,
        repair_drift,
    } = auditing.settings;
    let mut next = Instant::now() + period + phase(&zone.rules.zone, period);
    for pass in 1u64.. {
        tokio::time::sleep_until(next).await;
        next = (next + period).max(Instant::now());
        let audit = AuditPass {
            deep: pass % u64::from(deep_every) == 0,
            repair: repair_drift,
        };
        let _turn = auditing.turn.acquire().await;
        // a zone syncing now is looked at by that sync: skipped this time
        let Ok(mut engine) = engine.try_lock() else {
            continue;
        };
        let lane = LaneCell::new(Lane::Audit);
        *links.audit_lane.lock().expect("not poisoned") = Some(lane.clone());
        let options = SyncOptions {
            insync_timeout: shared.insync_timeout,
            stop: Some(links.stop.clone()),
            audit: Some(audit),
            ..SyncOptions::default()
        };
        let work = engine.sync(
            &zone,
            source(&primaries, &links.metrics),
            shared.zones.as_ref(),
            options,
        );
        let ran = tokio::time::timeout(zone.sync_timeout, in_lane(lane, work)).await;
        *links.audit_lane.lock().expect("not poisoned") = None;
        match ran {
            Ok(report) => record(&report, audit.deep, &links),
            Err(_) => {
                engine.abandoned();
                links.metrics.count_audit(AuditResult::Failed);
                tracing::warn!(zone = %zone.rules.zone, "audit still running after sync_timeout_seconds; abandoned");
            }
        }
    }
}

/// Where in each period `zone` is audited: spread evenly by its name.
fn phase(zone: &Name, period: Duration) -> Duration {
    // FNV-1a: stable across runs and builds, unlike the std hasher
    let hash = zone
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    period.mul_f64((hash % 10_000) as f64 / 10_000.0)
}

/// Counts an audit, keeps the serial it saw, and alerts drift once a spell
/// (a deep audit that finds the zone clean ends the spell).
fn record(report: &SyncReport, deep: bool, links: &ZoneLinks) {
    let zone = &report.zone;
    let seen = |serial| {
        links.synced.set(serial);
        links.metrics.set_route53_serial(serial.0);
    };
    // what a comparison found, for the drift alert: (drift, detail)
    let (result, compared) = match &report.outcome {
        Ok(SyncOutcome::UpToDate(serial)) => {
            seen(*serial);
            (AuditResult::Clean, deep.then(|| (false, String::new())))
        }
        Ok(SyncOutcome::Applied(plan)) => {
            seen(plan.serial);
            tracing::info!(zone = %zone, serial = plan.serial.0, "audit: Route 53 was off the primary's serial; synced");
            (AuditResult::Synced, None)
        }
        Ok(SyncOutcome::Drifted { plan, repaired }) => {
            if *repaired {
                seen(plan.serial);
            }
            let detail = drift_detail(plan, *repaired);
            tracing::warn!(zone = %zone, "audit: drift: {detail}");
            let result = match repaired {
                true => AuditResult::Repaired,
                false => AuditResult::Drift,
            };
            (result, Some((true, detail)))
        }
        Ok(SyncOutcome::Refused(plan)) => {
            tracing::error!(zone = %zone, serial = plan.serial.0, refusals = ?plan.refusals, "audit: the sync it started was refused by a safety rule");
            (AuditResult::Failed, None)
        }
        Err(e) => {
            tracing::warn!(zone = %zone, "audit failed: {e:#}");
            (AuditResult::Failed, None)
        }
    };
    links.metrics.count_audit(result);
    if let Some((drift, detail)) = compared {
        links.alerts.audited(drift, detail);
    }
}

/// What drift an audit found and what became of it.
fn drift_detail(plan: &Plan, repaired: bool) -> String {
    let s = plan.summary;
    let what = match (repaired, plan.is_refused()) {
        (true, _) => "repaired (repair_drift = true)".to_string(),
        (false, true) => format!(
            "not repaired: a safety rule refused it ({})",
            plan.refusals.join("; ")
        ),
        (false, false) => "left as it is (repair_drift = false); `xfr53 check --deep` shows it, `xfr53 sync --force` repairs it".to_string(),
    };
    format!(
        "{} record set(s) to create, {} to delete, {} to modify at serial {}; {what}",
        s.create, s.delete, s.modify, plan.serial
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_spread_over_the_period() {
        let period = Duration::from_secs(3600);
        let phases: Vec<Duration> = (0..1000)
            .map(|i| phase(&Name::parse_route53(&format!("z{i}.test")).unwrap(), period))
            .collect();
        assert!(phases.iter().all(|p| *p < period));
        // every tenth of the period holds some, none holds a third
        for tenth in 0..10 {
            let lo = period * tenth / 10;
            let hi = period * (tenth + 1) / 10;
            let n = phases.iter().filter(|p| (lo..hi).contains(*p)).count();
            assert!((30..333).contains(&n), "tenth {tenth}: {n}");
        }
    }
}
