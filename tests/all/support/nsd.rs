//! NSD as the primary: its own configuration, zone file and IXFR data in a
//! temporary directory, on a free loopback port, with `nsd-control` on a
//! unix socket (no certificates to make). NSD serves IXFR with `store-ixfr`
//! and `create-ixfr` (a reloaded file's difference becomes an IXFR), and
//! sends NOTIFY over UDP, signed when its `notify:` names a key, after
//! `nsd-control reload`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use super::bind::Zone;
use super::programs::{free_port, require};
use super::server::{soa_serial, Server};

pub struct Nsd {
    pub server: Server,
    control: PathBuf,
    zone: String,
}

impl Nsd {
    /// Starts `nsd` serving `zone`; `None` when NSD is missing (local runs).
    pub fn start(zone: &Zone) -> Option<Nsd> {
        let nsd = require("nsd")?;
        let control = require("nsd-control")?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let port = free_port();
        std::fs::write(dir.path().join("zone.db"), &zone.text).unwrap();
        let mut keys: Vec<_> = zone.transfer_key.iter().collect();
        keys.extend(&zone.notify_key);
        keys.dedup_by_key(|k| k.name);
        let key_clauses: String = keys
            .iter()
            .map(|k| {
                format!(
                    "key:\n  name: {}\n  algorithm: {}\n  secret: \"{}\"\n",
                    k.name, k.algorithm, k.secret
                )
            })
            .collect();
        let key_or_none = |k: &Option<super::bind::Key>| match k {
            Some(k) => k.name.to_string(),
            None => "NOKEY".into(),
        };
        let notify = match zone.also_notify {
            Some(p) => format!(
                "  notify: 127.0.0.1@{p} {}\n",
                key_or_none(&zone.notify_key)
            ),
            None => String::new(),
        };
        // username "" and chroot "": stay the user the tests run as
        let conf = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  username: \"\"\n  chroot: \"\"\n\
             \x20 zonesdir: \"{path}\"\n  database: \"\"\n  pidfile: \"{path}/nsd.pid\"\n\
             \x20 xfrdfile: \"{path}/xfrd.state\"\n  zonelistfile: \"{path}/zone.list\"\n\
             \x20 xfrdir: \"{path}\"\n  logfile: \"{path}/nsd-daemon.log\"\n  verbosity: 2\n\
             remote-control:\n  control-enable: yes\n  control-interface: \"{path}/nsd.sock\"\n\
             {key_clauses}\
             zone:\n  name: \"{}\"\n  zonefile: \"zone.db\"\n  provide-xfr: 127.0.0.1 {}\n{notify}\
             \x20 store-ixfr: yes\n  create-ixfr: yes\n",
            zone.name,
            key_or_none(&zone.transfer_key),
        );
        std::fs::write(dir.path().join("nsd.conf"), conf).unwrap();
        let mut command = Command::new(nsd);
        command.arg("-d").arg("-c").arg(dir.path().join("nsd.conf"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Some(Nsd {
            server: Server::spawn("nsd", command, dir, addr, &zone.name),
            control,
            zone: zone.name.clone(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the zone with `text` (a higher serial), as an operator would:
    /// rewrite the file, `nsd-control reload`. Returns once it is served.
    pub fn update(&mut self, text: &str) {
        std::fs::write(self.server.path("zone.db"), text).unwrap();
        let conf = self.server.path("nsd.conf").display().to_string();
        self.server
            .control(&self.control, &["-c", &conf, "reload", &self.zone]);
        let zone = self.zone.clone();
        self.server.wait_for_serial(&zone, Some(soa_serial(text)));
    }
}
