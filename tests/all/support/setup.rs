//! An end-to-end setting: BIND 9 as the primary, a Route 53 (moto or the
//! strict double) with one hosted zone per zone, a configuration file, and
//! the real `xfr53` binary run as a process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Output;

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
        let mut config = format!(
            "state_dir = \"{}/state\"\n\n[route53]\nendpoint = \"{}\"\nrequests_per_second = 50\ninsync_timeout_seconds = 30\n",
            dir.path().display(),
            backend.endpoint()
        );
        for name in names {
            let id = backend.create_zone(&name, false).await;
            write!(
                config,
                "\n[[zone]]\nname = \"{name}\"\nprimaries = [\"{}\"]\n",
                bind.addr
            )
            .unwrap();
            zone_ids.insert(name, id);
        }
        std::fs::write(dir.path().join("xfr53.toml"), config).unwrap();
        Some(Setup {
            bind,
            backend,
            dir,
            zone_ids,
        })
    }

    /// Runs `xfr53 ARGS --config …` and returns its output.
    pub async fn run(&self, args: &[&str]) -> Output {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_xfr53"))
            .args(args)
            .arg("--config")
            .arg(self.dir.path().join("xfr53.toml"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        output
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
