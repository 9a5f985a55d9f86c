//! The Route 53 record-set model: what a hosted zone holds, in core terms.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::name::Name;

/// The record types Route 53 accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RrType {
    A,
    AAAA,
    CAA,
    CNAME,
    DS,
    HTTPS,
    MX,
    NAPTR,
    NS,
    PTR,
    SOA,
    SPF,
    SRV,
    SSHFP,
    SVCB,
    TLSA,
    TXT,
}

impl RrType {
    pub const ALL: [RrType; 17] = [
        RrType::A,
        RrType::AAAA,
        RrType::CAA,
        RrType::CNAME,
        RrType::DS,
        RrType::HTTPS,
        RrType::MX,
        RrType::NAPTR,
        RrType::NS,
        RrType::PTR,
        RrType::SOA,
        RrType::SPF,
        RrType::SRV,
        RrType::SSHFP,
        RrType::SVCB,
        RrType::TLSA,
        RrType::TXT,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RrType::A => "A",
            RrType::AAAA => "AAAA",
            RrType::CAA => "CAA",
            RrType::CNAME => "CNAME",
            RrType::DS => "DS",
            RrType::HTTPS => "HTTPS",
            RrType::MX => "MX",
            RrType::NAPTR => "NAPTR",
            RrType::NS => "NS",
            RrType::PTR => "PTR",
            RrType::SOA => "SOA",
            RrType::SPF => "SPF",
            RrType::SRV => "SRV",
            RrType::SSHFP => "SSHFP",
            RrType::SVCB => "SVCB",
            RrType::TLSA => "TLSA",
            RrType::TXT => "TXT",
        }
    }
}

impl fmt::Display for RrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RrType {
    type Err = String;

    fn from_str(s: &str) -> Result<RrType, String> {
        RrType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("record type {s} is not one Route 53 accepts"))
    }
}

/// The key of a record set: owner name and type.
pub type Key = (Name, RrType);

/// One Route 53 resource record set.
///
/// `values` are the presentation-format values exactly as Route 53 holds or
/// will hold them: a DELETE must repeat them byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: Name,
    #[serde(rename = "type")]
    pub rtype: RrType,
    pub ttl: u32,
    pub values: Vec<String>,
}

impl RecordSet {
    pub fn key(&self) -> Key {
        (self.name.clone(), self.rtype)
    }

    /// Characters of values, as Route 53 counts them against its request limit.
    pub fn value_chars(&self) -> usize {
        self.values.iter().map(String::len).sum()
    }
}

/// A record set as read from Route 53, with what makes it something the
/// primary cannot express.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentSet {
    pub set: RecordSet,
    /// `Some(reason)` for alias sets and sets with a SetIdentifier.
    pub unmanaged: Option<String>,
}

impl CurrentSet {
    pub fn managed(set: RecordSet) -> CurrentSet {
        CurrentSet {
            set,
            unmanaged: None,
        }
    }
}

/// The record sets a zone should have, by key, in canonical order.
pub type RecordSets = BTreeMap<Key, RecordSet>;
