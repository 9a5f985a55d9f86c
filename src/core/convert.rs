//! DNS records (as a zone transfer or a zone file yields them) into the
//! record sets Route 53 should hold.
//!
//! Records are added one at a time, so a transfer streams straight in. Types
//! Route 53 cannot hold are skipped and counted, never fatal; the apex SOA
//! (whose serial is kept) and apex NS belong to Route 53 and are not managed.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::{Name as DnsName, RData, RecordType};

use super::diff::{Change, Diff};
use super::hosted::HostedSets;
use super::mnemonic;
use super::name::Name;
use super::rrset::{Key, RecordSet, RecordSets, RrType};
use super::rules::ZoneRules;
use super::serial::Serial;
use super::value::{self, MAX_VALUE_CHARS};

/// Route 53's quota on values in one record set.
pub const MAX_VALUES_PER_SET: usize = 400;
/// The largest TTL Route 53 takes (RFC 2181 8: 2^31 - 1).
pub const MAX_TTL: u32 = 2_147_483_647;

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
#[error("zone {zone} cannot be synced to Route 53 ({} problem(s); nothing was changed):\n  {}", problems.len(), problems.join("\n  "))]
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
        let name = Name::from_hickory(owner);
        if let Some(rtype) = self.accepts(&name, data.record_type()) {
            self.add_data(&name, rtype, ttl, data);
        }
    }

    /// The Route 53 type a record at `name` of `record_type` becomes; `None`
    /// when it is outside the zone (a problem) or of a type Route 53 cannot
    /// hold (skipped and counted), so its data need not be read.
    pub fn accepts(&mut self, name: &Name, record_type: RecordType) -> Option<RrType> {
        if !name.is_in(&self.origin) {
            self.problems.push(format!(
                "{name} {}: outside zone {}",
                mnemonic::name(record_type),
                self.origin
            ));
            return None;
        }
        let rtype = route53_type(record_type);
        if rtype.is_none() {
            *self.skipped.entry(mnemonic::name(record_type)).or_default() += 1;
        }
        rtype
    }

    /// Adds the data of a record `accepts` took.
    pub fn add_data(&mut self, name: &Name, rtype: RrType, ttl: u32, data: &RData) {
        let apex = *name == self.origin;
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
        let set = self
            .pending
            .entry((name.clone(), rtype))
            .or_insert(Pending {
                min_ttl: ttl,
                max_ttl: ttl,
                values: Vec::new(),
            });
        set.min_ttl = set.min_ttl.min(ttl);
        set.max_ttl = set.max_ttl.max(ttl);
        set.values.push(text);
    }

    /// A record that cannot be converted at all.
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
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
                problems.extend(set_limits(&name, rtype, pending.min_ttl, &pending.values));
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

/// Route 53's documented limits on one record set that DNS itself allows.
fn set_limits(name: &Name, rtype: RrType, ttl: u32, values: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if values.len() > MAX_VALUES_PER_SET {
        problems.push(format!(
            "{name} {rtype}: {} values, over Route 53's {MAX_VALUES_PER_SET} per record set: keep at most {MAX_VALUES_PER_SET} on the primary",
            values.len()
        ));
    }
    if ttl > MAX_TTL {
        problems.push(format!(
            "{name} {rtype}: TTL {ttl} is over Route 53's maximum of {MAX_TTL} (RFC 2181 8): lower it on the primary"
        ));
    }
    if rtype == RrType::NS && name.labels().first().is_some_and(|l| l == b"*") {
        problems.push(format!(
            "{name} NS: Route 53 does not allow a wildcard NS: remove it on the primary or delegate each name"
        ));
    }
    problems
}

/// What the hosted zone as a whole cannot take, given how the zone is
/// synced: records at the serial record's name (xfr53 would delete or
/// overwrite them), a serial record inside a delegation (never answered),
/// and more record sets than the hosted zone's quota once `diff` is
/// applied to `current`. Route 53's own apex SOA and NS, `_serial` and the
/// sets xfr53 leaves alone count against the quota too.
pub fn check_hosted_zone(
    desired: &Converted,
    diff: &Diff,
    current: &HostedSets,
    rules: &ZoneRules,
) -> Result<(), ConvertError> {
    let serial = &rules.serial_name;
    let mut problems = Vec::new();
    let at_serial: Vec<&str> = desired
        .sets
        .range((serial.clone(), RrType::A)..)
        .take_while(|((name, _), _)| name == serial)
        .map(|((_, rtype), _)| rtype.as_str())
        .collect();
    if !at_serial.is_empty() {
        problems.push(format!(
            "{serial} {}: the zone has data at serial_record's name, which xfr53 would delete or overwrite: choose another serial_record for this zone",
            at_serial.join(" ")
        ));
    }
    for ((name, _), _) in desired.sets.iter().filter(|((name, rtype), _)| {
        *rtype == RrType::NS && name != &rules.zone && serial.is_in(name)
    }) {
        problems.push(format!(
            "{serial}: serial_record is inside the delegation {name} NS, where it would never be answered: choose another serial_record for this zone"
        ));
    }
    // Route 53 always holds its apex SOA and NS, and `_serial` once synced.
    let missing = [
        (rules.zone.clone(), RrType::SOA),
        (rules.zone.clone(), RrType::NS),
        (serial.clone(), RrType::TXT),
    ]
    .iter()
    .filter(|key| current.get(key).is_empty())
    .count();
    let (created, deleted) = diff
        .changes
        .iter()
        .fold((0, 0), |(c, d), change| match change {
            Change::Create { .. } => (c + 1, d),
            Change::Delete { .. } => (c, d + 1),
            Change::Modify { .. } => (c, d),
        });
    let count = current.len() + missing + created - deleted;
    if count > rules.record_set_quota {
        problems.push(format!(
            "Route 53 would hold {count} record sets (with its apex SOA and NS, the serial record and the sets xfr53 leaves alone), over the hosted zone's quota of {}: ask AWS to raise it and set record_set_quota, or remove sets on the primary",
            rules.record_set_quota
        ));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ConvertError {
            zone: rules.zone.clone(),
            problems,
        }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rrset::CurrentSet;
    use crate::core::rules::Pattern;
    use crate::core::zonefile;

    fn zone() -> Name {
        Name::parse_route53("z.test").unwrap()
    }

    fn convert(body: &str) -> Result<Converted, ConvertError> {
        let text = format!("$ORIGIN z.test.\n$TTL 300\n@ SOA ns admin 1 2 3 4 5\n{body}");
        let mut builder = ZoneBuilder::new(zone());
        for record in zonefile::parse("z.zone", &text, &zone()).unwrap() {
            builder.add(record.name(), record.ttl(), record.data());
        }
        builder.finish()
    }

    fn problems(body: &str) -> Vec<String> {
        convert(body).unwrap_err().problems
    }

    fn addresses(count: usize) -> String {
        (0..count)
            .map(|i| format!("many A 10.0.{}.{}\n", i / 256, i % 256))
            .collect()
    }

    #[test]
    fn at_most_400_values_in_a_set() {
        assert_eq!(convert(&addresses(400)).unwrap().sets.len(), 1);
        assert_eq!(
            problems(&addresses(401)),
            ["many.z.test. A: 401 values, over Route 53's 400 per record set: keep at most 400 on the primary"]
        );
    }

    #[test]
    fn no_wildcard_ns() {
        assert_eq!(
            problems("* NS ns.elsewhere.example.\n"),
            ["\\052.z.test. NS: Route 53 does not allow a wildcard NS: remove it on the primary or delegate each name"]
        );
        // a wildcard of another type, and a `*` that is not the first label
        convert("* A 192.0.2.1\na.*.b NS ns.elsewhere.example.\n").unwrap();
    }

    #[test]
    fn ttl_at_most_2147483647() {
        convert("max 2147483647 A 192.0.2.1\n").unwrap();
        assert_eq!(
            problems("over 2147483648 A 192.0.2.1\n"),
            ["over.z.test. A: TTL 2147483648 is over Route 53's maximum of 2147483647 (RFC 2181 8): lower it on the primary"]
        );
    }

    fn check(body: &str, current: &[CurrentSet], rules: &ZoneRules) -> Vec<String> {
        let desired = convert(body).unwrap();
        let current: HostedSets = current.iter().cloned().collect();
        let changes = crate::core::diff::diff(&desired.sets, current.iter(), rules);
        match check_hosted_zone(&desired, &changes, &current, rules) {
            Ok(()) => Vec::new(),
            Err(e) => {
                assert_eq!(e.zone, zone());
                e.problems
            }
        }
    }

    #[test]
    fn nothing_at_the_serial_records_name() {
        let mut rules = ZoneRules::new(zone());
        let body = "www A 192.0.2.1\nwww TXT \"hello\"\nx.www A 192.0.2.2\n";
        assert_eq!(check(body, &[], &rules), Vec::<String>::new());
        rules.serial_name = Name::parse_route53("www.z.test").unwrap();
        assert_eq!(
            check(body, &[], &rules),
            ["www.z.test. A TXT: the zone has data at serial_record's name, which xfr53 would delete or overwrite: choose another serial_record for this zone"]
        );
    }

    #[test]
    fn the_serial_record_is_not_inside_a_delegation() {
        let mut rules = ZoneRules::new(zone());
        rules.serial_name = Name::parse_route53("_serial.child.z.test").unwrap();
        assert_eq!(
            check("child NS ns.elsewhere.example.\n", &[], &rules),
            ["_serial.child.z.test.: serial_record is inside the delegation child.z.test. NS, where it would never be answered: choose another serial_record for this zone"]
        );
        assert!(check("other NS ns.elsewhere.example.\n", &[], &rules).is_empty());
    }

    #[test]
    fn record_sets_within_the_quota() {
        let mut rules = ZoneRules::new(zone());
        // three sets + apex SOA and NS + _serial
        let body = "a A 192.0.2.1\nb A 192.0.2.2\nc A 192.0.2.3\n";
        rules.record_set_quota = 6;
        assert!(check(body, &[], &rules).is_empty());
        rules.record_set_quota = 5;
        assert_eq!(
            check(body, &[], &rules),
            ["Route 53 would hold 6 record sets (with its apex SOA and NS, the serial record and the sets xfr53 leaves alone), over the hosted zone's quota of 5: ask AWS to raise it and set record_set_quota, or remove sets on the primary"]
        );
        // an ignored name is not written, but one Route 53 holds stays
        rules.ignore = vec![Pattern::new("c")];
        assert!(check(body, &[], &rules).is_empty());
        let set = |name: &str| RecordSet {
            name: Name::parse_route53(name).unwrap(),
            rtype: RrType::A,
            ttl: 60,
            values: vec!["192.0.2.9".into()],
        };
        let kept = CurrentSet::managed(set("c.z.test"));
        assert_eq!(check(body, &[kept], &rules).len(), 1);
        // each weighted or alias set counts, and blocks the desired set
        rules.ignore.clear();
        rules.record_set_quota = 7;
        let weighted = |id: &str| CurrentSet {
            set: set("a.z.test"),
            unmanaged: Some(format!("SetIdentifier {id}")),
        };
        assert!(check(body, &[weighted("1")], &rules).is_empty());
        assert!(check(body, &[weighted("1"), weighted("2")], &rules).is_empty());
        assert_eq!(
            check(body, &[weighted("1"), weighted("2"), weighted("3")], &rules).len(),
            1
        );
    }
}
