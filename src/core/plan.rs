//! Changes into ordered Route 53 change batches, with `_serial` last and the
//! safety rules applied.

use std::cmp::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::diff::{equivalent, Change, Diff, Unmanaged};
use super::name::Name;
use super::rrset::{RecordSet, RrType};
use super::rules::{RequestLimits, ZoneRules};
use super::serial::Serial;

/// One ChangeResourceRecordSets request: atomic in Route 53.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub changes: Vec<Change>,
}

/// One element of a request, in the order it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    Delete,
}

impl Batch {
    /// The request's elements in order: a modification is DELETE(old) then
    /// CREATE(new).
    pub fn actions(&self) -> impl Iterator<Item = (Action, &RecordSet)> {
        self.changes.iter().flat_map(|change| {
            let (first, second) = match change {
                Change::Create { set } => ((Action::Create, set), None),
                Change::Delete { set } => ((Action::Delete, set), None),
                Change::Modify { old, new } => ((Action::Delete, old), Some((Action::Create, new))),
            };
            std::iter::once(first).chain(second)
        })
    }

    /// (values, characters) as Route 53 counts them against its limits.
    pub fn size(&self) -> Size {
        self.changes.iter().map(Size::of).sum()
    }
}

/// Values and value characters of a request or part of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub values: usize,
    pub chars: usize,
}

impl Size {
    fn of(change: &Change) -> Size {
        let one = |s: &RecordSet| Size {
            values: s.values.len(),
            chars: s.value_chars(),
        };
        match change {
            Change::Create { set } | Change::Delete { set } => one(set),
            Change::Modify { old, new } => one(old) + one(new),
        }
    }

    pub(super) fn fits(self, limits: RequestLimits) -> bool {
        self.values <= limits.max_values && self.chars <= limits.max_chars
    }
}

impl std::ops::Add for Size {
    type Output = Size;
    fn add(self, other: Size) -> Size {
        Size {
            values: self.values + other.values,
            chars: self.chars + other.chars,
        }
    }
}

impl std::iter::Sum for Size {
    fn sum<I: Iterator<Item = Size>>(iter: I) -> Size {
        iter.fold(Size::default(), |a, b| a + b)
    }
}

/// How many sets of each kind of change a plan holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub delete: usize,
    pub modify: usize,
    pub batches: usize,
    pub unmanaged: usize,
}

/// The ordered batches that bring Route 53 to the primary's zone.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub zone: Name,
    pub serial: Serial,
    /// The serial Route 53's `_serial` record held, if it held one.
    pub previous_serial: Option<Serial>,
    pub batches: Vec<Batch>,
    pub unmanaged: Arc<Vec<Unmanaged>>,
    /// Safety rules this plan breaks; it is applied only when forced.
    pub refusals: Vec<String>,
    pub forced: bool,
    pub summary: Summary,
    /// Record sets xfr53 manages in Route 53 before the plan.
    #[serde(skip)]
    pub managed_count: usize,
    /// The `_serial` record's name: its changes are xfr53's bookkeeping,
    /// not counted in `summary`.
    #[serde(skip)]
    pub serial_name: Name,
    /// Planned over only this many owner names, changed since the last
    /// plan landed; `None`: over the whole zone.
    #[serde(skip)]
    pub changed_names: Option<usize>,
}

impl Plan {
    /// Broke a safety rule and was not forced: must not be applied.
    pub fn is_refused(&self) -> bool {
        !self.refusals.is_empty() && !self.forced
    }
}

/// A plan Route 53 could not accept in any batching.
#[derive(Debug, thiserror::Error)]
#[error("zone {zone}: {name} {rtype} alone has {} values and {} characters of changes, over Route 53's {} values / {} characters per request", size.values, size.chars, limits.max_values, limits.max_chars)]
pub struct TooLarge {
    pub zone: Name,
    pub name: Name,
    pub rtype: RrType,
    pub size: Size,
    pub limits: RequestLimits,
}

/// Builds the plan for `diff` bringing Route 53 to `serial`.
pub fn plan(diff: Diff, serial: Serial, rules: &ZoneRules, force: bool) -> Result<Plan, TooLarge> {
    let managed_count = diff.managed_count;
    let mark = diff.current_serial.as_ref().and_then(mark_of);
    let previous_serial = mark.and_then(SerialMark::complete);
    let mut refusals = Vec::new();
    // older than what Route 53 holds in full, or than what a writer is
    // applying on top of it
    let guards = [
        previous_serial.map(|s| (s, "holds")),
        match mark {
            Some(SerialMark::Applying { to, .. }) => Some((to, "is being brought to")),
            _ => None,
        },
    ];
    if let Some((newer, holds)) = guards.into_iter().flatten().find(|(guard, _)| {
        !matches!(
            serial.partial_cmp(guard),
            Some(Ordering::Greater | Ordering::Equal)
        )
    }) {
        refusals.push(format!(
            "the primary serves serial {serial}, older (RFC 1982) than the {newer} Route 53's _serial says it {holds}: was the primary restored from a backup, its serial reset, or the zone moved to another provider? Nothing was changed. If the primary is right, `xfr53 sync --force {}` publishes its zone",
            rules.zone.as_str().trim_end_matches('.')
        ));
    }
    let destructive = diff
        .changes
        .iter()
        .filter(|c| !matches!(c, Change::Create { .. }))
        .count();
    if rules.max_change.exceeded(destructive, diff.managed_count) {
        let unfinished = match diff.current_serial.as_ref().and_then(mark_of) {
            Some(SerialMark::Applying { to, .. }) => format!(
                " (Route 53 also holds part of an unfinished apply of serial {to}, which this plan undoes)"
            ),
            _ => String::new(),
        };
        refusals.push(format!(
            "{destructive} of {} existing record sets would be deleted or modified, over max_change {}{unfinished}",
            diff.managed_count, rules.max_change
        ));
    }

    let mut summary = Summary {
        unmanaged: diff.unmanaged.len(),
        ..Summary::default()
    };
    for change in &diff.changes {
        match change {
            Change::Create { .. } => summary.create += 1,
            Change::Delete { .. } => summary.delete += 1,
            Change::Modify { .. } => summary.modify += 1,
        }
    }
    let batches = batch_with_serial(
        diff.changes,
        diff.current_serial,
        serial,
        previous_serial,
        rules,
    )?;
    summary.batches = batches.len();
    Ok(Plan {
        zone: rules.zone.clone(),
        serial,
        previous_serial,
        batches,
        unmanaged: diff.unmanaged,
        refusals,
        forced: force,
        summary,
        managed_count,
        serial_name: rules.serial_name.clone(),
        changed_names: None,
    })
}

/// Packs changes greedily into batches of at most `room` (the request limits
/// less what is kept for `_serial`), one owner name's changes together. A
/// name that fits a request only without that room gets a batch of its own;
/// one too large for any request is split change by change.
pub(super) fn pack(
    changes: Vec<Change>,
    room: RequestLimits,
    rules: &ZoneRules,
) -> Result<Vec<Batch>, TooLarge> {
    let limits = rules.limits;
    let mut batches: Vec<Batch> = Vec::new();
    let mut current = Batch::default();
    let mut current_size = Size::default();
    let mut changes = changes.into_iter().peekable();
    while let Some(first) = changes.next() {
        let mut group = vec![first];
        while let Some(next) = changes.next_if(|c| c.set().name == group[0].set().name) {
            group.push(next);
        }
        // DELETEs before CREATEs at one name (CNAME exclusivity): deletes,
        // then compare-and-swap pairs, then creates.
        group.sort_by_key(|c| match c {
            Change::Delete { .. } => 0,
            Change::Modify { .. } => 1,
            Change::Create { .. } => 2,
        });
        let group_size: Size = group.iter().map(Size::of).sum();
        // A name too large for one request is split change by change.
        let units: Vec<Vec<Change>> = if group_size.fits(limits) {
            vec![group]
        } else {
            group.into_iter().map(|c| vec![c]).collect()
        };
        for unit in units {
            let size: Size = unit.iter().map(Size::of).sum();
            if !size.fits(limits) {
                let set = unit[0].set();
                return Err(TooLarge {
                    zone: rules.zone.clone(),
                    name: set.name.clone(),
                    rtype: set.rtype,
                    size,
                    limits,
                });
            }
            if !current.changes.is_empty() && !(current_size + size).fits(room) {
                batches.push(std::mem::take(&mut current));
                current_size = Size::default();
            }
            current.changes.extend(unit);
            current_size = current_size + size;
        }
    }
    if !current.changes.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}

/// The `_serial` TXT set for `serial`.
pub fn serial_set(serial: Serial, rules: &ZoneRules) -> RecordSet {
    RecordSet {
        name: rules.serial_name.clone(),
        rtype: RrType::TXT,
        ttl: rules.serial_ttl,
        values: vec![format!("\"{serial}\"")],
    }
}

/// Packs `changes` into batches with the `_serial` changes: the move to
/// `serial` in the last batch, so `_serial = N` means all of N is in
/// Route 53. When the plan takes several requests, `_serial` is marked as
/// applying in the first, and every batch swaps it (an exact DELETE, so a
/// compare-and-swap): a crash, a kill or a rejection between them leaves a
/// mark every reader sees (this process, another writer, any state
/// directory), nothing cached at the old serial is trusted until a full
/// listing, and no batch of this plan lands once another writer has moved
/// `_serial` on.
fn batch_with_serial(
    changes: Vec<Change>,
    current: Option<RecordSet>,
    serial: Serial,
    previous: Option<Serial>,
    rules: &ZoneRules,
) -> Result<Vec<Batch>, TooLarge> {
    let target = serial_set(serial, rules);
    let mut batches = pack(changes, rules.limits, rules)?;
    let fits =
        |batch: &Batch, change: &Change| (batch.size() + Size::of(change)).fits(rules.limits);
    match (batches.len(), serial_change(current.clone(), &target)) {
        (0, None) => return Ok(batches),
        // changes at the serial Route 53 holds (a drift repair, a forced
        // sync): `_serial` is swapped for itself, so the batch still lands
        // only on the Route 53 it was planned for
        (1, None) => {
            let old = current.clone().expect("equivalent to the target");
            let touch = Change::Modify {
                old,
                new: target.clone(),
            };
            if fits(&batches[0], &touch) {
                batches[0].changes.push(touch);
                return Ok(batches);
            }
        }
        (0, Some(change)) => {
            return Ok(vec![Batch {
                changes: vec![change],
            }])
        }
        (1, Some(change)) if fits(&batches[0], &change) => {
            batches[0].changes.push(change);
            return Ok(batches);
        }
        _ => {}
    }
    // A backward plan (forced) marks no `from`: the serial it would protect
    // is the one being overridden.
    let from = previous.filter(|p| {
        matches!(
            serial.partial_cmp(p),
            Some(Ordering::Greater | Ordering::Equal)
        )
    });
    let mark = applying_set(serial, from, rules);
    let swap = |old: Option<RecordSet>, new: &RecordSet| match old {
        None => Change::Create { set: new.clone() },
        Some(old) => Change::Modify {
            old,
            new: new.clone(),
        },
    };
    // room in every batch for the largest `_serial` swap
    let reserve = Size::of(&swap(Some(mark.clone()), &mark));
    let limits = RequestLimits {
        max_values: rules.limits.max_values.saturating_sub(reserve.values),
        max_chars: rules.limits.max_chars.saturating_sub(reserve.chars),
    };
    // the same changes in the same order, packed again (not copied: a big
    // plan's changes are most of its memory)
    let changes = batches.drain(..).flat_map(|b| b.changes).collect();
    batches = pack(changes, limits, rules)?;
    if batches.len() < 2 {
        batches.push(Batch::default());
    }
    // The mark goes first and the target last, in batches of their own when
    // a name too large for the room left fills those; a batch in between
    // with no room is the only one sent without the compare-and-swap.
    let first = swap(current.clone(), &mark);
    if !fits(&batches[0], &first) {
        batches.insert(0, Batch::default());
    }
    if !fits(
        &batches[batches.len() - 1],
        &swap(Some(mark.clone()), &target),
    ) {
        batches.push(Batch::default());
    }
    let count = batches.len();
    let mut before = current;
    for (i, batch) in batches.iter_mut().enumerate() {
        let after = if i + 1 == count { &target } else { &mark };
        let change = swap(before.clone(), after);
        if fits(batch, &change) {
            batch.changes.push(change);
            before = Some(after.clone());
        }
    }
    Ok(batches)
}

/// The `_serial` set while a plan to `serial` is being applied.
fn applying_set(serial: Serial, from: Option<Serial>, rules: &ZoneRules) -> RecordSet {
    let from = from.map_or(String::new(), |f| format!(" from {f}"));
    RecordSet {
        values: vec![format!("\"{APPLYING} {serial}{from}\"")],
        ..serial_set(serial, rules)
    }
}

fn serial_change(current: Option<RecordSet>, new: &RecordSet) -> Option<Change> {
    let new = new.clone();
    match current {
        None => Some(Change::Create { set: new }),
        Some(old) if equivalent(&old, &new) => None,
        Some(old) => Some(Change::Modify { old, new }),
    }
}

/// The word that starts a `_serial` value of a plan not yet fully applied.
const APPLYING: &str = "applying";

/// What Route 53's `_serial` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialMark {
    /// Every record of this serial is in Route 53.
    Complete(Serial),
    /// A plan to `to` began and has not finished: Route 53 holds part of it,
    /// on top of all of `from` when there was one.
    Applying { to: Serial, from: Option<Serial> },
}

impl SerialMark {
    /// The last serial Route 53 held in full.
    pub fn complete(self) -> Option<Serial> {
        match self {
            SerialMark::Complete(serial) => Some(serial),
            SerialMark::Applying { from, .. } => from,
        }
    }

    /// The newest serial Route 53 holds or is being brought to.
    pub fn newest(self) -> Serial {
        match self {
            SerialMark::Complete(serial) | SerialMark::Applying { to: serial, .. } => serial,
        }
    }
}

/// What a `_serial` set says, when it is one xfr53 wrote.
pub fn mark_of(set: &RecordSet) -> Option<SerialMark> {
    let [value] = set.values.as_slice() else {
        return None;
    };
    let text = value.strip_prefix('"')?.strip_suffix('"')?;
    let number = |t: &str| t.parse().ok().map(Serial);
    match text.split(' ').collect::<Vec<_>>().as_slice() {
        [serial] => number(serial).map(SerialMark::Complete),
        [APPLYING, to] => Some(SerialMark::Applying {
            to: number(to)?,
            from: None,
        }),
        [APPLYING, to, "from", from] => Some(SerialMark::Applying {
            to: number(to)?,
            from: Some(number(from)?),
        }),
        _ => None,
    }
}

/// The serial a `_serial` set holds when all of it is in Route 53.
pub fn serial_of(set: &RecordSet) -> Option<Serial> {
    match mark_of(set)? {
        SerialMark::Complete(serial) => Some(serial),
        SerialMark::Applying { .. } => None,
    }
}
