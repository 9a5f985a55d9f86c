//! RFC 1035 master files as a source of records, with errors that name the
//! file and line.
//!
//! hickory's own parser reports no line numbers and cannot hold types it does
//! not know, so entries are split here and only the RDATA of types Route 53
//! accepts is handed to hickory's per-type parsers, with names and strings
//! already decoded by `escape` (the one decoder). TXT and SPF strings are
//! decoded here, byte for byte; SVCB and HTTPS are read by `svcb` (hickory
//! 0.25 reads neither quoted values nor dohpath/ohttp). Records of other
//! types are kept with their RDATA unparsed: the converter skips them by
//! type. `$INCLUDE` and `$GENERATE` are refused (they would make this module
//! read files).

use hickory_proto::rr::rdata::{CNAME, MX, NAPTR, NS, NULL, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name as DnsName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable as _, BinEncoder, Restrict};
use hickory_proto::serialize::txt::{Parser, RDataParser};

use super::escape::{self, Digits};
use super::mnemonic;
use super::name::Name;
use super::svcb::Svcb;

/// A zone file error: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct ZoneFileError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// Reads the records of `text` (the content of `file`), relative names
/// completed with `origin`.
pub fn parse(file: &str, text: &str, origin: &Name) -> Result<Vec<Record>, ZoneFileError> {
    let error = |line, reason: String| ZoneFileError {
        file: file.to_string(),
        line,
        reason,
    };
    let mut state = State {
        origin: origin.clone(),
        default_ttl: None,
        last_ttl: None,
        owner: None,
    };
    let mut records = Vec::new();
    for entry in entries(text).map_err(|(line, reason)| error(line, reason))? {
        if let Some(record) = state.entry(&entry).map_err(|r| error(entry.line, r))? {
            records.push(record);
        }
    }
    Ok(records)
}

struct Token {
    text: String,
    quoted: bool,
}

/// One logical line: a directive or a record, parentheses joined.
struct Entry {
    line: usize,
    /// The line started with blank space: the owner is the previous one.
    inherits_owner: bool,
    tokens: Vec<Token>,
}

fn entries(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut entry: Option<Entry> = None;
    let mut open_paren: Option<usize> = None;
    let mut at_line_start = true;
    while let Some(c) = chars.next() {
        let starting = std::mem::replace(&mut at_line_start, false);
        let current = entry.get_or_insert_with(|| Entry {
            line,
            inherits_owner: starting && (c == ' ' || c == '\t'),
            tokens: Vec::new(),
        });
        match c {
            '\n' => {
                if open_paren.is_none() {
                    if let Some(done) = entry.take().filter(|e| !e.tokens.is_empty()) {
                        out.push(done);
                    }
                    entry = None;
                    at_line_start = true;
                }
                line += 1;
            }
            ' ' | '\t' | '\r' => {}
            ';' => while chars.next_if(|&c| c != '\n').is_some() {},
            '(' if open_paren.is_some() => return Err((line, "nested parenthesis".into())),
            '(' => open_paren = Some(line),
            ')' if open_paren.is_none() => return Err((line, "unbalanced ')'".into())),
            ')' => open_paren = None,
            '"' => {
                let mut text = String::new();
                quoted(&mut chars, &mut text).map_err(|e| (line, e))?;
                current.tokens.push(Token { text, quoted: true });
            }
            c => {
                let mut text = String::from(c);
                if c == '\\' {
                    text.extend(chars.next());
                }
                while let Some(c) = chars.next_if(|c| !" \t\r\n;()\"".contains(*c)) {
                    text.push(c);
                    if c == '\\' {
                        text.extend(chars.next());
                    }
                }
                // An RFC 9460 SvcParam: `alpn="h2,h3"` is one token.
                if text.ends_with('=') && chars.next_if_eq(&'"').is_some() {
                    quoted(&mut chars, &mut text).map_err(|e| (line, e))?;
                }
                current.tokens.push(Token {
                    text,
                    quoted: false,
                });
            }
        }
    }
    if let Some(opened) = open_paren {
        return Err((opened, "'(' is never closed".into()));
    }
    out.extend(entry.filter(|e| !e.tokens.is_empty()));
    Ok(out)
}

/// Reads a quoted string after its opening quote onto `text`, escapes kept.
fn quoted(chars: &mut impl Iterator<Item = char>, text: &mut String) -> Result<(), String> {
    loop {
        match chars.next() {
            Some('"') => return Ok(()),
            Some('\\') => {
                text.push('\\');
                text.extend(chars.next());
            }
            Some('\n') | None => return Err("unterminated quoted string".into()),
            Some(c) => text.push(c),
        }
    }
}

struct State {
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    owner: Option<DnsName>,
}

impl State {
    fn entry(&mut self, entry: &Entry) -> Result<Option<Record>, String> {
        let mut tokens = entry.tokens.iter().peekable();
        let first = &entry.tokens[0];
        if !first.quoted && first.text.starts_with('$') && !entry.inherits_owner {
            self.directive(&first.text, &entry.tokens[1..])?;
            return Ok(None);
        }
        if !entry.inherits_owner {
            let owner = tokens.next().expect("an entry has a token");
            self.owner = Some(self.name(&owner.text)?.to_hickory());
        }
        let owner = self
            .owner
            .clone()
            .ok_or("the first record has no owner name")?;
        let mut ttl = None;
        let rtype = loop {
            let token = tokens.next().ok_or("no record type")?;
            if let Ok(t) = Parser::parse_time(&token.text) {
                ttl = Some(t);
            } else if token.text.eq_ignore_ascii_case("IN") {
            } else if ["CH", "HS", "CS", "ANY"]
                .iter()
                .any(|c| token.text.eq_ignore_ascii_case(c))
            {
                return Err(format!("class {} is not supported; only IN", token.text));
            } else {
                break mnemonic::parse(&token.text)
                    .ok_or_else(|| format!("unknown record type {:?}", token.text))?;
            }
        };
        let ttl = match ttl {
            Some(t) => {
                self.last_ttl = Some(t);
                t
            }
            None => self
                .default_ttl
                .or(self.last_ttl)
                .ok_or("no TTL: give one on the record or set $TTL before it")?,
        };
        let rdata: Vec<&Token> = tokens.collect();
        let data = self
            .rdata(rtype, &rdata)
            .and_then(encodes)
            .map_err(|e| format!("{} record of {owner}: {e}", mnemonic::name(rtype)))?;
        Ok(Some(Record::from_rdata(owner, ttl, data)))
    }

    fn directive(&mut self, directive: &str, args: &[Token]) -> Result<(), String> {
        let arg = args
            .first()
            .map(|t| t.text.as_str())
            .ok_or_else(|| format!("{directive} needs an argument"))?;
        match directive.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                self.origin = self.name(arg)?;
            }
            "$TTL" => {
                self.default_ttl =
                    Some(Parser::parse_time(arg).map_err(|e| format!("bad $TTL {arg:?}: {e}"))?)
            }
            other => {
                return Err(format!(
                    "{other} is not supported: expand the file first (e.g. named-compilezone)"
                ))
            }
        }
        Ok(())
    }

    fn name(&self, text: &str) -> Result<Name, String> {
        Name::parse_presentation(text, &self.origin).map_err(|e| e.to_string())
    }

    fn rdata(&self, rtype: RecordType, tokens: &[&Token]) -> Result<RData, String> {
        if tokens.is_empty() {
            return Err("no record data".into());
        }
        match rtype {
            RecordType::TXT => Ok(RData::TXT(TXT::from_bytes(
                character_strings(tokens)?
                    .iter()
                    .map(Vec::as_slice)
                    .collect(),
            ))),
            RecordType::Unknown(super::convert::SPF_TYPE_CODE) => {
                let mut wire = Vec::new();
                for s in character_strings(tokens)? {
                    wire.push(s.len() as u8);
                    wire.extend(s);
                }
                Ok(RData::Unknown {
                    code: rtype,
                    rdata: NULL::with(wire),
                })
            }
            RecordType::HTTPS | RecordType::SVCB => {
                let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
                let svcb = Svcb::parse(&texts, |t| self.name(t)).map_err(|e| e.to_string())?;
                // hickory decodes our wire form, so these records equal a
                // transfer's, byte for byte.
                let wire = svcb.to_wire();
                let length = Restrict::new(wire.len() as u16);
                RData::read(&mut BinDecoder::new(&wire), rtype, length)
                    .map_err(|e| format!("{}: {e}", svcb.render()))
            }
            RecordType::CNAME
            | RecordType::MX
            | RecordType::NAPTR
            | RecordType::NS
            | RecordType::PTR
            | RecordType::SOA
            | RecordType::SRV => self.with_names(rtype, tokens),
            // No names here; a CAA value is the one string, decoded here.
            RecordType::A
            | RecordType::AAAA
            | RecordType::CAA
            | RecordType::DS
            | RecordType::SSHFP
            | RecordType::TLSA => {
                let texts = tokens
                    .iter()
                    .enumerate()
                    .map(|(i, t)| match (rtype, i) {
                        (RecordType::CAA, 1) if t.text.len() > 255 => {
                            Err(format!("a CAA tag of {} bytes; at most 255", t.text.len()))
                        }
                        (RecordType::CAA, 2) => {
                            Ok(String::from_utf8_lossy(&decode(&t.text)?).into_owned())
                        }
                        _ => Ok(t.text.clone()),
                    })
                    .collect::<Result<Vec<String>, String>>()?;
                RData::parse(rtype, texts.iter().map(String::as_str), None)
                    .map_err(|e| e.to_string())
            }
            // Not a type Route 53 holds: the converter skips it by type alone.
            other => Ok(RData::Unknown {
                code: other,
                rdata: NULL::new(),
            }),
        }
    }
}

impl State {
    /// RDATA holding names, built here: hickory's text parser reads `\DDD`
    /// in names as octal and folds bytes above 127 through IDNA.
    fn with_names(&self, rtype: RecordType, tokens: &[&Token]) -> Result<RData, String> {
        let mut fields = Fields {
            state: self,
            tokens: tokens.iter(),
        };
        let f = &mut fields;
        let data = match rtype {
            RecordType::CNAME => RData::CNAME(CNAME(f.name()?)),
            RecordType::NS => RData::NS(NS(f.name()?)),
            RecordType::PTR => RData::PTR(PTR(f.name()?)),
            RecordType::MX => RData::MX(MX::new(f.num()?, f.name()?)),
            RecordType::SRV => RData::SRV(SRV::new(f.num()?, f.num()?, f.num()?, f.name()?)),
            RecordType::NAPTR => RData::NAPTR(NAPTR::new(
                f.num()?,
                f.num()?,
                f.string()?,
                f.string()?,
                f.string()?,
                f.name()?,
            )),
            RecordType::SOA => RData::SOA(SOA::new(
                f.name()?,
                f.name()?,
                f.num()?,
                f.time()?,
                f.time()?,
                f.time()?,
                f.time()?,
            )),
            other => unreachable!("{other} has no names"),
        };
        match fields.tokens.next() {
            Some(extra) => Err(format!("unexpected {:?} after the record data", extra.text)),
            None => Ok(data),
        }
    }
}

/// The fields of one record's data, read in order.
struct Fields<'a> {
    state: &'a State,
    tokens: std::slice::Iter<'a, &'a Token>,
}

impl<'a> Fields<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        match self.tokens.next() {
            Some(t) => Ok(&t.text),
            None => Err(format!("the {what} is missing")),
        }
    }

    fn name(&mut self) -> Result<DnsName, String> {
        let text = self.next("name")?;
        Ok(self.state.name(text)?.to_hickory())
    }

    fn num<T: std::str::FromStr>(&mut self) -> Result<T, String> {
        let text = self.next("number")?;
        text.parse()
            .map_err(|_| format!("{text:?} is not a number in range"))
    }

    fn time<T: TryFrom<u32>>(&mut self) -> Result<T, String> {
        let text = self.next("time")?;
        let seconds = Parser::parse_time(text).map_err(|e| format!("{text:?}: {e}"))?;
        T::try_from(seconds).map_err(|_| format!("{text:?} is out of range"))
    }

    fn string(&mut self) -> Result<Box<[u8]>, String> {
        let text = self.next("string")?;
        Ok(character_string(text)?.into_boxed_slice())
    }
}

/// TXT/SPF character-strings: each at most 255 bytes.
fn character_strings(tokens: &[&Token]) -> Result<Vec<Vec<u8>>, String> {
    tokens.iter().map(|t| character_string(&t.text)).collect()
}

/// An RFC 1035 <character-string>: at most 255 bytes, as `named-checkzone`
/// also requires (it does not split a longer one).
fn character_string(text: &str) -> Result<Vec<u8>, String> {
    let bytes = decode(text)?;
    match bytes.len() {
        0..=255 => Ok(bytes),
        n => Err(format!(
            "a character-string of {n} bytes; split it into strings of at most 255"
        )),
    }
}

/// Refuses data hickory would not write to the wire (the zone model stores
/// every record in wire form), so it fails here at its line.
fn encodes(data: RData) -> Result<RData, String> {
    let mut bytes = Vec::new();
    data.emit(&mut BinEncoder::new(&mut bytes))
        .map_err(|e| format!("cannot be encoded: {e}"))?;
    match bytes.len() {
        0..=65535 => Ok(data),
        n => Err(format!("{n} bytes of record data; at most 65535 fit")),
    }
}

/// A master-file token's bytes: `\DDD` escapes are decimal.
fn decode(text: &str) -> Result<Vec<u8>, String> {
    escape::decode(text, Digits::Decimal).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        Name::parse_route53("example.com.").unwrap()
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "$TTL 300\n@ IN A 192.0.2.1\nwww IN A not-an-address\n";
        let err = parse("x.zone", text, &origin()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err
            .to_string()
            .starts_with("x.zone:3: A record of www.example.com."));
    }

    #[test]
    fn parentheses_join_lines_and_blank_owner_repeats() {
        let text =
            "$TTL 60\n@ SOA ns hostmaster ( 1 ; serial\n 2 3 4 5 )\n  TXT \"a\\\"b\" \"c\\255\"\n";
        let records = parse("x", text, &origin()).unwrap();
        assert_eq!(records.len(), 2);
        let RData::TXT(txt) = records[1].data() else {
            panic!("not TXT")
        };
        assert_eq!(&*txt.txt_data()[0], b"a\"b");
        assert_eq!(&*txt.txt_data()[1], b"c\xff");
    }

    #[test]
    fn unbalanced_and_unsupported() {
        assert_eq!(
            parse("x", "$TTL 1\n@ A (\n", &origin()).unwrap_err().line,
            2
        );
        assert!(parse("x", "$INCLUDE other\n", &origin())
            .unwrap_err()
            .reason
            .contains("not supported"));
        assert!(parse("x", "www A 192.0.2.1\n", &origin())
            .unwrap_err()
            .reason
            .contains("no TTL"));
    }
}
