//! TOML errors told without the text they point at: a line may hold a
//! secret.

/// A TOML error as line, column, section, key and message, never the
/// source line: the line may hold a secret (BIND's `secret = "..."`).
/// Quoted values in the message are left out for the same reason.
pub(super) fn toml_error(text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message = redact_quoted(error.message().trim());
    let Some(span) = error.span() else {
        return anyhow::anyhow!("{message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let mut place = format!("line {line}, column {column}");
    let section = before
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| l.starts_with('['))
        .and_then(|l| l.split(']').next())
        .map(|l| l.trim_start_matches('['));
    let is_section = |s: &&str| {
        s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if let Some(section) = section.filter(is_section) {
        place.push_str(&format!(", in [{section}]"));
    }
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let current = text[line_start..].lines().next().unwrap_or("");
    // xfr53's keys are lowercase words: a base64 secret pasted alone on a
    // line (its padding looks like `=`) has capitals or digits
    let key = current.split_once('=').map(|(k, _)| k.trim());
    if let Some(key) = key.filter(|k| {
        !k.is_empty() && k.len() <= 40 && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }) {
        place.push_str(&format!(", key {key}"));
    }
    anyhow::anyhow!("TOML error at {place}: {message}")
}

/// `message` with the text of every quoted span replaced: "basic" and
/// 'literal' strings, and `names` (serde's quoting) unless shaped like
/// xfr53's keys or a number (lowercase words, so an unknown-key typo still
/// shows; a base64 secret mixes capitals, digits and letters).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        out.push(c);
        // an apostrophe inside a word ("can't") opens nothing
        let opens = c == '"' || c == '`' || (c == '\'' && !previous.is_alphanumeric());
        previous = c;
        if !opens {
            continue;
        }
        let mut span = String::new();
        while let Some(next) = chars.next() {
            match next {
                '\\' if c == '"' => {
                    chars.next();
                }
                close if close == c => break,
                other => span.push(other),
            }
        }
        let shown = c == '`'
            && (1..=40).contains(&span.len())
            && (span.chars().all(|k| k.is_ascii_lowercase() || k == '_')
                || span
                    .chars()
                    .all(|k| k.is_ascii_digit() || "+-.".contains(k)));
        out.push_str(if shown { &span } else { "..." });
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_spans_are_redacted_but_key_names_stay() {
        assert_eq!(
            redact_quoted("unknown field `Zm9v+Kg==`, expected one of `secret_file`, `secret_env`"),
            "unknown field `...`, expected one of `secret_file`, `secret_env`"
        );
        assert_eq!(
            redact_quoted("unknown field `primarys`; invalid type: string \"a\\\"b\", 'lit' can't"),
            "unknown field `primarys`; invalid type: string \"...\", '...' can't"
        );
    }
}
