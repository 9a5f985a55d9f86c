//! Route 53's record sets as xfr53 last saw them, by owner name and type,
//! so a change at one name is looked up and applied without walking the
//! zone.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::edits::Edits;
use super::name::Name;
use super::plan::{Action, Batch};
use super::rrset::{CurrentSet, Key, RrType};

/// Route 53's record sets. Weighted, failover and alias sets can share a
/// key with each other (never with a managed set), so each key holds a list.
#[derive(Clone, Debug)]
pub struct HostedSets {
    sets: BTreeMap<Key, Vec<CurrentSet>>,
    len: usize,
    /// The batches applied since the sets were saved or loaded; any other
    /// change makes them whole.
    unsaved: Edits<Batch>,
}

impl Default for HostedSets {
    fn default() -> HostedSets {
        HostedSets {
            sets: BTreeMap::new(),
            len: 0,
            unsaved: Edits::Whole,
        }
    }
}

impl HostedSets {
    /// How many record sets Route 53 holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &CurrentSet> {
        self.sets.values().flatten()
    }

    /// The sets at `key`.
    pub fn get(&self, key: &Key) -> &[CurrentSet] {
        self.sets.get(key).map_or(&[], Vec::as_slice)
    }

    /// The sets owned by `name`.
    pub fn at<'a>(&'a self, name: &'a Name) -> impl Iterator<Item = &'a CurrentSet> {
        self.sets
            .range((name.clone(), RrType::A)..)
            .take_while(move |((n, _), _)| n == name)
            .flat_map(|(_, sets)| sets)
    }

    pub fn insert(&mut self, set: CurrentSet) {
        list_at(&mut self.sets, set.set.key()).push(set);
        self.len += 1;
        self.unsaved = Edits::Whole;
    }

    /// What changed since the sets were last saved or loaded.
    pub fn unsaved(&self) -> &Edits<Batch> {
        &self.unsaved
    }

    /// The sets as they are now are saved (or were just loaded).
    pub fn mark_saved(&mut self) {
        self.unsaved = Edits::none();
    }

    /// What Route 53 holds once `batches` landed: a DELETE removes the
    /// managed set at its key, a CREATE adds one.
    pub fn apply(&mut self, batches: &[Batch]) {
        for batch in batches {
            for (action, set) in batch.actions() {
                let key = set.key();
                let held = list_at(&mut self.sets, key.clone());
                self.len -= held.len();
                held.retain(|c| c.unmanaged.is_some());
                if action == Action::Create {
                    held.push(CurrentSet::managed(set.clone()));
                }
                self.len += held.len();
                if held.is_empty() {
                    self.sets.remove(&key);
                }
            }
        }
        self.unsaved.extend(batches);
    }
}

/// The list at `key`, made for the one set a key almost always holds (an
/// empty Vec's first push reserves four).
fn list_at(sets: &mut BTreeMap<Key, Vec<CurrentSet>>, key: Key) -> &mut Vec<CurrentSet> {
    sets.entry(key).or_insert_with(|| Vec::with_capacity(1))
}

impl FromIterator<CurrentSet> for HostedSets {
    fn from_iter<I: IntoIterator<Item = CurrentSet>>(iter: I) -> HostedSets {
        let mut sets = HostedSets::default();
        for set in iter {
            sets.insert(set);
        }
        sets
    }
}

/// Saved as the plain list Route 53 returned.
impl Serialize for HostedSets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for HostedSets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HostedSets, D::Error> {
        let mut sets: HostedSets = Vec::<CurrentSet>::deserialize(deserializer)?
            .into_iter()
            .collect();
        sets.mark_saved();
        Ok(sets)
    }
}
