//! What xfr53 keeps between runs, per zone, under the state directory: the
//! zone as last transferred (the base for IXFR) and Route 53's content as
//! xfr53 last left it, trusted only while Route 53's `_serial` still says
//! the same. Losing it costs a full transfer and a full listing, nothing
//! more, so read and write errors are warnings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::name::Name;
use crate::core::rrset::CurrentSet;
use crate::core::serial::Serial;
use crate::core::zone::Zone;

pub const DEFAULT_DIR: &str = "/var/lib/xfr53";

/// Route 53's content when its `_serial` said `serial`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Route53View {
    pub serial: u32,
    /// The hosted zone these sets are in, found and checked when written.
    #[serde(default)]
    pub hosted_zone_id: String,
    pub sets: Vec<CurrentSet>,
}

impl Route53View {
    pub fn serial(&self) -> Serial {
        Serial(self.serial)
    }
}

/// One zone's state.
#[derive(Clone, Debug)]
pub struct ZoneState {
    pub zone: Zone,
    pub route53: Option<Route53View>,
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir(PathBuf);

impl StateDir {
    pub fn new(path: impl Into<PathBuf>) -> StateDir {
        StateDir(path.into())
    }

    fn file(&self, zone: &Name, suffix: &str) -> PathBuf {
        let stem = match zone.as_str().trim_end_matches('.') {
            "" => "root".to_string(),
            name => name.replace(['/', '\\'], "_"),
        };
        self.0.join(format!("{stem}.{suffix}"))
    }

    /// The state of `zone`; empty when there is none or it does not read.
    pub fn load(&self, zone: &Name) -> ZoneState {
        let held = std::fs::read(self.file(zone, "zone"))
            .ok()
            .and_then(|bytes| match Zone::from_wire(zone.clone(), &bytes) {
                Ok(held) => Some(held),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: ignoring an unreadable zone copy: {e}");
                    None
                }
            })
            .unwrap_or_else(|| Zone::new(zone.clone()));
        let route53 = std::fs::read(self.file(zone, "route53.json"))
            .ok()
            .and_then(|bytes| match serde_json::from_slice(&bytes) {
                Ok(view) => Some(view),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: ignoring an unreadable Route 53 view: {e}");
                    None
                }
            });
        ZoneState {
            zone: held,
            route53,
        }
    }

    /// Writes `state` (each file atomically); failures are logged.
    pub fn save(&self, zone: &Name, state: &ZoneState) {
        let view = state
            .route53
            .as_ref()
            .map(|v| serde_json::to_vec(v).expect("a view serializes"));
        let results = [
            write_atomic(&self.file(zone, "zone"), Some(state.zone.to_wire())),
            write_atomic(&self.file(zone, "route53.json"), view),
        ];
        for result in results {
            if let Err(e) = result {
                tracing::warn!(zone = %zone, dir = %self.0.display(), "state not saved (the next sync will transfer and list in full): {e}");
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file; `None` removes it.
fn write_atomic(path: &Path, bytes: Option<Vec<u8>>) -> std::io::Result<()> {
    let Some(bytes) = bytes else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
