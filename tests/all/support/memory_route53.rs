//! Route 53 in memory, for the daemon run in-process: hosted zones held by
//! the strict double's model (through `route53_model`), every request
//! counted per zone, so a test sees what the daemon asked for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use xfr53::core::name::Name;
use xfr53::core::plan::Batch;
use xfr53::core::rrset::{CurrentSet, RecordSet, RrType};
use xfr53::route53::{HostedZone, HostedZones, Route53Error, Submitted};

use super::route53_model;

#[derive(Clone, Default)]
pub struct MemoryRoute53(Arc<Mutex<Account>>);

#[derive(Default)]
struct Account {
    zones: BTreeMap<String, route53_model::HostedZone>,
    /// (zone, request) in the order made: "open", "list", "get", "change".
    requests: Vec<(String, &'static str)>,
}

impl MemoryRoute53 {
    /// An account holding an empty hosted zone for each of `zones`.
    pub fn with_zones(zones: &[&str]) -> MemoryRoute53 {
        let route53 = MemoryRoute53::default();
        for zone in zones {
            let key = format!("{}.", zone.trim_end_matches('.'));
            let empty = route53_model::HostedZone::new(Vec::new());
            route53.0.lock().unwrap().zones.insert(key, empty);
        }
        route53
    }

    /// How many `request`s were made for `zone`.
    pub fn count(&self, zone: &str, request: &str) -> usize {
        let zone = format!("{}.", zone.trim_end_matches('.'));
        let account = self.0.lock().unwrap();
        (account.requests.iter())
            .filter(|(z, r)| *z == zone && *r == request)
            .count()
    }

    /// The values of the set at `name`, `rtype`.
    pub fn values(&self, zone: &str, name: &str, rtype: &str) -> Option<Vec<String>> {
        let zone = format!("{}.", zone.trim_end_matches('.'));
        let account = self.0.lock().unwrap();
        let key = (
            Name::parse_route53(name).unwrap(),
            rtype.parse::<RrType>().unwrap(),
        );
        Some(account.zones.get(&zone)?.sets.get(&key)?.values.clone())
    }

    fn note(&self, zone: &Name, request: &'static str) {
        let mut account = self.0.lock().unwrap();
        account.requests.push((zone.to_string(), request));
    }
}

impl HostedZones for MemoryRoute53 {
    type Zone = MemoryZone;

    async fn open(&self, zone: &Name, _id: Option<&str>) -> Result<MemoryZone> {
        self.note(zone, "open");
        if !self.0.lock().unwrap().zones.contains_key(zone.as_str()) {
            bail!("zone {zone}: no hosted zone of that name");
        }
        Ok(MemoryZone {
            zone: zone.clone(),
            id: format!("Z{}", zone.as_str().trim_end_matches('.')),
            account: self.clone(),
        })
    }
}

pub struct MemoryZone {
    zone: Name,
    id: String,
    account: MemoryRoute53,
}

impl MemoryZone {
    fn sets<T>(&self, read: impl FnOnce(&BTreeMap<xfr53::core::rrset::Key, RecordSet>) -> T) -> T {
        let account = self.account.0.lock().unwrap();
        read(&account.zones[self.zone.as_str()].sets)
    }
}

impl HostedZone for MemoryZone {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self) -> Result<Vec<CurrentSet>, Route53Error> {
        self.account.note(&self.zone, "list");
        Ok(self.sets(|sets| sets.values().cloned().map(CurrentSet::managed).collect()))
    }

    async fn get(&self, name: &Name, rtype: RrType) -> Result<Option<RecordSet>, Route53Error> {
        self.account.note(&self.zone, "get");
        Ok(self.sets(|sets| sets.get(&(name.clone(), rtype)).cloned()))
    }

    async fn change(&self, batch: &Batch) -> Result<Submitted, Route53Error> {
        self.account.note(&self.zone, "change");
        let mut account = self.account.0.lock().unwrap();
        let zone = account.zones.get_mut(self.zone.as_str()).expect("opened");
        zone.apply(batch).map_err(Route53Error::Rejected)?;
        Ok(Submitted {
            id: "C1".into(),
            insync: true,
        })
    }

    async fn insync(&self, _id: &str) -> Result<bool, Route53Error> {
        Ok(true)
    }
}
