//! A configuration made ready to run: the one place its secrets are read
//! (TSIG key files and environment variables), and where the runtime
//! objects the DNS side needs are built from it (primaries, the NOTIFY
//! policy). The daemon and every command start from a `Loaded`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::{Config, SecretSource, TsigConfig, ZoneConfig};
use crate::dns::notify::{NotifyPolicy, NotifyTsig, NotifyZone};
use crate::dns::primary::Primary;
use crate::dns::tsig::TsigKey;

#[derive(Clone)]
pub struct Loaded {
    pub config: Config,
    /// The `[tsig.<label>]` keys by label, secrets read.
    keys: BTreeMap<String, TsigKey>,
    /// Risky settings found while reading the secrets.
    pub warnings: Vec<String>,
}

impl Loaded {
    /// Reads and checks the configuration at `path` and its secrets; logs
    /// its warnings.
    pub fn read(path: &Path) -> Result<Loaded> {
        let config = Config::load(path)?;
        let loaded =
            Loaded::resolve(config).with_context(|| format!("configuration {}", path.display()))?;
        for warning in &loaded.warnings {
            tracing::warn!("configuration {}: {warning}", path.display());
        }
        Ok(loaded)
    }

    /// `config` with its secrets read.
    pub fn resolve(config: Config) -> Result<Loaded> {
        let mut keys = BTreeMap::new();
        let mut warnings = Vec::new();
        for (label, tsig) in &config.tsig {
            warnings.extend(world_readable(label, tsig));
            let key = tsig_key(tsig).with_context(|| format!("tsig.{label}"))?;
            keys.insert(label.clone(), key);
        }
        Ok(Loaded {
            config,
            keys,
            warnings,
        })
    }

    /// The zone's TSIG key.
    pub fn key(&self, zone: &ZoneConfig) -> Option<&TsigKey> {
        // the configuration checked that every label names a key
        zone.tsig.as_ref().and_then(|label| self.keys.get(label))
    }

    /// The zone's primaries, in order, with its key and limits.
    pub fn primaries(&self, zone: &ZoneConfig) -> Vec<Primary> {
        (zone.primaries.iter())
            .map(|addr| Primary {
                timeout: zone.timeout,
                limits: zone.transfer,
                ..Primary::new(*addr, self.key(zone).cloned())
            })
            .collect()
    }

    /// Who may NOTIFY which zone (a catalog too).
    pub fn notify_policy(&self) -> NotifyPolicy {
        let catalogs = self.config.catalogs.iter().map(|c| &c.zone);
        NotifyPolicy::new(
            self.config
                .zones
                .iter()
                .chain(catalogs)
                .map(|zone| NotifyZone {
                    zone: zone.rules.zone.clone(),
                    notify_from: zone.notify_from.clone(),
                    key: self.key(zone).cloned(),
                    tsig: match zone.notify_tsig_required {
                        true => NotifyTsig::Required,
                        false => NotifyTsig::Optional,
                    },
                }),
        )
    }
}

fn tsig_key(tsig: &TsigConfig) -> Result<TsigKey> {
    let (name, algorithm) = (&tsig.name, tsig.algorithm.as_deref());
    match &tsig.secret {
        SecretSource::File(file) => TsigKey::from_file(file, name, algorithm),
        SecretSource::Env(var) => TsigKey::from_env(var, name, algorithm),
    }
}

/// A warning when any user may read the key's secret file (so may sign as
/// the key).
fn world_readable(label: &str, tsig: &TsigConfig) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let SecretSource::File(file) = &tsig.secret else {
        return None;
    };
    let mode = std::fs::metadata(file).ok()?.permissions().mode();
    (mode & 0o004 != 0).then(|| format!(
        "tsig.{label}: secret file {} is readable by every user on this host: chmod o-r it (and give it to xfr53's group), or keep the secret in /etc/xfr53/environment (mode 0600) and use secret_env",
        file.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_tsig_required_reaches_the_notify_policy() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("k.key");
        std::fs::write(&secret, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
        let text = format!(
            "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = {:?}\n\n[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\ntsig = \"k\"\nnotify_tsig = \"required\"\n",
            secret.display().to_string()
        );
        let loaded = Loaded::resolve(Config::parse(&text).unwrap()).unwrap();
        assert!(loaded.config.zones[0].notify_tsig_required);
        // an unsigned NOTIFY from the primary is refused by the policy built
        let mut notify = hickory_proto::op::Message::new();
        notify
            .set_op_code(hickory_proto::op::OpCode::Notify)
            .add_query(hickory_proto::op::Query::query(
                "a.test.".parse().unwrap(),
                hickory_proto::rr::RecordType::SOA,
            ));
        let handled = crate::dns::notify::handle(
            &loaded.notify_policy(),
            &notify.to_vec().unwrap(),
            "192.0.2.1:5300".parse().unwrap(),
            0,
        );
        assert_eq!(
            handled.verdict,
            crate::dns::notify::Verdict::UnsignedRefused
        );
    }

    #[test]
    fn a_world_readable_key_file_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("k.key");
        std::fs::write(&secret, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
        let text = format!(
            "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = {:?}\n",
            secret.display().to_string()
        );
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warnings = Loaded::resolve(Config::parse(&text).unwrap())
            .unwrap()
            .warnings;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!(
                "tsig.k: secret file {} is readable by every user on this host: chmod o-r it",
                secret.display()
            )),
            "{warnings:?}"
        );
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
        let loaded = Loaded::resolve(Config::parse(&text).unwrap()).unwrap();
        assert!(loaded.warnings.is_empty());
    }
}
