//! Desired record sets against what Route 53 holds: the changes to make.
//!
//! Route 53 sets the primary cannot express (alias targets, sets with a
//! SetIdentifier), names matching the zone's `ignore` patterns, the apex SOA
//! and NS, and the `_serial` record are never changed here; the first three
//! are reported as unmanaged, and `_serial` is handed to the planner.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::name::Name;
use super::rrset::{CurrentSet, Key, RecordSet, RecordSets, RrType};
use super::rules::ZoneRules;
use super::value;

/// One change to one record set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Change {
    Create {
        set: RecordSet,
    },
    Delete {
        set: RecordSet,
    },
    /// Sent as DELETE(old) + CREATE(new) in one batch: a compare-and-swap.
    Modify {
        old: RecordSet,
        new: RecordSet,
    },
}

impl Change {
    /// The set this change concerns (the new one for a modification).
    pub fn set(&self) -> &RecordSet {
        match self {
            Change::Create { set } | Change::Delete { set } => set,
            Change::Modify { new, .. } => new,
        }
    }
}

/// A record set left alone, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unmanaged {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RrType,
    pub reason: String,
}

/// The result of comparing the two sides.
#[derive(Clone, Debug, Default)]
pub struct Diff {
    /// In key order, so one owner name's changes are adjacent.
    pub changes: Vec<Change>,
    /// In key order; shared with the plans made from it.
    pub unmanaged: Arc<Vec<Unmanaged>>,
    /// The `_serial` set Route 53 holds, if any.
    pub current_serial: Option<RecordSet>,
    /// How many record sets in Route 53 are managed by xfr53.
    pub managed_count: usize,
}

pub fn diff<'a>(
    desired: &RecordSets,
    current: impl IntoIterator<Item = &'a CurrentSet>,
    rules: &ZoneRules,
) -> Diff {
    let mut out = Diff::default();
    let mut managed: BTreeMap<Key, &RecordSet> = BTreeMap::new();
    let mut blocked: BTreeMap<Key, &str> = BTreeMap::new();
    let mut unmanaged = BTreeMap::new();
    for current in current {
        let set = &current.set;
        let key = set.key();
        if let Some(reason) = &current.unmanaged {
            unmanaged.insert(key.clone(), reason.clone());
            blocked.insert(key, reason);
        } else if key == (rules.serial_name.clone(), RrType::TXT) {
            out.current_serial = Some(set.clone());
        } else if rules.route53_owned(&key) {
        } else if let Some(pattern) = rules.ignored_by(&set.name) {
            unmanaged.insert(
                key,
                format!("matches ignore pattern {:?}", pattern.as_str()),
            );
        } else {
            managed.insert(key, set);
        }
    }
    out.managed_count = managed.len();
    for (key, want) in desired {
        if key.0 == rules.serial_name {
            unmanaged.insert(
                key.clone(),
                "owner name is reserved for the serial record".into(),
            );
            continue;
        }
        if let Some(pattern) = rules.ignored_by(&key.0) {
            unmanaged.insert(
                key.clone(),
                format!("matches ignore pattern {:?}", pattern.as_str()),
            );
            continue;
        }
        if let Some(reason) = unmanaged_conflict(&blocked, key) {
            unmanaged.insert(key.clone(), reason);
            continue;
        }
        match managed.remove(key) {
            None => out.changes.push(Change::Create { set: want.clone() }),
            Some(have) if equivalent(have, want) => {}
            Some(have) => out.changes.push(Change::Modify {
                old: have.clone(),
                new: want.clone(),
            }),
        }
    }
    out.changes.extend(
        managed
            .into_values()
            .map(|set| Change::Delete { set: set.clone() }),
    );
    out.changes
        .sort_by(|a, b| (&a.set().name, a.set().rtype).cmp(&(&b.set().name, b.set().rtype)));
    let unmanaged = unmanaged
        .into_iter()
        .map(|((name, rtype), reason)| Unmanaged {
            name,
            rtype,
            reason,
        });
    out.unmanaged = Arc::new(unmanaged.collect());
    out
}

/// Why the primary's set at `key` cannot be applied next to the unmanaged
/// sets Route 53 holds: the same key, or a CNAME beside other data.
fn unmanaged_conflict(blocked: &BTreeMap<Key, &str>, key: &Key) -> Option<String> {
    let (name, rtype) = key;
    blocked
        .range((name.clone(), RrType::A)..)
        .take_while(|((n, _), _)| n == name)
        .find(|((_, t), _)| t == rtype || *t == RrType::CNAME || *rtype == RrType::CNAME)
        .map(|((_, t), reason)| match t == rtype {
            true => format!("{reason}; the primary's {rtype} set is not applied"),
            false => format!(
                "Route 53 holds an unmanaged {t} set here ({reason}) that a CNAME cannot share the name with; the primary's {rtype} set is not applied"
            ),
        })
}

/// Same TTL and the same values, however Route 53 spells them.
pub fn equivalent(have: &RecordSet, want: &RecordSet) -> bool {
    if have.ttl != want.ttl || have.rtype != want.rtype {
        return false;
    }
    if have.values == want.values {
        return true;
    }
    let mut normalized: Vec<_> = have
        .values
        .iter()
        .map(|v| value::normalize(have.rtype, v))
        .collect();
    normalized.sort_unstable();
    normalized.dedup();
    normalized.len() == want.values.len()
        && normalized.iter().zip(&want.values).all(|(h, w)| h == w)
}
