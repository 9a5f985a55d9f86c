//! Where a zone comes from: its primaries, or a master file standing in
//! for them (`xfr53 sync --zone-file`, `xfr53 plan --zone-file`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::core::name::Name;
use crate::core::zone::Zone;
use crate::core::zonefile;
use crate::dns::primary::Primary;

/// Where the zone comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The zone's configured primaries, tried in order.
    Primaries(Vec<Primary>),
    /// A master file standing in for the primary.
    ZoneFile(PathBuf),
}

impl Source {
    /// The zone file when one is given (`--zone-file`), else the primaries.
    pub fn of(zone_file: Option<&Path>, primaries: Vec<Primary>) -> Source {
        match zone_file {
            Some(file) => Source::ZoneFile(file.to_path_buf()),
            None => Source::Primaries(primaries),
        }
    }

    /// The addresses or path, as the state directory records them.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Source::Primaries(primaries) => primaries.iter().map(|p| p.addr.to_string()).collect(),
            Source::ZoneFile(path) => vec![format!("file:{}", path.display())],
        }
    }
}

/// The zone in a master file.
pub fn read_zone_file(path: &Path, zone: &Name) -> Result<Zone> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("zone {zone}: cannot read zone file {}", path.display()))?;
    let records = zonefile::parse(&path.display().to_string(), &text, zone)?;
    Zone::from_records(zone.clone(), &records)
        .with_context(|| format!("zone {zone}: zone file {}", path.display()))
}
