//! A zone's records as the primary serves them: what a transfer builds, what
//! IXFR deltas apply to, and what is converted into record sets.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name as DnsName, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use super::convert::{ConvertError, Converted, ZoneBuilder};
use super::name::Name;
use super::serial::Serial;

/// Records by (owner, data), holding their TTL. The apex SOA is kept apart:
/// every IXFR delta replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    origin: Name,
    /// owner, TTL and data (always `RData::SOA`)
    soa: Option<(DnsName, u32, RData)>,
    records: HashMap<Rr, u32>,
}

/// A record's identity in a zone: owner and data, not the TTL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rr {
    owner: DnsName,
    data: RData,
}

/// hickory's RDATA has no hash; owner and type spread records well enough,
/// and equality then compares the data.
impl Hash for Rr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.owner.hash(state);
        self.data.record_type().hash(state);
    }
}

/// One IXFR difference sequence (RFC 1995): the records removed going from
/// one serial to the next and those added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    pub from: Serial,
    pub to: Serial,
    /// The new apex SOA.
    pub soa: Record,
    pub removed: Vec<Record>,
    pub added: Vec<Record>,
}

/// IXFR deltas that do not fit the zone they are applied to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    #[error("zone {zone}: delta from serial {from} does not follow the held serial {held}")]
    NotNext {
        zone: Name,
        held: String,
        from: Serial,
    },
    #[error("zone {zone}: delta {from} -> {to} removes a record the zone does not hold: {record}")]
    Missing {
        zone: Name,
        from: Serial,
        to: Serial,
        record: String,
    },
}

/// One step of `Zone::apply`, to take back.
enum Undo {
    Removed(Rr, u32),
    Inserted(Rr, Option<u32>),
    Soa(Option<(DnsName, u32, RData)>),
}

impl Rr {
    fn of(record: &Record) -> Rr {
        Rr {
            owner: record.name().clone(),
            data: record.data().clone(),
        }
    }
}

impl Zone {
    pub fn new(origin: Name) -> Zone {
        Zone {
            origin,
            soa: None,
            records: HashMap::new(),
        }
    }

    /// A zone holding `records`.
    pub fn from_records<'a>(origin: Name, records: impl IntoIterator<Item = &'a Record>) -> Zone {
        let mut zone = Zone::new(origin);
        for record in records {
            zone.insert(record);
        }
        zone
    }

    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The apex SOA's serial, once the zone has one.
    pub fn serial(&self) -> Option<Serial> {
        self.soa().map(|soa| Serial(soa.serial()))
    }

    pub fn soa(&self) -> Option<&SOA> {
        self.soa.as_ref().and_then(|(_, _, data)| data.as_soa())
    }

    /// Records held, the apex SOA included.
    pub fn len(&self) -> usize {
        self.records.len() + usize::from(self.soa.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a record (a repeat only updates its TTL).
    pub fn insert(&mut self, record: &Record) {
        if self.is_apex_soa(record) {
            self.soa = Some((record.name().clone(), record.ttl(), record.data().clone()));
            return;
        }
        self.records.insert(Rr::of(record), record.ttl());
    }

    fn is_apex_soa(&self, record: &Record) -> bool {
        record.data().as_soa().is_some() && Name::from_hickory(record.name()) == self.origin
    }

    /// Applies IXFR deltas in order, all or nothing: on error every step
    /// taken is undone, without copying the zone.
    pub fn apply(&mut self, deltas: &[Delta]) -> Result<(), DeltaError> {
        let mut undo = Vec::new();
        let result = deltas
            .iter()
            .try_for_each(|delta| self.apply_one(delta, &mut undo));
        if result.is_err() {
            for step in undo.into_iter().rev() {
                match step {
                    Undo::Removed(rr, ttl) => {
                        self.records.insert(rr, ttl);
                    }
                    Undo::Inserted(rr, None) => {
                        self.records.remove(&rr);
                    }
                    Undo::Inserted(rr, Some(ttl)) => {
                        self.records.insert(rr, ttl);
                    }
                    Undo::Soa(soa) => self.soa = soa,
                }
            }
        }
        result
    }

    fn apply_one(&mut self, delta: &Delta, undo: &mut Vec<Undo>) -> Result<(), DeltaError> {
        if self.serial() != Some(delta.from) {
            return Err(DeltaError::NotNext {
                zone: self.origin.clone(),
                held: self.serial().map_or("none".into(), |s| s.to_string()),
                from: delta.from,
            });
        }
        for record in &delta.removed {
            let rr = Rr::of(record);
            let Some(ttl) = self.records.remove(&rr) else {
                return Err(DeltaError::Missing {
                    zone: self.origin.clone(),
                    from: delta.from,
                    to: delta.to,
                    record: record.to_string(),
                });
            };
            undo.push(Undo::Removed(rr, ttl));
        }
        for record in &delta.added {
            let rr = Rr::of(record);
            let previous = self.records.insert(rr.clone(), record.ttl());
            undo.push(Undo::Inserted(rr, previous));
        }
        undo.push(Undo::Soa(self.soa.clone()));
        self.insert(&delta.soa);
        Ok(())
    }

    /// The zone as bytes, for the state directory: each record in DNS wire
    /// format behind a 2-byte length, the apex SOA first.
    pub fn to_wire(&self) -> Vec<u8> {
        let soa = self
            .soa
            .iter()
            .map(|(owner, ttl, data)| (owner, *ttl, data));
        let records = self
            .records
            .iter()
            .map(|(rr, ttl)| (&rr.owner, *ttl, &rr.data));
        let mut out = Vec::new();
        for (owner, ttl, data) in soa.chain(records) {
            let record = Record::from_rdata(owner.clone(), ttl, data.clone());
            let bytes = record
                .to_bytes()
                .expect("a record read from the wire encodes");
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Reads what `to_wire` wrote.
    pub fn from_wire(origin: Name, mut bytes: &[u8]) -> Result<Zone, String> {
        let mut zone = Zone::new(origin);
        while let [a, b, rest @ ..] = bytes {
            let len = usize::from(u16::from_be_bytes([*a, *b]));
            if rest.len() < len {
                return Err("truncated".into());
            }
            let record = Record::from_bytes(&rest[..len]).map_err(|e| e.to_string())?;
            zone.insert(&record);
            bytes = &rest[len..];
        }
        Ok(zone)
    }

    /// The record sets Route 53 should hold for this zone.
    pub fn convert(&self) -> Result<Converted, ConvertError> {
        let mut builder = ZoneBuilder::new(self.origin.clone());
        if let Some((owner, ttl, data)) = &self.soa {
            builder.add(owner, *ttl, data);
        }
        for (rr, ttl) in &self.records {
            builder.add(&rr.owner, *ttl, &rr.data);
        }
        builder.finish()
    }
}
