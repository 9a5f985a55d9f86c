//! A plan as text for people: `+` create, `-` delete, `~` modify.

use std::fmt;

use super::diff::Change;
use super::plan::Plan;
use super::rrset::RecordSet;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.previous_serial {
            Some(previous) => writeln!(
                f,
                "zone {}: serial {previous} -> {}",
                self.zone, self.serial
            )?,
            None => writeln!(
                f,
                "zone {}: serial {} (Route 53 has no _serial)",
                self.zone, self.serial
            )?,
        }
        let count = self.batches.len();
        let mut serial_changes = 0;
        for (i, batch) in self.batches.iter().enumerate() {
            let size = batch.size();
            // counted as the summary counts: the zone's record sets, and
            // the `_serial` bookkeeping (at most one per batch) apart
            let serial = batch
                .changes
                .iter()
                .filter(|c| c.set().name == self.serial_name)
                .count();
            serial_changes += serial;
            writeln!(
                f,
                "batch {}/{count}: {} changes{}, {} values, {} characters",
                i + 1,
                batch.changes.len() - serial,
                if serial > 0 { " + _serial" } else { "" },
                size.values,
                size.chars
            )?;
            for change in &batch.changes {
                write_change(f, change)?;
            }
        }
        for u in self.unmanaged.iter() {
            writeln!(f, "= {} {} left alone: {}", u.name, u.rtype, u.reason)?;
        }
        for refusal in &self.refusals {
            let verdict = if self.forced { "FORCED" } else { "REFUSED" };
            writeln!(f, "{verdict}: {refusal}")?;
        }
        let s = &self.summary;
        write!(
            f,
            "summary: {} to create, {} to delete, {} to modify, {} unmanaged",
            s.create, s.delete, s.modify, s.unmanaged
        )?;
        if serial_changes > 0 {
            write!(f, ", + {serial_changes} to _serial")?;
        }
        write!(f, "; {} batch(es)", s.batches)?;
        if self.is_refused() {
            write!(f, "; refused (use --force to apply anyway)")?;
        }
        writeln!(f)
    }
}

fn write_change(f: &mut fmt::Formatter<'_>, change: &Change) -> fmt::Result {
    let value_lines = |f: &mut fmt::Formatter<'_>,
                       sign: char,
                       set: &RecordSet,
                       only: &dyn Fn(&String) -> bool| {
        set.values
            .iter()
            .filter(|v| only(v))
            .try_for_each(|v| writeln!(f, "    {sign} {} {v}", set.ttl))
    };
    match change {
        Change::Create { set } => {
            writeln!(f, "  + {} {}", set.name, set.rtype)?;
            value_lines(f, '+', set, &|_| true)
        }
        Change::Delete { set } => {
            writeln!(f, "  - {} {}", set.name, set.rtype)?;
            value_lines(f, '-', set, &|_| true)
        }
        Change::Modify { old, new } => {
            writeln!(f, "  ~ {} {}", new.name, new.rtype)?;
            // With the same TTL, show only values that come or go.
            let same_ttl = old.ttl == new.ttl;
            value_lines(f, '-', old, &|v| !same_ttl || !new.values.contains(v))?;
            value_lines(f, '+', new, &|v| !same_ttl || !old.values.contains(v))
        }
    }
}
