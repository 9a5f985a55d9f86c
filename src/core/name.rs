//! Canonical owner names in the form Route 53 returns them.
//!
//! Route 53 lists names lowercase and absolute, keeps `a-z 0-9 - _` as they
//! are and writes every other byte as a three-digit *octal* escape (`*` is
//! `\052`, a dot inside a label is `\056`). Zone files use *decimal* `\DDD`
//! escapes instead, so names are always turned into raw labels first and then
//! encoded once, here. Both sides of a diff are compared in this form only.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::escape::{self, Digits};

/// A lowercase, absolute domain name in Route 53's escaped form. Shared,
/// not copied, by its clones: a record set, its key in the Route 53 view
/// and its changes hold one name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(Arc<str>);

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(text: String) -> Result<Name, NameError> {
        Name::parse_route53(&text)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0.to_string()
    }
}

/// Why a name could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid domain name {name:?}: {reason}")]
pub struct NameError {
    pub name: String,
    pub reason: String,
}

impl Name {
    /// Builds a name from raw labels, most specific first.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Name {
        let mut out = String::new();
        for label in labels {
            push_label(&mut out, label);
            out.push('.');
        }
        if out.is_empty() {
            out.push('.');
        }
        Name(out.into())
    }

    /// Converts a hickory name (e.g. an owner name from a zone transfer).
    pub fn from_hickory(name: &hickory_proto::rr::Name) -> Name {
        Name::from_labels(name.iter())
    }

    /// The same name as hickory's type (for building records).
    pub fn to_hickory(&self) -> hickory_proto::rr::Name {
        let mut name = hickory_proto::rr::Name::from_labels(self.labels())
            .expect("a canonical name has valid labels");
        name.set_fqdn(true);
        name
    }

    /// Reads a name as Route 53 writes it: `\ooo` octal escapes, `\X` for a
    /// literal character; a bare `*` is accepted too. A missing trailing dot
    /// is added; case is folded.
    pub fn parse_route53(text: &str) -> Result<Name, NameError> {
        let (labels, _) = split_labels(text, Digits::Octal)?;
        Ok(Name::from_labels(labels.iter().map(Vec::as_slice)))
    }

    /// Reads a name in zone-file presentation format (`\DDD` decimal escapes),
    /// relative names completed with `origin`.
    pub fn parse_presentation(text: &str, origin: &Name) -> Result<Name, NameError> {
        if text == "@" {
            return Ok(origin.clone());
        }
        let (mut labels, absolute) = split_labels(text, Digits::Decimal)?;
        if !absolute {
            labels.extend(origin.labels());
            check_length(&labels).map_err(|reason| NameError {
                name: format!("{text} (in {origin})"),
                reason: reason.into(),
            })?;
        }
        Ok(Name::from_labels(labels.iter().map(Vec::as_slice)))
    }

    /// The raw labels, most specific first, case folded.
    pub fn labels(&self) -> Vec<Vec<u8>> {
        split_labels(&self.0, Digits::Octal)
            .expect("a canonical name always parses")
            .0
    }

    pub fn is_root(&self) -> bool {
        &*self.0 == "."
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this name is `zone` or below it.
    pub fn is_in(&self, zone: &Name) -> bool {
        zone.is_root()
            || self.0 == zone.0
            || (self.0.ends_with(&*zone.0) && self.0[..self.0.len() - zone.0.len()].ends_with('.'))
    }

    /// The part of this name in front of `zone` without its trailing dot
    /// (`www` for `www.example.com.` in `example.com.`); empty at the apex.
    pub fn relative_to(&self, zone: &Name) -> Option<&str> {
        if self == zone {
            return Some("");
        }
        if !self.is_in(zone) {
            return None;
        }
        let cut = if zone.is_root() { 1 } else { zone.0.len() + 1 };
        Some(&self.0[..self.0.len() - cut])
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn push_label(out: &mut String, label: &[u8]) {
    for &byte in label {
        match byte.to_ascii_lowercase() {
            b @ (b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_') => out.push(b as char),
            b => {
                out.push('\\');
                out.push(char::from(b'0' + (b >> 6)));
                out.push(char::from(b'0' + ((b >> 3) & 7)));
                out.push(char::from(b'0' + (b & 7)));
            }
        }
    }
}

/// Splits a textual name into raw labels, decoding escapes; true when it
/// ends in an unescaped dot (is absolute).
fn split_labels(text: &str, digits: Digits) -> Result<(Vec<Vec<u8>>, bool), NameError> {
    let error = |reason: &str| NameError {
        name: text.to_string(),
        reason: reason.to_string(),
    };
    if text.is_empty() {
        return Err(error("empty name"));
    }
    if text == "." {
        return Ok((Vec::new(), true));
    }
    let bytes = escape::bytes(text, digits).map_err(|e| error(&e.reason.to_string()))?;
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label = Vec::new();
    for byte in &bytes {
        if byte.value == b'.' && !byte.escaped {
            labels.push(std::mem::take(&mut label));
        } else {
            label.push(byte.value.to_ascii_lowercase());
        }
    }
    let absolute = bytes.last().is_some_and(|b| b.value == b'.' && !b.escaped);
    if !absolute {
        labels.push(label);
    }
    if labels.iter().any(Vec::is_empty) {
        return Err(error("empty label"));
    }
    check_length(&labels).map_err(error)?;
    Ok((labels, absolute))
}

/// DNS's limits (RFC 1035 2.3.4): labels of at most 63 bytes, a name of at
/// most 255 in wire form.
fn check_length(labels: &[Vec<u8>]) -> Result<(), &'static str> {
    if labels.iter().any(|l| l.len() > 63) {
        return Err("label longer than 63 bytes");
    }
    if labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1 > 255 {
        return Err("name longer than 255 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r53(s: &str) -> Name {
        Name::parse_route53(s).unwrap()
    }

    #[test]
    fn wildcard_is_escaped_as_route53_returns_it() {
        let origin = r53("example.com.");
        let from_file = Name::parse_presentation("*.WWW", &origin).unwrap();
        assert_eq!(from_file.as_str(), "\\052.www.example.com.");
        assert_eq!(r53("*.www.example.com"), from_file);
        assert_eq!(r53("\\052.www.example.com."), from_file);
    }

    #[test]
    fn decimal_and_octal_escapes_mean_different_bytes() {
        let origin = Name::parse_route53(".").unwrap();
        // decimal 042 and octal 052 are both `*`
        let dec = Name::parse_presentation("a\\042b.test.", &origin).unwrap();
        assert_eq!(dec, r53("a\\052b.test."));
        // a dot inside a label
        let dot = Name::parse_presentation("a\\.b.test.", &origin).unwrap();
        assert_eq!(dot.as_str(), "a\\056b.test.");
        assert_eq!(dot.labels(), vec![b"a.b".to_vec(), b"test".to_vec()]);
    }

    #[test]
    fn relative_and_apex_names() {
        let origin = r53("Example.COM");
        assert_eq!(origin.as_str(), "example.com.");
        assert_eq!(Name::parse_presentation("@", &origin).unwrap(), origin);
        let www = Name::parse_presentation("www", &origin).unwrap();
        assert_eq!(www.relative_to(&origin), Some("www"));
        assert_eq!(origin.relative_to(&origin), Some(""));
        assert!(!r53("badexample.com").is_in(&origin));
        assert!(www.is_in(&origin));
    }

    #[test]
    fn punycode_stays_punycode() {
        assert_eq!(
            r53("xn--bcher-kva.example.").as_str(),
            "xn--bcher-kva.example."
        );
    }

    #[test]
    fn a_relative_name_too_long_with_its_origin_is_an_error_naming_it() {
        let origin = r53("example.com");
        // 4 labels of 60 bytes: 244 bytes alone, 257 with the origin
        let long = vec!["a".repeat(60); 4].join(".");
        let error = Name::parse_presentation(&long, &origin).unwrap_err();
        assert_eq!(error.reason, "name longer than 255 bytes");
        assert!(error.name.contains(&long) && error.name.contains("example.com."));
        // the same name fits below a shorter origin
        Name::parse_presentation(&long, &r53("com"))
            .unwrap()
            .to_hickory();
        // in a zone file: an error at its line, not a panic
        let text = format!("$TTL 60\n@ SOA ns admin 1 2 3 4 5\n{long} A 192.0.2.1\n");
        let error = crate::core::zonefile::parse("z.zone", &text, &origin).unwrap_err();
        assert!(error.to_string().contains("z.zone:3"), "{error}");
    }

    #[test]
    fn bad_names_are_errors() {
        assert!(r53_err("a..b"));
        assert!(r53_err("a\\9"));
        assert!(r53_err(&format!("{}.com", "a".repeat(64))));
        fn r53_err(s: &str) -> bool {
            Name::parse_route53(s).is_err()
        }
    }
}
