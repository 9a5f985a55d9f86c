//! PowerDNS Authoritative (`pdns_server`, gsqlite3 backend) as the primary:
//! its own configuration and SQLite database in a temporary directory, on a
//! free loopback port, zones loaded with `pdnsutil load-zone`.
//!
//! How it behaves here (4.7): it never serves IXFR, answering one with the
//! whole zone whose first TCP message holds only the opening SOA; it signs
//! NOTIFY with the zone's first `TSIG-ALLOW-AXFR` key, so NOTIFY is signed
//! exactly when transfers are; it notices a new serial every
//! `xfr-cycle-interval` (1 s here, 60 s by default) and only then notifies;
//! `only-notify=` empty limits NOTIFY to the also-notify target. Its
//! NOTIFY carries no SOA, so no serial.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::bind::Zone;
use super::programs::{free_port, require};
use super::server::{soa_serial, Server};

/// The schema the Debian package pdns-backend-sqlite3 ships.
const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

pub struct Pdns {
    pub server: Server,
    pdnsutil: PathBuf,
    zone: String,
}

impl Pdns {
    /// Starts `pdns_server` serving `zone`; `None` when PowerDNS is missing
    /// (local runs).
    pub fn start(zone: &Zone) -> Option<Pdns> {
        let pdns_server = require("pdns_server")?;
        let pdnsutil = require("pdnsutil")?;
        let sqlite3 = require("sqlite3")?;
        assert!(
            Path::new(SCHEMA).is_file(),
            "{SCHEMA} is missing: install pdns-backend-sqlite3 (scripts/install-test-deps)"
        );
        if zone.also_notify.is_some() {
            assert_eq!(
                zone.notify_key.as_ref().map(|k| k.name),
                zone.transfer_key.as_ref().map(|k| k.name),
                "PowerDNS signs NOTIFY with its transfer key: set notify_key to transfer_key"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let port = free_port();
        let db = dir.path().join("pdns.sqlite3");
        let schema = std::fs::File::open(SCHEMA).unwrap();
        let sql = |input: Stdio, statement: Option<String>| {
            let status = Command::new(&sqlite3)
                .arg(&db)
                .args(statement)
                .stdin(input)
                .status()
                .unwrap();
            assert!(status.success(), "sqlite3 on {} failed", db.display());
        };
        sql(Stdio::from(schema), None);
        // caches off: a test reads its change back at once
        let mut conf = format!(
            "launch=gsqlite3\ngsqlite3-database={}\nlocal-address=127.0.0.1\nlocal-port={port}\n\
             socket-dir={path}\nguardian=no\ndaemon=no\nsetuid=\nsetgid=\ndisable-syslog=yes\n\
             loglevel=6\nprimary=yes\nxfr-cycle-interval=1\nonly-notify=\n\
             cache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\n",
            db.display()
        );
        match zone.transfer_key {
            Some(_) => conf.push_str("allow-axfr-ips=\n"),
            None => conf.push_str("allow-axfr-ips=127.0.0.0/8\n"),
        }
        if let Some(p) = zone.also_notify {
            writeln!(conf, "also-notify=127.0.0.1:{p}").unwrap();
        }
        std::fs::write(dir.path().join("pdns.conf"), conf).unwrap();
        let util = |args: &[&str]| {
            let out = Command::new(&pdnsutil)
                .arg(format!("--config-dir={path}"))
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pdnsutil {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let file = dir.path().join("zone.db");
        std::fs::write(&file, &zone.text).unwrap();
        util(&["load-zone", &zone.name, &file.display().to_string()]);
        util(&["set-kind", &zone.name, "primary"]);
        if let Some(k) = &zone.transfer_key {
            util(&["import-tsig-key", k.name, k.algorithm, k.secret]);
            util(&["set-meta", &zone.name, "TSIG-ALLOW-AXFR", k.name]);
        }
        // the loaded serial counts as notified: its NOTIFY carries no SOA, so
        // a test could not tell a start-up NOTIFY from an update's
        sql(
            Stdio::null(),
            Some(format!(
                "UPDATE domains SET notified_serial = {}",
                soa_serial(&zone.text)
            )),
        );
        let mut command = Command::new(pdns_server);
        command.arg(format!("--config-dir={path}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Some(Pdns {
            server: Server::spawn("pdns_server", command, dir, addr, &zone.name),
            pdnsutil,
            zone: zone.name.clone(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the zone with `text` (a higher serial) by `pdnsutil
    /// load-zone`; PowerDNS notifies at its next cycle. Returns once the new
    /// serial is served.
    pub fn update(&mut self, text: &str) {
        let file = self.server.path("zone.db");
        std::fs::write(&file, text).unwrap();
        let config = format!("--config-dir={}", self.server.dir.path().display());
        self.server.control(
            &self.pdnsutil,
            &[
                &config,
                "load-zone",
                &self.zone,
                &file.display().to_string(),
            ],
        );
        let zone = self.zone.clone();
        self.server.wait_for_serial(&zone, Some(soa_serial(text)));
    }
}
