//! Route 53 in memory, for the daemon run in-process: hosted zones held by
//! the strict double's model (through `route53_model`), every request
//! counted per zone, so a test sees what the daemon asked for. A test can
//! write a zone as another writer would (at once, or just before the
//! daemon's next change), and take Route 53 down.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use xfr53::core::diff::Change;
use xfr53::core::name::Name;
use xfr53::core::plan::Batch;
use xfr53::core::rrset::{CurrentSet, RecordSet, RrType};
use xfr53::route53::{HostedZone, HostedZones, Route53Error, Submitted};

use super::route53_backend::Contents;
use super::route53_model;

#[derive(Clone, Default)]
pub struct MemoryRoute53(Arc<Mutex<Account>>);

#[derive(Default)]
struct Account {
    zones: BTreeMap<String, route53_model::HostedZone>,
    /// (zone, request) in the order made: "open", "list", "get", "change",
    /// "insync", "create", "delete".
    requests: Vec<(String, &'static str)>,
    /// What every request answers while Route 53 is down.
    down: Option<Outage>,
    /// Sets another writer puts into a zone just before its next `change`.
    before_change: BTreeMap<String, Vec<RecordSet>>,
    /// The CallerReference of each zone created, as Route 53 remembers it.
    references: BTreeMap<String, String>,
    /// The ID of each zone created: a new one each time, as in Route 53.
    ids: BTreeMap<String, String>,
}

/// How Route 53 fails while it is down.
#[derive(Clone, Copy, Debug)]
pub enum Outage {
    /// Throttling, 5xx, a dropped connection: worth retrying.
    Transient,
    /// Access denied and the like.
    Fatal,
}

impl Outage {
    fn error(self) -> Route53Error {
        match self {
            Outage::Transient => Route53Error::Transient("ServiceUnavailable (test outage)".into()),
            Outage::Fatal => Route53Error::Fatal("AccessDenied (test outage)".into()),
        }
    }
}

/// `zone` as the account's key: absolute.
fn key(zone: &str) -> String {
    format!("{}.", zone.trim_end_matches('.'))
}

/// The set `name`, `rtype` holding `values`.
fn set(name: &str, rtype: &str, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet {
        name: Name::parse_route53(name).unwrap(),
        rtype: rtype.parse().unwrap(),
        ttl,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// Puts `new` in place of whatever `zone` holds at its name and type, in
/// one batch through the model (as another writer's UPSERT would).
fn put(zone: &mut route53_model::HostedZone, new: RecordSet) {
    let change = match zone.sets.get(&new.key()) {
        Some(old) => Change::Modify {
            old: old.clone(),
            new,
        },
        None => Change::Create { set: new },
    };
    let batch = Batch {
        changes: vec![change],
    };
    zone.apply(&batch).expect("the test's own edit is valid");
}

impl MemoryRoute53 {
    /// An account holding an empty hosted zone for each of `zones`.
    pub fn with_zones(zones: &[&str]) -> MemoryRoute53 {
        let route53 = MemoryRoute53::default();
        for zone in zones {
            let key = key(zone);
            let empty = route53_model::HostedZone::new(Vec::new());
            route53.0.lock().unwrap().zones.insert(key, empty);
        }
        route53
    }

    /// Whether the account holds a hosted zone named `zone`.
    pub fn has_zone(&self, zone: &str) -> bool {
        self.0.lock().unwrap().zones.contains_key(&key(zone))
    }

    /// How many `request`s were made for `zone`.
    pub fn count(&self, zone: &str, request: &str) -> usize {
        let zone = key(zone);
        let account = self.0.lock().unwrap();
        (account.requests.iter())
            .filter(|(z, r)| *z == zone && *r == request)
            .count()
    }

    /// The values of the set at `name`, `rtype`.
    pub fn values(&self, zone: &str, name: &str, rtype: &str) -> Option<Vec<String>> {
        let zone = key(zone);
        let account = self.0.lock().unwrap();
        let key = (
            Name::parse_route53(name).unwrap(),
            rtype.parse::<RrType>().unwrap(),
        );
        Some(account.zones.get(&zone)?.sets.get(&key)?.values.clone())
    }

    /// What `zone` holds, as `setup::managed` compares it (values sorted).
    pub fn contents(&self, zone: &str) -> Contents {
        let account = self.0.lock().unwrap();
        (account.zones[&key(zone)].sets.values())
            .map(|s| {
                let mut values = s.values.clone();
                values.sort();
                ((s.name.to_string(), s.rtype.to_string()), (s.ttl, values))
            })
            .collect()
    }

    /// Another writer puts `values` at `name`, `rtype` in `zone` now.
    pub fn put(&self, zone: &str, name: &str, rtype: &str, ttl: u32, values: &[&str]) {
        let mut account = self.0.lock().unwrap();
        let zone = account.zones.get_mut(&key(zone)).expect("a test zone");
        put(zone, set(name, rtype, ttl, values));
    }

    /// Another writer puts `values` at `name`, `rtype` in `zone` just
    /// before the daemon's next change request there is checked: between
    /// the daemon's read and its change.
    pub fn put_before_next_change(
        &self,
        zone: &str,
        name: &str,
        rtype: &str,
        ttl: u32,
        values: &[&str],
    ) {
        let mut account = self.0.lock().unwrap();
        let pending = account.before_change.entry(key(zone)).or_default();
        pending.push(set(name, rtype, ttl, values));
    }

    /// Takes Route 53 down (every request fails as `outage` says) or, with
    /// `None`, brings it back.
    pub fn set_down(&self, outage: Option<Outage>) {
        self.0.lock().unwrap().down = outage;
    }

    /// Counts the request; the outage's error while Route 53 is down.
    fn note(&self, zone: &Name, request: &'static str) -> Result<(), Route53Error> {
        let mut account = self.0.lock().unwrap();
        account.requests.push((zone.to_string(), request));
        account.down.map_or(Ok(()), |outage| Err(outage.error()))
    }
}

impl HostedZones for MemoryRoute53 {
    type Zone = MemoryZone;

    async fn open(
        &self,
        zone: &Name,
        _id: Option<&str>,
        _role_arn: Option<&str>,
    ) -> Result<MemoryZone> {
        self.note(zone, "open")?;
        let account = self.0.lock().unwrap();
        if !account.zones.contains_key(zone.as_str()) {
            bail!("zone {zone}: no hosted zone of that name");
        }
        let id = (account.ids.get(zone.as_str()).cloned())
            .unwrap_or_else(|| format!("Z{}", zone.as_str().trim_end_matches('.')));
        Ok(MemoryZone {
            zone: zone.clone(),
            id,
            account: self.clone(),
        })
    }

    async fn names(&self) -> Result<BTreeSet<Name>> {
        self.note(&Name::parse_route53(".").unwrap(), "names")?;
        let account = self.0.lock().unwrap();
        Ok((account.zones.keys())
            .map(|z| Name::parse_route53(z).unwrap())
            .collect())
    }

    /// As CreateHostedZone: nothing when the reference was used (Route
    /// 53's HostedZoneAlreadyExists), else an empty zone and its name
    /// servers. A second zone of one name (which Route 53 would create)
    /// is an error here: xfr53 must never ask for one.
    async fn create(&self, zone: &Name, reference: &str) -> Result<Option<Vec<String>>> {
        self.note(zone, "create")?;
        let mut account = self.0.lock().unwrap();
        if account.references.contains_key(reference) {
            return Ok(None);
        }
        if account.zones.contains_key(zone.as_str()) {
            bail!("a second hosted zone named {zone} was asked for");
        }
        (account.references).insert(reference.to_string(), zone.to_string());
        let id = format!(
            "Z{}-{}",
            zone.as_str().trim_end_matches('.'),
            account.references.len()
        );
        account.ids.insert(zone.to_string(), id);
        let empty = route53_model::HostedZone::new(Vec::new());
        account.zones.insert(zone.to_string(), empty);
        Ok(Some(vec![
            "ns-1.memory.example.".to_string(),
            "ns-2.memory.example.".to_string(),
        ]))
    }

    /// As DeleteHostedZone: refused (HostedZoneNotEmpty) while the zone
    /// holds any set but its apex SOA and NS.
    async fn delete(&self, zone: &Name, id: &str) -> Result<()> {
        self.note(zone, "delete")?;
        let mut account = self.0.lock().unwrap();
        let Some(hosted) = account.zones.get(zone.as_str()) else {
            bail!("NoSuchHostedZone: {id}");
        };
        let apex = |(name, rtype): &(Name, RrType)| {
            name == zone && matches!(rtype.to_string().as_str(), "SOA" | "NS")
        };
        if let Some((name, rtype)) = hosted.sets.keys().find(|k| !apex(k)) {
            bail!("HostedZoneNotEmpty: {id} still holds {name} {rtype}");
        }
        account.zones.remove(zone.as_str());
        account.ids.remove(zone.as_str());
        Ok(())
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
        self.account.note(&self.zone, "list")?;
        Ok(self.sets(|sets| sets.values().cloned().map(CurrentSet::managed).collect()))
    }

    async fn get(&self, name: &Name, rtype: RrType) -> Result<Option<RecordSet>, Route53Error> {
        self.account.note(&self.zone, "get")?;
        Ok(self.sets(|sets| sets.get(&(name.clone(), rtype)).cloned()))
    }

    async fn change(&self, batch: &Batch) -> Result<Submitted, Route53Error> {
        self.account.note(&self.zone, "change")?;
        let mut account = self.account.0.lock().unwrap();
        let writes = (account.before_change.remove(self.zone.as_str())).unwrap_or_default();
        let zone = account.zones.get_mut(self.zone.as_str()).expect("opened");
        for set in writes {
            put(zone, set);
        }
        zone.apply(batch).map_err(Route53Error::Rejected)?;
        Ok(Submitted {
            id: "C1".into(),
            insync: true,
        })
    }

    async fn insync(&self, _id: &str) -> Result<bool, Route53Error> {
        self.account.note(&self.zone, "insync")?;
        Ok(true)
    }
}
