//! One sync of one zone, start to end: the SOA check, the transfer, the
//! plan, the safety rules, the batches, INSYNC, and the state kept for the
//! next time. Used by `xfr53 sync`, `plan` and `check`, and by the daemon.

use std::cmp::Ordering;

use std::time::Duration;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hickory_proto::rr::rdata::SOA;

use super::offload::{off_runtime, transfer};
use super::source::{read_zone_file, Source};
use super::state::{Provenance, Route53View, ZoneState};
use crate::config::ZoneConfig;
use crate::core::convert::Converted;
use crate::core::diff::diff;
use crate::core::hosted::HostedSets;
use crate::core::name::Name;
use crate::core::pipeline::{plan_names, plan_zone, Baseline, PlanError};
use crate::core::plan::{mark_of, Plan, SerialMark};
use crate::core::rrset::RrType;
use crate::core::serial::Serial;
use crate::core::zone::{Delta, Zone};
use crate::dns::soa::query_soa;
use crate::dns::transfer::{Stats, Transferred};
use crate::route53::apply::{apply, Stopped};
use crate::route53::{HostedZone, Route53Error};

mod audit;

/// How many times a batch rejected because Route 53 changed underneath is
/// re-read, re-planned and retried.
const MAX_REPLANS: usize = 3;

/// How a sync ended.
#[derive(Debug)]
pub enum SyncOutcome {
    /// Route 53's `_serial` already held the primary's serial: nothing read.
    UpToDate(Serial),
    /// The plan was applied (it may have been empty) and is INSYNC.
    Applied(Plan),
    /// A safety rule refused the plan; nothing was changed.
    Refused(Plan),
    /// An audit found Route 53 at the primary's serial yet differing from
    /// its zone (a hand edit, another tool): the plan that repairs it,
    /// applied when `repaired`.
    Drifted { plan: Plan, repaired: bool },
}

/// A fresh listing to re-plan on, or the serial another writer already
/// brought Route 53 to.
enum Relisted {
    Fresh(Arc<HostedSets>),
    Overtaken(Serial),
}

/// Everything one zone's sync needs.
pub struct ZoneSync<'a, Z: HostedZone> {
    config: &'a ZoneConfig,
    source: Source,
    hosted: &'a Z,
    state: &'a mut ZoneState,
    insync_timeout: Duration,
    /// Once set, no further batch is sent (the daemon is shutting down).
    stop: Option<Arc<AtomicBool>>,
    /// The primary's SOA, once asked for.
    soa: Option<SOA>,
}

impl<'a, Z: HostedZone> ZoneSync<'a, Z> {
    /// A sync of `config`'s zone from `source` into `hosted`. State held
    /// for another zone, source or hosted zone is dropped here.
    pub fn new(
        config: &'a ZoneConfig,
        source: Source,
        hosted: &'a Z,
        state: &'a mut ZoneState,
        insync_timeout: Duration,
    ) -> ZoneSync<'a, Z> {
        state.relisted = false;
        state.adopt(Provenance {
            zone: config.rules.zone.to_string(),
            source: source.describe(),
            hosted_zone_id: hosted.id().to_string(),
        });
        ZoneSync {
            config,
            source,
            hosted,
            state,
            insync_timeout,
            stop: None,
            soa: None,
        }
    }

    /// Stops sending batches once `stop` is set.
    pub fn stopping(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The primary's SOA as last seen by this sync.
    pub fn soa(&self) -> Option<&SOA> {
        self.soa.as_ref()
    }

    /// Syncs once. `force` overrides the up-to-date check and the safety rules.
    ///
    /// A Route 53 view kept from the last sync is trusted: nothing is read
    /// before the change request, whose `_serial` DELETE of the exact value
    /// the view holds is the check (a compare-and-swap: Route 53 applies a
    /// batch whole or not at all). `xfr53 check` and the daemon's audit
    /// verify the view; `force` trusts nothing and lists in full.
    pub async fn sync(&mut self, force: bool) -> Result<SyncOutcome> {
        let zone = self.config.rules.zone.clone();
        let mut primary_serial = self.primary_serial().await?;
        let (mark, mut current, mut listed_now) = self.starting_view(force).await?;
        let newest = mark.map(SerialMark::newest);
        if let Some(route53) = newest.filter(|r| !force && *r > primary_serial) {
            primary_serial = self.ask_again(route53, primary_serial).await?;
        }
        if !force && mark == Some(SerialMark::Complete(primary_serial)) {
            tracing::info!(zone = %zone, serial = primary_serial.0, "Route 53 already holds this serial");
            return Ok(SyncOutcome::UpToDate(primary_serial));
        }
        self.transfer_held(primary_serial).await?;
        let mut scope = self.baseline_for(&current);
        if let Some(baseline) = &scope {
            tracing::debug!(zone = %zone, names = baseline.dirty.len(), "planning only the names changed since the last plan landed");
        }
        let mut desired = Arc::new(self.convert(scope.as_ref()).await?);
        for attempt in 0..=MAX_REPLANS {
            let plan = self
                .plan_off(&desired, &current, scope.as_ref(), force)
                .await??;
            if plan.is_refused() {
                if force || listed_now {
                    return Ok(SyncOutcome::Refused(plan));
                }
                // Judged on the kept view, which may be what is wrong (a
                // batch that landed before a crash could save it, another
                // writer): judged again on a listing before it stands.
                tracing::info!(zone = %zone, "the plan on the kept Route 53 view breaks a safety rule; judging it again on a fresh listing");
                let fresh = match self.relist_unless_overtaken(&plan, force).await? {
                    Relisted::Overtaken(serial) => return Ok(SyncOutcome::UpToDate(serial)),
                    Relisted::Fresh(fresh) => fresh,
                };
                scope = None;
                desired = Arc::new(self.convert(None).await?);
                (current, listed_now) = (fresh, true);
                continue;
            }
            match apply(
                self.hosted,
                &plan,
                self.insync_timeout,
                self.stop.as_deref(),
            )
            .await
            {
                Ok(_) => {
                    self.landed(&plan, current);
                    return Ok(SyncOutcome::Applied(plan));
                }
                Err(Stopped {
                    landed,
                    error: Route53Error::Rejected(reason),
                }) => {
                    // Earlier batches may have landed: nothing cached holds.
                    self.state.route53 = None;
                    if landed == 0 && !force && self.landed_elsewhere(&plan, &current).await? {
                        return Ok(SyncOutcome::UpToDate(plan.serial));
                    }
                    let fresh = match self.relist_unless_overtaken(&plan, force).await? {
                        Relisted::Overtaken(serial) => return Ok(SyncOutcome::UpToDate(serial)),
                        Relisted::Fresh(fresh) => fresh,
                    };
                    // the held copy moved on when the primary had
                    if scope.take().is_some() || self.state.zone.serial() != Some(plan.serial) {
                        desired = Arc::new(self.convert(None).await?);
                    }
                    let replanned = self.plan_off(&desired, &fresh, None, force).await??;
                    refused_itself(&zone, &plan, landed, &replanned, &reason)?;
                    if attempt == MAX_REPLANS {
                        bail!(
                            "zone {zone}: Route 53 changed underneath {} times in a row ({reason}); is another tool writing this hosted zone?",
                            MAX_REPLANS + 1
                        );
                    }
                    tracing::warn!(zone = %zone, %reason, attempt = attempt + 1, "Route 53 changed underneath; re-planning on a fresh listing");
                    (current, listed_now) = (fresh, true);
                }
                Err(Stopped { error, .. }) => return Err(self.apply_failed(&plan, error)),
            }
        }
        // a refusal is judged again only on the kept view, at most once
        unreachable!("the last attempt returns")
    }

    /// Route 53 as the sync starts from, what its `_serial` says, and
    /// whether it was listed now: the kept view (trusted: its serial held
    /// in full), or a listing when forced or nothing is kept.
    async fn starting_view(
        &mut self,
        force: bool,
    ) -> Result<(Option<SerialMark>, Arc<HostedSets>, bool)> {
        if let (Some(view), false) = (&self.state.route53, force) {
            let mark = SerialMark::Complete(view.serial());
            return Ok((Some(mark), view.sets.clone(), false));
        }
        let sets = Arc::new(self.list().await?);
        self.remember(&sets);
        Ok((self.mark_in(&sets), sets, true))
    }

    /// The error of an apply that failed other than by a rejection. The
    /// view stays trusted only while `_serial` says what it said before:
    /// every batch of a plan that moves `_serial` moves it (a
    /// compare-and-swap), so a batch that may have landed is noticed. A
    /// plan that does not move it leaves nothing to notice it by.
    fn apply_failed(&mut self, plan: &Plan, error: Route53Error) -> anyhow::Error {
        if (self.state.route53.as_ref()).is_some_and(|v| v.serial() == plan.serial) {
            self.state.route53 = None;
        }
        let zone = &self.config.rules.zone;
        anyhow::Error::new(error).context(format!("zone {zone}: applying the plan to Route 53"))
    }

    /// Route 53's `_serial` is ahead of the serial the primary answered:
    /// another writer (the other instance of a pair) got a newer answer.
    /// The primary is asked again before anything calls it a rollback; its
    /// new answer is the serial to sync to. One still behind is planned,
    /// and refused by the safety rules as a rollback.
    async fn ask_again(&mut self, route53: Serial, primary: Serial) -> Result<Serial> {
        let again = self.primary_serial().await?;
        tracing::info!(zone = %self.config.rules.zone, route53 = route53.0, first = primary.0, again = again.0, "Route 53's _serial is ahead of the primary's answer; asked the primary again");
        Ok(again)
    }

    /// After the first batch of `plan`, made on `current`, was rejected:
    /// whether another writer syncing from the same primary (the other
    /// instance of a pair, NOTIFYed at the same time) landed the same
    /// serial, per `_serial` in one small request. Route 53 then holds
    /// what the plan would have made, kept as the view.
    async fn landed_elsewhere(&mut self, plan: &Plan, current: &Arc<HostedSets>) -> Result<bool> {
        let theirs = self.route53_serial().await?;
        if theirs != Some(plan.serial) {
            return Ok(false);
        }
        tracing::info!(zone = %self.config.rules.zone, serial = plan.serial.0, "another writer already applied this serial");
        self.landed(plan, current.clone());
        Ok(true)
    }

    /// Lists Route 53 afresh, kept as the view, for re-planning `plan`;
    /// unless (not forced) `_serial` there holds, or is being brought to, a
    /// serial ahead of `plan`'s: another writer got a newer answer. The
    /// primary is then asked again: when Route 53 holds its answer in
    /// full, that writer did the work; when the answer is newer than the
    /// plan's, the held copy is brought up to it for the re-plan (which a
    /// still older answer is refused by, as a rollback).
    async fn relist_unless_overtaken(&mut self, plan: &Plan, force: bool) -> Result<Relisted> {
        let fresh = self.relist().await?;
        let ahead = self
            .mark_in(&fresh)
            .filter(|m| !force && m.newest() > plan.serial);
        let Some(mark) = ahead else {
            return Ok(Relisted::Fresh(fresh));
        };
        let primary = self.ask_again(mark.newest(), plan.serial).await?;
        if mark == SerialMark::Complete(primary) {
            tracing::info!(zone = %self.config.rules.zone, serial = primary.0, "another writer already applied the primary's newer serial");
            return Ok(Relisted::Overtaken(primary));
        }
        if primary > plan.serial {
            self.transfer_held(primary).await?;
        }
        Ok(Relisted::Fresh(fresh))
    }

    /// Lists Route 53 afresh and keeps the listing as the view.
    async fn relist(&mut self) -> Result<Arc<HostedSets>> {
        self.state.route53 = None;
        let fresh = Arc::new(self.list().await?);
        self.remember(&fresh);
        Ok(fresh)
    }

    /// Keeps the view of Route 53 after `plan` landed on `current`: updated
    /// in place, change by change (the one held in the state goes first so
    /// nothing shares it), with the baseline the next plan starts from.
    fn landed(&mut self, plan: &Plan, mut current: Arc<HostedSets>) {
        self.state.route53 = None;
        Arc::make_mut(&mut current).apply(&plan.batches);
        self.state.route53 = Some(Route53View {
            serial: plan.serial.0,
            sets: current,
            baseline: Some(Baseline::landed(plan, &self.config.rules)),
        });
    }

    /// What a sync would do, changing nothing in Route 53.
    pub async fn plan(&mut self) -> Result<Plan> {
        let primary_serial = self.primary_serial().await?;
        let route53_serial = self.route53_serial().await?;
        self.transfer_held(primary_serial).await?;
        let desired = Arc::new(self.convert(None).await?);
        let current = self.current(route53_serial).await?;
        Ok(self.plan_off(&desired, &current, None, false).await??)
    }

    /// The plan off the async workers: over the whole zone, or over the
    /// names `scope` says changed since Route 53 last matched.
    async fn plan_off(
        &self,
        desired: &Arc<Converted>,
        current: &Arc<HostedSets>,
        scope: Option<&Baseline>,
        force: bool,
    ) -> Result<Result<Plan, PlanError>> {
        let (desired, current) = (desired.clone(), current.clone());
        let rules = self.config.rules.clone();
        let scope = scope.cloned();
        off_runtime(move || match scope {
            Some(baseline) => plan_names(&desired, &current, &baseline, &rules, force),
            None => plan_zone(&desired, &current, &rules, force),
        })
        .await
    }

    /// The baseline to plan from when `current` is the cached view xfr53's
    /// own last plan made and the held copy is still the one it describes.
    fn baseline_for(&self, current: &Arc<HostedSets>) -> Option<Baseline> {
        let view = self.state.route53.as_ref()?;
        let baseline = view.baseline.as_ref()?;
        (Arc::ptr_eq(&view.sets, current)
            && baseline.holds(self.state.zone.serial(), &self.config.rules))
        .then(|| baseline.clone())
    }

    /// The primary's serial (SOA query), and what Route 53's `_serial` says.
    pub async fn serials(&mut self) -> Result<(Serial, Option<SerialMark>)> {
        Ok((self.primary_serial().await?, self.route53_mark().await?))
    }

    /// Every managed record set that differs between the primary and
    /// Route 53, both read in full (a fresh transfer, no cache); `_serial`
    /// not included.
    pub async fn deep_differences(&mut self) -> Result<Vec<crate::core::diff::Change>> {
        let primary_serial = self.primary_serial().await?;
        self.state.zone = Zone::new(self.config.rules.zone.clone());
        self.transfer_held(primary_serial).await?;
        let desired = self.convert(None).await?;
        let current = self.list().await?;
        let rules = self.config.rules.clone();
        Ok(
            off_runtime(move || diff(&desired.sets, current.iter(), &rules))
                .await?
                .changes,
        )
    }

    /// The primary's serial (remembering its SOA for the daemon's timers).
    async fn primary_serial(&mut self) -> Result<Serial> {
        let zone = &self.config.rules.zone;
        let soa = match &self.source {
            Source::ZoneFile(path) => {
                read_zone_file(path, zone)?
                    .soa()
                    .cloned()
                    .with_context(|| {
                        format!(
                            "zone {zone}: {} has no SOA record at the apex",
                            path.display()
                        )
                    })?
            }
            Source::Primaries(primaries) => {
                let mut errors = Vec::new();
                let mut found = None;
                for primary in primaries {
                    match query_soa(primary, zone).await {
                        Ok(soa) => {
                            found = Some(soa);
                            break;
                        }
                        Err(e) => errors.push(format!("{e:#}")),
                    }
                }
                found.with_context(|| errors.join("; "))?
            }
        };
        let serial = Serial(soa.serial());
        self.soa = Some(soa);
        Ok(serial)
    }

    /// What `_serial` says among listed sets.
    fn mark_in(&self, sets: &HostedSets) -> Option<SerialMark> {
        let key = (self.config.rules.serial_name.clone(), RrType::TXT);
        sets.get(&key)
            .iter()
            .find(|s| s.unmanaged.is_none())
            .and_then(|s| mark_of(&s.set))
    }

    /// The serial `_serial` holds among listed sets.
    fn serial_in(&self, sets: &HostedSets) -> Option<Serial> {
        match self.mark_in(sets)? {
            SerialMark::Complete(serial) => Some(serial),
            SerialMark::Applying { .. } => None,
        }
    }

    /// The serial all of which Route 53 holds, per its `_serial`.
    async fn route53_serial(&self) -> Result<Option<Serial>> {
        Ok(match self.route53_mark().await? {
            Some(SerialMark::Complete(serial)) => Some(serial),
            _ => None,
        })
    }

    async fn route53_mark(&self) -> Result<Option<SerialMark>> {
        let zone = &self.config.rules.zone;
        let set = self
            .hosted
            .get(&self.config.rules.serial_name, RrType::TXT)
            .await
            .with_context(|| {
                format!(
                    "zone {zone}: reading {} from Route 53",
                    self.config.rules.serial_name
                )
            })?;
        Ok(set.as_ref().and_then(mark_of))
    }

    /// Brings the held copy to the source's zone at `primary_serial` or
    /// newer. The held copy is only a base for IXFR: when it is ahead of the
    /// primary (restored from a backup, serial reset, another primary) it is
    /// dropped and the whole zone transferred. The view's baseline follows
    /// the names an IXFR changed, and is dropped by anything else.
    async fn transfer_held(&mut self, primary_serial: Serial) -> Result<()> {
        let zone = self.config.rules.zone.clone();
        let mut baseline = self.state.route53.as_mut().and_then(|v| v.baseline.take());
        match &self.source {
            // A file replaces the held copy: the baseline taken stays dropped.
            Source::ZoneFile(path) => self.state.zone = read_zone_file(path, &zone)?,
            Source::Primaries(primaries) => {
                if let Some(held) = self.state.zone.serial() {
                    if !matches!(
                        held.partial_cmp(&primary_serial),
                        Some(Ordering::Less | Ordering::Equal)
                    ) {
                        tracing::warn!(zone = %zone, held = held.0, primary = primary_serial.0, "the held copy is ahead of the primary's serial; dropping it and transferring the whole zone");
                        self.state.zone = Zone::new(zone.clone());
                    }
                }
                let mut errors = Vec::new();
                let mut done = false;
                for primary in primaries {
                    let before = self.state.zone.serial();
                    let transferred = transfer(primary, &mut self.state.zone).await;
                    let serial = self.state.zone.serial();
                    baseline = followed(baseline, before, serial, &transferred);
                    match transferred {
                        Ok((outcome, stats)) => {
                            tracing::info!(zone = %zone, primary = %primary.addr, serial = ?serial.map(|s| s.0), messages = stats.messages, records = stats.records, kind = ?kind(&outcome), "zone transferred");
                            if serial.is_some_and(|s| {
                                matches!(
                                    s.partial_cmp(&primary_serial),
                                    Some(Ordering::Greater | Ordering::Equal)
                                )
                            }) {
                                done = true;
                                break;
                            }
                            errors.push(format!(
                                "zone {zone}: primary {} transferred serial {}, behind the serial {primary_serial} its SOA answered",
                                primary.addr,
                                serial.map_or("none".into(), |s| s.to_string())
                            ));
                        }
                        Err(e) => errors.push(format!("{e:#}")),
                    }
                }
                if let Some(view) = self.state.route53.as_mut() {
                    view.baseline = baseline;
                }
                if !done {
                    bail!("{}", errors.join("; "));
                }
            }
        }
        Ok(())
    }

    /// The held copy as record sets: all of them, or only those at the
    /// names `scope` says changed.
    async fn convert(&mut self, scope: Option<&Baseline>) -> Result<Converted> {
        let zone = self.config.rules.zone.clone();
        let names = scope.map(|baseline| baseline.dirty.clone());
        // The held copy goes with the conversion and comes back with it (a
        // sync dropped at its deadline meanwhile loses it; the daemon then
        // goes back to the copy last saved).
        let held = std::mem::replace(&mut self.state.zone, Zone::new(zone.clone()));
        let (held, converted) = off_runtime(move || {
            let converted = match names {
                Some(names) => held.convert_names(&names),
                None => held.convert(),
            };
            (held, converted)
        })
        .await?;
        self.state.zone = held;
        let converted = converted?;
        for note in converted.notes() {
            tracing::warn!("{note}");
        }
        Ok(converted)
    }

    /// Route 53's content: the cached view when `_serial` still matches it,
    /// else a full listing (remembered).
    async fn current(&mut self, route53_serial: Option<Serial>) -> Result<Arc<HostedSets>> {
        match &self.state.route53 {
            Some(view) if route53_serial == Some(view.serial()) => {
                tracing::debug!(zone = %self.config.rules.zone, serial = view.serial, "using the cached Route 53 view");
                Ok(view.sets.clone())
            }
            _ => {
                let sets = Arc::new(self.list().await?);
                self.remember(&sets);
                Ok(sets)
            }
        }
    }

    /// Keeps a full listing as the view of Route 53 when its `_serial` says
    /// a serial is complete, so the next syncs need one small request to
    /// know it still holds (a failure, or another writer's apply, does not
    /// cost a full listing on every later sync).
    fn remember(&mut self, sets: &Arc<HostedSets>) {
        self.state.route53 = self.serial_in(sets).map(|serial| Route53View {
            serial: serial.0,
            sets: sets.clone(),
            baseline: None,
        });
        self.state.relisted = self.state.route53.is_some();
    }

    async fn list(&self) -> Result<HostedSets> {
        let zone = &self.config.rules.zone;
        let sets = self
            .hosted
            .list()
            .await
            .with_context(|| format!("zone {zone}: listing the hosted zone"))?;
        Ok(sets.into_iter().collect())
    }
}

/// An error when the plan made on a fresh listing sends the same batches
/// again from the rejected one: Route 53 held what the plan assumed, so it
/// refuses the change itself, and would every time. Anything else (another
/// writer, a retried request that had landed) is re-planned.
fn refused_itself(
    zone: &Name,
    plan: &Plan,
    landed: usize,
    replanned: &Plan,
    reason: &str,
) -> Result<()> {
    if !replanned.batches.is_empty() && plan.batches[landed..] == replanned.batches[..] {
        bail!(
            "zone {zone}: Route 53 refused a change batch ({reason}). Route 53 holds what the plan assumed, so it refuses the change itself and would every time: correct the record named on the primary (or add it to `ignore`)"
        );
    }
    Ok(())
}

/// The baseline once the held copy went from serial `before` to `after` by
/// `transferred`: an IXFR from the serial it describes adds the names it
/// changed; anything else (a whole zone, an error) drops it.
fn followed(
    baseline: Option<Baseline>,
    before: Option<Serial>,
    after: Option<Serial>,
    transferred: &Result<(Transferred, Stats)>,
) -> Option<Baseline> {
    let mut baseline = baseline?;
    match transferred {
        Ok((Transferred::UpToDate, _)) => (before == after).then_some(baseline),
        Ok((Transferred::Incremental(deltas), _)) => {
            let (from, to) = (before?, after?);
            let names = deltas.iter().flat_map(Delta::owners);
            baseline.moved(from, to, names).then_some(baseline)
        }
        _ => None,
    }
}

fn kind(outcome: &Transferred) -> &'static str {
    match outcome {
        Transferred::UpToDate => "none",
        Transferred::Incremental(_) => "IXFR",
        Transferred::Full { .. } => "AXFR",
    }
}
