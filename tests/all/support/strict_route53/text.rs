//! Presentation text: fields split on spaces outside quotes, and the two
//! escape styles a value meets. Route 53's own strings (TXT, SPF, CAA,
//! NAPTR) escape a byte as `\ooo` in OCTAL, as its developer guide says;
//! SVCB/HTTPS follow RFC 9460, whose char-strings are RFC 1035's, with
//! `\DDD` in DECIMAL. Raw control characters and non-ASCII are refused in
//! both: they must be escaped.

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// `\ooo`, three octal digits (Route 53)
    Octal,
    /// `\DDD`, three decimal digits up to 255 (RFC 1035 section 5.1)
    Decimal,
}

/// The fields of a value: split on spaces and tabs outside double quotes;
/// a backslash keeps the next character in its field.
pub fn fields(value: &str) -> Result<Vec<&str>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut quoted, mut i) = (None, false, 0);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' if !quoted => {
                if let Some(s) = start.take() {
                    out.push(&value[s..i]);
                }
            }
            b => {
                start.get_or_insert(i);
                match b {
                    b'"' => quoted = !quoted,
                    b'\\' => i += 1,
                    _ => {}
                }
            }
        }
        i += 1;
    }
    if quoted {
        return Err("unterminated quoted string".into());
    }
    if let Some(s) = start {
        out.push(&value[s..]);
    }
    Ok(out)
}

/// The bytes of one character-string field, quoted or not.
pub fn char_string(field: &str, escapes: Escapes) -> Result<Vec<u8>, String> {
    let inner = match field.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .filter(|_| !rest.is_empty() && !ends_escaped(rest))
            .ok_or_else(|| format!("unterminated quoted string {field}"))?,
        None => field,
    };
    unescape(inner, escapes, field.starts_with('"'))
}

fn ends_escaped(quoted_rest: &str) -> bool {
    // `"abc\"` ends in an escaped quote, not a closing one
    let body = &quoted_rest[..quoted_rest.len() - 1];
    body.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Decodes escapes in `text`; a raw `"` is refused, a raw space only
/// inside quotes is allowed.
pub fn unescape(text: &str, escapes: Escapes, quoted: bool) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => {
                let rest = &bytes[i + 1..];
                let next = *rest
                    .first()
                    .ok_or_else(|| format!("dangling escape in {text}"))?;
                if next.is_ascii_digit() {
                    out.push(numeric(rest, escapes).ok_or_else(|| {
                        format!(
                            "bad escape \\{} in {text}",
                            &text[i + 1..(i + 4).min(text.len())]
                        )
                    })?);
                    i += 4;
                    continue;
                }
                if !(0x20..0x7f).contains(&next) {
                    return Err(format!("raw byte after an escape in {text}"));
                }
                out.push(next);
                i += 2;
                continue;
            }
            b'"' => return Err(format!("unescaped quote in {text}")),
            b' ' if quoted => out.push(b),
            0x21..=0x7e => out.push(b),
            _ => {
                return Err(format!(
                    "a raw character {:?} must be written as an escape",
                    text[i..].chars().next().unwrap_or('?')
                ))
            }
        }
        i += 1;
    }
    Ok(out)
}

fn numeric(rest: &[u8], escapes: Escapes) -> Option<u8> {
    match escapes {
        Escapes::Octal => super::names::octal(rest),
        Escapes::Decimal => {
            let digits = rest.get(..3)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            u8::try_from(value).ok()
        }
    }
}

/// An unsigned decimal number of at most `max`.
pub fn number(field: &str, max: u64) -> Option<u64> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) || field.len() > 10 {
        return None;
    }
    field.parse().ok().filter(|n| *n <= max)
}

/// Hexadecimal digits in any case, possibly split over several fields.
pub fn hex(fields: &[&str]) -> Option<Vec<u8>> {
    let joined: String = fields.concat();
    if joined.is_empty() || joined.len() % 2 == 1 || !joined.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    (0..joined.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(joined.get(i..i + 2)?, 16).ok())
        .collect()
}
