//! Knot DNS (`knotd`) as the primary: its own configuration, zone file,
//! journal and control socket in a temporary directory, on a free loopback
//! port. Knot sends NOTIFY over TCP (signed when the remote has a key) and
//! serves IXFR from its journal: `zonefile-load: difference` turns a
//! rewritten zone file into a journal entry at `knotc zone-reload`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use super::bind::{Key, Zone};
use super::programs::{free_port, require};
use super::server::{soa_serial, Server};

pub struct Knot {
    pub server: Server,
    knotc: PathBuf,
    zone: String,
}

impl Knot {
    /// Starts `knotd` serving `zone`; `None` when Knot is missing (local runs).
    pub fn start(zone: &Zone) -> Option<Knot> {
        let knotd = require("knotd")?;
        let knotc = require("knotc")?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let port = free_port();
        std::fs::write(dir.path().join("zone.db"), &zone.text).unwrap();
        let mut keys: Vec<&Key> = zone.transfer_key.iter().collect();
        keys.extend(&zone.notify_key);
        keys.dedup_by_key(|k| k.name);
        let mut conf = format!(
            "server:\n  rundir: {path}\n  listen: 127.0.0.1@{port}\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n  storage: {path}\n\
             control:\n  listen: {path}/knot.sock\n"
        );
        if !keys.is_empty() {
            conf.push_str("key:\n");
            for k in &keys {
                writeln!(
                    conf,
                    "  - id: {}\n    algorithm: {}\n    secret: {}",
                    k.name, k.algorithm, k.secret
                )
                .unwrap();
            }
        }
        let who = match &zone.transfer_key {
            Some(k) => format!("key: {}", k.name),
            None => "address: 127.0.0.1".into(),
        };
        write!(
            conf,
            "acl:\n  - id: transfer\n    {who}\n    action: transfer\n"
        )
        .unwrap();
        let mut notify = String::new();
        if let Some(p) = zone.also_notify {
            conf.push_str("remote:\n  - id: xfr53\n");
            writeln!(conf, "    address: 127.0.0.1@{p}").unwrap();
            if let Some(k) = &zone.notify_key {
                writeln!(conf, "    key: {}", k.name).unwrap();
            }
            notify = "    notify: xfr53\n".into();
        }
        // zonefile-sync -1: Knot never rewrites the file the test edits
        write!(
            conf,
            "zone:\n  - domain: {}\n    storage: {path}\n    file: zone.db\n    acl: transfer\n{notify}\
             \x20   zonefile-sync: -1\n    zonefile-load: difference\n    journal-content: changes\n",
            zone.name
        )
        .unwrap();
        std::fs::write(dir.path().join("knot.conf"), conf).unwrap();
        let mut command = Command::new(knotd);
        command.arg("-c").arg(dir.path().join("knot.conf"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Some(Knot {
            server: Server::spawn("knotd", command, dir, addr, &zone.name),
            knotc,
            zone: zone.name.clone(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the zone with `text` (a higher serial), as an operator would:
    /// edit the file, `knotc zone-reload`. Returns once the new serial is served.
    pub fn update(&mut self, text: &str) {
        std::fs::write(self.server.path("zone.db"), text).unwrap();
        let socket = self.server.path("knot.sock").display().to_string();
        self.server
            .control(&self.knotc, &["-s", &socket, "zone-reload", &self.zone]);
        let zone = self.zone.clone();
        self.server.wait_for_serial(&zone, Some(soa_serial(text)));
    }
}
