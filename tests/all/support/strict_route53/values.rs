//! Each record type's value, read with the double's own parser (formats
//! from the Route 53 developer guide's "Supported DNS record types" and the
//! RFCs that define each type) into its MEANING: the RDATA in wire form,
//! names lowercased, so two spellings of one value compare equal. A value
//! that does not parse is refused with a reason in Route 53's words.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::names::{fatal, Name};
use super::svcb;
use super::text::{char_string, fields, hex, number, Escapes};

/// The record types Route 53 accepts.
pub const TYPES: [&str; 17] = [
    "A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV",
    "SSHFP", "SVCB", "TLSA", "TXT",
];

/// Route 53 refuses a value longer than this.
pub const MAX_VALUE_CHARS: usize = 4000;

/// The wire form of `value` as a `rtype` record, or why Route 53 refuses it.
pub fn meaning(rtype: &str, value: &str) -> Result<Vec<u8>, String> {
    if value.len() > MAX_VALUE_CHARS {
        return Err(invalid(
            "RRDATATooLong",
            &format!("Value is longer than {MAX_VALUE_CHARS} characters"),
            &value.chars().take(40).collect::<String>(),
        ));
    }
    let parsed = match rtype {
        "TXT" | "SPF" => strings(value),
        _ => {
            let f = fields(value).map_err(|why| invalid("InvalidRRDATA", &why, value))?;
            by_fields(rtype, &f)
        }
    };
    parsed.map_err(|(code, why)| invalid(&code, &why, value))
}

fn invalid(code: &str, why: &str, value: &str) -> String {
    format!("Invalid Resource Record: '{}'", fatal(code, why, value))
}

type Parsed = Result<Vec<u8>, (String, String)>;

fn problem(code: impl Into<String>, why: impl Into<String>) -> (String, String) {
    (code.into(), why.into())
}

fn by_fields(rtype: &str, f: &[&str]) -> Parsed {
    let count = |n: usize| {
        if f.len() == n {
            Ok(())
        } else {
            Err(problem(
                format!("{rtype}RRDATAIncorrectNumberOfFields"),
                format!("{rtype} value must have {n} fields, has {}", f.len()),
            ))
        }
    };
    let at_least = |n: usize| {
        if f.len() >= n {
            Ok(())
        } else {
            Err(problem(
                format!("{rtype}RRDATAIncorrectNumberOfFields"),
                format!("{rtype} value must have at least {n} fields"),
            ))
        }
    };
    let mut out = Vec::new();
    match rtype {
        "A" => {
            count(1)?;
            let ip: Ipv4Addr = f[0].parse().map_err(|_| {
                problem(
                    "ARRDATAIllegalIPv4Address",
                    "Value is not a valid IPv4 address",
                )
            })?;
            out.extend(ip.octets());
        }
        "AAAA" => {
            count(1)?;
            let ip: Ipv6Addr = f[0].parse().map_err(|_| {
                problem(
                    "AAAARRDATAIllegalIPv6Address",
                    "Value is not a valid IPv6 address",
                )
            })?;
            out.extend(ip.octets());
        }
        "CNAME" | "NS" | "PTR" => {
            count(1)?;
            out.extend(name(f[0])?);
        }
        "MX" => {
            count(2)?;
            out.extend(u16_field(f[0], "preference")?);
            out.extend(name(f[1])?);
        }
        "SRV" => {
            count(4)?;
            for (field, what) in f[..3].iter().zip(["priority", "weight", "port"]) {
                out.extend(u16_field(field, what)?);
            }
            out.extend(name(f[3])?);
        }
        "SOA" => {
            count(7)?;
            out.extend(name(f[0])?);
            out.extend(name(f[1])?);
            for field in &f[2..] {
                let n = number(field, u64::from(u32::MAX)).ok_or_else(|| {
                    problem("SOARRDATAIllegalNumber", "Value is not a 32-bit number")
                })?;
                out.extend((n as u32).to_be_bytes());
            }
        }
        "CAA" => {
            // RFC 8659: flags, a tag of letters and digits (case-insensitive), a value
            count(3)?;
            out.push(u8_field(f[0], "flags")?);
            let tag = f[1];
            if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(problem(
                    "CAARRDATAIllegalTag",
                    "Tag must be 1 to 15 letters or digits",
                ));
            }
            out.push(tag.len() as u8);
            out.extend(tag.to_ascii_lowercase().bytes());
            out.extend(string(f[2])?);
        }
        "DS" => {
            // RFC 4034 section 5.3: key tag, algorithm, digest type, hex digest
            at_least(4)?;
            out.extend(u16_field(f[0], "key tag")?);
            out.push(u8_field(f[1], "algorithm")?);
            let digest_type = u8_field(f[2], "digest type")?;
            out.push(digest_type);
            let digest = hex_field(&f[3..])?;
            let expected = match digest_type {
                1 => Some(20),
                2 => Some(32),
                4 => Some(48),
                _ => None,
            };
            if expected.is_some_and(|n| n != digest.len()) {
                return Err(problem(
                    "DSRRDATAIllegalDigestLength",
                    format!(
                        "Digest type {digest_type} needs {} bytes",
                        expected.unwrap()
                    ),
                ));
            }
            out.extend(digest);
        }
        "SSHFP" => {
            // RFC 4255: algorithm, fingerprint type, hex fingerprint
            at_least(3)?;
            out.push(u8_field(f[0], "algorithm")?);
            out.push(u8_field(f[1], "fingerprint type")?);
            out.extend(hex_field(&f[2..])?);
        }
        "TLSA" => {
            // RFC 6698 section 2.2: usage, selector, matching type, hex data
            at_least(4)?;
            for (field, what) in f[..3].iter().zip(["usage", "selector", "matching type"]) {
                out.push(u8_field(field, what)?);
            }
            out.extend(hex_field(&f[3..])?);
        }
        "NAPTR" => {
            // RFC 3403: order, preference, flags, services, regexp, replacement
            count(6)?;
            out.extend(u16_field(f[0], "order")?);
            out.extend(u16_field(f[1], "preference")?);
            for field in &f[2..5] {
                let bytes = string(field)?;
                out.push(bytes.len() as u8);
                out.extend(bytes);
            }
            out.extend(name(f[5])?);
        }
        "SVCB" | "HTTPS" => {
            at_least(2)?;
            out.extend(u16_field(f[0], "priority")?);
            out.extend(name(f[1])?);
            out.extend(
                svcb::params(&f[2..]).map_err(|why| problem("SVCBRRDATAIllegalParam", why))?,
            );
        }
        other => {
            return Err(problem(
                "UnsupportedType",
                format!("Route 53 does not support type {other}"),
            ))
        }
    }
    Ok(out)
}

/// TXT and SPF: one or more quoted strings of at most 255 bytes each.
fn strings(value: &str) -> Parsed {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    loop {
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        if i == bytes.len() && !out.is_empty() {
            return Ok(out);
        }
        if bytes.get(i) != Some(&b'"') {
            return Err(problem(
                "InvalidCharacterString",
                "Value should be enclosed in quotation marks",
            ));
        }
        let start = i;
        i += 1;
        loop {
            match bytes.get(i) {
                None => {
                    return Err(problem(
                        "InvalidCharacterString",
                        "Value should be enclosed in quotation marks",
                    ))
                }
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        i += 1;
        let decoded = char_string(&value[start..i], Escapes::Octal)
            .map_err(|why| problem("InvalidCharacterString", why))?;
        if decoded.len() > 255 {
            return Err(problem("CharacterStringTooLong", "Value is too long"));
        }
        out.push(decoded.len() as u8);
        out.extend(decoded);
    }
}

/// A character-string field of CAA or NAPTR, quoted or not.
fn string(field: &str) -> Parsed {
    let bytes =
        char_string(field, Escapes::Octal).map_err(|why| problem("InvalidCharacterString", why))?;
    if bytes.len() > 255 {
        return Err(problem("CharacterStringTooLong", "Value is too long"));
    }
    Ok(bytes)
}

fn name(field: &str) -> Parsed {
    let parsed = Name::read(field).map_err(|(code, why, _)| problem(code, why))?;
    Ok(parsed.wire())
}

fn u16_field(field: &str, what: &str) -> Result<[u8; 2], (String, String)> {
    number(field, u64::from(u16::MAX))
        .map(|n| (n as u16).to_be_bytes())
        .ok_or_else(|| {
            problem(
                "IllegalNumber",
                format!("{what} must be a number from 0 to 65535"),
            )
        })
}

fn u8_field(field: &str, what: &str) -> Result<u8, (String, String)> {
    number(field, 255).map(|n| n as u8).ok_or_else(|| {
        problem(
            "IllegalNumber",
            format!("{what} must be a number from 0 to 255"),
        )
    })
}

fn hex_field(f: &[&str]) -> Parsed {
    hex(f).ok_or_else(|| problem("IllegalHex", "Value is not hexadecimal"))
}
