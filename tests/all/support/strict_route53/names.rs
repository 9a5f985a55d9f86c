//! Domain names as the Route 53 developer guide ("DNS domain name format")
//! describes them: printable ASCII only, other bytes and a `.` inside a
//! label written as `\ooo` three-digit octal escapes, letters stored
//! lowercase whichever way they were written, labels up to 63 bytes, names
//! up to 255 bytes. Route 53 returns every byte other than a-z, 0-9, `-`
//! and `_` as an escape, so `*` comes back as `\052`.

/// A name as labels of lowercase bytes, most specific first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name(Vec<Vec<u8>>);

/// Route 53's wording for a bad name or value: `FATAL problem: CODE (WHY)
/// encountered with 'TEXT'`.
pub fn fatal(code: &str, why: &str, text: &str) -> String {
    format!("FATAL problem: {code} ({why}) encountered with '{text}'")
}

impl Name {
    /// Reads a name as sent to the API; absolute with or without the dot.
    pub fn parse(text: &str) -> Result<Name, String> {
        Name::read(text).map_err(|(code, why, shown)| fatal(code, why, &shown))
    }

    /// Like `parse`; a problem as (code, explanation, what it was found in).
    pub fn read(text: &str) -> Result<Name, (&'static str, &'static str, String)> {
        if text == "." {
            return Ok(Name(Vec::new()));
        }
        let whole = || text.to_string();
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        let bytes = trimmed.as_bytes();
        let mut labels = Vec::new();
        let mut label = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if !(0x21..0x7f).contains(&b) {
                let c = trimmed[i..].chars().next().unwrap_or('?');
                return Err((
                    "UnsupportedCharacter",
                    "Value contains unsupported characters",
                    c.to_string(),
                ));
            }
            match (b, octal(&bytes[i + 1..])) {
                (b'\\', Some(byte)) => {
                    label.push(byte.to_ascii_lowercase());
                    i += 4;
                    continue;
                }
                (b'.', _) => {
                    if label.is_empty() {
                        return Err(("DomainLabelEmpty", "Domain label is empty", whole()));
                    }
                    labels.push(std::mem::take(&mut label));
                }
                // a backslash not starting an octal escape is itself
                (_, _) => label.push(b.to_ascii_lowercase()),
            }
            i += 1;
        }
        if label.is_empty() {
            return Err(("DomainLabelEmpty", "Domain label is empty", whole()));
        }
        labels.push(label);
        if labels.iter().any(|l| l.len() > 63) {
            return Err(("DomainLabelTooLong", "Domain label is too long", whole()));
        }
        let name = Name(labels);
        if name.wire().len() > 255 {
            return Err(("DomainNameTooLong", "Domain name is too long", whole()));
        }
        Ok(name)
    }

    /// Route 53's spelling: lowercase, octal escapes, a trailing dot.
    pub fn render(&self) -> String {
        if self.0.is_empty() {
            return ".".into();
        }
        let mut out = String::new();
        for label in &self.0 {
            for &b in label {
                match b {
                    b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
                    _ => out.push_str(&format!("\\{b:03o}")),
                }
            }
            out.push('.');
        }
        out
    }

    /// The RFC 1035 wire form: length-prefixed labels, then a zero.
    pub fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for label in &self.0 {
            out.push(label.len() as u8);
            out.extend(label);
        }
        out.push(0);
        out
    }

    pub fn is_wildcard(&self) -> bool {
        self.0.first().is_some_and(|l| l == b"*")
    }

    /// Whether `self` is `zone` or below it.
    pub fn is_in(&self, zone: &Name) -> bool {
        self.0.ends_with(&zone.0)
    }

    /// ListResourceRecordSets' order: the rendered labels reversed, as in
    /// `com.example.www.`.
    pub fn order_key(&self) -> String {
        let rendered = self.render();
        let labels: Vec<&str> = rendered.trim_end_matches('.').split('.').collect();
        let mut key: String = labels.into_iter().rev().collect::<Vec<_>>().join(".");
        key.push('.');
        key
    }
}

/// The byte of a `ooo` octal escape at the start of `rest`, if it is one.
pub fn octal(rest: &[u8]) -> Option<u8> {
    let digits = rest.get(..3)?;
    if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
        return None;
    }
    let value = digits.iter().fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
    u8::try_from(value).ok()
}
