//! A state file's envelope: a header naming the format and a SHA-256 of
//! the rest, then whom the file was written for, then its payload; and
//! files replaced atomically.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::state::Provenance;
use crate::core::name::Name;

/// The first bytes of every state file, and the format's version.
const MAGIC: &str = "xfr53-state 1";

/// The envelope of a state file:
/// `MAGIC sha256=<hex of the rest>\n<provenance JSON>\n<payload>`, and
/// that checksum.
pub(super) fn envelope(provenance: &Provenance, payload: &[u8]) -> (Vec<u8>, String) {
    let mut body = serde_json::to_vec(provenance).expect("provenance serializes");
    body.push(b'\n');
    body.extend_from_slice(payload);
    let checksum = sha256_hex(&body);
    let mut out = format!("{MAGIC} sha256={checksum}\n").into_bytes();
    out.extend_from_slice(&body);
    (out, checksum)
}

/// The provenance, checksum and payload of `bytes`, or why they cannot be
/// trusted.
pub(super) fn open_envelope(bytes: &[u8]) -> Result<(Provenance, String, &[u8]), String> {
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
    Ok((provenance, checksum.to_string(), payload))
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

/// A state file's provenance and payload when it is intact and written for
/// `zone`; else `None`, with a warning when it existed.
pub(super) fn read_checked(path: &Path, zone: &Name) -> Option<(Provenance, String, Vec<u8>)> {
    let bytes = std::fs::read(path).ok()?;
    match open_envelope(&bytes) {
        Ok((provenance, _, _)) if provenance.zone != zone.as_str() => {
            tracing::warn!(zone = %zone, file = %path.display(), written_for = provenance.zone, "state: dropping a file written for another zone");
            None
        }
        Ok((provenance, checksum, payload)) => Some((provenance, checksum, payload.to_vec())),
        Err(why) => {
            tracing::warn!(zone = %zone, file = %path.display(), "state: dropping a file that fails its check ({why}); the next sync transfers and lists in full");
            None
        }
    }
}

/// Writes `payload` in its envelope to `path`, and returns its checksum;
/// `None` removes it.
pub(super) fn write_checked(
    path: &Path,
    provenance: &Provenance,
    payload: Option<Vec<u8>>,
) -> Result<Option<String>> {
    let Some(payload) = payload else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(None),
        };
    };
    let (bytes, checksum) = envelope(provenance, &payload);
    replace_file(path, &bytes)?;
    Ok(Some(checksum))
}

/// Replaces `path` with `bytes` atomically, through a temporary file of
/// this process's own.
pub(super) fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
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
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The provenance the engine's unit tests write for.
    pub(in crate::engine) fn provenance() -> Provenance {
        Provenance {
            zone: "example.com.".into(),
            source: vec!["192.0.2.1:53".into()],
            hosted_zone_id: "Z1".into(),
        }
    }

    #[test]
    fn an_envelope_opens_to_what_was_put_in() {
        let (sealed, checksum) = envelope(&provenance(), b"payload\nwith lines");
        let (p, sum, payload) = open_envelope(&sealed).unwrap();
        assert_eq!(sum, checksum);
        assert_eq!(p, provenance());
        assert_eq!(payload, b"payload\nwith lines");
    }

    #[test]
    fn a_truncated_or_flipped_file_fails_its_check() {
        let (sealed, _) = envelope(&provenance(), &[7u8; 300]);
        for cut in [sealed.len() - 1, sealed.len() - 100, 90] {
            assert!(open_envelope(&sealed[..cut]).is_err(), "cut at {cut}");
        }
        for at in [sealed.len() - 1, sealed.len() - 200, 80] {
            let mut flipped = sealed.clone();
            flipped[at] ^= 0x01;
            assert!(open_envelope(&flipped).is_err(), "flipped at {at}");
        }
    }
}
