//! A zone's records as the primary serves them: what a transfer builds, what
//! IXFR deltas apply to, and what is converted into record sets.
//!
//! Records are kept compactly and in order: each owner name once (shared by
//! its records), the data as uncompressed wire bytes. A record's identity is
//! owner, type and those bytes, so a set of 100,000 values at one name costs
//! O(log n) per insert or removal like any other record.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use hickory_proto::rr::rdata::svcb::SVCB;
use hickory_proto::rr::rdata::{CNAME, HTTPS, MX, NS, PTR, SOA, SRV};
use hickory_proto::rr::{Name as DnsName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};

use super::convert::{ConvertError, Converted, ZoneBuilder};
use super::edits::Edits;
use super::name::Name;
use super::serial::Serial;

/// Records by (owner, type, data), holding their TTL. The apex SOA is kept
/// apart: every IXFR delta replaces it.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: Name,
    /// owner, TTL and data (always `RData::SOA`)
    soa: Option<(DnsName, u32, RData)>,
    records: BTreeMap<Rr, u32>,
    /// The deltas applied since the zone was saved or loaded; any other
    /// change makes it whole.
    unsaved: Edits<Delta>,
}

/// Two zones are equal when they hold the same records, whatever was saved.
impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        (&self.origin, &self.soa, &self.records) == (&other.origin, &other.soa, &other.records)
    }
}

impl Eq for Zone {}

/// A record's identity in a zone: owner, type and data, not the TTL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rr {
    owner: Arc<Name>,
    rtype: u16,
    /// uncompressed wire RDATA, the common name-bearing types' names
    /// lowercased (names compare without case)
    data: Box<[u8]>,
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
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// A record the zone cannot hold: its data does not encode as DNS wire
/// data (e.g. a character-string over 255 bytes).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("zone {zone}: record {owner} {rtype}: {reason}; correct or remove it on the primary")]
pub struct RecordError {
    pub zone: Name,
    pub owner: String,
    pub rtype: String,
    pub reason: String,
}

/// One step of `Zone::apply`, to take back.
enum Undo {
    Removed(Rr, u32),
    Inserted(Rr, Option<u32>),
    Soa(Box<Option<(DnsName, u32, RData)>>),
}

/// `data` as uncompressed wire bytes, with the names of the types whose
/// names are commonly written in mixed case lowercased.
fn wire_data(data: &RData) -> Result<Box<[u8]>, String> {
    let lower = |name: &DnsName| name.to_lowercase();
    let svcb = |s: &SVCB| {
        SVCB::new(
            s.svc_priority(),
            lower(s.target_name()),
            s.svc_params().to_vec(),
        )
    };
    let folded = match data {
        RData::CNAME(n) => Some(RData::CNAME(CNAME(lower(&n.0)))),
        RData::NS(n) => Some(RData::NS(NS(lower(&n.0)))),
        RData::PTR(n) => Some(RData::PTR(PTR(lower(&n.0)))),
        RData::MX(mx) => Some(RData::MX(MX::new(mx.preference(), lower(mx.exchange())))),
        RData::SRV(s) => Some(RData::SRV(SRV::new(
            s.priority(),
            s.weight(),
            s.port(),
            lower(s.target()),
        ))),
        RData::SVCB(s) => Some(RData::SVCB(svcb(s))),
        RData::HTTPS(h) => Some(RData::HTTPS(HTTPS(svcb(&h.0)))),
        _ => None,
    };
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_canonical_names(true);
    folded
        .as_ref()
        .unwrap_or(data)
        .emit(&mut encoder)
        .map_err(|e| format!("the record data does not encode: {e}"))?;
    Ok(bytes.into_boxed_slice())
}

/// The record data `wire_data` wrote.
fn read_data(rtype: u16, data: &[u8]) -> Result<RData, String> {
    let length = u16::try_from(data.len()).map_err(|_| "record data over 65535 bytes")?;
    RData::read(
        &mut BinDecoder::new(data),
        RecordType::from(rtype),
        Restrict::new(length),
    )
    .map_err(|e| e.to_string())
}

/// A name in DNS wire form (uncompressed).
fn wire_name(name: &Name, out: &mut Vec<u8>) {
    for label in name.labels() {
        out.push(label.len() as u8);
        out.extend_from_slice(&label);
    }
    out.push(0);
}

impl Zone {
    pub fn new(origin: Name) -> Zone {
        Zone {
            origin,
            soa: None,
            records: BTreeMap::new(),
            unsaved: Edits::Whole,
        }
    }

    /// A zone holding `records`.
    pub fn from_records<'a>(
        origin: Name,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<Zone, RecordError> {
        let mut zone = Zone::new(origin);
        for record in records {
            zone.insert(record)?;
        }
        Ok(zone)
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
    pub fn insert(&mut self, record: &Record) -> Result<(), RecordError> {
        self.unsaved = Edits::Whole;
        self.put(record)
    }

    fn put(&mut self, record: &Record) -> Result<(), RecordError> {
        if self.is_apex_soa(record) {
            self.rr(record)?;
            self.soa = Some((record.name().clone(), record.ttl(), record.data().clone()));
            return Ok(());
        }
        let rr = self.rr(record)?;
        self.records.insert(rr, record.ttl());
        Ok(())
    }

    /// The key of `record`, sharing the owner name with the records held
    /// at it.
    fn rr(&self, record: &Record) -> Result<Rr, RecordError> {
        let error = |reason: String| RecordError {
            zone: self.origin.clone(),
            owner: record.name().to_string(),
            rtype: record.record_type().to_string(),
            reason,
        };
        let mut rr = Rr {
            owner: Arc::new(Name::from_hickory(record.name())),
            rtype: record.record_type().into(),
            data: wire_data(record.data()).map_err(error)?,
        };
        // The whole record (owner, type, class, TTL, length, data) must fit
        // a DNS message and the state file's 2-byte record length.
        let owner: usize = record.name().iter().map(|label| label.len() + 1).sum();
        let size = owner + 1 + 10 + rr.data.len();
        if size > usize::from(u16::MAX) {
            return Err(error(format!(
                "the record is {size} bytes in wire form, over DNS's 65535"
            )));
        }
        let first = Rr {
            rtype: 0,
            data: Box::default(),
            ..rr.clone()
        };
        if let Some((held, _)) = self
            .records
            .range((Bound::Included(&first), Bound::Unbounded))
            .next()
        {
            if held.owner == rr.owner {
                rr.owner = held.owner.clone();
            }
        }
        Ok(rr)
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
                    Undo::Soa(soa) => self.soa = *soa,
                }
            }
        }
        if result.is_ok() {
            self.unsaved.extend(deltas);
        }
        result
    }

    /// What changed since the zone was last saved or loaded.
    pub fn unsaved(&self) -> &Edits<Delta> {
        &self.unsaved
    }

    /// The zone as it is now is saved (or was just loaded).
    pub fn mark_saved(&mut self) {
        self.unsaved = Edits::none();
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
            let rr = self.rr(record)?;
            let Some((rr, ttl)) = self.records.remove_entry(&rr) else {
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
            let rr = self.rr(record)?;
            let previous = self.records.insert(rr.clone(), record.ttl());
            undo.push(Undo::Inserted(rr, previous));
        }
        undo.push(Undo::Soa(Box::new(self.soa.clone())));
        self.put(&delta.soa)?;
        Ok(())
    }

    /// The zone as bytes, for the state directory: each record in DNS wire
    /// format behind a 2-byte length, the apex SOA first. `insert` keeps
    /// every record within those 2 bytes; a record that is not names itself.
    pub fn to_wire(&self) -> Result<Vec<u8>, String> {
        let length = |len: usize, what: &dyn Fn() -> String| {
            u16::try_from(len)
                .map(u16::to_be_bytes)
                .map_err(|_| format!("zone {}: {}: over 65535 bytes", self.origin, what()))
        };
        let mut out = Vec::new();
        if let Some((owner, ttl, data)) = &self.soa {
            let record = Record::from_rdata(owner.clone(), *ttl, data.clone());
            let bytes = record
                .to_bytes()
                .map_err(|e| format!("zone {}: the apex SOA: {e}", self.origin))?;
            out.extend_from_slice(&length(bytes.len(), &|| "the apex SOA".into())?);
            out.extend_from_slice(&bytes);
        }
        let mut owner: Option<(&Arc<Name>, Vec<u8>)> = None;
        let mut record = Vec::new();
        for (rr, ttl) in &self.records {
            if owner
                .as_ref()
                .is_none_or(|(name, _)| !Arc::ptr_eq(name, &rr.owner))
            {
                let mut wire = Vec::new();
                wire_name(&rr.owner, &mut wire);
                owner = Some((&rr.owner, wire));
            }
            let (_, name) = owner.as_ref().expect("set just above");
            let what = || format!("record {} {}", rr.owner, RecordType::from(rr.rtype));
            record.clear();
            record.extend_from_slice(name);
            record.extend_from_slice(&rr.rtype.to_be_bytes());
            record.extend_from_slice(&1u16.to_be_bytes()); // class IN
            record.extend_from_slice(&ttl.to_be_bytes());
            record.extend_from_slice(&length(rr.data.len(), &what)?);
            record.extend_from_slice(&rr.data);
            out.extend_from_slice(&length(record.len(), &what)?);
            out.extend_from_slice(&record);
        }
        Ok(out)
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
            zone.insert(&record).map_err(|e| e.to_string())?;
            bytes = &rest[len..];
        }
        zone.mark_saved();
        Ok(zone)
    }

    /// The records of type `rtype` (the apex SOA aside): owner and data,
    /// or why the data held does not decode.
    pub fn records_of(
        &self,
        rtype: RecordType,
    ) -> impl Iterator<Item = (&Name, Result<RData, String>)> + '_ {
        let rtype = u16::from(rtype);
        (self.records.keys())
            .filter(move |rr| rr.rtype == rtype)
            .map(|rr| (&*rr.owner, read_data(rr.rtype, &rr.data)))
    }

    /// The record sets Route 53 should hold for this zone.
    pub fn convert(&self) -> Result<Converted, ConvertError> {
        self.convert_records(self.records.iter())
    }

    /// The record sets Route 53 should hold at `names` only (and the
    /// serial): the work of a change is that of the names it touched.
    pub fn convert_names(&self, names: &BTreeSet<Name>) -> Result<Converted, ConvertError> {
        self.convert_records(names.iter().flat_map(|name| {
            let first = Rr {
                owner: Arc::new(name.clone()),
                rtype: 0,
                data: Box::default(),
            };
            self.records
                .range(first..)
                .take_while(move |(rr, _)| *rr.owner == *name)
        }))
    }

    fn convert_records<'a>(
        &self,
        records: impl Iterator<Item = (&'a Rr, &'a u32)>,
    ) -> Result<Converted, ConvertError> {
        let mut builder = ZoneBuilder::new(self.origin.clone());
        if let Some((owner, ttl, data)) = &self.soa {
            builder.add(owner, *ttl, data);
        }
        for (rr, ttl) in records {
            let Some(rtype) = builder.accepts(&rr.owner, RecordType::from(rr.rtype)) else {
                continue;
            };
            match read_data(rr.rtype, &rr.data) {
                Ok(data) => builder.add_data(&rr.owner, rtype, *ttl, &data),
                Err(e) => builder.problem(format!(
                    "{} {rtype}: held record data does not decode: {e}",
                    rr.owner
                )),
            }
        }
        builder.finish()
    }
}

impl Delta {
    /// The owner names whose records this delta removes or adds (the apex
    /// among them when its SOA changes).
    pub fn owners(&self) -> impl Iterator<Item = Name> + '_ {
        std::iter::once(&self.soa)
            .chain(&self.removed)
            .chain(&self.added)
            .map(|record| Name::from_hickory(record.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, HINFO, TXT};
    use std::net::Ipv4Addr;

    fn origin() -> Name {
        Name::parse_route53("z.test").unwrap()
    }

    fn record(owner: &str, data: RData) -> Record {
        Record::from_rdata(DnsName::from_ascii(owner).unwrap(), 300, data)
    }

    #[test]
    fn records_at_one_name_share_the_owner_and_differ_by_data() {
        let records: Vec<Record> = (0..1000u32)
            .map(|i| record("Big.z.test.", RData::A(A(Ipv4Addr::from(i)))))
            .chain([record("big.z.test.", RData::A(A(Ipv4Addr::from(7))))])
            .collect();
        let zone = Zone::from_records(origin(), &records).unwrap();
        assert_eq!(zone.len(), 1000, "the repeat in other case is one record");
        let owner = &zone.records.keys().next().unwrap().owner;
        assert!(zone.records.keys().all(|rr| Arc::ptr_eq(&rr.owner, owner)));
        assert_eq!(Arc::strong_count(owner), 1000);
    }

    /// The apex SOA of z.test. at `serial`.
    fn soa(serial: u32) -> Record {
        let soa = SOA::new(
            DnsName::from_ascii("ns.z.test.").unwrap(),
            DnsName::from_ascii("admin.z.test.").unwrap(),
            serial,
            1,
            2,
            3,
            4,
        );
        record("z.test.", RData::SOA(soa))
    }

    /// One record set of 20,000 values: held, changed by a delta and
    /// converted record by record (before, every insert compared the new
    /// record with every record at the name: minutes in a debug build).
    #[test]
    fn a_huge_set_at_one_name_is_held_and_changed_record_by_record() {
        let txt = |i: u32| record("big.z.test.", RData::TXT(TXT::new(vec![format!("v{i}")])));
        let mut records: Vec<Record> = (0..20_000).map(txt).collect();
        records.push(soa(1));
        let mut zone = Zone::from_records(origin(), &records).unwrap();
        assert_eq!(zone.len(), 20_001);
        let delta = Delta {
            from: Serial(1),
            to: Serial(2),
            soa: soa(2),
            removed: vec![txt(5)],
            added: vec![txt(20_000), txt(20_001)],
        };
        zone.apply(&[delta]).unwrap();
        assert_eq!(zone.len(), 20_002);
        let problems = zone.convert().unwrap_err().problems;
        assert_eq!(
            problems,
            ["big.z.test. TXT: 20001 values, over Route 53's 400 per record set: keep at most 400 on the primary"]
        );
    }

    #[test]
    fn names_in_data_compare_without_case() {
        let cname = |t: &str| RData::CNAME(CNAME(DnsName::from_ascii(t).unwrap()));
        let zone = Zone::from_records(
            origin(),
            &[
                record("a.z.test.", cname("Target.Example.")),
                record("a.z.test.", cname("target.example.")),
            ],
        )
        .unwrap();
        assert_eq!(zone.len(), 1);
    }

    #[test]
    fn the_wire_form_reads_back_to_the_same_zone() {
        let soa = SOA::new(
            DnsName::from_ascii("ns.z.test.").unwrap(),
            DnsName::from_ascii("admin.z.test.").unwrap(),
            7,
            1,
            2,
            3,
            4,
        );
        let records = [
            record("z.test.", RData::SOA(soa)),
            record("a.z.test.", RData::A(A(Ipv4Addr::LOCALHOST))),
            record("a.z.test.", RData::TXT(TXT::new(vec!["x y".into()]))),
            record(
                "a.z.test.",
                RData::HINFO(HINFO::new("cpu".into(), "os".into())),
            ),
            record(
                "b.z.test.",
                RData::MX(MX::new(10, DnsName::from_ascii("Mail.z.test.").unwrap())),
            ),
        ];
        let zone = Zone::from_records(origin(), &records).unwrap();
        let read = Zone::from_wire(origin(), &zone.to_wire().unwrap()).unwrap();
        assert_eq!(read, zone);
        assert_eq!(read.serial(), Some(Serial(7)));
        assert_eq!(
            read.convert().unwrap().sets.len(),
            zone.convert().unwrap().sets.len()
        );
    }

    /// Data hickory cannot encode (a character-string over 255 bytes, as a
    /// zone file can write) is an error naming the record, not a panic;
    /// from a delta it leaves the zone as it was.
    #[test]
    fn a_record_whose_data_does_not_encode_is_an_error() {
        let long = record("t.z.test.", RData::TXT(TXT::new(vec!["x".repeat(300)])));
        let error = Zone::from_records(origin(), std::slice::from_ref(&long)).unwrap_err();
        assert_eq!(
            (
                error.zone.to_string(),
                error.owner.as_str(),
                error.rtype.as_str()
            ),
            ("z.test.".into(), "t.z.test.", "TXT")
        );
        assert!(error.to_string().contains("does not encode"), "{error}");

        let mut zone = Zone::from_records(origin(), &[soa(1)]).unwrap();
        let before = zone.clone();
        let delta = Delta {
            from: Serial(1),
            to: Serial(2),
            soa: soa(2),
            removed: vec![],
            added: vec![record("a.z.test.", RData::A(A(Ipv4Addr::LOCALHOST))), long],
        };
        let error = zone.apply(&[delta]).unwrap_err();
        assert!(matches!(error, DeltaError::Record(_)), "{error}");
        assert_eq!(zone, before);
    }

    /// Data of 65,531 bytes encodes, but with its owner, type, class, TTL
    /// and length the record is over DNS's 65,535 bytes (before, its length
    /// wrapped in the state file, which then read back as damaged on every
    /// start, so every sync transferred the whole zone).
    #[test]
    fn a_record_over_65535_bytes_is_an_error() {
        let mut strings = vec!["y".repeat(255); 255];
        strings.push("y".repeat(250));
        let huge = record("t.z.test.", RData::TXT(TXT::new(strings)));
        let error = Zone::from_records(origin(), &[huge]).unwrap_err();
        assert!(error.to_string().contains("over DNS's 65535"), "{error}");
        assert_eq!(error.owner, "t.z.test.");

        // the largest that fits still round-trips through the state file
        let strings = vec!["y".repeat(255); 254];
        let big = record("t.z.test.", RData::TXT(TXT::new(strings)));
        let zone = Zone::from_records(origin(), &[big]).unwrap();
        let read = Zone::from_wire(origin(), &zone.to_wire().unwrap()).unwrap();
        assert_eq!(read, zone);
    }
}
