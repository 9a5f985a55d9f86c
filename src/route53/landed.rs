//! Whether a change batch is already in Route 53: asked when a request
//! that may have landed (its answer timed out or was lost) is retried and
//! the retry is rejected. A batch is atomic, so when every set it touches
//! reads as the batch left it, the first attempt landed, and the rejection
//! only says so; nobody changed the zone underneath.

use std::collections::BTreeMap;

use super::{HostedZone, Route53Error};
use crate::core::diff::equivalent;
use crate::core::plan::{Action, Batch};
use crate::core::rrset::{Key, RecordSet};

/// Up to this many sets are read one by one; more, in one listing.
const MAX_GETS: usize = 10;

pub async fn landed(zone: &impl HostedZone, batch: &Batch) -> Result<bool, Route53Error> {
    // what the batch leaves at each key it touches: a set, or nothing
    let mut after: BTreeMap<Key, Option<&RecordSet>> = BTreeMap::new();
    for (action, set) in batch.actions() {
        after.insert(set.key(), (action == Action::Create).then_some(set));
    }
    let held: BTreeMap<Key, RecordSet> = if after.len() <= MAX_GETS {
        let mut held = BTreeMap::new();
        for (name, rtype) in after.keys() {
            if let Some(set) = zone.get(name, *rtype).await? {
                held.insert(set.key(), set);
            }
        }
        held
    } else {
        zone.list()
            .await?
            .into_iter()
            .filter(|s| s.unmanaged.is_none() && after.contains_key(&s.set.key()))
            .map(|s| (s.set.key(), s.set))
            .collect()
    };
    Ok(after.iter().all(|(key, want)| match (held.get(key), want) {
        (None, None) => true,
        (Some(have), Some(want)) => equivalent(have, want),
        _ => false,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::core::diff::Change;
    use crate::core::name::Name;
    use crate::core::rrset::{CurrentSet, RrType};
    use crate::route53::Submitted;

    /// A hosted zone holding `sets`, counting reads.
    struct Holding {
        sets: Vec<RecordSet>,
        reads: Mutex<(usize, usize)>,
    }

    impl HostedZone for Holding {
        fn id(&self) -> &str {
            "Z1"
        }
        async fn list(&self) -> Result<Vec<CurrentSet>, Route53Error> {
            self.reads.lock().unwrap().1 += 1;
            Ok(self.sets.iter().cloned().map(CurrentSet::managed).collect())
        }
        async fn get(&self, name: &Name, rtype: RrType) -> Result<Option<RecordSet>, Route53Error> {
            self.reads.lock().unwrap().0 += 1;
            Ok(self
                .sets
                .iter()
                .find(|s| s.key() == (name.clone(), rtype))
                .cloned())
        }
        async fn change(&self, _: &Batch) -> Result<Submitted, Route53Error> {
            unreachable!("only read")
        }
        async fn insync(&self, _: &str) -> Result<bool, Route53Error> {
            unreachable!("only read")
        }
    }

    fn a(name: &str, value: &str) -> RecordSet {
        RecordSet {
            name: Name::parse_route53(name).unwrap(),
            rtype: RrType::A,
            ttl: 300,
            values: vec![value.into()],
        }
    }

    fn holding(sets: Vec<RecordSet>) -> Holding {
        Holding {
            sets,
            reads: Mutex::new((0, 0)),
        }
    }

    #[tokio::test]
    async fn a_batch_whose_result_is_held_landed() {
        let batch = Batch {
            changes: vec![
                Change::Create {
                    set: a("new.a.test", "192.0.2.1"),
                },
                Change::Delete {
                    set: a("old.a.test", "192.0.2.2"),
                },
                Change::Modify {
                    old: a("www.a.test", "192.0.2.3"),
                    new: a("www.a.test", "192.0.2.4"),
                },
            ],
        };
        let after = holding(vec![
            a("new.a.test", "192.0.2.1"),
            a("www.a.test", "192.0.2.4"),
        ]);
        assert!(landed(&after, &batch).await.unwrap());
        assert_eq!(*after.reads.lock().unwrap(), (3, 0), "one read per set");
        for before in [
            vec![a("old.a.test", "192.0.2.2"), a("www.a.test", "192.0.2.3")],
            // another writer's value at a key the batch creates
            vec![a("new.a.test", "192.0.2.9"), a("www.a.test", "192.0.2.4")],
            // the deleted set is back
            vec![
                a("new.a.test", "192.0.2.1"),
                a("old.a.test", "192.0.2.2"),
                a("www.a.test", "192.0.2.4"),
            ],
        ] {
            assert!(!landed(&holding(before), &batch).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_large_batch_is_checked_on_one_listing() {
        let sets: Vec<RecordSet> = (0..=MAX_GETS)
            .map(|i| a(&format!("h{i}.a.test"), "192.0.2.1"))
            .collect();
        let batch = Batch {
            changes: sets
                .iter()
                .map(|set| Change::Create { set: set.clone() })
                .collect(),
        };
        let zone = holding(sets);
        assert!(landed(&zone, &batch).await.unwrap());
        assert_eq!(*zone.reads.lock().unwrap(), (0, 1));
    }
}
