//! An end-to-end setting: BIND 9 as the primary, a Route 53 (moto or the
//! strict double) with one hosted zone per zone, a configuration file, and
//! the real `xfr53` binary run as a process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Output;

use xfr53::core::name::Name;
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::axfr;

use super::bind::{self, Bind};
use super::route53_backend::{Backend, Contents, Kind};

pub struct Setup {
    pub bind: Bind,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// zone name (no trailing dot) -> hosted zone ID
    pub zone_ids: BTreeMap<String, String>,
}

impl Setup {
    /// `None` when BIND or moto is missing on a developer's machine.
    pub async fn start(kind: Kind, zones: Vec<bind::Zone>) -> Option<Setup> {
        let names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
        let bind = Bind::start(zones)?;
        let backend = Backend::start(kind).await?;
        let dir = tempfile::tempdir().unwrap();
        let mut zone_ids = BTreeMap::new();
        for name in names {
            let id = backend.create_zone(&name, false).await;
            zone_ids.insert(name, id);
        }
        let setup = Setup {
            bind,
            backend,
            dir,
            zone_ids,
        };
        let all: Vec<&str> = setup.zone_ids.keys().map(String::as_str).collect();
        setup.write_config(None, "", &all);
        Some(setup)
    }

    /// Writes the configuration: `listen` = (DNS port, HTTP port) for the
    /// daemon, `zone_extra` lines in every zone section, only `zones`.
    pub fn write_config(&self, listen: Option<(u16, u16)>, zone_extra: &str, zones: &[&str]) {
        let mut config = format!(
            "state_dir = \"{}/state\"\n\n[route53]\nendpoint = \"{}\"\nrequests_per_second = 50\ninsync_timeout_seconds = 30\n",
            self.dir.path().display(),
            self.backend.endpoint()
        );
        if let Some((dns, http)) = listen {
            write!(
                config,
                "\n[listen]\ndns = [\"127.0.0.1:{dns}\"]\nhttp = \"127.0.0.1:{http}\"\n"
            )
            .unwrap();
        }
        for name in zones {
            write!(
                config,
                "\n[[zone]]\nname = \"{name}\"\nprimaries = [\"{}\"]\n{zone_extra}\n",
                self.bind.addr
            )
            .unwrap();
        }
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("xfr53.toml")
    }

    /// `xfr53 ARGS --config …` with test credentials, killed on drop.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        self.command_as(&self.config_path(), "testing", args)
    }

    /// `xfr53 ARGS --config CONFIG` signing with the access key ID
    /// `access_key` (a double tells writers apart by it), killed on drop.
    pub fn command_as(
        &self,
        config: &std::path::Path,
        access_key: &str,
        args: &[&str],
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_xfr53"));
        command
            .args(args)
            .arg("--config")
            .arg(config)
            .env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .kill_on_drop(true);
        command
    }

    /// Runs `xfr53 ARGS --config …` and returns its output.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.unwrap()
    }

    pub async fn contents(&self, zone: &str) -> Contents {
        self.backend.contents(&self.zone_ids[zone]).await
    }

    pub fn zone_id(&self, zone: &str) -> &str {
        &self.zone_ids[zone]
    }
}

/// The exit code, stdout and stderr of a run, for assertion messages.
pub fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What Route 53 should hold for BIND's current zone: its record sets and
/// `_serial` (the apex SOA and NS are Route 53's own and left out).
pub async fn expected(bind: &Bind, zone: &str) -> Contents {
    expected_from(&Primary::new(bind.addr, None), zone).await
}

/// What Route 53 should hold for `primary`'s current `zone`.
pub async fn expected_from(primary: &Primary, zone: &str) -> Contents {
    let origin = Name::parse_route53(zone).unwrap();
    let (held, _) = axfr(primary, &origin).await.unwrap();
    let converted = held.convert().unwrap();
    let mut out: Contents = converted
        .sets
        .values()
        .map(|s| {
            (
                (s.name.to_string(), s.rtype.to_string()),
                (s.ttl, s.values.clone()),
            )
        })
        .collect();
    out.insert(
        (format!("_serial._dyn.{origin}"), "TXT".into()),
        (300, vec![format!("\"{}\"", converted.serial.unwrap())]),
    );
    out
}

/// Route 53's content without the apex SOA and NS.
pub fn managed(mut contents: Contents, zone: &str) -> Contents {
    let apex = format!("{zone}.");
    contents.retain(|(name, rtype), _| !(*name == apex && (rtype == "SOA" || rtype == "NS")));
    contents
}

pub async fn assert_synced(setup: &Setup, zone: &str) {
    let have = managed(setup.contents(zone).await, zone);
    let want = expected(&setup.bind, zone).await;
    assert_eq!(have, want, "{zone}: Route 53 differs from the primary");
}
