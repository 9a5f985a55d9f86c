//! The whole core in one call: a converted zone and Route 53's record sets
//! in, the plan out. Either over the whole zone, or, once a plan has landed,
//! over only the owner names changed since (`Baseline`): the same plan for
//! the work of the change.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::convert::{check_hosted_zone, ConvertError, Converted};
use super::diff::{diff, Diff, Unmanaged};
use super::hosted::HostedSets;
use super::name::Name;
use super::plan::{plan, Plan, TooLarge};
use super::rrset::RrType;
use super::rules::ZoneRules;
use super::serial::Serial;

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("zone {0}: no SOA record at the apex, so there is no serial to sync to")]
    NoSerial(Name),
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error(transparent)]
    Refused(#[from] ConvertError),
}

/// What a landed plan left: Route 53 held the zone at `held` exactly, as
/// far as xfr53 manages it, and since then only the records at `dirty`
/// changed. Planning again then needs only those names.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// The held copy's serial, moved on by each IXFR folded in.
    pub held: Serial,
    /// Owner names the held copy changed at since the plan landed.
    pub dirty: BTreeSet<Name>,
    /// The rules it was planned under: other rules manage other sets.
    pub rules: ZoneRules,
    /// Record sets xfr53 manages in Route 53.
    pub managed_count: usize,
    /// The sets left alone, over the whole zone, in key order (shared with
    /// the plans: a zone's many alias sets are not copied per change).
    pub unmanaged: Arc<Vec<Unmanaged>>,
}

impl Baseline {
    /// Once every batch of `plan` landed (so Route 53 holds the zone `plan`
    /// was made from).
    pub fn landed(plan: &Plan, rules: &ZoneRules) -> Baseline {
        Baseline {
            held: plan.serial,
            dirty: BTreeSet::new(),
            rules: rules.clone(),
            managed_count: plan.managed_count + plan.summary.create - plan.summary.delete,
            unmanaged: plan.unmanaged.clone(),
        }
    }

    /// The held copy moved from `from` to `to` by an IXFR touching `names`.
    /// `false` (and the baseline must be dropped) when it did not start from
    /// the held copy this baseline describes.
    pub fn moved(
        &mut self,
        from: Serial,
        to: Serial,
        names: impl IntoIterator<Item = Name>,
    ) -> bool {
        if from != self.held {
            return false;
        }
        self.held = to;
        self.dirty.extend(names);
        true
    }

    /// Whether planning from this baseline gives the whole zone's plan:
    /// the held copy is the one it describes, under the same rules.
    pub fn holds(&self, held: Option<Serial>, rules: &ZoneRules) -> bool {
        held == Some(self.held) && self.rules == *rules
    }
}

/// Plans bringing Route 53's `current` sets to the `desired` zone.
pub fn plan_zone(
    desired: &Converted,
    current: &HostedSets,
    rules: &ZoneRules,
    force: bool,
) -> Result<Plan, PlanError> {
    let changes = diff(&desired.sets, current.iter(), rules);
    plan_diff(desired, changes, current, rules, force)
}

/// The plan `plan_zone` gives, from the baseline's changed names alone:
/// `desired` holds the sets at `baseline.dirty` (`Zone::convert_names`),
/// and Route 53's `current` sets are what the baseline's plan left.
pub fn plan_names(
    desired: &Converted,
    current: &HostedSets,
    baseline: &Baseline,
    rules: &ZoneRules,
    force: bool,
) -> Result<Plan, PlanError> {
    let dirty = &baseline.dirty;
    let serial_key = (rules.serial_name.clone(), RrType::TXT);
    // `_serial` itself, unless its name changed; anything else there is in
    // the baseline's unmanaged sets
    let serial_set = current
        .get(&serial_key)
        .iter()
        .filter(|set| set.unmanaged.is_none() && !dirty.contains(&rules.serial_name));
    let at_dirty = dirty.iter().flat_map(|name| current.at(name));
    let mut changes = diff(&desired.sets, at_dirty.chain(serial_set), rules);
    changes.managed_count = baseline.managed_count;
    changes.unmanaged = merged(&baseline.unmanaged, &changes.unmanaged, dirty);
    let mut plan = plan_diff(desired, changes, current, rules, force)?;
    plan.changed_names = Some(dirty.len());
    Ok(plan)
}

/// The whole zone's unmanaged sets: `baseline`'s, those at `dirty` names
/// replaced by `at_dirty`. Shared unchanged when no change touched one.
fn merged(
    baseline: &Arc<Vec<Unmanaged>>,
    at_dirty: &Arc<Vec<Unmanaged>>,
    dirty: &BTreeSet<Name>,
) -> Arc<Vec<Unmanaged>> {
    let held_at = |name: &Name| {
        let first = baseline.partition_point(|u| u.name < *name);
        baseline.get(first).is_some_and(|u| u.name == *name)
    };
    if at_dirty.is_empty() && !dirty.iter().any(held_at) {
        return baseline.clone();
    }
    let mut unmanaged: Vec<Unmanaged> = baseline
        .iter()
        .filter(|u| !dirty.contains(&u.name))
        .chain(at_dirty.iter())
        .cloned()
        .collect();
    unmanaged.sort();
    Arc::new(unmanaged)
}

fn plan_diff(
    desired: &Converted,
    changes: Diff,
    current: &HostedSets,
    rules: &ZoneRules,
    force: bool,
) -> Result<Plan, PlanError> {
    let serial = desired
        .serial
        .ok_or_else(|| PlanError::NoSerial(rules.zone.clone()))?;
    // Route 53 would refuse these on every attempt: nothing is planned
    check_hosted_zone(desired, &changes, current, rules)?;
    Ok(plan(changes, serial, rules, force)?)
}
