//! Route 53's documented change semantics, strictly, in memory: a DELETE must
//! match the set exactly, a CREATE must not find one, a CNAME stands alone,
//! and a batch applies whole or not at all.

use std::collections::BTreeMap;

use xfr53::core::plan::{Action, Batch};
use xfr53::core::rrset::{Key, RecordSet, RrType};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostedZone {
    pub sets: BTreeMap<Key, RecordSet>,
}

impl HostedZone {
    pub fn new(sets: impl IntoIterator<Item = RecordSet>) -> HostedZone {
        HostedZone {
            sets: sets.into_iter().map(|s| (s.key(), s)).collect(),
        }
    }

    /// Applies one batch atomically.
    pub fn apply(&mut self, batch: &Batch) -> Result<(), String> {
        let mut next = self.sets.clone();
        for (action, set) in batch.actions() {
            let key = set.key();
            match action {
                Action::Delete => match next.get(&key) {
                    Some(have) if same(have, set) => {
                        next.remove(&key);
                    }
                    Some(have) => return Err(format!("DELETE {key:?} does not match {have:?}")),
                    None => return Err(format!("DELETE {key:?}: no such set")),
                },
                Action::Create => {
                    if next.contains_key(&key) {
                        return Err(format!("CREATE {key:?}: already exists"));
                    }
                    let at_name = next
                        .range((set.name.clone(), RrType::A)..)
                        .take_while(|((n, _), _)| *n == set.name);
                    let clash = at_name
                        .map(|((_, t), _)| *t)
                        .any(|t| (t == RrType::CNAME) != (set.rtype == RrType::CNAME));
                    if clash {
                        return Err(format!("CREATE {key:?}: CNAME and other data at one name"));
                    }
                    next.insert(key, set.clone());
                }
            }
        }
        self.sets = next;
        Ok(())
    }
}

fn same(a: &RecordSet, b: &RecordSet) -> bool {
    let sorted = |s: &RecordSet| {
        let mut v = s.values.clone();
        v.sort();
        v
    };
    a.ttl == b.ttl && sorted(a) == sorted(b)
}
