//! What xfr53 keeps between runs, per zone, under the state directory: the
//! zone as last transferred (only a base for IXFR: the primary's SOA is the
//! truth) and Route 53's content as xfr53 last left it (trusted only while
//! Route 53's `_serial` still says the same). Neither is ever the source of
//! truth: losing them costs a full transfer and a full listing, nothing more.
//!
//! Each file says whom it was written for (zone, source, hosted zone) and
//! carries a SHA-256 of its contents, so a truncated or damaged file, or one
//! written for another primary or hosted zone, is dropped instead of becoming
//! Route 53 changes. A per-zone lock keeps two processes (the daemon and an
//! operator's `xfr53 sync`) from writing one zone's files at once.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::hosted::HostedSets;
use crate::core::name::Name;
use crate::core::pipeline::Baseline;
use crate::core::serial::Serial;
use crate::core::zone::Zone;
use crate::sync::in_place;

pub const DEFAULT_DIR: &str = "/var/lib/xfr53";

/// The first bytes of every state file, and the format's version.
const MAGIC: &str = "xfr53-state 1";

/// How long a command waits for another process's sync of the same zone.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// Route 53's content when its `_serial` said `serial`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Route53View {
    pub serial: u32,
    /// Shared with the sync using it: a sync over the cached view copies
    /// nothing.
    pub sets: Arc<HostedSets>,
    /// Set when xfr53's own plan made this view: what the held copy changed
    /// since, so the next plan covers only that. Kept in memory only: a
    /// restart plans the whole zone once.
    #[serde(skip)]
    pub baseline: Option<Baseline>,
}

impl Route53View {
    pub fn serial(&self) -> Serial {
        Serial(self.serial)
    }
}

/// Whom a zone's state was written for. State written for anything else
/// (another primary, hosted zone or zone) says nothing about this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub zone: String,
    /// The primaries' addresses, or the zone file's path.
    pub source: Vec<String>,
    pub hosted_zone_id: String,
}

/// One zone's state.
#[derive(Clone, Debug)]
pub struct ZoneState {
    pub zone: Zone,
    pub route53: Option<Route53View>,
    /// Whom `zone` and `route53` were written for; `None` when empty.
    pub provenance: Option<Provenance>,
    /// The last sync listed Route 53 in full and keeps that as the view:
    /// worth saving even when it found Route 53 up to date.
    pub relisted: bool,
}

impl ZoneState {
    pub fn empty(zone: Name) -> ZoneState {
        ZoneState {
            zone: Zone::new(zone),
            route53: None,
            provenance: None,
            relisted: false,
        }
    }

    /// Keeps what was written for `expected`; anything written for another
    /// zone, source or hosted zone is dropped (logged with what differs).
    /// The state is `expected`'s from then on.
    pub fn adopt(&mut self, expected: Provenance) {
        if let Some(held) = &self.provenance {
            if *held != expected {
                tracing::warn!(zone = %expected.zone, held = ?held, expected = ?expected, "state: dropping the held copy and Route 53 view written for another primary, hosted zone or zone");
                *self = ZoneState::empty(self.zone.origin().clone());
            }
        }
        self.provenance = Some(expected);
    }
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir(PathBuf);

/// A zone's lock, held until dropped. `None` when the state directory
/// cannot hold a lock file: then it cannot hold state either, and a sync
/// goes on without both rather than failing forever.
#[derive(Debug)]
pub struct ZoneLock {
    _file: Option<File>,
}

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

    /// Takes `zone`'s lock, waiting (and saying who holds it) while another
    /// process syncs the zone; an error once it has waited `LOCK_WAIT`.
    pub async fn lock(&self, zone: &Name) -> Result<ZoneLock> {
        let path = self.file(zone, "lock");
        // A lock file another user left (an operator's `sudo xfr53 sync`)
        // still locks when opened for reading only.
        let opened = std::fs::create_dir_all(&self.0)
            .and_then(|()| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
            })
            .or_else(|_| File::open(&path));
        let mut file = match opened {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(zone = %zone, file = %path.display(), "state: cannot open the lock file, so no state is kept for this sync: {e}");
                return Ok(ZoneLock { _file: None });
            }
        };
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !said {
                        let mut holder = String::new();
                        let _ = (&file).read_to_string(&mut holder);
                        tracing::info!(zone = %zone, holder = holder.trim(), "another process is syncing this zone; waiting for it");
                        said = true;
                    }
                    if tokio::time::Instant::now() > deadline {
                        bail!(
                            "zone {zone}: another process ({}) has held {} for {LOCK_WAIT:?}; is a sync stuck?",
                            holder_of(&path),
                            path.display()
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e)
                        .with_context(|| format!("zone {zone}: locking {}", path.display()))
                }
            }
        }
        // Say who holds it, for the next process that has to wait.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}", std::process::id());
        Ok(ZoneLock { _file: Some(file) })
    }

    /// The state of `zone`; empty when there is none, and without any file
    /// that is damaged or written for another zone (logged).
    pub fn load(&self, zone: &Name) -> ZoneState {
        in_place(|| self.load_now(zone))
    }

    fn load_now(&self, zone: &Name) -> ZoneState {
        let held = read_checked(&self.file(zone, "zone"), zone).and_then(|(p, bytes)| {
            match Zone::from_wire(zone.clone(), &bytes) {
                Ok(held) => Some((p, held)),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: dropping an unreadable zone copy: {e}");
                    None
                }
            }
        });
        let view = read_checked(&self.file(zone, "route53.json"), zone).and_then(|(p, bytes)| {
            match serde_json::from_slice::<Route53View>(&bytes) {
                Ok(view) => Some((p, view)),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: dropping an unreadable Route 53 view: {e}");
                    None
                }
            }
        });
        match (held, view) {
            (Some((p, held)), Some((q, view))) if p == q => ZoneState {
                zone: held,
                route53: Some(view),
                provenance: Some(p),
                relisted: false,
            },
            (Some((p, held)), None) => ZoneState {
                zone: held,
                route53: None,
                provenance: Some(p),
                relisted: false,
            },
            // A view without its zone copy, or the two written for different
            // hosted zones: one of them was damaged or replaced, so neither
            // is trusted.
            _ => ZoneState::empty(zone.clone()),
        }
    }

    /// Writes `state` (each file atomically); failures are logged.
    pub fn save(&self, zone: &Name, state: &ZoneState) {
        in_place(|| self.save_now(zone, state))
    }

    fn save_now(&self, zone: &Name, state: &ZoneState) {
        let Some(provenance) = &state.provenance else {
            return;
        };
        let view = state
            .route53
            .as_ref()
            .map(|v| serde_json::to_vec(v).expect("a view serializes"));
        // A copy that cannot be written is removed, not left stale.
        let (held, unwritable) = match state.zone.to_wire() {
            Ok(bytes) => (Some(bytes), Ok(())),
            Err(e) => (None, Err(anyhow::anyhow!(e))),
        };
        let results = [
            write_checked(&self.file(zone, "zone"), provenance, held),
            unwritable,
            write_checked(&self.file(zone, "route53.json"), provenance, view),
        ];
        for result in results {
            if let Err(e) = result {
                tracing::warn!(zone = %zone, dir = %self.0.display(), "state not saved (the next sync will transfer and list in full): {e}");
            }
        }
    }
}

fn holder_of(lock: &Path) -> String {
    std::fs::read_to_string(lock)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The envelope of a state file:
/// `MAGIC sha256=<hex of the rest>\n<provenance JSON>\n<payload>`.
fn envelope(provenance: &Provenance, payload: &[u8]) -> Vec<u8> {
    let mut body = serde_json::to_vec(provenance).expect("provenance serializes");
    body.push(b'\n');
    body.extend_from_slice(payload);
    let mut out = format!("{MAGIC} sha256={}\n", sha256_hex(&body)).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// The provenance and payload of `bytes`, or why they cannot be trusted.
fn open_envelope(bytes: &[u8]) -> Result<(Provenance, &[u8]), String> {
    fn split(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let end = b.iter().position(|&c| c == b'\n')?;
        Some((&b[..end], &b[end + 1..]))
    }
    let (header, body) = split(bytes).ok_or("no header line")?;
    let header = std::str::from_utf8(header).map_err(|_| "a header that is not text")?;
    let checksum = header
        .strip_prefix(MAGIC)
        .and_then(|rest| rest.strip_prefix(" sha256="))
        .ok_or(
            "not a state file of this xfr53 version: written by an older one, or not by xfr53",
        )?;
    if sha256_hex(body) != checksum {
        return Err("its checksum does not match (truncated or damaged)".into());
    }
    let (provenance, payload) = split(body).ok_or("no provenance line")?;
    let provenance = serde_json::from_slice(provenance).map_err(|e| e.to_string())?;
    Ok((provenance, payload))
}

fn sha256_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

/// A state file's provenance and payload when it is intact and written for
/// `zone`; else `None`, with a warning when it existed.
fn read_checked(path: &Path, zone: &Name) -> Option<(Provenance, Vec<u8>)> {
    let bytes = std::fs::read(path).ok()?;
    match open_envelope(&bytes) {
        Ok((provenance, _)) if provenance.zone != zone.as_str() => {
            tracing::warn!(zone = %zone, file = %path.display(), written_for = provenance.zone, "state: dropping a file written for another zone");
            None
        }
        Ok((provenance, payload)) => Some((provenance, payload.to_vec())),
        Err(why) => {
            tracing::warn!(zone = %zone, file = %path.display(), "state: dropping a file that fails its check ({why}); the next sync transfers and lists in full");
            None
        }
    }
}

/// Writes `payload` in its envelope to `path` through a temporary file of
/// this process's own; `None` removes it.
fn write_checked(path: &Path, provenance: &Provenance, payload: Option<Vec<u8>>) -> Result<()> {
    let Some(payload) = payload else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension(format!(
        "tmp.{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(&envelope(provenance, &payload))?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    Ok(written?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            zone: "example.com.".into(),
            source: vec!["192.0.2.1:53".into()],
            hosted_zone_id: "Z1".into(),
        }
    }

    #[test]
    fn an_envelope_opens_to_what_was_put_in() {
        let sealed = envelope(&provenance(), b"payload\nwith lines");
        let (p, payload) = open_envelope(&sealed).unwrap();
        assert_eq!(p, provenance());
        assert_eq!(payload, b"payload\nwith lines");
    }

    #[test]
    fn a_truncated_or_flipped_file_fails_its_check() {
        let sealed = envelope(&provenance(), &[7u8; 300]);
        for cut in [sealed.len() - 1, sealed.len() - 100, 90] {
            assert!(open_envelope(&sealed[..cut]).is_err(), "cut at {cut}");
        }
        for at in [sealed.len() - 1, sealed.len() - 200, 80] {
            let mut flipped = sealed.clone();
            flipped[at] ^= 0x01;
            assert!(open_envelope(&flipped).is_err(), "flipped at {at}");
        }
    }

    #[test]
    fn state_for_another_source_is_dropped_on_adopt() {
        let zone = Name::parse_route53("example.com").unwrap();
        let mut state = ZoneState::empty(zone);
        state.route53 = Some(Route53View {
            serial: 7,
            sets: Arc::default(),
            baseline: None,
        });
        state.provenance = Some(provenance());
        state.adopt(provenance());
        assert!(
            state.route53.is_some(),
            "the same provenance keeps the view"
        );
        let other = Provenance {
            source: vec!["192.0.2.2:53".into()],
            ..provenance()
        };
        state.adopt(other.clone());
        assert!(state.route53.is_none());
        assert_eq!(state.provenance, Some(other));
    }
}
