//! DNS records (as a zone transfer or a zone file yields them) into the
//! record sets Route 53 should hold.
//!
//! Records are added one at a time, so a transfer streams straight in. Types
//! Route 53 cannot hold are skipped and counted, never fatal; the apex SOA
//! (whose serial is kept) and apex NS belong to Route 53 and are not managed.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::{Name as DnsName, RData, RecordType};

use super::mnemonic;
use super::name::Name;
use super::rrset::{Key, RecordSet, RecordSets, RrType};
use super::serial::Serial;
use super::value::{self, MAX_VALUE_CHARS};

/// A zone converted into record sets.
#[derive(Debug)]
pub struct Converted {
    pub origin: Name,
    /// The apex SOA serial, when the records had one.
    pub serial: Option<Serial>,
    pub sets: RecordSets,
    /// Records of types Route 53 cannot hold: type name -> count.
    pub skipped: BTreeMap<String, usize>,
    /// Things the operator should know that did not stop the conversion.
    pub warnings: Vec<String>,
}

impl Converted {
    /// What the operator should hear about: skipped types, then warnings.
    pub fn notes(&self) -> Vec<String> {
        let skipped = self.skipped.iter().map(|(rtype, count)| {
            format!(
                "{}: skipped {count} {rtype} record(s): Route 53 cannot hold {rtype}",
                self.origin
            )
        });
        let warnings = self
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", self.origin));
        skipped.chain(warnings).collect()
    }
}

/// Record sets that cannot be written to Route 53 as they are. Nothing of
/// the zone is planned when this happens.
#[derive(Debug, thiserror::Error)]
#[error("zone {zone}: {} record set(s) cannot be synced to Route 53:\n  {}", problems.len(), problems.join("\n  "))]
pub struct ConvertError {
    pub zone: Name,
    pub problems: Vec<String>,
}

struct Pending {
    min_ttl: u32,
    max_ttl: u32,
    values: Vec<String>,
}

/// Collects records into record sets.
pub struct ZoneBuilder {
    origin: Name,
    serial: Option<Serial>,
    pending: HashMap<Key, Pending>,
    skipped: BTreeMap<String, usize>,
    problems: Vec<String>,
}

impl ZoneBuilder {
    pub fn new(origin: Name) -> ZoneBuilder {
        ZoneBuilder {
            origin,
            serial: None,
            pending: HashMap::new(),
            skipped: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    pub fn add(&mut self, owner: &DnsName, ttl: u32, data: &RData) {
        let record_type = data.record_type();
        let name = Name::from_hickory(owner);
        if !name.is_in(&self.origin) {
            self.problems.push(format!(
                "{name} {}: outside zone {}",
                mnemonic::name(record_type),
                self.origin
            ));
            return;
        }
        let Some(rtype) = route53_type(record_type) else {
            *self.skipped.entry(mnemonic::name(record_type)).or_default() += 1;
            return;
        };
        let apex = name == self.origin;
        match (rtype, apex) {
            (RrType::SOA, true) => {
                if let Some(soa) = data.as_soa() {
                    self.serial = Some(Serial(soa.serial()));
                }
                return;
            }
            (RrType::NS, true) => return,
            (RrType::SOA, false) => {
                self.problems
                    .push(format!("{name} SOA: an SOA record below the apex"));
                return;
            }
            _ => {}
        }
        let Some(text) = value::render(rtype, data) else {
            self.problems
                .push(format!("{name} {rtype}: record data is not {rtype} data"));
            return;
        };
        let set = self.pending.entry((name, rtype)).or_insert(Pending {
            min_ttl: ttl,
            max_ttl: ttl,
            values: Vec::new(),
        });
        set.min_ttl = set.min_ttl.min(ttl);
        set.max_ttl = set.max_ttl.max(ttl);
        set.values.push(text);
    }

    pub fn finish(self) -> Result<Converted, ConvertError> {
        let mut problems = self.problems;
        let mut warnings = Vec::new();
        // Sorted first: building the map from sorted entries is much cheaper
        // than inserting them one by one.
        let mut pending: Vec<(Key, Pending)> = self.pending.into_iter().collect();
        pending.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let sets: RecordSets = pending
            .into_iter()
            .map(|((name, rtype), mut pending)| {
                pending.values.sort_unstable();
                pending.values.dedup();
                if pending.min_ttl != pending.max_ttl {
                    warnings.push(format!(
                        "{name} {rtype}: records have TTLs from {} to {}; using {} (RFC 2181 5.2)",
                        pending.min_ttl, pending.max_ttl, pending.min_ttl
                    ));
                }
                if let Some(long) = pending.values.iter().find(|v| v.len() > MAX_VALUE_CHARS) {
                    problems.push(format!(
                    "{name} {rtype}: a value of {} characters is over Route 53's {MAX_VALUE_CHARS}",
                    long.len()
                ));
                }
                let set = RecordSet {
                    name: name.clone(),
                    rtype,
                    ttl: pending.min_ttl,
                    values: pending.values,
                };
                ((name, rtype), set)
            })
            .collect();
        problems.extend(cname_conflicts(&sets, &self.origin));
        warnings.sort();
        if !problems.is_empty() {
            problems.sort();
            return Err(ConvertError {
                zone: self.origin,
                problems,
            });
        }
        Ok(Converted {
            origin: self.origin,
            serial: self.serial,
            sets,
            skipped: self.skipped,
            warnings,
        })
    }
}

/// A CNAME must be alone at its name, hold one value and not be at the apex.
fn cname_conflicts(sets: &RecordSets, origin: &Name) -> Vec<String> {
    let mut problems = Vec::new();
    for ((name, rtype), set) in sets.iter().filter(|((_, t), _)| *t == RrType::CNAME) {
        if name == origin {
            problems.push(format!("{name} CNAME: a CNAME at the zone apex"));
        }
        if set.values.len() > 1 {
            problems.push(format!("{name} CNAME: more than one CNAME value"));
        }
        let others: Vec<&str> = sets
            .range((name.clone(), RrType::A)..)
            .take_while(|((n, _), _)| n == name)
            .filter(|((_, t), _)| t != rtype)
            .map(|((_, t), _)| t.as_str())
            .collect();
        if !others.is_empty() {
            problems.push(format!(
                "{name} CNAME: other data at the same name ({})",
                others.join(" ")
            ));
        }
    }
    problems
}

/// The Route 53 type of a DNS record type, if Route 53 accepts it.
fn route53_type(rtype: RecordType) -> Option<RrType> {
    Some(match rtype {
        RecordType::A => RrType::A,
        RecordType::AAAA => RrType::AAAA,
        RecordType::CAA => RrType::CAA,
        RecordType::CNAME => RrType::CNAME,
        RecordType::DS => RrType::DS,
        RecordType::HTTPS => RrType::HTTPS,
        RecordType::MX => RrType::MX,
        RecordType::NAPTR => RrType::NAPTR,
        RecordType::NS => RrType::NS,
        RecordType::PTR => RrType::PTR,
        RecordType::SOA => RrType::SOA,
        RecordType::Unknown(SPF_TYPE_CODE) => RrType::SPF,
        RecordType::SRV => RrType::SRV,
        RecordType::SSHFP => RrType::SSHFP,
        RecordType::SVCB => RrType::SVCB,
        RecordType::TLSA => RrType::TLSA,
        RecordType::TXT => RrType::TXT,
        _ => return None,
    })
}

/// SPF's type code (RFC 7208); hickory has no name for it.
pub const SPF_TYPE_CODE: u16 = 99;
