//! The one decoder of backslash escapes, for names, character-strings and
//! zone-file tokens alike, and the one encoder of character-strings.
//!
//! `\X` stands for the character X; `\` and three digits for one byte. The
//! digits are decimal in master files and RFC 9460 values (RFC 1035 5.1) and
//! octal in what Route 53 writes (names, TXT data). A value above 255 is an
//! error, never a clamped byte.

use std::fmt;

/// How `\` followed by digits is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digits {
    /// `\DDD`: master files and RFC 9460 character-strings.
    Decimal,
    /// `\ooo`: names and TXT data as Route 53 writes them.
    Octal,
}

/// One decoded byte and whether it was escaped: an escaped `.` does not end
/// a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Byte {
    pub value: u8,
    pub escaped: bool,
}

/// Why some text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} in {text:?}")]
pub struct EscapeError {
    pub text: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Dangling,
    ShortDigits,
    BadDigit(char),
    Above255(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Dangling => f.write_str("a backslash with nothing after it"),
            Reason::ShortDigits => f.write_str("a \\ escape needs three digits"),
            Reason::BadDigit(d) => write!(f, "{d:?} is not an octal digit in a \\ escape"),
            Reason::Above255(d) => write!(f, "\\{d} is above 255: a \\DDD escape is one byte"),
        }
    }
}

/// The bytes of `text` with escapes decoded.
pub fn bytes(text: &str, digits: Digits) -> Result<Vec<Byte>, EscapeError> {
    let error = |reason| EscapeError {
        text: text.to_string(),
        reason,
    };
    let mut out = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(b) = input.next() {
        if b != b'\\' {
            out.push(Byte {
                value: b,
                escaped: false,
            });
            continue;
        }
        let first = input.next().ok_or_else(|| error(Reason::Dangling))?;
        let value = if first.is_ascii_digit() {
            let mut next = || input.next().ok_or_else(|| error(Reason::ShortDigits));
            let written = [first, next()?, next()?];
            let radix = match digits {
                Digits::Decimal => 10,
                Digits::Octal => 8,
            };
            let mut value = 0u32;
            for d in written {
                let d = (d as char)
                    .to_digit(radix)
                    .ok_or_else(|| error(digit_error(d)))?;
                value = value * radix + d;
            }
            u8::try_from(value).map_err(|_| {
                error(Reason::Above255(
                    String::from_utf8_lossy(&written).into_owned(),
                ))
            })?
        } else {
            first
        };
        out.push(Byte {
            value,
            escaped: true,
        });
    }
    Ok(out)
}

fn digit_error(d: u8) -> Reason {
    if d.is_ascii_digit() {
        Reason::BadDigit(d as char)
    } else {
        Reason::ShortDigits
    }
}

/// `text` decoded into plain bytes.
pub fn decode(text: &str, digits: Digits) -> Result<Vec<u8>, EscapeError> {
    Ok(bytes(text, digits)?.into_iter().map(|b| b.value).collect())
}

/// The text of a character-string's bytes: `"` and `\` escaped, bytes
/// outside printable ASCII as three `digits`.
pub fn encode(bytes: &[u8], digits: Digits) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => match digits {
                Digits::Decimal => write!(out, "\\{b:03}"),
                Digits::Octal => write!(out, "\\{b:03o}"),
            }
            .expect("writing to a String"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_octal() {
        assert_eq!(decode(r"a\042\.\\", Digits::Decimal).unwrap(), b"a*.\\");
        assert_eq!(decode(r"a\052", Digits::Octal).unwrap(), b"a*");
        assert_eq!(decode(r"\255", Digits::Decimal).unwrap(), [255]);
        assert_eq!(decode(r"\377", Digits::Octal).unwrap(), [255]);
        let escaped = bytes(r"a\.", Digits::Decimal).unwrap();
        assert!(!escaped[0].escaped && escaped[1].escaped);
    }

    #[test]
    fn above_255_is_an_error_not_byte_255() {
        let err = decode(r"x\256", Digits::Decimal).unwrap_err();
        assert_eq!(err.reason, Reason::Above255("256".into()));
        assert!(err.to_string().contains("\\256 is above 255"), "{err}");
        assert!(decode(r"\999", Digits::Decimal).is_err());
        assert!(decode(r"\400", Digits::Octal).is_err());
    }

    #[test]
    fn malformed_escapes() {
        assert_eq!(
            decode("a\\", Digits::Decimal).unwrap_err().reason,
            Reason::Dangling
        );
        assert_eq!(
            decode(r"\12", Digits::Decimal).unwrap_err().reason,
            Reason::ShortDigits
        );
        assert_eq!(
            decode(r"\1a2", Digits::Decimal).unwrap_err().reason,
            Reason::ShortDigits
        );
        assert_eq!(
            decode(r"\018", Digits::Octal).unwrap_err().reason,
            Reason::BadDigit('8')
        );
    }
}
