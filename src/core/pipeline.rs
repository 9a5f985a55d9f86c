//! The whole core in one call: a converted zone and Route 53's record sets
//! in, the plan out.

use super::convert::{check_hosted_zone, ConvertError, Converted};
use super::diff::diff;
use super::name::Name;
use super::plan::{plan, Plan, TooLarge};
use super::rrset::CurrentSet;
use super::rules::ZoneRules;

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

/// Plans bringing Route 53's `current` sets to the `desired` zone.
pub fn plan_zone(
    desired: &Converted,
    current: &[CurrentSet],
    rules: &ZoneRules,
    force: bool,
) -> Result<Plan, PlanError> {
    let serial = desired
        .serial
        .ok_or_else(|| PlanError::NoSerial(rules.zone.clone()))?;
    // Route 53 would refuse these on every attempt: nothing is planned
    check_hosted_zone(desired, current, rules)?;
    let changes = diff(&desired.sets, current, rules);
    Ok(plan(changes, serial, rules, force)?)
}
