//! Route 53's documented limits ("Quotas" in the developer guide, and the
//! API reference's constraints on ResourceRecordSet), with reasons worded
//! as Route 53 words them.

use super::model::{Change, Key};
use super::names::Name;
use super::values::TYPES;

/// ResourceRecord elements in one request; an UPSERT's count twice.
pub const MAX_REQUEST_VALUES: usize = 1000;
/// Characters of values in one request; an UPSERT's count twice.
pub const MAX_REQUEST_CHARS: usize = 32_000;
/// Values in one record set.
pub const MAX_SET_VALUES: usize = 400;
/// Record sets in a hosted zone unless AWS raised the quota.
pub const DEFAULT_QUOTA: usize = 10_000;
const MAX_TTL: i64 = 2_147_483_647;

/// Checks the API applies to a Change's shape before looking at the zone
/// (refused as InvalidInput). `at` is the change's 1-based position.
pub fn input(at: usize, change: &Change) -> Result<(), String> {
    if !["CREATE", "UPSERT", "DELETE"].contains(&change.action.as_str()) {
        return Err(format!(
            "Invalid XML ; cvc-enumeration-valid: Value '{}' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'. It must be a value from the enumeration.",
            change.action
        ));
    }
    if !TYPES.contains(&change.rtype.as_str()) {
        return Err(format!(
            "1 validation error detected: Value '{}' at 'changeBatch.changes.{at}.member.resourceRecordSet.type' failed to satisfy constraint: Member must satisfy enum value set: {TYPES:?}",
            change.rtype
        ));
    }
    let shape = format!(
        "in Change with [Action={}, Name={}, Type={}, SetIdentifier={}]",
        change.action,
        change.name,
        change.rtype,
        change.identifier.as_deref().unwrap_or("null")
    );
    let records = change.ttl.is_some() && !change.values.is_empty();
    let partial = change.ttl.is_some() || !change.values.is_empty();
    match (change.alias.is_some(), records, partial) {
        (true, _, true) => {
            return Err(format!("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one {shape}"))
        }
        (false, false, _) => {
            return Err(format!("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none {shape}"))
        }
        _ => {}
    }
    if let Some(ttl) = change.ttl.filter(|t| !(0..=MAX_TTL).contains(t)) {
        let bound = match ttl < 0 {
            true => "greater than or equal to 0",
            false => "less than or equal to 2147483647",
        };
        return Err(format!("1 validation error detected: Value '{ttl}' at 'changeBatch.changes.{at}.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value {bound}"));
    }
    if change.identifier.is_some() != change.weight.is_some() {
        return Err(format!(
            "Invalid request: Expected a SetIdentifier together with a Weight {shape}"
        ));
    }
    if let Some(weight) = change.weight.filter(|w| *w > 255) {
        return Err(format!("1 validation error detected: Value '{weight}' at 'changeBatch.changes.{at}.member.resourceRecordSet.weight' failed to satisfy constraint: Member must have value less than or equal to 255"));
    }
    Ok(())
}

/// Where a set may stand: the apex SOA and NS are Route 53's (only UPSERT
/// may touch them), SOA only at the apex, no CNAME at the apex, no
/// wildcard NS.
pub fn placement(key: &Key, zone: &Name, action: &str) -> Result<(), String> {
    let name = key.name.render();
    let apex = key.name == *zone;
    let rtype = key.rtype.as_str();
    if apex && (rtype == "SOA" || rtype == "NS") && action != "UPSERT" {
        return Err(format!("A HostedZone must contain at least one NS record and one SOA record for the zone itself: [name='{name}', type='{rtype}']"));
    }
    if rtype == "SOA" && !apex {
        return Err(format!(
            "RRSet of type SOA with DNS name {name} is not permitted: SOA is only permitted at the zone apex"
        ));
    }
    if rtype == "CNAME" && apex {
        return Err(format!(
            "RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {}",
            zone.render()
        ));
    }
    if rtype == "NS" && key.name.is_wildcard() {
        return Err(format!(
            "RRSet of type NS with DNS name {name} is not permitted: wildcard NS record sets are not supported"
        ));
    }
    Ok(())
}

/// At most 400 values in one record set.
pub fn values(values: &[String], shown: &str) -> Result<(), String> {
    match values.len() > MAX_SET_VALUES {
        true => Err(format!(
            "Cannot have more than {MAX_SET_VALUES} records in a RRSet: {shown} has {}",
            values.len()
        )),
        false => Ok(()),
    }
}

/// The request-wide limits, UPSERT counted twice.
pub fn request(changes: &[Change]) -> Vec<String> {
    let (mut values, mut chars) = (0, 0);
    for change in changes {
        let weight = if change.action == "UPSERT" { 2 } else { 1 };
        values += weight * change.values.len();
        chars += weight * change.values.iter().map(String::len).sum::<usize>();
    }
    let mut reasons = Vec::new();
    if values > MAX_REQUEST_VALUES {
        reasons.push(format!(
            "Number of records limit of {MAX_REQUEST_VALUES} exceeded: {values}"
        ));
    }
    if chars > MAX_REQUEST_CHARS {
        reasons.push(format!(
            "RDATA character limit of {MAX_REQUEST_CHARS} exceeded: {chars}"
        ));
    }
    reasons
}

/// The hosted zone's record-set quota, checked when a batch adds sets.
pub fn quota(zone: &Name, before: usize, after: usize, quota: usize) -> Option<String> {
    (after > quota && after > before).then(|| {
        format!(
            "The hosted zone {} would hold {after} resource record sets; its limit is {quota}. Ask AWS to raise the quota",
            zone.render()
        )
    })
}
