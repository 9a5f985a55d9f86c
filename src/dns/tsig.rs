//! TSIG keys (RFC 8945): loaded from a file or the environment, never
//! printed. A file holds either the bare base64 secret or a `key` clause as
//! `tsig-keygen` writes it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use hickory_proto::dnssec::rdata::tsig::{TsigAlgorithm, TSIG};
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::Message;
use hickory_proto::rr::{Name as DnsName, RecordData};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

/// Allowed clock difference between the signer and us (RFC 8945 suggests 300 s).
pub const FUDGE_SECONDS: u16 = 300;

/// A shared secret key. `Debug` shows its name and algorithm only.
#[derive(Clone, PartialEq)]
pub struct TsigKey {
    name: DnsName,
    algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name.to_string())
            .field("algorithm", &self.algorithm.to_string())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl TsigKey {
    /// A key from its name, algorithm (`hmac-sha256`, `hmac-sha384`,
    /// `hmac-sha512`) and base64 secret.
    pub fn new(name: &str, algorithm: &str, secret_base64: &str) -> Result<TsigKey> {
        let algorithm = parse_algorithm(algorithm)?;
        let secret = data_encoding::BASE64
            .decode(secret_base64.trim().as_bytes())
            .with_context(|| format!("TSIG key {name}: the secret is not valid base64"))?;
        if secret.is_empty() {
            bail!("TSIG key {name}: the secret is empty");
        }
        let name = DnsName::from_ascii(name)
            .with_context(|| format!("TSIG key name {name:?} is not a valid domain name"))?;
        Ok(TsigKey {
            name,
            algorithm,
            secret,
        })
    }

    /// Reads `path`: a bare secret (then `name` and `algorithm` say the rest)
    /// or a `key "name" { algorithm …; secret "…"; };` clause, whose name and
    /// algorithm win; a configured algorithm must then agree.
    pub fn from_file(path: &Path, name: &str, algorithm: Option<&str>) -> Result<TsigKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("TSIG key {name}: cannot read {}", path.display()))?;
        TsigKey::from_text(&text, name, algorithm)
            .with_context(|| format!("TSIG key file {}", path.display()))
    }

    /// Reads the secret (or key clause) from environment variable `var`.
    pub fn from_env(var: &str, name: &str, algorithm: Option<&str>) -> Result<TsigKey> {
        let text = std::env::var(var)
            .with_context(|| format!("TSIG key {name}: environment variable {var} is not set"))?;
        TsigKey::from_text(&text, name, algorithm)
            .with_context(|| format!("TSIG key in environment variable {var}"))
    }

    fn from_text(text: &str, name: &str, algorithm: Option<&str>) -> Result<TsigKey> {
        match parse_key_clause(text)? {
            Some(clause) => {
                if let Some(configured) = algorithm {
                    if parse_algorithm(configured)? != parse_algorithm(&clause.algorithm)? {
                        bail!(
                            "key {} uses {} but the configuration says {configured}",
                            clause.name,
                            clause.algorithm
                        );
                    }
                }
                TsigKey::new(&clause.name, &clause.algorithm, &clause.secret)
            }
            None => {
                let algorithm = algorithm.with_context(|| {
                    format!("TSIG key {name}: a bare secret needs `algorithm` in the configuration")
                })?;
                TsigKey::new(name, algorithm, text)
            }
        }
    }

    pub fn name(&self) -> &DnsName {
        &self.name
    }

    pub fn algorithm(&self) -> &TsigAlgorithm {
        &self.algorithm
    }

    /// The name sent on the wire and the algorithm, for errors:
    /// `"xfr-key" (hmac-sha256)`.
    pub fn describe(&self) -> String {
        format!("\"{}\" ({})", self.name, self.algorithm)
    }

    /// hickory's signer and verifier for this key.
    pub fn signer(&self) -> TSigner {
        TSigner::new(
            self.secret.clone(),
            self.algorithm.clone(),
            self.name.clone(),
            FUDGE_SECONDS,
        )
        .expect("only supported algorithms are accepted")
    }
}

/// The error a primary gives in the TSIG record of its answer to a signed
/// query (RFC 8945 section 5.2; codes from the IANA DNS RCODE registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsigError(pub u16);

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            16 => write!(f, "BADSIG: the primary has a key of this name and algorithm with another secret"),
            17 => write!(f, "BADKEY: the primary has no key of this name and algorithm. The name sent is the [tsig.<label>] section's `name`, else its label, unless secret_file holds a `key \"name\" {{ … }}` clause, whose name wins: make it the name in the primary's key clause"),
            18 => write!(f, "BADTIME: the clocks of this host and the primary differ by more than {FUDGE_SECONDS} s: check NTP on both"),
            22 => write!(f, "BADTRUNC: the primary refused a truncated MAC"),
            other => write!(f, "TSIG error {other}"),
        }
    }
}

/// The TSIG error in `message`, when it carries a TSIG record with one.
pub fn answer_error(message: &Message) -> Option<TsigError> {
    let tsig = message
        .signature()
        .iter()
        .find_map(|r| TSIG::try_borrow(r.data()))?;
    // hickory 0.25 has no getter for the error field: read it back from
    // the RDATA's wire form (algorithm name, time 6, fudge 2, MAC size 2,
    // MAC, original ID 2, error 2)
    let mut wire = Vec::new();
    tsig.emit(&mut BinEncoder::new(&mut wire)).ok()?;
    let mut at = 0;
    loop {
        let len = usize::from(*wire.get(at)?);
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    at += 6 + 2;
    let mac = usize::from(u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]));
    at += 2 + mac + 2;
    let error = u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]);
    (error != 0).then_some(TsigError(error))
}

/// MACs of signed requests already accepted, each kept until its time
/// window ends (RFC 8945 section 5.2.3 leaves replay protection to the
/// receiver; BIND keeps such a cache): the same signature accepted twice
/// inside its window is a replay. Only messages that verified are kept, so
/// only a key holder fills it; at `capacity`, the soonest to expire goes
/// (`evicted` counts those: each is replayable again until it expires).
pub struct ReplayCache {
    capacity: usize,
    expires: HashMap<(String, Vec<u8>), u64>,
    by_expiry: BTreeSet<(u64, String, Vec<u8>)>,
    evicted: u64,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            capacity: capacity.max(1),
            expires: HashMap::new(),
            by_expiry: BTreeSet::new(),
            evicted: 0,
        }
    }

    /// True the first time `mac` of `key` is seen before `expires`; false
    /// for a replay. `now` is Unix time.
    pub fn first_use(&mut self, key: &str, mac: &[u8], expires: u64, now: u64) -> bool {
        while self.by_expiry.first().is_some_and(|first| first.0 < now) {
            self.forget_soonest();
        }
        let id = (key.to_string(), mac.to_vec());
        if self.expires.contains_key(&id) {
            return false;
        }
        // room for it: checked first, so a full cache still catches a replay
        while self.expires.len() >= self.capacity {
            self.forget_soonest();
            self.evicted += 1;
        }
        self.by_expiry.insert((expires, id.0.clone(), id.1.clone()));
        self.expires.insert(id, expires);
        true
    }

    fn forget_soonest(&mut self) {
        if let Some((_, key, mac)) = self.by_expiry.pop_first() {
            self.expires.remove(&(key, mac));
        }
    }

    pub fn len(&self) -> usize {
        self.expires.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expires.is_empty()
    }

    /// MACs dropped at capacity before their window ended, in all.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

fn parse_algorithm(text: &str) -> Result<TsigAlgorithm> {
    let algorithm = match text
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .as_str()
    {
        "hmac-sha256" => TsigAlgorithm::HmacSha256,
        "hmac-sha384" => TsigAlgorithm::HmacSha384,
        "hmac-sha512" => TsigAlgorithm::HmacSha512,
        other => bail!(
            "TSIG algorithm {other:?} is not supported: use hmac-sha256, hmac-sha384 or hmac-sha512"
        ),
    };
    Ok(algorithm)
}

struct KeyClause {
    name: String,
    algorithm: String,
    secret: String,
}

/// `key "name" { algorithm hmac-sha256; secret "base64"; };`, or `None`
/// when the text is not a key clause.
fn parse_key_clause(text: &str) -> Result<Option<KeyClause>> {
    let text: String = text
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split("//")
                .next()
                .unwrap_or("")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let spaced = text.replace(['{', '}', ';'], " ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    if tokens.first() != Some(&"key") {
        return Ok(None);
    }
    let unquote = |s: &str| s.trim_matches('"').to_string();
    let name = tokens
        .get(1)
        .map(|s| unquote(s))
        .context("key clause without a name")?;
    let value_of = |field: &str| {
        tokens
            .windows(2)
            .find(|w| w[0] == field)
            .map(|w| unquote(w[1]))
            .with_context(|| format!("key clause {name} has no {field}"))
    };
    Ok(Some(KeyClause {
        algorithm: value_of("algorithm")?,
        secret: value_of("secret")?,
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_is_accepted_once_inside_its_window_and_the_cache_is_bounded() {
        let mut cache = ReplayCache::new(3);
        assert!(cache.first_use("k", b"mac1", 1300, 1000));
        assert!(!cache.first_use("k", b"mac1", 1300, 1200), "a replay");
        assert!(cache.first_use("other", b"mac1", 1300, 1200), "another key");
        // once its window is over, a MAC no longer verifies: forgotten
        assert!(cache.first_use("k", b"mac2", 1400, 1301));
        assert_eq!(cache.len(), 1, "the expired ones are gone");
        assert_eq!(cache.evicted(), 0, "expired ones are not evictions");
        for i in 0..100u32 {
            assert!(cache.first_use("k", &i.to_be_bytes(), 2000 + u64::from(i), 1302));
            assert!(cache.len() <= 3);
        }
        // the latest ones are still caught
        assert!(!cache.first_use("k", &99u32.to_be_bytes(), 2099, 1303));
        // 101 unexpired MACs through a cache of 3: the oldest 98 evicted
        assert_eq!(cache.evicted(), 98);
        // a full cache still catches a replay of the one to go next
        let mut full = ReplayCache::new(1);
        assert!(full.first_use("k", b"a", 1300, 1000));
        assert!(!full.first_use("k", b"a", 1300, 1000));
        assert_eq!(full.evicted(), 0);
    }

    const SECRET: &str = "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IQ==";

    #[test]
    fn the_error_of_an_answer_s_tsig_record_is_read() {
        use hickory_proto::dnssec::rdata::tsig::make_tsig_record;
        let key = DnsName::from_ascii("k.").unwrap();
        for (error, mac) in [
            (17, vec![]),
            (16, vec![]),
            (18, vec![7u8; 32]),
            (0, vec![7u8; 32]),
        ] {
            let mut answer = Message::new();
            let tsig = TSIG::new(TsigAlgorithm::HmacSha256, 1, 300, mac, 4, error, vec![]);
            answer.add_tsig(make_tsig_record(key.clone(), tsig));
            let parsed = Message::from_vec(&answer.to_vec().unwrap()).unwrap();
            let expected = (error != 0).then_some(TsigError(error));
            assert_eq!(answer_error(&parsed), expected, "{error}");
        }
        assert_eq!(answer_error(&Message::new()), None);
        assert!(TsigError(17).to_string().starts_with("BADKEY: "));
    }

    #[test]
    fn reads_a_tsig_keygen_clause() {
        let text =
            format!("key \"xfr-key\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{SECRET}\";\n}};\n");
        let key = TsigKey::from_text(&text, "label", None).unwrap();
        assert_eq!(key.name().to_string(), "xfr-key");
        assert_eq!(*key.algorithm(), TsigAlgorithm::HmacSha512);
        let err = TsigKey::from_text(&text, "label", Some("hmac-sha256")).unwrap_err();
        assert!(err.to_string().contains("uses hmac-sha512"));
    }

    #[test]
    fn bare_secret_needs_an_algorithm_and_is_never_printed() {
        let key = TsigKey::from_text(SECRET, "dyn", Some("hmac-sha256")).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(SECRET) && shown.contains("<redacted>"));
        assert!(TsigKey::from_text(SECRET, "dyn", None).is_err());
        assert!(TsigKey::from_text(SECRET, "dyn", Some("hmac-md5"))
            .unwrap_err()
            .to_string()
            .contains("not supported"));
        assert!(TsigKey::from_text("not base64!", "dyn", Some("hmac-sha256")).is_err());
    }
}
