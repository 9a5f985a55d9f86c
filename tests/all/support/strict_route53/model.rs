//! The tests' one model of a Route 53 hosted zone and of what a change
//! batch may do to it, from the API reference of ChangeResourceRecordSets:
//! changes apply in order and the batch is atomic; a CREATE must not find
//! its set, a DELETE must match it exactly (TTL, weight, every value by
//! meaning, or the alias target); a CNAME stands alone at its name; simple
//! and routed (SetIdentifier) sets do not mix at one name and type. A value
//! rewritten with the same meaning keeps the spelling first stored, as on
//! Route 53, so a client comparing spellings would loop.

use std::collections::BTreeMap;

use super::limits;
use super::listing::{listing_order, Position};
use super::names::Name;
use super::values::meaning;

/// Which set: (name, type, SetIdentifier).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub name: Name,
    pub rtype: String,
    pub identifier: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    pub zone_id: String,
    pub dns_name: String,
    pub evaluate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Records { ttl: u32, values: Vec<String> },
    Alias(Alias),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub weight: Option<u64>,
    pub data: Data,
}

/// The record sets of one hosted zone.
#[derive(Clone, Debug, Default)]
pub struct Sets(BTreeMap<Key, Held>);

impl Sets {
    /// Puts a simple set in place, as another writer would (names as
    /// Route 53 takes them; values unchecked).
    pub fn insert(&mut self, (name, rtype): (String, String), (ttl, values): (u32, Vec<String>)) {
        let name = Name::parse(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let key = Key {
            name,
            rtype,
            identifier: None,
        };
        let data = Data::Records { ttl, values };
        self.0.insert(key, Held { weight: None, data });
    }

    /// Puts any set in place, alias and routed ones included.
    pub fn put(&mut self, key: Key, held: Held) {
        self.0.insert(key, held);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Held)> {
        self.0.iter()
    }

    pub fn get(&self, key: &Key) -> Option<&Held> {
        self.0.get(key)
    }

    /// The sets at `name`.
    fn at<'a>(&'a self, name: &'a Name) -> impl Iterator<Item = (&'a Key, &'a Held)> {
        let from = Key {
            name: name.clone(),
            rtype: String::new(),
            identifier: None,
        };
        self.0
            .range(from..)
            .take_while(move |(k, _)| k.name == *name)
    }
}

/// One Change of a ChangeResourceRecordSets request, as sent.
#[derive(Clone, Debug)]
pub struct Change {
    pub action: String,
    pub name: String,
    pub rtype: String,
    pub identifier: Option<String>,
    pub weight: Option<u64>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<Alias>,
}

/// Why a batch was refused: the error code and each reason.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub reasons: Vec<String>,
}

pub struct Zone {
    pub id: String,
    pub name: Name,
    pub private: bool,
    sets: Sets,
    /// The sets' keys in listing order, kept with them so a page is found
    /// without sorting the zone.
    order: Vec<(Position, Key)>,
}

impl Zone {
    pub fn new(id: String, name: Name, private: bool, sets: Sets) -> Zone {
        let order = listing_order(&sets);
        Zone {
            id,
            name,
            private,
            sets,
            order,
        }
    }

    pub fn sets(&self) -> &Sets {
        &self.sets
    }

    pub fn replace_sets(&mut self, sets: Sets) {
        self.order = listing_order(&sets);
        self.sets = sets;
    }

    /// The keys in listing order.
    pub fn order(&self) -> &[(Position, Key)] {
        &self.order
    }

    /// The zone after `changes`, or why Route 53 refuses them.
    pub fn apply(&self, changes: &[Change], quota: usize) -> Result<Sets, Refusal> {
        let input: Vec<String> = changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| limits::input(i + 1, c).err())
            .collect();
        if !input.is_empty() {
            return Err(Refusal {
                code: "InvalidInput",
                reasons: input,
            });
        }
        let mut next = self.sets.clone();
        let mut reasons: Vec<String> = changes
            .iter()
            .filter_map(|c| self.change(c, &mut next).err())
            .collect();
        reasons.extend(limits::request(changes));
        reasons.extend(limits::quota(
            &self.name,
            self.sets.len(),
            next.len(),
            quota,
        ));
        match reasons.is_empty() {
            true => Ok(next),
            false => Err(Refusal {
                code: "InvalidChangeBatch",
                reasons,
            }),
        }
    }

    /// Applies one change to `next`, or says why it cannot be.
    fn change(&self, change: &Change, next: &mut Sets) -> Result<(), String> {
        let name = Name::parse(&change.name)?;
        let key = Key {
            name,
            rtype: change.rtype.clone(),
            identifier: change.identifier.clone(),
        };
        let shown = describe(&key);
        if !key.name.is_in(&self.name) {
            return Err(format!(
                "RRSet with DNS name {} is not permitted in zone {}",
                key.name.render(),
                self.name.render()
            ));
        }
        limits::placement(&key, &self.name, &change.action)?;
        let held = held(change, &shown)?;
        match change.action.as_str() {
            "DELETE" => match next.0.get(&key) {
                None => Err(format!(
                    "Tried to delete resource record set {shown} but it was not found"
                )),
                Some(have) if !same(have, &held, &key.rtype) => Err(format!(
                    "Tried to delete resource record set {shown} but the values provided do not match the current values"
                )),
                Some(_) => {
                    next.0.remove(&key);
                    Ok(())
                }
            },
            action => {
                if action == "CREATE" && next.0.contains_key(&key) {
                    return Err(format!(
                        "Tried to create resource record set {shown} but it already exists"
                    ));
                }
                conflicts(next, &key)?;
                let held = first_spelling(held, &key, [&self.sets, next]);
                next.0.insert(key, held);
                Ok(())
            }
        }
    }
}

/// `[name='…', type='…']` as Route 53 names a set in its reasons.
fn describe(key: &Key) -> String {
    let identifier = match &key.identifier {
        Some(id) => format!(", set-identifier='{id}'"),
        None => String::new(),
    };
    format!(
        "[name='{}', type='{}'{identifier}]",
        key.name.render(),
        key.rtype
    )
}

/// The set a change describes, its values checked.
fn held(change: &Change, shown: &str) -> Result<Held, String> {
    let data = match &change.alias {
        Some(alias) => {
            let target = Name::parse(&alias.dns_name)?;
            Data::Alias(Alias {
                dns_name: target.render(),
                ..alias.clone()
            })
        }
        None => {
            limits::values(&change.values, shown)?;
            let mut seen = Vec::new();
            for value in &change.values {
                let wire = meaning(&change.rtype, value)?;
                if seen.contains(&wire) {
                    return Err(format!("Duplicate Resource Record: '{value}'"));
                }
                seen.push(wire);
            }
            Data::Records {
                ttl: change.ttl.unwrap_or(0) as u32,
                values: change.values.clone(),
            }
        }
    };
    Ok(Held {
        weight: change.weight,
        data,
    })
}

/// Whether two sets are the same by meaning.
fn same(a: &Held, b: &Held, rtype: &str) -> bool {
    let meanings = |values: &[String]| {
        let mut m: Vec<_> = values.iter().map(|v| meaning(rtype, v).ok()).collect();
        m.sort();
        m
    };
    a.weight == b.weight
        && match (&a.data, &b.data) {
            (
                Data::Records {
                    ttl: t1,
                    values: v1,
                },
                Data::Records {
                    ttl: t2,
                    values: v2,
                },
            ) => t1 == t2 && meanings(v1) == meanings(v2),
            (Data::Alias(x), Data::Alias(y)) => x == y,
            _ => false,
        }
}

/// A CNAME stands alone at its name; simple and routed sets do not share a
/// name and type.
fn conflicts(sets: &Sets, key: &Key) -> Result<(), String> {
    let name = key.name.render();
    for (other, _) in sets.at(&key.name).filter(|(k, _)| *k != key) {
        if other.rtype != key.rtype && (other.rtype == "CNAME" || key.rtype == "CNAME") {
            return Err(format!(
                "RRSet of type {} with DNS name {name} is not permitted because a conflicting RRSet of type {} with the same DNS name already exists",
                key.rtype, other.rtype
            ));
        }
        if other.rtype == key.rtype && other.identifier.is_some() != key.identifier.is_some() {
            let existing = match other.identifier {
                Some(_) => "weighted sets exist",
                None => "a non-weighted set exists",
            };
            return Err(format!(
                "RRSet with DNS name {name}, type {} cannot be created as {existing} with the same name and type",
                key.rtype
            ));
        }
    }
    Ok(())
}

/// `held` with each value that means what a stored value means spelled as
/// stored: Route 53 treats such a rewrite as a no-op.
fn first_spelling<'a>(
    mut held: Held,
    key: &Key,
    stored: impl IntoIterator<Item = &'a Sets>,
) -> Held {
    let old: Vec<String> = stored
        .into_iter()
        .filter_map(|sets| sets.0.get(key))
        .filter_map(|h| match &h.data {
            Data::Records { values, .. } => Some(values.clone()),
            Data::Alias(_) => None,
        })
        .flatten()
        .collect();
    if let Data::Records { values, .. } = &mut held.data {
        for value in values.iter_mut() {
            let wire = meaning(&key.rtype, value).ok();
            if let Some(first) = old.iter().find(|o| meaning(&key.rtype, o).ok() == wire) {
                value.clone_from(first);
            }
        }
    }
    held
}
