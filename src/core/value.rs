//! Record values in the presentation format Route 53 expects and returns.
//!
//! `render` turns hickory RDATA into that text; `normalize` puts text read
//! back from Route 53 into the same form, so values written by xfr53 (or by
//! another tool, with other spacing, case or quoting) compare equal when they
//! mean the same thing. A value that does not parse is returned unchanged and
//! simply compares unequal.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::rdata::svcb::SVCB;
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::BinEncodable;

use super::escape::{self, Digits};
use super::name::Name;
use super::rrset::RrType;
use super::svcb::Svcb;

/// Route 53's limit on the length of one value.
pub const MAX_VALUE_CHARS: usize = 4000;

/// The presentation text of `rdata` as a value of a `rtype` set.
/// `None` when the data does not belong to that type.
pub fn render(rtype: RrType, rdata: &RData) -> Option<String> {
    let name = |n: &hickory_proto::rr::Name| Name::from_hickory(n).to_string();
    Some(match (rtype, rdata) {
        (RrType::A, RData::A(a)) => a.0.to_string(),
        (RrType::AAAA, RData::AAAA(a)) => a.0.to_string(),
        // Tags are case-insensitive (RFC 8659 4.1); `normalize` lowercases too.
        (RrType::CAA, RData::CAA(caa)) => format!(
            "{} {} {}",
            caa.flags(),
            caa.tag().as_str().to_ascii_lowercase(),
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
        (RrType::HTTPS, RData::HTTPS(h)) => svcb(&h.0)?,
        (RrType::SVCB, RData::SVCB(s)) => svcb(s)?,
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
}

fn schema(rtype: RrType) -> &'static [Field] {
    use Field::*;
    match rtype {
        RrType::A => &[Ipv4],
        RrType::AAAA => &[Ipv6],
        RrType::CAA => &[Num, Word, Str],
        RrType::CNAME | RrType::NS | RrType::PTR => &[Name],
        RrType::DS => &[Num, Num, Num, HexRest],
        // read by `Svcb::parse`, never through this schema
        RrType::HTTPS | RrType::SVCB => &[],
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
    if matches!(rtype, RrType::HTTPS | RrType::SVCB) {
        let texts: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let target = |t: &str| Name::parse_route53(t).map_err(|e| e.to_string());
        return Some(Svcb::parse(&texts, target).ok()?.render());
    }
    let mut tokens = tokens.iter();
    let mut out: Vec<String> = Vec::new();
    for field in schema(rtype) {
        let rest = || tokens.clone();
        match field {
            Field::HexRest => {
                let digits: String = rest().map(String::as_str).collect();
                out.push(hex(&decode_hex(&digits)?));
                tokens = [].iter();
            }
            Field::StrRest => {
                let strings: Option<Vec<Vec<u8>>> = rest().map(|t| route53_bytes(t)).collect();
                out.push(quote_all(strings?.iter().map(Vec::as_slice)));
                tokens = [].iter();
            }
            single => {
                let token = tokens.next()?;
                out.push(match single {
                    Field::Ipv4 => token.parse::<Ipv4Addr>().ok()?.to_string(),
                    Field::Ipv6 => token.parse::<Ipv6Addr>().ok()?.to_string(),
                    Field::Num => token.parse::<u32>().ok()?.to_string(),
                    Field::Word => token.to_ascii_lowercase(),
                    Field::Name => Name::parse_route53(token).ok()?.to_string(),
                    _ => quote(&route53_bytes(token)?),
                });
            }
        }
    }
    if tokens.next().is_some() || out.is_empty() {
        return None;
    }
    Some(out.join(" "))
}

/// Text Route 53 holds: escapes are octal, as it writes TXT data.
fn route53_bytes(token: &str) -> Option<Vec<u8>> {
    escape::decode(token, Digits::Octal).ok()
}

/// Splits a value on blanks outside quotes. Each token comes back as
/// written, quotes removed and escapes kept. A quote opens a token or
/// follows `=` (`alpn="h3,h2"`, as RFC 9460 values are written).
fn tokenize(text: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.peek().is_none() {
            return Some(tokens);
        }
        let mut token = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None if quoted => return None,
                None => break,
                Some('"') if quoted => break,
                Some('"') if token.is_empty() || token.ends_with('=') => quoted = true,
                Some(' ' | '\t') if !quoted => break,
                Some('\\') => {
                    token.push('\\');
                    token.push(chars.next()?);
                }
                Some(c) => token.push(c),
            }
        }
        tokens.push(token);
    }
}

/// One character-string, quoted as Route 53 writes it: `"` and `\` escaped,
/// bytes outside printable ASCII as three-digit octal escapes.
pub fn quote(bytes: &[u8]) -> String {
    format!("\"{}\"", escape::encode(bytes, Digits::Octal))
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

/// Through the wire form, so a transfer's data and a value read back from
/// Route 53 meet in one rendering.
fn svcb(s: &SVCB) -> Option<String> {
    let wire = s.to_bytes().ok()?;
    Some(Svcb::from_wire(&wire).ok()?.render())
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
