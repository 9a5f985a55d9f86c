//! SVCB/HTTPS parameters as RFC 9460 presents them (section 2.1 and
//! appendix A): `key` or `key=value`, the value quoted or not, keys named by
//! the IANA "Service Parameter Keys (SvcParamKeys)" registry or written
//! `keyNNNNN`. Any other key (such as `unknown7`) is refused, as is a key
//! given twice. The result is the parameters' wire form, sorted by key.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::BASE64;

use super::text::{char_string, number, Escapes};

/// The registry: RFC 9460 section 14.3.2, RFC 9461 (dohpath), RFC 9540 (ohttp).
const KEYS: [(&str, u16); 9] = [
    ("mandatory", 0),
    ("alpn", 1),
    ("no-default-alpn", 2),
    ("port", 3),
    ("ipv4hint", 4),
    ("ech", 5),
    ("ipv6hint", 6),
    ("dohpath", 7),
    ("ohttp", 8),
];

/// The wire form of the parameters in `fields`.
pub fn params(fields: &[&str]) -> Result<Vec<u8>, String> {
    let mut by_key = BTreeMap::<u16, Vec<u8>>::new();
    let mut mandatory = Vec::new();
    for field in fields {
        let (key_text, value) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (*field, None),
        };
        let (key, named) = key_number(key_text)?;
        let value = value
            .map(|v| char_string(v, Escapes::Decimal))
            .transpose()
            .map_err(|why| format!("{key_text}: {why}"))?;
        let wire = match named {
            true => named_value(key, value, &mut mandatory),
            false => {
                let wire = value.unwrap_or_default();
                check_wire(key, &wire)?;
                if key == 0 {
                    mandatory.extend(wire.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])));
                }
                Ok(wire)
            }
        }
        .map_err(|why| format!("{field}: {why}"))?;
        if by_key.insert(key, wire).is_some() {
            return Err(format!("SvcParamKey {key_text} is given twice"));
        }
    }
    for key in &mandatory {
        if *key == 0 || !by_key.contains_key(key) {
            return Err(format!(
                "mandatory lists key{key}, which is absent or mandatory itself"
            ));
        }
    }
    if by_key.contains_key(&2) && !by_key.contains_key(&1) {
        return Err("no-default-alpn needs alpn".into());
    }
    let mut out = Vec::new();
    for (key, value) in by_key {
        out.extend(key.to_be_bytes());
        out.extend((value.len() as u16).to_be_bytes());
        out.extend(value);
    }
    Ok(out)
}

/// (number, whether the key was written by name)
fn key_number(text: &str) -> Result<(u16, bool), String> {
    if let Some((_, n)) = KEYS.iter().find(|(name, _)| *name == text) {
        return Ok((*n, true));
    }
    let digits = text
        .strip_prefix("key")
        .filter(|d| !d.is_empty() && (d.len() == 1 || !d.starts_with('0')))
        .and_then(|d| number(d, 65534))
        .ok_or_else(|| format!("unrecognized SvcParamKey {text:?}"))?;
    Ok((digits as u16, false))
}

/// The wire value of a key written by name, from its presentation value.
fn named_value(
    key: u16,
    value: Option<Vec<u8>>,
    mandatory: &mut Vec<u16>,
) -> Result<Vec<u8>, String> {
    let needs = |v: Option<Vec<u8>>| v.filter(|v| !v.is_empty()).ok_or("needs a value");
    let mut out = Vec::new();
    match key {
        0 => {
            let names = list(&needs(value)?)?;
            let mut keys = Vec::new();
            for item in names {
                let text = String::from_utf8(item).map_err(|_| "not a key")?;
                match key_number(&text)? {
                    (k, _) if keys.contains(&k) => return Err(format!("{text} listed twice")),
                    (k, _) => keys.push(k),
                }
            }
            keys.sort_unstable();
            mandatory.extend(&keys);
            keys.iter().for_each(|k| out.extend(k.to_be_bytes()));
        }
        1 => {
            for id in list(&needs(value)?)? {
                if id.is_empty() || id.len() > 255 {
                    return Err("an alpn-id must be 1 to 255 bytes".into());
                }
                out.push(id.len() as u8);
                out.extend(id);
            }
        }
        2 | 8 => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err("takes no value".into());
            }
        }
        3 => {
            let text = String::from_utf8(needs(value)?).map_err(|_| "not a port")?;
            let port = number(&text, 65535).ok_or("not a port number")?;
            out.extend((port as u16).to_be_bytes());
        }
        4 => {
            for item in list(&needs(value)?)? {
                let ip: Ipv4Addr = address(&item)?;
                out.extend(ip.octets());
            }
        }
        5 => {
            let text = needs(value)?;
            out = BASE64.decode(&text).map_err(|_| "not base64")?;
        }
        6 => {
            for item in list(&needs(value)?)? {
                let ip: Ipv6Addr = address(&item)?;
                out.extend(ip.octets());
            }
        }
        7 => {
            // RFC 9461: a relative URI Template with a "dns" variable
            let template = String::from_utf8(needs(value)?).map_err(|_| "not UTF-8")?;
            if !template.starts_with('/') || !has_dns_variable(&template) {
                return Err("dohpath must be a relative URI Template with a dns variable".into());
            }
            out.extend(template.bytes());
        }
        _ => unreachable!("only registered keys have names"),
    }
    Ok(out)
}

fn address<T: std::str::FromStr>(item: &[u8]) -> Result<T, String> {
    std::str::from_utf8(item)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{} is not an address", String::from_utf8_lossy(item)))
}

fn has_dns_variable(template: &str) -> bool {
    template.split('{').skip(1).any(|expression| {
        let inner = expression.split('}').next().unwrap_or("");
        inner
            .trim_start_matches(['?', '&', '+', '#', '.', '/', ';'])
            .split(',')
            .any(|v| v == "dns")
    })
}

/// RFC 9460 appendix A.1: a comma-separated list whose items escape `,`
/// and `\` with a backslash (after the char-string was decoded).
fn list(decoded: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut items = vec![Vec::new()];
    let mut bytes = decoded.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b',' => items.push(Vec::new()),
            b'\\' => match bytes.next() {
                Some(&e @ (b',' | b'\\')) => items.last_mut().unwrap().push(e),
                _ => return Err("a backslash in a list escapes only , or \\".into()),
            },
            _ => items.last_mut().unwrap().push(b),
        }
    }
    if items.iter().any(Vec::is_empty) {
        return Err("an empty item in a list".into());
    }
    Ok(items)
}

/// Checks a registered key's value written in the generic `keyNNNNN` form.
fn check_wire(key: u16, wire: &[u8]) -> Result<(), String> {
    let ok = match key {
        0 => !wire.is_empty() && wire.len().is_multiple_of(2),
        1 => !wire.is_empty() && alpn_wire(wire),
        2 | 8 => wire.is_empty(),
        3 => wire.len() == 2,
        4 => !wire.is_empty() && wire.len().is_multiple_of(4),
        6 => !wire.is_empty() && wire.len().is_multiple_of(16),
        7 => std::str::from_utf8(wire).is_ok_and(|t| t.starts_with('/') && has_dns_variable(t)),
        _ => true,
    };
    match ok {
        true => Ok(()),
        false => Err(format!("key{key} has a malformed value")),
    }
}

fn alpn_wire(mut wire: &[u8]) -> bool {
    while let Some((&len, rest)) = wire.split_first() {
        if len == 0 || rest.len() < usize::from(len) {
            return false;
        }
        wire = &rest[usize::from(len)..];
    }
    true
}
