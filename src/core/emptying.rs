//! Deleting a catalog member's hosted zone (`delete_removed`): Route 53
//! deletes only a hosted zone that holds nothing but its apex SOA and NS,
//! so every other set is deleted first, with the exact values listed, in
//! batches within Route 53's request limits. And the guard that keeps a
//! truncated or broken catalog from wiping hosted zones.

use super::diff::Change;
use super::plan::{pack, Batch};
use super::rrset::{CurrentSet, RrType};
use super::rules::ZoneRules;

/// At most this share (in percent) of a catalog's members may be removed
/// by one read and still have their hosted zones deleted ...
pub const MAX_DELETE_PERCENT: usize = 10;
/// ... unless no more than this many are removed.
pub const MAX_DELETE_ANYWAY: usize = 2;

/// Why deleting `removed` of `before` members at once is refused, if it is.
pub fn too_many_removed(before: usize, removed: usize) -> Option<String> {
    if removed <= MAX_DELETE_ANYWAY || removed * 100 <= before * MAX_DELETE_PERCENT {
        return None;
    }
    Some(format!(
        "{removed} of {before} members removed at once, over {MAX_DELETE_PERCENT}% (and more than {MAX_DELETE_ANYWAY}): a truncated or broken catalog must not delete hosted zones, so none is deleted; if the removal is meant, delete these hosted zones by hand"
    ))
}

/// The batches that leave the hosted zone of `rules.zone` with only its
/// apex SOA and NS, from a listing of it. An error when a set cannot be
/// deleted by value (an alias or a set with a SetIdentifier), or one is
/// over any request's limits: the zone is then left whole.
pub fn emptying(listed: &[CurrentSet], rules: &ZoneRules) -> Result<Vec<Batch>, String> {
    let zone = &rules.zone;
    let mut deletes = Vec::new();
    for current in listed {
        let set = &current.set;
        if set.name == *zone && matches!(set.rtype, RrType::SOA | RrType::NS) {
            continue;
        }
        if let Some(why) = &current.unmanaged {
            return Err(format!(
                "zone {zone}: {} {} is {why}, which xfr53 does not delete; delete it by hand, then the hosted zone",
                set.name, set.rtype
            ));
        }
        deletes.push(Change::Delete { set: set.clone() });
    }
    // one owner name's sets side by side, as `pack` groups them
    deletes.sort_by_key(|c| c.set().key());
    pack(deletes, rules.limits, rules).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::name::Name;
    use crate::core::rrset::RecordSet;
    use crate::core::rules::RequestLimits;

    fn set(name: &str, rtype: &str, values: &[&str]) -> CurrentSet {
        CurrentSet::managed(RecordSet {
            name: Name::parse_route53(name).unwrap(),
            rtype: rtype.parse().unwrap(),
            ttl: 300,
            values: values.iter().map(|v| v.to_string()).collect(),
        })
    }

    fn rules() -> ZoneRules {
        ZoneRules::new(Name::parse_route53("a.test").unwrap())
    }

    #[test]
    fn everything_but_the_apex_soa_and_ns_is_deleted_by_value() {
        let listed = vec![
            set("a.test", "SOA", &["ns. admin. 1 2 3 4 5"]),
            set("a.test", "NS", &["ns-1.example."]),
            set("a.test", "MX", &["10 mx.a.test."]),
            set("sub.a.test", "NS", &["ns.elsewhere."]),
            set("www.a.test", "A", &["192.0.2.1", "192.0.2.2"]),
        ];
        let batches = emptying(&listed, &rules()).unwrap();
        assert_eq!(batches.len(), 1);
        let deleted: Vec<_> = batches[0].changes.iter().collect();
        assert_eq!(
            deleted,
            vec![
                &Change::Delete {
                    set: listed[2].set.clone()
                },
                &Change::Delete {
                    set: listed[3].set.clone()
                },
                &Change::Delete {
                    set: listed[4].set.clone()
                },
            ]
        );
        let only_apex = &listed[..2];
        assert!(emptying(only_apex, &rules()).unwrap().is_empty());
    }

    #[test]
    fn deletions_are_packed_within_the_request_limits() {
        let listed: Vec<CurrentSet> = (0..25)
            .map(|i| set(&format!("h{i:02}.a.test"), "A", &["192.0.2.1", "192.0.2.2"]))
            .collect();
        let mut rules = rules();
        rules.limits = RequestLimits {
            max_values: 10,
            max_chars: 32_000,
        };
        let batches = emptying(&listed, &rules).unwrap();
        assert_eq!(batches.len(), 5, "{batches:?}");
        assert!(batches.iter().all(|b| b.size().values <= 10));
        let count: usize = batches.iter().map(|b| b.changes.len()).sum();
        assert_eq!(count, 25);
    }

    #[test]
    fn an_alias_leaves_the_zone_whole() {
        let mut alias = set("www.a.test", "A", &[]);
        alias.unmanaged = Some("an alias".into());
        let err = emptying(&[set("x.a.test", "A", &["192.0.2.1"]), alias], &rules()).unwrap_err();
        assert!(err.contains("www.a.test. A is an alias"), "{err}");
    }

    #[test]
    fn the_guard_allows_few_removals_only() {
        assert_eq!(too_many_removed(3, 1), None);
        assert_eq!(too_many_removed(3, 2), None, "two at most, always");
        assert!(too_many_removed(4, 3).is_some());
        assert_eq!(too_many_removed(100, 10), None, "10%");
        assert!(too_many_removed(100, 11).is_some());
    }
}
