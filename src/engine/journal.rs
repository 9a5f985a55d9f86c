//! The journal beside a zone's state files: the changes made since the
//! files were written, appended one entry per save, so a one-record change
//! costs a write of that change, not of the zone.
//!
//! The journal names the files it extends (`base`, from their checksums),
//! and each entry carries a SHA-256 chained over the one before, so an
//! entry torn by a crash, a journal left from older files, or one another
//! process wrote onto is never replayed: the state is then the files plus
//! the entries that check, an older state, which the next sync corrects.
//! An entry whose deltas do not apply drops the whole state.

use anyhow::{bail, Context, Result};
use data_encoding::BASE64;
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::plan::Batch;
use crate::core::serial::Serial;
use crate::core::zone::Delta;

/// The first bytes of a journal, and the format's version.
const MAGIC: &str = "xfr53-journal 1 base=";

/// One save's changes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// IXFR deltas applied to the held copy, in order.
    deltas: Vec<WireDelta>,
    /// Batches applied to the Route 53 view, and its serial after them;
    /// absent when the state holds no view.
    view: Option<ViewEdit>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ViewEdit {
    pub serial: u32,
    pub batches: Vec<Batch>,
}

/// A delta with its records in DNS wire form (base64).
#[derive(Debug, Serialize, Deserialize)]
struct WireDelta {
    from: u32,
    to: u32,
    soa: String,
    removed: Vec<String>,
    added: Vec<String>,
}

impl Entry {
    pub fn new(deltas: &[Delta], view: Option<ViewEdit>) -> Result<Entry> {
        let wire = |r: &Record| -> Result<String> {
            Ok(BASE64.encode(
                &r.to_bytes()
                    .with_context(|| format!("encoding {r} for the journal"))?,
            ))
        };
        let all = |records: &[Record]| records.iter().map(wire).collect::<Result<Vec<_>>>();
        let deltas = deltas
            .iter()
            .map(|d| {
                Ok(WireDelta {
                    from: d.from.0,
                    to: d.to.0,
                    soa: wire(&d.soa)?,
                    removed: all(&d.removed)?,
                    added: all(&d.added)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Entry { deltas, view })
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty() && self.view.as_ref().is_none_or(|v| v.batches.is_empty())
    }

    /// The deltas and the view's edit, decoded.
    pub fn open(self) -> Result<(Vec<Delta>, Option<ViewEdit>)> {
        let record = |text: &String| -> Result<Record> {
            let bytes = BASE64.decode(text.as_bytes())?;
            Ok(Record::from_bytes(&bytes)?)
        };
        let all = |records: &[String]| records.iter().map(record).collect::<Result<Vec<_>>>();
        let deltas = self
            .deltas
            .iter()
            .map(|d| {
                Ok(Delta {
                    from: Serial(d.from),
                    to: Serial(d.to),
                    soa: record(&d.soa)?,
                    removed: all(&d.removed)?,
                    added: all(&d.added)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((deltas, self.view))
    }
}

/// Where a journal stands: what it extends, its last link, its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub base: String,
    pub link: [u8; 32],
    pub len: u64,
}

/// The base of a journal extending state files with these checksums.
pub fn base(checksums: &[&str]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(checksums.join("\n").as_bytes()))
}

/// A new journal on `base`, with no entries.
pub fn start(base: &str) -> (Vec<u8>, Head) {
    let bytes = format!("{MAGIC}{base}\n").into_bytes();
    let head = Head {
        base: base.to_string(),
        link: Sha256::digest(base.as_bytes()).into(),
        len: bytes.len() as u64,
    };
    (bytes, head)
}

/// The bytes appending `entry` after `head`, and the head after them.
pub fn append(head: &Head, entry: &Entry) -> (Vec<u8>, Head) {
    let payload = serde_json::to_vec(entry).expect("an entry serializes");
    let link = chain(&head.link, &payload);
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&link);
    let len = head.len + bytes.len() as u64;
    let head = Head {
        link,
        len,
        ..head.clone()
    };
    (bytes, head)
}

/// The entries of `bytes` that extend `base` and check, the head after
/// them, and whether anything after them was dropped (a torn or foreign
/// tail). An error when the journal is not on `base` at all.
pub fn read(bytes: &[u8], base: &str) -> Result<(Vec<Entry>, Head, bool)> {
    let (header, mut head) = start(base);
    let Some(mut rest) = bytes.strip_prefix(header.as_slice()) else {
        bail!("it extends other state files");
    };
    let mut entries = Vec::new();
    while let [a, b, c, d, after @ ..] = rest {
        let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        if after.len() < len + 32 {
            break;
        }
        let (payload, after) = after.split_at(len);
        let (link, after) = after.split_at(32);
        if chain(&head.link, payload).as_slice() != link {
            break;
        }
        let Ok(entry) = serde_json::from_slice(payload) else {
            break;
        };
        entries.push(entry);
        head.link.copy_from_slice(link);
        head.len += (4 + len + 32) as u64;
        rest = after;
    }
    Ok((entries, head, !rest.is_empty()))
}

fn chain(link: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(link);
    hash.update(payload);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: u32) -> Entry {
        Entry {
            deltas: Vec::new(),
            view: Some(ViewEdit {
                serial,
                batches: vec![Batch::default()],
            }),
        }
    }

    fn journal(entries: u32) -> Vec<u8> {
        let (mut bytes, mut head) = start("b");
        for serial in 0..entries {
            let (more, next) = append(&head, &entry(serial));
            bytes.extend(more);
            head = next;
        }
        assert_eq!(head.len, bytes.len() as u64);
        bytes
    }

    fn serials(entries: &[Entry]) -> Vec<u32> {
        entries
            .iter()
            .map(|e| e.view.as_ref().unwrap().serial)
            .collect()
    }

    #[test]
    fn entries_read_back_in_order() {
        let (entries, head, dropped) = read(&journal(3), "b").unwrap();
        assert_eq!(serials(&entries), [0, 1, 2]);
        assert_eq!(head.len, journal(3).len() as u64);
        assert!(!dropped);
    }

    #[test]
    fn a_torn_or_damaged_tail_is_dropped_and_the_rest_kept() {
        let whole = journal(3);
        let two = journal(2).len();
        for cut in [whole.len() - 1, two + 5, two + 1] {
            let (entries, head, dropped) = read(&whole[..cut], "b").unwrap();
            assert_eq!(serials(&entries), [0, 1], "cut at {cut}");
            assert_eq!(head.len, two as u64);
            assert!(dropped);
        }
        let mut flipped = whole.clone();
        flipped[two + 10] ^= 1;
        let (entries, _, dropped) = read(&flipped, "b").unwrap();
        assert_eq!(serials(&entries), [0, 1]);
        assert!(dropped);
    }

    #[test]
    fn a_journal_of_other_files_is_not_read() {
        assert!(read(&journal(2), "other").is_err());
        // an entry chained onto another journal's head does not check
        let (mut bytes, _) = start("b");
        let (_, foreign) = append(&start("other").1, &entry(9));
        bytes.extend(append(&foreign, &entry(10)).0);
        let (entries, _, dropped) = read(&bytes, "b").unwrap();
        assert!(entries.is_empty());
        assert!(dropped);
    }
}
