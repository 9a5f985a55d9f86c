//! Record values in the presentation format Route 53 expects and returns.
//!
//! `render` turns hickory RDATA into that text; `normalize` puts text read
//! back from Route 53 into the same form, so values written by xfr53 (or by
//! another tool, with other spacing, case or quoting) compare equal when they
//! mean the same thing. A value that does not parse is returned unchanged and
//! simply compares unequal.

use std::borrow::Cow;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::rdata::svcb::{SvcParamValue, SVCB};
use hickory_proto::rr::RData;

use super::name::Name;
use super::rrset::RrType;

/// Route 53's limit on the length of one value.
pub const MAX_VALUE_CHARS: usize = 4000;

/// The presentation text of `rdata` as a value of a `rtype` set.
/// `None` when the data does not belong to that type.
pub fn render(rtype: RrType, rdata: &RData) -> Option<String> {
    let name = |n: &hickory_proto::rr::Name| Name::from_hickory(n).to_string();
    Some(match (rtype, rdata) {
        (RrType::A, RData::A(a)) => a.0.to_string(),
        (RrType::AAAA, RData::AAAA(a)) => a.0.to_string(),
        (RrType::CAA, RData::CAA(caa)) => format!(
            "{} {} {}",
            caa.flags(),
            caa.tag().as_str(),
            quote(caa.raw_value())
        ),
        (RrType::CNAME, RData::CNAME(n)) => name(&n.0),
        (RrType::NS, RData::NS(n)) => name(&n.0),
        (RrType::PTR, RData::PTR(n)) => name(&n.0),
        (RrType::DS, RData::DNSSEC(DNSSECRData::DS(ds))) => format!(
            "{} {} {} {}",
            ds.key_tag(),
            u8::from(ds.algorithm()),
            u8::from(ds.digest_type()),
            hex(ds.digest())
        ),
        (RrType::HTTPS, RData::HTTPS(h)) => svcb(&h.0),
        (RrType::SVCB, RData::SVCB(s)) => svcb(s),
        (RrType::MX, RData::MX(mx)) => format!("{} {}", mx.preference(), name(mx.exchange())),
        (RrType::NAPTR, RData::NAPTR(n)) => format!(
            "{} {} {} {} {} {}",
            n.order(),
            n.preference(),
            quote(n.flags()),
            quote(n.services()),
            quote(n.regexp()),
            name(n.replacement())
        ),
        (RrType::SRV, RData::SRV(srv)) => format!(
            "{} {} {} {}",
            srv.priority(),
            srv.weight(),
            srv.port(),
            name(srv.target())
        ),
        (RrType::SSHFP, RData::SSHFP(s)) => format!(
            "{} {} {}",
            u8::from(s.algorithm()),
            u8::from(s.fingerprint_type()),
            hex(s.fingerprint())
        ),
        (RrType::TLSA, RData::TLSA(t)) => format!(
            "{} {} {} {}",
            u8::from(t.cert_usage()),
            u8::from(t.selector()),
            u8::from(t.matching()),
            hex(t.cert_data())
        ),
        (RrType::TXT, RData::TXT(txt)) => quote_all(txt.iter().map(|s| &s[..])),
        // hickory has no SPF type: its RDATA arrives as opaque bytes, the
        // same character-strings as TXT.
        (RrType::SPF, RData::Unknown { rdata, .. }) => {
            quote_all(character_strings(rdata.anything())?.into_iter())
        }
        (RrType::SOA, RData::SOA(soa)) => format!(
            "{} {} {} {} {} {} {}",
            name(soa.mname()),
            name(soa.rname()),
            soa.serial(),
            soa.refresh(),
            soa.retry(),
            soa.expire(),
            soa.minimum()
        ),
        _ => return None,
    })
}

/// `text` (a value read from Route 53) in the form `render` produces.
pub fn normalize(rtype: RrType, text: &str) -> Cow<'_, str> {
    match try_normalize(rtype, text) {
        Some(n) if n != text => Cow::Owned(n),
        _ => Cow::Borrowed(text),
    }
}

/// How each field of a value is written.
#[derive(Clone, Copy)]
enum Field {
    Ipv4,
    Ipv6,
    Num,
    Word,
    Name,
    Str,
    /// every remaining token, as hexadecimal digits (spaces allowed inside)
    HexRest,
    /// every remaining token, each a character-string
    StrRest,
    /// every remaining token as it is (SVCB parameters)
    WordRest,
}

fn schema(rtype: RrType) -> &'static [Field] {
    use Field::*;
    match rtype {
        RrType::A => &[Ipv4],
        RrType::AAAA => &[Ipv6],
        RrType::CAA => &[Num, Word, Str],
        RrType::CNAME | RrType::NS | RrType::PTR => &[Name],
        RrType::DS => &[Num, Num, Num, HexRest],
        RrType::HTTPS | RrType::SVCB => &[Num, Name, WordRest],
        RrType::MX => &[Num, Name],
        RrType::NAPTR => &[Num, Num, Str, Str, Str, Name],
        RrType::SRV => &[Num, Num, Num, Name],
        RrType::SSHFP => &[Num, Num, HexRest],
        RrType::TLSA => &[Num, Num, Num, HexRest],
        RrType::TXT | RrType::SPF => &[StrRest],
        RrType::SOA => &[Name, Name, Num, Num, Num, Num, Num],
    }
}

fn try_normalize(rtype: RrType, text: &str) -> Option<String> {
    let tokens = tokenize(text)?;
    let mut tokens = tokens.iter();
    let mut out: Vec<String> = Vec::new();
    for field in schema(rtype) {
        let rest = || tokens.clone();
        match field {
            Field::HexRest => {
                let digits: String = rest().map(|t| t.text.as_str()).collect();
                out.push(hex(&decode_hex(&digits)?));
                tokens = [].iter();
            }
            Field::StrRest => {
                out.push(quote_all(rest().map(|t| t.bytes.as_slice())));
                tokens = [].iter();
            }
            Field::WordRest => {
                out.extend(rest().map(|t| t.text.clone()));
                tokens = [].iter();
            }
            single => {
                let token = tokens.next()?;
                out.push(match single {
                    Field::Ipv4 => token.text.parse::<Ipv4Addr>().ok()?.to_string(),
                    Field::Ipv6 => token.text.parse::<Ipv6Addr>().ok()?.to_string(),
                    Field::Num => token.text.parse::<u32>().ok()?.to_string(),
                    Field::Word => token.text.to_ascii_lowercase(),
                    Field::Name => Name::parse_route53(&token.text).ok()?.to_string(),
                    _ => quote(&token.bytes),
                });
            }
        }
    }
    if tokens.next().is_some() || out.is_empty() {
        return None;
    }
    Some(out.join(" "))
}

struct Token {
    /// the token as written, quotes removed
    text: String,
    /// its bytes with escapes decoded
    bytes: Vec<u8>,
}

/// Splits a value on spaces outside quotes. Inside quotes `\"`, `\\` and
/// `\ooo` (octal, as Route 53 writes TXT data) are decoded.
fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.bytes().peekable();
    while let Some(&c) = chars.peek() {
        if c == b' ' || c == b'\t' {
            chars.next();
            continue;
        }
        let quoted = c == b'"';
        if quoted {
            chars.next();
        }
        let (mut raw, mut bytes) = (Vec::new(), Vec::new());
        loop {
            match chars.next() {
                None if quoted => return None,
                None => break,
                Some(b'"') if quoted => break,
                Some(b' ' | b'\t') if !quoted => break,
                Some(b'\\') => {
                    let next = chars.next()?;
                    raw.extend([b'\\', next]);
                    if next.is_ascii_digit() {
                        let (d2, d3) = (chars.next()?, chars.next()?);
                        raw.extend([d2, d3]);
                        let value = [next, d2, d3]
                            .iter()
                            .try_fold(0u32, |v, d| (*d as char).to_digit(8).map(|d| v * 8 + d))?;
                        bytes.push(u8::try_from(value).ok()?);
                    } else {
                        bytes.push(next);
                    }
                }
                Some(b) => {
                    raw.push(b);
                    bytes.push(b);
                }
            }
        }
        tokens.push(Token {
            text: String::from_utf8(raw).ok()?,
            bytes,
        });
    }
    Some(tokens)
}

/// One character-string, quoted as Route 53 writes it: `"` and `\` escaped,
/// bytes outside printable ASCII as three-digit octal escapes.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\{b:03o}").expect("writing to a String"),
        }
    }
    out.push('"');
    out
}

fn quote_all<'a>(strings: impl Iterator<Item = &'a [u8]>) -> String {
    let mut out = String::new();
    for s in strings {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&quote(s));
    }
    if out.is_empty() {
        out.push_str("\"\"");
    }
    out
}

/// Splits RDATA into RFC 1035 character-strings (each a length byte and data).
pub fn character_strings(mut data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        if rest.len() < len as usize {
            return None;
        }
        let (s, rest) = rest.split_at(len as usize);
        out.push(s);
        data = rest;
    }
    Some(out)
}

fn svcb(s: &SVCB) -> String {
    let mut out = format!(
        "{} {}",
        s.svc_priority(),
        Name::from_hickory(s.target_name())
    );
    for (key, value) in s.svc_params() {
        let joined = |items: Vec<String>| items.join(",");
        let value = match value {
            SvcParamValue::Mandatory(m) => joined(m.0.iter().map(|k| k.to_string()).collect()),
            SvcParamValue::Alpn(a) => joined(a.0.clone()),
            SvcParamValue::NoDefaultAlpn => String::new(),
            SvcParamValue::Port(p) => p.to_string(),
            SvcParamValue::Ipv4Hint(h) => joined(h.0.iter().map(|a| a.0.to_string()).collect()),
            SvcParamValue::Ipv6Hint(h) => joined(h.0.iter().map(|a| a.0.to_string()).collect()),
            SvcParamValue::EchConfigList(e) => data_encoding::BASE64.encode(&e.0),
            SvcParamValue::Unknown(u) => quote(&u.0),
        };
        out.push(' ');
        out.push_str(&key.to_string());
        if !value.is_empty() {
            out.push('=');
            out.push_str(&value);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXUPPER.encode(bytes)
}

fn decode_hex(digits: &str) -> Option<Vec<u8>> {
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(digits.as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_quoting_is_route53s() {
        assert_eq!(quote(b"a \"b\" \\c"), r#""a \"b\" \\c""#);
        assert_eq!(quote(&[0, 200, b'x']), r#""\000\310x""#);
    }

    #[test]
    fn normalizes_equivalent_spellings() {
        assert_eq!(normalize(RrType::AAAA, "2001:DB8:0:0::1"), "2001:db8::1");
        assert_eq!(
            normalize(RrType::MX, "10   Mail.Example.COM"),
            "10 mail.example.com."
        );
        assert_eq!(normalize(RrType::TXT, "unquoted"), "\"unquoted\"");
        assert_eq!(normalize(RrType::TXT, r#""a\042b""#), r#""a\"b""#);
        assert_eq!(normalize(RrType::DS, "1 8 2 ab cd"), "1 8 2 ABCD");
        assert!(matches!(
            normalize(RrType::A, "192.0.2.1"),
            Cow::Borrowed(_)
        ));
        // not a valid value: left as it is, so it compares unequal
        assert_eq!(normalize(RrType::A, "not-an-ip"), "not-an-ip");
    }
}
