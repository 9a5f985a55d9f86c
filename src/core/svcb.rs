//! SVCB and HTTPS RDATA (RFC 9460) between presentation text and wire form.
//!
//! Two values are the same when their wire forms are: whatever spelling a
//! zone file, the Route 53 console or another tool used (quoted or not,
//! `key1=` or `alpn=`, any key order), it is parsed into wire form and
//! rendered back one way. Keys 0-6 are rendered by name and every other key
//! as `keyNNNNN`, the one form every RFC 9460 parser must accept (BIND 9.18
//! prints dohpath as `key7` too). SvcParamValues are RFC 9460
//! character-strings with decimal `\DDD` escapes; the target is a name as
//! everywhere else in Route 53 values.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::escape::{self, Digits};
use super::name::Name;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const OHTTP: u16 = 8;
/// Reserved as "Invalid key" (RFC 9460 14.3.2).
const INVALID: u16 = 65535;

/// Keys rendered by name (RFC 9460's registry); read by name too, with
/// dohpath (RFC 9461) and ohttp (RFC 9540).
const NAMED: [&str; 9] = [
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
    "dohpath",
    "ohttp",
];
const RENDERED_BY_NAME: u16 = IPV6HINT;

/// One SVCB or HTTPS record's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svcb {
    pub priority: u16,
    pub target: Name,
    /// Each SvcParamValue in wire form, by key (so in wire order).
    pub params: BTreeMap<u16, Vec<u8>>,
}

/// Why SVCB/HTTPS data could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SvcbError(pub String);

fn fail<T>(reason: impl Into<String>) -> Result<T, SvcbError> {
    Err(SvcbError(reason.into()))
}

impl Svcb {
    /// Reads presentation-format tokens: priority, target name, then
    /// SvcParams, each with its quotes removed and its escapes still written
    /// (`alpn="h2,h3"` arrives as `alpn=h2,h3`). `target` reads the name.
    pub fn parse(
        tokens: &[&str],
        target: impl FnOnce(&str) -> Result<Name, String>,
    ) -> Result<Svcb, SvcbError> {
        let [priority, name, params @ ..] = tokens else {
            return fail("needs a priority and a target name");
        };
        let Ok(priority) = priority.parse::<u16>() else {
            return fail(format!(
                "priority {priority:?} is not a number from 0 to 65535"
            ));
        };
        let target = target(name).map_err(SvcbError)?;
        let mut map = BTreeMap::new();
        for param in params {
            let (key, value) = parse_param(param)?;
            if map.insert(key, value).is_some() {
                return fail(format!("{} appears twice", key_name(key)));
            }
        }
        if let Some(listed) = map.get(&MANDATORY) {
            for key in listed.chunks(2).map(|k| u16::from_be_bytes([k[0], k[1]])) {
                if !map.contains_key(&key) {
                    let key = key_name(key);
                    return fail(format!(
                        "mandatory lists {key}, which the record does not have"
                    ));
                }
            }
        }
        let svcb = Svcb {
            priority,
            target,
            params: map,
        };
        if svcb.to_wire().len() > usize::from(u16::MAX) {
            return fail("longer than 65535 bytes of RDATA");
        }
        Ok(svcb)
    }

    /// The RDATA in wire form (the target uncompressed).
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = self.priority.to_be_bytes().to_vec();
        for label in self.target.labels() {
            out.push(label.len() as u8);
            out.extend(label);
        }
        out.push(0);
        for (key, value) in &self.params {
            out.extend(key.to_be_bytes());
            out.extend((value.len() as u16).to_be_bytes());
            out.extend(value);
        }
        out
    }

    /// Reads RDATA in wire form (an uncompressed target, as RFC 9460 requires).
    pub fn from_wire(wire: &[u8]) -> Result<Svcb, SvcbError> {
        let mut input = Input(wire);
        let priority = input.u16()?;
        let mut labels = Vec::new();
        loop {
            let len = input.take(1)?[0];
            if len == 0 {
                break;
            }
            if len > 63 {
                return fail("a compressed or malformed target name");
            }
            labels.push(input.take(usize::from(len))?);
        }
        let mut params = BTreeMap::new();
        while !input.0.is_empty() {
            let key = input.u16()?;
            let len = input.u16()?;
            if params
                .last_key_value()
                .is_some_and(|(last, _)| *last >= key)
            {
                return fail("SvcParamKeys out of order");
            }
            params.insert(key, input.take(usize::from(len))?.to_vec());
        }
        Ok(Svcb {
            priority,
            target: Name::from_labels(labels),
            params,
        })
    }

    /// The one presentation form: keys in wire order, keys 0-6 by name and
    /// the others as `keyNNNNN`, no quotes unless a value needs them.
    pub fn render(&self) -> String {
        let mut out = format!("{} {}", self.priority, self.target);
        for (&key, value) in &self.params {
            // A value without its key's format keeps its bytes, written raw.
            let (name, text) = match render_known(key, value) {
                Some(text) => (key_name(key), text),
                None => (format!("key{key}"), char_string(value)),
            };
            out.push(' ');
            out.push_str(&name);
            if !text.is_empty() {
                out.push('=');
                out.push_str(&text);
            }
        }
        out
    }
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SvcbError> {
        if self.0.len() < n {
            return fail("RDATA ends too soon");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, SvcbError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// `keyNNNNN` or, for keys 0-6, the registered name.
fn key_name(key: u16) -> String {
    match NAMED.get(usize::from(key)) {
        Some(name) if key <= RENDERED_BY_NAME => name.to_string(),
        _ => format!("key{key}"),
    }
}

/// A key as written: by name, or as `keyNNNNN` (then its value is the wire
/// form itself). Lowercase, no leading zeros (RFC 9460 2.1, as BIND reads it).
fn parse_key(text: &str) -> Result<(u16, bool), SvcbError> {
    let key = match NAMED.iter().position(|n| *n == text) {
        Some(i) => return Ok((i as u16, false)),
        None => text
            .strip_prefix("key")
            .filter(|n| !n.starts_with('0') || *n == "0")
            .and_then(|n| n.parse::<u16>().ok()),
    };
    match key {
        Some(INVALID) => fail("key65535 is reserved as the invalid key"),
        Some(key) => Ok((key, true)),
        None => fail(format!(
            "unknown SvcParamKey {text:?}: write it as keyNNNNN (RFC 9460 2.1)"
        )),
    }
}

/// One `key[=value]`: the key and its value in wire form.
fn parse_param(param: &str) -> Result<(u16, Vec<u8>), SvcbError> {
    let (key_text, value) = param.split_once('=').unwrap_or((param, ""));
    let (key, generic) = parse_key(key_text)?;
    let in_param = |reason: String| SvcbError(format!("{param:?}: {reason}"));
    let bytes = escape::decode(value, Digits::Decimal).map_err(|e| in_param(e.to_string()))?;
    let wire = if generic {
        bytes
    } else {
        value_wire(key, &bytes).map_err(in_param)?
    };
    if !wire_ok(key, &wire) {
        return Err(in_param(format!(
            "not a valid {} value in wire form",
            key_name(key)
        )));
    }
    Ok((key, wire))
}

/// Whether a wire value has the format its key requires.
fn wire_ok(key: u16, value: &[u8]) -> bool {
    match key {
        MANDATORY => {
            let keys: Vec<u16> = value
                .chunks(2)
                .map(|k| u16::from_be_bytes([k[0], k.get(1).copied().unwrap_or(0)]))
                .collect();
            value.len().is_multiple_of(2)
                && !keys.is_empty()
                && !keys.contains(&MANDATORY)
                && keys.windows(2).all(|w| w[0] < w[1])
        }
        OHTTP => value.is_empty(),
        ALPN | NO_DEFAULT_ALPN | PORT | IPV4HINT | IPV6HINT => render_known(key, value).is_some(),
        _ => true,
    }
}

/// A decoded SvcParamValue in wire form, checked as its key requires.
fn value_wire(key: u16, value: &[u8]) -> Result<Vec<u8>, String> {
    let text = || String::from_utf8_lossy(value).into_owned();
    let items = || -> Result<Vec<Vec<u8>>, String> {
        let items = split_list(value)?;
        if items.is_empty() {
            return Err("needs at least one item".into());
        }
        Ok(items)
    };
    let item_texts = || -> Result<Vec<String>, String> {
        items()?
            .into_iter()
            .map(|i| String::from_utf8(i).map_err(|_| "an item is not text".to_string()))
            .collect()
    };
    Ok(match key {
        MANDATORY => {
            let mut keys = BTreeSet::new();
            for item in item_texts()? {
                let (listed, _) = parse_key(&item).map_err(|e| e.0)?;
                if listed == MANDATORY {
                    return Err("mandatory must not list itself".into());
                }
                if !keys.insert(listed) {
                    return Err(format!("lists {item} twice"));
                }
            }
            keys.into_iter().flat_map(u16::to_be_bytes).collect()
        }
        ALPN => {
            let mut wire = Vec::new();
            for id in items()? {
                if id.len() > 255 {
                    return Err("an ALPN id longer than 255 bytes".into());
                }
                wire.push(id.len() as u8);
                wire.extend(id);
            }
            wire
        }
        NO_DEFAULT_ALPN | OHTTP if !value.is_empty() => return Err("takes no value".into()),
        PORT => text()
            .parse::<u16>()
            .map_err(|_| "not a port number from 0 to 65535".to_string())?
            .to_be_bytes()
            .to_vec(),
        IPV4HINT => addresses::<Ipv4Addr, 4>(item_texts()?, |a| a.octets())?,
        IPV6HINT => addresses::<Ipv6Addr, 16>(item_texts()?, |a| a.octets())?,
        ECH => data_encoding::BASE64
            .decode(value)
            .map_err(|e| format!("not base64: {e}"))?,
        _ => value.to_vec(),
    })
}

fn addresses<A: std::str::FromStr, const N: usize>(
    items: Vec<String>,
    octets: impl Fn(A) -> [u8; N],
) -> Result<Vec<u8>, String> {
    let mut wire = Vec::new();
    for item in items {
        let address = item
            .parse::<A>()
            .map_err(|_| format!("{item:?} is not an address of this family"))?;
        wire.extend(octets(address));
    }
    Ok(wire)
}

/// Splits a decoded value on commas (RFC 9460 A.1): `\,` and `\\` stand for
/// a comma and a backslash inside an item; an empty item is an error.
fn split_list(value: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => {
                let next = bytes.next().ok_or("a list ends in a backslash")?;
                items.last_mut().expect("never empty").push(*next);
            }
            b',' => items.push(Vec::new()),
            b => items.last_mut().expect("never empty").push(b),
        }
    }
    if items.iter().any(Vec::is_empty) {
        return Err("an empty item in a comma-separated list".into());
    }
    Ok(items)
}

/// The presentation of a registered key's value, `None` when the wire
/// value does not have that key's format (it is then written as raw bytes).
fn render_known(key: u16, value: &[u8]) -> Option<String> {
    let join = |items: Vec<String>| Some(items.join(","));
    match key {
        MANDATORY if !value.is_empty() && value.len().is_multiple_of(2) => {
            let keys: BTreeSet<u16> = value
                .chunks(2)
                .map(|k| u16::from_be_bytes([k[0], k[1]]))
                .collect();
            if keys.contains(&MANDATORY) {
                return None;
            }
            join(keys.into_iter().map(key_name).collect())
        }
        ALPN => {
            let mut ids = Vec::new();
            let mut rest = value;
            while let Some((&len, tail)) = rest.split_first() {
                if len == 0 || tail.len() < usize::from(len) {
                    return None;
                }
                let (id, tail) = tail.split_at(usize::from(len));
                let mut item = Vec::with_capacity(id.len());
                for &b in id {
                    if b == b',' || b == b'\\' {
                        item.push(b'\\');
                    }
                    item.push(b);
                }
                ids.push(char_string(&item));
                rest = tail;
            }
            if ids.is_empty() {
                return None;
            }
            join(ids)
        }
        NO_DEFAULT_ALPN if value.is_empty() => Some(String::new()),
        PORT if value.len() == 2 => Some(u16::from_be_bytes([value[0], value[1]]).to_string()),
        IPV4HINT if !value.is_empty() && value.len().is_multiple_of(4) => join(
            value
                .chunks(4)
                .map(|a| Ipv4Addr::from(<[u8; 4]>::try_from(a).expect("4 bytes")).to_string())
                .collect(),
        ),
        IPV6HINT if !value.is_empty() && value.len().is_multiple_of(16) => join(
            value
                .chunks(16)
                .map(|a| Ipv6Addr::from(<[u8; 16]>::try_from(a).expect("16 bytes")).to_string())
                .collect(),
        ),
        ECH => Some(data_encoding::BASE64.encode(value)),
        _ => None,
    }
}

/// A character-string: `"` and `\` escaped, bytes outside printable ASCII
/// as decimal `\DDD`; quoted only when it holds a space or a zone-file
/// special character.
fn char_string(bytes: &[u8]) -> String {
    let out = escape::encode(bytes, Digits::Decimal);
    if out.contains([' ', ';', '(', ')']) {
        format!("\"{out}\"")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_relative(text: &str) -> Result<Name, String> {
        let origin = Name::parse_route53("example.com.").unwrap();
        Name::parse_presentation(text, &origin).map_err(|e| e.to_string())
    }

    fn parse(text: &str) -> Result<Svcb, SvcbError> {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        Svcb::parse(&tokens, root_relative)
    }

    fn wire_hex(text: &str) -> String {
        data_encoding::HEXLOWER.encode(&parse(text).unwrap().to_wire())
    }

    /// RFC 9460 Appendix D.1 and D.2: presentation -> wire, and back.
    #[test]
    fn appendix_d_vectors() {
        // (presentation with quotes already removed, wire in hex)
        let vectors = [
            (
                "0 foo.example.com.",
                "0000 03666f6f076578616d706c6503636f6d00",
            ),
            ("1 .", "0001 00"),
            (
                "16 foo.example.com. port=53",
                "0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035",
            ),
            (
                "1 foo.example.com. key667=hello",
                "0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f",
            ),
            (
                r"1 foo.example.com. key667=hello\210qoo",
                "0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd2716f6f",
            ),
            (
                "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1",
                "0001 03666f6f076578616d706c6503636f6d00 0006 0020 \
                 20010db8000000000000000000000001 20010db8000000000000000000530001",
            ),
            (
                "1 example.com. ipv6hint=2001:db8:122:344::192.0.2.33",
                "0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221",
            ),
            (
                "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
                "0010 03666f6f076578616d706c65036f726700 0000 0004 00010004 \
                 0001 0009 026832 0568332d3139 0004 0004 c0000201",
            ),
            (
                r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
                "0010 03666f6f076578616d706c65036f726700 0001 000c 08665c6f6f2c626172 026832",
            ),
            (
                r"16 foo.example.org. alpn=f\\\092oo\092,bar,h2",
                "0010 03666f6f076578616d706c65036f726700 0001 000c 08665c6f6f2c626172 026832",
            ),
        ];
        for (text, hex) in vectors {
            let hex: String = hex.split_whitespace().collect();
            assert_eq!(wire_hex(text), hex, "{text}");
            let svcb = parse(text).unwrap();
            let rendered = svcb.render();
            assert_eq!(parse(&rendered).unwrap(), svcb, "{text} -> {rendered}");
            assert_eq!(Svcb::from_wire(&svcb.to_wire()).unwrap(), svcb);
        }
    }

    /// RFC 9460 Appendix D.3: each of these must be refused.
    #[test]
    fn appendix_d_failure_cases() {
        for text in [
            "1 foo.example.com. key123=abc key123=def",
            "1 foo.example.com. mandatory",
            "1 foo.example.com. alpn",
            "1 foo.example.com. port",
            "1 foo.example.com. ipv4hint",
            "1 foo.example.com. ipv6hint",
            "1 foo.example.com. no-default-alpn=abc",
            "1 foo.example.com. mandatory=key123",
            "1 foo.example.com. mandatory=mandatory",
            "1 foo.example.com. mandatory=key123,key123 key123=abc",
        ] {
            assert!(parse(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn one_spelling_per_meaning() {
        let canonical = "1 . alpn=h3,h2 ipv4hint=192.0.2.1";
        for spelling in [
            "1 . alpn=h3,h2 ipv4hint=192.0.2.1",
            "1 . ipv4hint=192.0.2.1 alpn=h3,h2",
            r"1 . key1=\002h3\002h2 key4=\192\000\002\001",
            r"1 . alpn=\104\051,h2 ipv4hint=192.0.2.1",
            "0001 . alpn=h3,h2 ipv4hint=192.0.2.1",
        ] {
            assert_eq!(parse(spelling).unwrap().render(), canonical, "{spelling}");
        }
    }

    #[test]
    fn unregistered_keys_render_as_key_nnnnn() {
        let svcb = parse("1 . dohpath=/dns-query{?dns} ohttp key65280=a\\032b").unwrap();
        assert_eq!(
            svcb.render(),
            r#"1 . key7=/dns-query{?dns} key8 key65280="a b""#
        );
        assert!(!svcb.render().contains("unknown"));
        assert!(parse("1 . ohttp=x").is_err());
        assert!(parse("1 . key65535=x").is_err());
        assert!(parse("1 . foo=x").unwrap_err().0.contains("keyNNNNN"));
    }

    #[test]
    fn malformed_wire_values_render_as_raw_bytes() {
        let mut svcb = parse("1 . port=443").unwrap();
        svcb.params.insert(PORT, vec![1, 2, 3]);
        assert_eq!(svcb.render(), r"1 . key3=\001\002\003");
        let back = parse(&svcb.render());
        assert!(back.is_err(), "a port of 3 bytes is no port");
        // BIND refuses these too
        assert!(parse("1 . key1=h2").is_err());
        assert!(parse("1 . ALPN=h2").is_err());
        assert!(parse("1 . key0001=h2").is_err());
    }

    #[test]
    fn escapes_above_255_are_errors() {
        let err = parse(r"1 . key667=a\256").unwrap_err();
        assert!(err.0.contains("\\256 is above 255"), "{err}");
    }
}
