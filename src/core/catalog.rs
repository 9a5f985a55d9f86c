//! Catalog zones (RFC 9432): the member zones a transferred catalog lists.
//!
//! A catalog of schema version 2 holds `version.<catalog> TXT "2"` and,
//! for each member, `<unique-id>.zones.<catalog> PTR <member zone>`.
//! Member properties (`coo`, `group`, and anything under `ext`) sit below
//! a member's unique ID and are not read: xfr53 syncs every member the
//! same way. A zone listed under two unique IDs is one member.

use std::collections::BTreeSet;

use hickory_proto::rr::{RData, RecordType};
use sha2::{Digest, Sha256};

use super::name::Name;
use super::serial::Serial;
use super::zone::Zone;

/// The schema version xfr53 reads (RFC 9432 §4.2.1).
pub const VERSION: &str = "2";

/// A catalog xfr53 must not process (RFC 9432 calls it broken): its
/// member set stays what it was.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("catalog {catalog}: no version.{catalog} TXT record: RFC 9432 catalogs have one holding \"2\"; is this zone a catalog? Check the [[catalog]] zone name")]
    NoVersion { catalog: Name },
    #[error("catalog {catalog}: version.{catalog} TXT holds {found}: xfr53 reads catalog zones of schema version \"2\" (RFC 9432) only; publish the catalog in that format: version TXT \"2\", each member as <unique-id>.zones PTR <zone>")]
    Version { catalog: Name, found: String },
    #[error("catalog {catalog}: {owner} holds {count} PTR records: RFC 9432 allows one member zone per unique ID, so the catalog is broken and not processed; remove all but one on the primary")]
    SeveralPtr {
        catalog: Name,
        owner: Name,
        count: usize,
    },
    #[error("catalog {catalog}: record {owner} {rtype}: {reason}")]
    Undecodable {
        catalog: Name,
        owner: Name,
        rtype: RecordType,
        reason: String,
    },
    #[error("catalog {catalog}: {owner} PTR names the catalog itself, which cannot be its own member: remove it on the primary")]
    SelfMember { catalog: Name, owner: Name },
}

/// The member zones `catalog` lists, each once.
pub fn members(catalog: &Zone) -> Result<BTreeSet<Name>, CatalogError> {
    let origin = catalog.origin();
    check_version(catalog)?;
    let zones = Name::parse_presentation("zones", origin).expect("a valid relative name");
    let mut members = BTreeSet::new();
    let mut owners: Vec<&Name> = Vec::new();
    for (owner, data) in catalog.records_of(RecordType::PTR) {
        // one label below zones.<catalog>: a member; deeper: a property
        if !owner.is_in(&zones) || owner.labels().len() != zones.labels().len() + 1 {
            continue;
        }
        let undecodable = |reason| CatalogError::Undecodable {
            catalog: origin.clone(),
            owner: owner.clone(),
            rtype: RecordType::PTR,
            reason,
        };
        let Some(target) = data.map_err(undecodable)?.into_ptr().ok() else {
            continue;
        };
        let member = Name::from_hickory(&target.0);
        if member == *origin {
            return Err(CatalogError::SelfMember {
                catalog: origin.clone(),
                owner: owner.clone(),
            });
        }
        owners.push(owner);
        members.insert(member);
    }
    if let Some(owner) = repeated(&mut owners) {
        return Err(CatalogError::SeveralPtr {
            catalog: origin.clone(),
            count: owners.iter().filter(|o| **o == owner).count(),
            owner: owner.clone(),
        });
    }
    Ok(members)
}

/// `version.<catalog>` holds exactly one TXT record, "2".
fn check_version(catalog: &Zone) -> Result<(), CatalogError> {
    let origin = catalog.origin();
    let version = Name::parse_presentation("version", origin).expect("a valid relative name");
    let mut found = Vec::new();
    for (owner, data) in catalog.records_of(RecordType::TXT) {
        if *owner != version {
            continue;
        }
        let txt = data.map_err(|reason| CatalogError::Undecodable {
            catalog: origin.clone(),
            owner: owner.clone(),
            rtype: RecordType::TXT,
            reason,
        })?;
        if let RData::TXT(txt) = txt {
            let strings: Vec<String> = (txt.iter())
                .map(|s| format!("\"{}\"", String::from_utf8_lossy(s).escape_default()))
                .collect();
            found.push(strings.join(" "));
        }
    }
    match found.as_slice() {
        [] => Err(CatalogError::NoVersion {
            catalog: origin.clone(),
        }),
        [one] if *one == format!("\"{VERSION}\"") => Ok(()),
        _ => Err(CatalogError::Version {
            catalog: origin.clone(),
            found: found.join(", "),
        }),
    }
}

/// An owner found twice.
fn repeated<'a>(owners: &mut [&'a Name]) -> Option<&'a Name> {
    owners.sort();
    owners.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// The CallerReference of the hosted zone created for `zone`, a member of
/// `catalog` at `serial`: the same for a retry of one creation (Route 53
/// then refuses to create a second zone), new when the member comes back
/// in a later serial. Route 53 takes at most 128 characters.
pub fn caller_reference(catalog: &Name, zone: &Name, serial: Serial) -> String {
    let digest = Sha256::digest(format!("{catalog} {zone} {serial}").as_bytes());
    format!(
        "xfr53-catalog-{}",
        &data_encoding::HEXLOWER.encode(&digest)[..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::zonefile;

    fn catalog(text: &str) -> Zone {
        let origin = Name::parse_route53("catz.example.org").unwrap();
        let records = zonefile::parse("catz.zone", text, &origin).unwrap();
        Zone::from_records(origin, &records).unwrap()
    }

    fn names(members: &BTreeSet<Name>) -> Vec<&str> {
        members.iter().map(Name::as_str).collect()
    }

    /// After RFC 9432's Appendix A: members, their properties (coo,
    /// group, ext) and a custom property of the catalog.
    const EXAMPLE: &str = r#"
$TTL 0
catz.example.org. SOA invalid. invalid. 1625079950 3600 600 2147483646 0
catz.example.org. NS invalid.
example.vendor-specific.ext.catz.example.org. CNAME example.net.
version.catz.example.org. TXT "2"
nj2xg5bnmz2w4ltd.zones.catz.example.org. PTR example.com.
example-vendor-specific.ext.nj2xg5bnmz2w4ltd.zones.catz.example.org. TXT "zone-specific"
nvxxezjnmz2w4ltd.zones.catz.example.org. PTR example.net.
group.nvxxezjnmz2w4ltd.zones.catz.example.org. TXT "foo"
nfwxa33sorqw45bo.zones.catz.example.org. PTR example.org.
coo.nfwxa33sorqw45bo.zones.catz.example.org. PTR catz2.example.org.
"#;

    #[test]
    fn the_rfc_example_lists_its_three_members_and_no_property() {
        let members = members(&catalog(EXAMPLE)).unwrap();
        assert_eq!(
            names(&members),
            ["example.com.", "example.net.", "example.org."]
        );
    }

    #[test]
    fn a_zone_under_two_unique_ids_is_one_member() {
        let text = format!("{EXAMPLE}\nsecond.zones.catz.example.org. PTR EXAMPLE.com.\n");
        let members = members(&catalog(&text)).unwrap();
        assert_eq!(members.len(), 3);
    }

    #[test]
    fn a_catalog_without_members_is_empty() {
        let text = "$TTL 0\n@ SOA invalid. invalid. 1 3600 600 86400 0\n@ NS invalid.\nversion TXT \"2\"\n";
        assert!(members(&catalog(text)).unwrap().is_empty());
    }

    #[test]
    fn another_version_is_refused_naming_the_catalog_and_record() {
        let text = EXAMPLE.replace("TXT \"2\"", "TXT \"1\"");
        let error = members(&catalog(&text)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "catalog catz.example.org.: version.catz.example.org. TXT holds \"1\": xfr53 reads catalog zones of schema version \"2\" (RFC 9432) only; publish the catalog in that format: version TXT \"2\", each member as <unique-id>.zones PTR <zone>"
        );
    }

    #[test]
    fn a_missing_or_repeated_version_is_refused() {
        let none = EXAMPLE.replace("version.catz", "other.catz");
        assert!(matches!(
            members(&catalog(&none)),
            Err(CatalogError::NoVersion { .. })
        ));
        let two = format!("{EXAMPLE}\nversion.catz.example.org. TXT \"3\"\n");
        assert!(matches!(
            members(&catalog(&two)),
            Err(CatalogError::Version { .. })
        ));
    }

    #[test]
    fn two_ptr_records_at_one_unique_id_are_refused() {
        let text = format!("{EXAMPLE}\nnj2xg5bnmz2w4ltd.zones.catz.example.org. PTR other.test.\n");
        let error = members(&catalog(&text)).unwrap_err();
        assert_eq!(
            error,
            CatalogError::SeveralPtr {
                catalog: Name::parse_route53("catz.example.org").unwrap(),
                owner: Name::parse_route53("nj2xg5bnmz2w4ltd.zones.catz.example.org").unwrap(),
                count: 2,
            }
        );
        assert!(error
            .to_string()
            .contains("nj2xg5bnmz2w4ltd.zones.catz.example.org. holds 2 PTR records"));
    }

    #[test]
    fn the_catalog_as_its_own_member_is_refused() {
        let text = format!("{EXAMPLE}\nself.zones.catz.example.org. PTR catz.example.org.\n");
        assert!(matches!(
            members(&catalog(&text)),
            Err(CatalogError::SelfMember { .. })
        ));
    }

    #[test]
    fn a_caller_reference_is_stable_short_and_new_for_a_new_serial() {
        let (catalog, zone) = (
            Name::parse_route53("catz.test").unwrap(),
            Name::parse_route53("a.test").unwrap(),
        );
        let first = caller_reference(&catalog, &zone, Serial(1));
        assert_eq!(first, caller_reference(&catalog, &zone, Serial(1)));
        assert_ne!(first, caller_reference(&catalog, &zone, Serial(2)));
        assert!(first.len() <= 128);
    }
}
