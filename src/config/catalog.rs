//! One `[[catalog]]` section checked and turned into a `CatalogConfig`:
//! read as the `[[zone]]` it is transferred like, its `[catalog.members]`
//! rules checked once for all members.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use super::raw::{RawCatalog, RawZone};
use super::zone::zone_config;
use super::{TsigConfig, ZoneConfig};
use crate::core::name::Name;

/// A catalog zone (RFC 9432) whose members xfr53 keeps in sync.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogConfig {
    /// The catalog as a zone: where it is transferred from, with which
    /// key and limits, who may NOTIFY it. Its rules, written for the
    /// catalog's name, are what each member gets for its own.
    pub zone: ZoneConfig,
    /// A member with no hosted zone gets a public one.
    pub create_hosted_zones: bool,
    /// A member removed from the catalog (and synced by nothing else) has
    /// its hosted zone emptied and deleted.
    pub delete_removed: bool,
}

impl CatalogConfig {
    pub fn name(&self) -> &Name {
        &self.zone.rules.zone
    }

    /// The configuration member `zone` is synced with: the catalog's, for
    /// that zone. An error when its serial record would be no name.
    pub fn member(&self, zone: &Name) -> Result<ZoneConfig> {
        let mut config = self.zone.clone();
        let serial = (self.zone.rules.serial_name)
            .relative_to(self.name())
            .expect("checked below the catalog");
        config.rules.serial_name = Name::parse_route53(&format!("{serial}.{zone}"))
            .with_context(|| format!("catalog {}: member {zone}", self.name()))?;
        config.rules.zone = zone.clone();
        Ok(config)
    }
}

pub(super) fn catalog_config(
    raw: &RawCatalog,
    keys: &BTreeMap<String, TsigConfig>,
) -> Result<CatalogConfig> {
    let members = &raw.members;
    if let Some(record) = members.serial_record.as_ref().filter(|r| r.ends_with('.')) {
        bail!("members.serial_record = {record:?}: give a name relative to each member, like \"_serial._dyn\"");
    }
    let as_zone = RawZone {
        name: raw.zone.clone(),
        primaries: raw.primaries.clone(),
        notify_from: raw.notify_from.clone(),
        tsig: raw.tsig.clone(),
        notify_tsig: raw.notify_tsig.clone(),
        hosted_zone_id: None,
        // members are synced with the daemon's own credentials, those
        // create_hosted_zones creates with
        role_arn: None,
        serial_record: members.serial_record.clone(),
        serial_ttl: members.serial_ttl,
        ignore: members.ignore.clone(),
        max_change: members.max_change.clone(),
        record_set_quota: members.record_set_quota,
        min_refresh_seconds: raw.min_refresh_seconds,
        max_refresh_seconds: raw.max_refresh_seconds,
        timeout_seconds: raw.timeout_seconds,
        sync_timeout_seconds: members.sync_timeout_seconds,
        max_transfer_records: raw.max_transfer_records,
        max_transfer_bytes: raw.max_transfer_bytes,
        transfer_timeout_seconds: raw.transfer_timeout_seconds,
    };
    Ok(CatalogConfig {
        zone: zone_config(&as_zone, keys)?,
        create_hosted_zones: raw.create_hosted_zones,
        delete_removed: raw.delete_removed,
    })
}

/// Every `[[catalog]]`: each once, none also a `[[zone]]` (a catalog is
/// not synced to Route 53).
pub(super) fn catalogs(
    raw: &[RawCatalog],
    keys: &BTreeMap<String, TsigConfig>,
    zones: &[ZoneConfig],
) -> Result<Vec<CatalogConfig>> {
    let mut catalogs: Vec<CatalogConfig> = Vec::new();
    for (i, catalog) in raw.iter().enumerate() {
        let parsed = catalog_config(catalog, keys)
            .with_context(|| format!("catalog[{i}] ({})", catalog.zone))?;
        let name = parsed.name();
        if catalogs.iter().any(|c| c.name() == name) {
            bail!("catalog[{i}]: {name} is configured twice; keep one [[catalog]] section");
        }
        if zones.iter().any(|z| z.rules.zone == *name) {
            bail!("catalog[{i}]: {name} is also a [[zone]]: a catalog is transferred for its member list, never synced to Route 53; remove one of the two");
        }
        catalogs.push(parsed);
    }
    Ok(catalogs)
}
