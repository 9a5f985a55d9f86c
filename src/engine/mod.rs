//! One zone's sync end to end: the held copy and the Route 53 view kept
//! between syncs (`state`), where the zone comes from (`source`), the sync
//! itself (`sync`), and its report. `ZoneEngine` is the one place that
//! decides what is kept and what is dropped after a sync; the daemon and
//! the commands only display or record its `SyncReport`.

mod envelope;
mod journal;
mod offload;
mod report;
pub mod source;
pub mod state;
pub mod sync;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ZoneConfig;
use crate::core::name::Name;
use crate::route53::HostedZones;
pub use report::{PrimarySoa, SyncReport};
use source::Source;
use state::{StateDir, ZoneState};
use sync::{SyncOutcome, ZoneSync};

/// How to run one sync.
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// How long to wait for a change batch to be INSYNC.
    pub insync_timeout: Duration,
    /// Override the up-to-date check and the safety rules.
    pub force: bool,
    /// Once set, no further batch is sent (the daemon is stopping).
    pub stop: Option<Arc<AtomicBool>>,
    /// Audit the zone rather than sync it (`ZoneSync::audit`).
    pub audit: Option<AuditPass>,
}

/// One audit of a zone.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuditPass {
    /// List the zone in full, not only `_serial`.
    pub deep: bool,
    /// Apply the plan that repairs drift found.
    pub repair: bool,
}

/// One zone's engine: what it keeps from one sync to the next.
pub struct ZoneEngine<H> {
    zone: Name,
    states: StateDir,
    /// Loaded under the zone's lock by the first sync.
    state: Option<ZoneState>,
    /// The hosted zone found by the last good sync; looked up again after
    /// a failure.
    hosted: Option<Arc<H>>,
}

impl<H> ZoneEngine<H> {
    /// The engine of `zone`, keeping its state in `states`.
    pub fn new(states: StateDir, zone: Name) -> ZoneEngine<H> {
        ZoneEngine {
            zone,
            states,
            state: None,
            hosted: None,
        }
    }

    /// After a sync abandoned at its deadline: it may have moved the held
    /// copy into its transfer or conversion (and dropped it there) or
    /// half-applied an IXFR to it, so go back to the copy last saved whole,
    /// a base for the next IXFR. Batches may have landed, so the Route 53
    /// view no longer holds, and the hosted zone is looked up again.
    pub fn abandoned(&mut self) {
        let mut state = self.states.load(&self.zone);
        state.route53 = None;
        self.states.save(&self.zone, &mut state);
        self.state = Some(state);
        self.hosted = None;
    }
}

impl<H: crate::route53::HostedZone + Send + Sync + 'static> ZoneEngine<H> {
    /// Syncs once from `source` into the hosted zone `zones` finds, then
    /// saves what holds and drops what does not.
    pub async fn sync<Z: HostedZones<Zone = H>>(
        &mut self,
        config: &ZoneConfig,
        source: Source,
        zones: &Z,
        options: SyncOptions,
    ) -> SyncReport {
        let started = Instant::now();
        let report = |outcome, soa| SyncReport {
            zone: self.zone.clone(),
            outcome,
            primary: soa,
            took: started.elapsed(),
            whole_zone: true,
        };
        // An operator's `xfr53 sync` and the daemon never write one zone's
        // state at once: whoever comes second waits.
        let _lock = match self.states.lock(&self.zone).await {
            Ok(lock) => lock,
            Err(e) => return report(Err(e), None),
        };
        let hosted = match self.hosted.take() {
            Some(hosted) => hosted,
            None => match zones
                .open(
                    &config.rules.zone,
                    config.hosted_zone_id.as_deref(),
                    config.role_arn.as_deref(),
                )
                .await
            {
                Ok(hosted) => Arc::new(hosted),
                Err(e) => return report(Err(e), None),
            },
        };
        let state = match &mut self.state {
            Some(state) => state,
            None => self.state.insert(self.states.load(&self.zone)),
        };
        let mut sync = ZoneSync::new(
            config,
            source,
            hosted.as_ref(),
            state,
            options.insync_timeout,
        );
        if let Some(stop) = options.stop {
            sync = sync.stopping(stop);
        }
        let outcome = match options.audit {
            Some(pass) => sync.audit(pass.deep, pass.repair).await,
            None => sync.sync(options.force).await,
        };
        let primary = sync.soa().map(PrimarySoa::from);
        let whole_zone = match &outcome {
            Ok(
                SyncOutcome::Applied(plan)
                | SyncOutcome::Refused(plan)
                | SyncOutcome::Drifted { plan, .. },
            ) => plan.changed_names.is_none(),
            Ok(SyncOutcome::UpToDate(_)) => state.relisted,
            Err(_) => true,
        };
        // On a failure the sync kept only the view it can still trust; a
        // save with nothing changed writes nothing.
        self.states.save(&self.zone, state);
        if outcome.is_ok() {
            self.hosted = Some(hosted);
        }
        SyncReport {
            whole_zone,
            ..report(outcome, primary)
        }
    }
}
