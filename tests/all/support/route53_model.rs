//! Route 53's rules for the core's property tests, in memory: the strict
//! double's model (strict_route53::model) driven with the core's batches,
//! so the tests hold one model of Route 53. Only this adapter knows xfr53's
//! types; it hands the double the text a request would carry.

use std::collections::BTreeMap;

use xfr53::core::name::Name;
use xfr53::core::plan::{Action, Batch};
use xfr53::core::rrset::{CurrentSet, Key, RecordSet, RrType};

use super::strict_route53::limits::DEFAULT_QUOTA;
use super::strict_route53::model::{self, Alias, Change, Data, Held, Sets, Zone};
use super::strict_route53::names;

pub struct HostedZone {
    zone: Zone,
    /// What the zone holds, in core terms; an alias shows as a set without
    /// TTL or values, as xfr53 reads one.
    pub sets: BTreeMap<Key, RecordSet>,
}

impl HostedZone {
    /// A zone under the root holding `sets`; unmanaged ones are held as
    /// aliases.
    pub fn new(sets: impl IntoIterator<Item = CurrentSet>) -> HostedZone {
        let mut held = Sets::default();
        for current in sets {
            let set = current.set;
            let key = model::Key {
                name: names::Name::parse(set.name.as_str()).unwrap(),
                rtype: set.rtype.to_string(),
                identifier: None,
            };
            let data = match current.unmanaged {
                Some(_) => Data::Alias(Alias {
                    zone_id: "ZMODEL".into(),
                    dns_name: "target.example.".into(),
                    evaluate: false,
                }),
                None => Data::Records {
                    ttl: set.ttl,
                    values: set.values,
                },
            };
            held.put(key, Held { weight: None, data });
        }
        let zone = Zone::new(
            "ZMODEL".into(),
            names::Name::parse(".").unwrap(),
            false,
            held,
        );
        let sets = core_sets(zone.sets());
        HostedZone { zone, sets }
    }

    /// Applies one batch atomically, or says why Route 53 would refuse it.
    pub fn apply(&mut self, batch: &Batch) -> Result<(), String> {
        let changes: Vec<Change> = batch
            .actions()
            .map(|(action, set)| Change {
                action: match action {
                    Action::Create => "CREATE",
                    Action::Delete => "DELETE",
                }
                .into(),
                name: set.name.as_str().into(),
                rtype: set.rtype.to_string(),
                identifier: None,
                weight: None,
                ttl: Some(i64::from(set.ttl)),
                values: set.values.clone(),
                alias: None,
            })
            .collect();
        let next = self
            .zone
            .apply(&changes, DEFAULT_QUOTA)
            .map_err(|refused| format!("{}: {}", refused.code, refused.reasons.join("; ")))?;
        self.zone.replace_sets(next);
        self.sets = core_sets(self.zone.sets());
        Ok(())
    }
}

fn core_sets(sets: &Sets) -> BTreeMap<Key, RecordSet> {
    sets.iter()
        .map(|(key, held)| {
            let (ttl, values) = match &held.data {
                Data::Records { ttl, values } => (*ttl, values.clone()),
                Data::Alias(_) => (0, Vec::new()),
            };
            let set = RecordSet {
                name: Name::parse_route53(&key.name.render()).unwrap(),
                rtype: key.rtype.parse::<RrType>().unwrap(),
                ttl,
                values,
            };
            (set.key(), set)
        })
        .collect()
}
