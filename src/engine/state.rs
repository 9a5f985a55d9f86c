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
//!
//! A save after IXFR deltas and landed batches appends them to the zone's
//! journal (`journal.rs`) instead of writing the files again; the files are
//! written whole when the zone or view was built anew, or once the journal
//! outgrows them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::envelope::{read_checked, replace_file, write_checked};
use super::journal;
use super::offload::in_place;
use crate::core::edits::Edits;
use crate::core::hosted::HostedSets;
use crate::core::name::Name;
use crate::core::pipeline::Baseline;
use crate::core::serial::Serial;
use crate::core::zone::Zone;

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
    /// The last sync listed Route 53 in full and keeps that as the view.
    pub relisted: bool,
    /// What this process last read or wrote for the zone: a save appends
    /// to it when nothing but deltas and batches changed since.
    saved: Option<Saved>,
}

/// The state directory's files and journal for a zone, as this process
/// last read or wrote them.
#[derive(Clone, Debug)]
struct Saved {
    journal: journal::Head,
    provenance: Provenance,
    /// The Route 53 view's serial, when they hold one.
    view: Option<u32>,
    /// The files' size: the journal is folded into them once it is larger.
    files_len: u64,
}

impl ZoneState {
    pub fn empty(zone: Name) -> ZoneState {
        ZoneState {
            zone: Zone::new(zone),
            route53: None,
            provenance: None,
            relisted: false,
            saved: None,
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
        let held = read_checked(&self.file(zone, "zone"), zone).and_then(|(p, sum, bytes)| {
            match Zone::from_wire(zone.clone(), &bytes) {
                Ok(held) => Some((p, sum, held)),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: dropping an unreadable zone copy: {e}");
                    None
                }
            }
        });
        let view = read_checked(&self.file(zone, "route53.json"), zone).and_then(|(p, sum, bytes)| {
            match serde_json::from_slice::<Route53View>(&bytes) {
                Ok(view) => Some((p, sum, view)),
                Err(e) => {
                    tracing::warn!(zone = %zone, "state: dropping an unreadable Route 53 view: {e}");
                    None
                }
            }
        });
        let (mut state, sums) = match (held, view) {
            (Some((p, zone_sum, held)), Some((q, view_sum, view))) if p == q => (
                ZoneState {
                    zone: held,
                    route53: Some(view),
                    provenance: Some(p),
                    relisted: false,
                    saved: None,
                },
                [zone_sum, view_sum],
            ),
            (Some((p, zone_sum, held)), None) => (
                ZoneState {
                    zone: held,
                    route53: None,
                    provenance: Some(p),
                    relisted: false,
                    saved: None,
                },
                [zone_sum, NO_VIEW.into()],
            ),
            // A view without its zone copy, or the two written for different
            // hosted zones: one of them was damaged or replaced, so neither
            // is trusted.
            _ => return ZoneState::empty(zone.clone()),
        };
        let files_len = self.files_len(zone);
        let path = self.file(zone, "journal");
        let Ok(bytes) = std::fs::read(&path) else {
            return state;
        };
        let base = journal::base(&[&sums[0], &sums[1]]);
        let (entries, head, dropped) = match journal::read(&bytes, &base) {
            Ok(read) => read,
            Err(why) => {
                tracing::warn!(zone = %zone, file = %path.display(), "state: not replaying a journal: {why}; the state is as its files were written");
                return state;
            }
        };
        if let Err(e) = replay(&mut state, entries) {
            tracing::warn!(zone = %zone, file = %path.display(), "state: dropping the held copy and Route 53 view, whose journal does not apply: {e:#}");
            return ZoneState::empty(zone.clone());
        }
        if dropped {
            // a crash mid-append: the next save writes the files whole
            tracing::warn!(zone = %zone, file = %path.display(), "state: the journal's last entry is torn or damaged and was dropped; the state is the one saved before it");
        } else {
            state.saved = Some(Saved {
                journal: head,
                provenance: state.provenance.clone().expect("set above"),
                view: state.route53.as_ref().map(|v| v.serial),
                files_len,
            });
        }
        state
    }

    /// Bytes of `zone`'s state files (the journal is folded into them once
    /// it is larger).
    fn files_len(&self, zone: &Name) -> u64 {
        ["zone", "route53.json"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(self.file(zone, suffix)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Saves `state`: appends what changed to the journal, or writes each
    /// file whole and atomically. Failures are logged.
    pub fn save(&self, zone: &Name, state: &mut ZoneState) {
        in_place(|| self.save_now(zone, state))
    }

    fn save_now(&self, zone: &Name, state: &mut ZoneState) {
        let Some(provenance) = state.provenance.clone() else {
            return;
        };
        match self.append(zone, state, &provenance) {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(zone = %zone, "state: cannot append to the journal ({e:#}); writing the files whole")
            }
        }
        if let Err(e) = self.write_whole(zone, state, &provenance) {
            // the next save writes whole: the edits need not be kept
            state.saved = None;
            mark_saved(state);
            tracing::warn!(zone = %zone, dir = %self.0.display(), "state not saved (the next sync will transfer and list in full): {e:#}");
        }
    }

    /// Appends the deltas and batches since the last save to the journal;
    /// `false` when the state changed otherwise (built anew, view gone),
    /// the journal outgrew the files, or another process wrote them.
    fn append(&self, zone: &Name, state: &mut ZoneState, provenance: &Provenance) -> Result<bool> {
        let Some(saved) = &state.saved else {
            return Ok(false);
        };
        let Edits::Since(deltas) = state.zone.unsaved() else {
            return Ok(false);
        };
        let view = match (&state.route53, saved.view) {
            (None, None) => None,
            (Some(view), Some(_)) => match view.sets.unsaved() {
                Edits::Since(batches) => Some(journal::ViewEdit {
                    serial: view.serial,
                    batches: batches.clone(),
                }),
                Edits::Whole => return Ok(false),
            },
            _ => return Ok(false),
        };
        if saved.provenance != *provenance || saved.journal.len > saved.files_len.max(MIN_JOURNAL) {
            return Ok(false);
        }
        let entry = journal::Entry::new(deltas, view)?;
        let view_serial = state.route53.as_ref().map(|v| v.serial);
        if entry.is_empty() && view_serial == saved.view {
            return Ok(true);
        }
        let path = self.file(zone, "journal");
        let mut file = OpenOptions::new().read(true).append(true).open(&path)?;
        // the journal as this process left it, or written whole instead
        let expected = journal::start(&saved.journal.base).0;
        let mut header = vec![0; expected.len()];
        if file.metadata()?.len() != saved.journal.len
            || file.read_exact(&mut header).is_err()
            || header != expected
        {
            return Ok(false);
        }
        let (bytes, head) = journal::append(&saved.journal, &entry);
        let written = file.write_all(&bytes).and_then(|()| file.sync_data());
        if let Err(e) = written {
            state.saved = None;
            return Err(e).with_context(|| format!("appending to {}", path.display()));
        }
        state.saved = Some(Saved {
            journal: head,
            view: view_serial,
            ..saved.clone()
        });
        mark_saved(state);
        Ok(true)
    }

    /// Writes the files whole, then a journal with no entries on them.
    fn write_whole(
        &self,
        zone: &Name,
        state: &mut ZoneState,
        provenance: &Provenance,
    ) -> Result<()> {
        state.saved = None;
        let view = state
            .route53
            .as_ref()
            .map(|v| serde_json::to_vec(v).expect("a view serializes"));
        // A copy that cannot be written is removed, not left stale.
        let held = state.zone.to_wire();
        let zone_path = self.file(zone, "zone");
        let zone_sum = write_checked(&zone_path, provenance, held.as_ref().ok().cloned())?;
        let view_sum = write_checked(&self.file(zone, "route53.json"), provenance, view)?;
        held.map_err(|e| anyhow::anyhow!(e))?;
        let sums = [
            zone_sum.expect("written"),
            view_sum.unwrap_or(NO_VIEW.into()),
        ];
        let (bytes, head) = journal::start(&journal::base(&[&sums[0], &sums[1]]));
        replace_file(&self.file(zone, "journal"), &bytes)?;
        let files_len = self.files_len(zone);
        state.saved = Some(Saved {
            journal: head,
            provenance: provenance.clone(),
            view: state.route53.as_ref().map(|v| v.serial),
            files_len,
        });
        mark_saved(state);
        Ok(())
    }
}

/// What a journal's base says for a state with no Route 53 view.
const NO_VIEW: &str = "no view";

/// Below this size a journal is never folded into the files.
const MIN_JOURNAL: u64 = 64 * 1024;

/// The zone copy and view as they are now are what the files say.
fn mark_saved(state: &mut ZoneState) {
    state.zone.mark_saved();
    if let Some(view) = &mut state.route53 {
        if !matches!(view.sets.unsaved(), Edits::Since(batches) if batches.is_empty()) {
            Arc::make_mut(&mut view.sets).mark_saved();
        }
    }
}

/// Applies journal entries to the state the files held.
fn replay(state: &mut ZoneState, entries: Vec<journal::Entry>) -> Result<()> {
    for entry in entries {
        let (deltas, view) = entry.open()?;
        state.zone.apply(&deltas)?;
        match (&mut state.route53, view) {
            (Some(held), Some(edit)) => {
                Arc::make_mut(&mut held.sets).apply(&edit.batches);
                held.serial = edit.serial;
            }
            (None, None) => {}
            _ => {
                bail!("an entry for a Route 53 view the files do not hold, or the other way round")
            }
        }
    }
    mark_saved(state);
    Ok(())
}

fn holder_of(lock: &Path) -> String {
    std::fs::read_to_string(lock)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::super::envelope::tests::provenance;
    use super::*;

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
