//! BIND 9's `named` as the primary: started on a free loopback port in a
//! temporary directory with its own configuration, zone files, TSIG keys,
//! journal and `also-notify`, and stopped when the handle is dropped.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::programs::{free_port, require};
use super::ready::serves_zone;

/// A TSIG key as both BIND and xfr53 are given it.
#[derive(Clone, Debug)]
pub struct Key {
    pub name: &'static str,
    pub algorithm: &'static str,
    pub secret: &'static str,
}

pub const KEY_SHA256: Key = Key {
    name: "xfr-key",
    algorithm: "hmac-sha256",
    secret: "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=",
};

pub const KEY_SHA512: Key = Key {
    name: "xfr-key-512",
    algorithm: "hmac-sha512",
    secret:
        "C0ZLxm0f3uF0pXh1hI4Bte3m4Ugml2Mc+lz2HXwI0fbNKvqa8H3o1CNhXffJHMuvEWOEnmOpjNuRwP2U2QqB6A==",
};

impl Key {
    pub fn tsig(&self) -> xfr53::dns::tsig::TsigKey {
        xfr53::dns::tsig::TsigKey::new(self.name, self.algorithm, self.secret).unwrap()
    }
}

/// One zone BIND serves.
pub struct Zone {
    pub name: String,
    /// The zone file's text.
    pub text: String,
    /// Transfers need this key (else anyone on loopback may transfer).
    pub transfer_key: Option<Key>,
    /// Where BIND sends NOTIFY, signed with `notify_key` when set.
    pub also_notify: Option<u16>,
    /// Further ports BIND also NOTIFYs (BIND only; the other servers ignore it).
    pub more_notify: Vec<u16>,
    pub notify_key: Option<Key>,
}

impl Zone {
    /// A zone from a fixture file under tests/data, open to transfers.
    pub fn fixture(file: &str) -> Zone {
        let text = std::fs::read_to_string(super::zones::data_dir().join(file)).unwrap();
        let name = super::zones::origin_of(&text).to_string();
        Zone::new(&name, text)
    }

    pub fn new(name: &str, text: String) -> Zone {
        Zone {
            name: name.trim_end_matches('.').to_string(),
            text,
            transfer_key: None,
            also_notify: None,
            more_notify: Vec::new(),
            notify_key: None,
        }
    }
}

pub struct Bind {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
    zones: Vec<String>,
}

/// Starts `named` on the configuration in `dir`, logging to named.log.
fn spawn(named: &std::path::Path, dir: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("named.log"))
        .unwrap();
    Command::new(named)
        .args(["-g", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("named starts")
}

/// How many ports named is started on before a bind failure fails the test.
const PORT_ATTEMPTS: usize = 5;

/// What named logs when its port is taken.
const LISTEN_FAILED: &str = "unable to listen on any configured interfaces";

impl Bind {
    /// Starts `named` serving `zones`; `None` when named is missing (local runs).
    pub fn start(zones: Vec<Zone>) -> Option<Bind> {
        let named = require("named")?;
        require("nsupdate")?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let path = dir.path().display().to_string();
        let mut keys: Vec<Key> = Vec::new();
        let mut zone_clauses = String::new();
        for zone in &zones {
            let file = format!("{}.zone", zone.name);
            std::fs::write(dir.path().join(&file), &zone.text).unwrap();
            keys.extend(zone.transfer_key.clone());
            keys.extend(zone.notify_key.clone());
            let transfer = match &zone.transfer_key {
                Some(k) => format!("key \"{}\";", k.name),
                None => "any;".into(),
            };
            let ports = zone.also_notify.iter().chain(&zone.more_notify);
            let targets: String = match &zone.notify_key {
                Some(k) => ports
                    .map(|p| format!("127.0.0.1 port {p} key \"{}\"; ", k.name))
                    .collect(),
                None => ports.map(|p| format!("127.0.0.1 port {p}; ")).collect(),
            };
            let notify = match targets.is_empty() {
                false => format!("notify explicit; also-notify {{ {targets}}};"),
                true => "notify no;".into(),
            };
            writeln!(
                zone_clauses,
                "zone \"{}\" {{ type primary; file \"{file}\"; allow-transfer {{ {transfer} }}; allow-update {{ key \"{}\"; }}; {notify} }};",
                zone.name, UPDATE_KEY.name
            )
            .unwrap();
        }
        keys.push(UPDATE_KEY);
        keys.sort_by_key(|k| k.name);
        keys.dedup_by_key(|k| k.name);
        let key_clauses: String = keys
            .iter()
            .map(|k| {
                format!(
                    "key \"{}\" {{ algorithm {}; secret \"{}\"; }};\n",
                    k.name, k.algorithm, k.secret
                )
            })
            .collect();
        std::fs::write(dir.path().join("bind.keys"), "").unwrap();
        let conf = format!(
            r#"options {{
    directory "{path}";
    pid-file "{path}/named.pid";
    session-keyfile "{path}/session.key";
    managed-keys-directory "{path}";
    bindkeys-file "{path}/bind.keys";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    check-names primary ignore;
    notify-delay 0;
    // BIND sends the whole zone when IXFR deltas outgrow it; the small test
    // zones would never see IXFR otherwise
    max-ixfr-ratio unlimited;
    transfers-out 64;
}};
controls {{ }};
{key_clauses}{zone_clauses}"#
        );
        std::fs::write(dir.path().join("named.conf"), conf).unwrap();
        let mut bind = Bind {
            child: spawn(&named, dir.path()),
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            zones: zones.iter().map(|z| z.name.clone()).collect(),
        };
        // A port taken between `free_port` and named's bind (another test's
        // server) makes named exit at once: it starts again on another.
        for _ in 1..PORT_ATTEMPTS {
            match bind.ready() {
                Ok(()) => return Some(bind),
                Err(_) if bind.log().contains(LISTEN_FAILED) => bind.move_to(free_port(), &named),
                Err(e) => panic!("{e}"),
            }
        }
        bind.wait_ready();
        Some(bind)
    }

    /// Starts named again listening on `port`, with a fresh log.
    fn move_to(&mut self, port: u16, named: &std::path::Path) {
        let conf = self.dir.path().join("named.conf");
        let old = format!("listen-on port {} ", self.addr.port());
        let text = std::fs::read_to_string(&conf).unwrap();
        std::fs::write(
            &conf,
            text.replace(&old, &format!("listen-on port {port} ")),
        )
        .unwrap();
        let _ = std::fs::remove_file(self.dir.path().join("named.log"));
        self.addr.set_port(port);
        self.child = spawn(named, self.dir.path());
    }

    /// Restarts named on the same address with `text` as `zone`'s file and
    /// no journal: the primary rebuilt from a backup.
    pub fn restore(&mut self, zone: &str, text: &str) {
        self.stop();
        let file = self.dir.path().join(format!("{zone}.zone"));
        std::fs::write(&file, text).unwrap();
        let _ = std::fs::remove_file(file.with_extension("zone.jnl"));
        self.child = spawn(&require("named").unwrap(), self.dir.path());
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        if let Err(e) = self.ready() {
            panic!("{e}");
        }
    }

    /// Waits until named serves every zone (an SOA query answered with AA);
    /// an error with its log, at once, if it exits.
    fn ready(&mut self) -> Result<(), String> {
        for zone in self.zones.clone() {
            self.serving(&zone)?;
        }
        Ok(())
    }

    fn serving(&mut self, zone: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("named exited with {status}:\n{}", self.log()));
            }
            match serves_zone(self.addr, zone) {
                Ok(()) => return Ok(()),
                Err(why) if Instant::now() > deadline => {
                    return Err(format!(
                        "named did not serve {zone} within 60 s ({why}):\n{}",
                        self.log()
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// named's process ID, to pause it (SIGSTOP) as a primary gone quiet.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    /// Runs `nsupdate` with `commands` (each `update …` line), then `send`.
    pub fn nsupdate(&self, zone: &str, commands: &str) {
        if let Err(e) = self.try_nsupdate(zone, commands) {
            panic!("{e}");
        }
    }

    /// As `nsupdate`; why it failed, with named's log.
    pub fn try_nsupdate(&self, zone: &str, commands: &str) -> Result<(), String> {
        let script = format!(
            "server 127.0.0.1 {}\nzone {zone}\n{commands}\nsend\n",
            self.addr.port()
        );
        let mut child = Command::new(require("nsupdate").unwrap())
            .arg("-y")
            .arg(format!(
                "{}:{}:{}",
                UPDATE_KEY.algorithm, UPDATE_KEY.name, UPDATE_KEY.secret
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "nsupdate failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log()
            )),
        }
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Bind {
    fn stop(&mut self) {
        super::server::stop(&mut self.child);
    }
}

/// The key `nsupdate` signs dynamic updates with.
pub const UPDATE_KEY: Key = Key {
    name: "update-key",
    algorithm: "hmac-sha256",
    secret: "3HOUOdC3Rl7SYasPDzgk9bnmN8RzlYGLsMXIX8NnZ6k=",
};
