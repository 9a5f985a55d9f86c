//! A nameserver process a test started (Knot, NSD, PowerDNS): its temporary
//! directory and log, readiness by SOA query, and stopping on Drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ready::served_serial;

/// How long a server may take to serve a zone or a new serial of it.
const STARTUP: Duration = Duration::from_secs(60);

pub struct Server {
    /// The program, for messages.
    pub program: &'static str,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Server {
    /// Runs `command` with its output in DIR/PROGRAM.log, then waits until
    /// it serves `zone`.
    pub fn spawn(
        program: &'static str,
        mut command: Command,
        dir: tempfile::TempDir,
        addr: SocketAddr,
        zone: &str,
    ) -> Server {
        let log = std::fs::File::create(dir.path().join(format!("{program}.log"))).unwrap();
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
        let mut server = Server {
            program,
            addr,
            dir,
            child,
        };
        server.wait_for_serial(zone, None);
        server
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Every `*.log` file in the directory: the output, and a log the server
    /// writes itself.
    pub fn log(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "log"));
        files.sort();
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                format!("--- {}\n{text}", f.display())
            })
            .collect()
    }

    /// Waits until `zone` answers NOERROR with AA (and `serial`, when given);
    /// panics with the server's log if it exits or the time runs out.
    pub fn wait_for_serial(&mut self, zone: &str, serial: Option<u32>) {
        let deadline = Instant::now() + STARTUP;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.program, self.log());
            }
            match served_serial(self.addr, zone) {
                Ok(s) if serial.is_none_or(|want| want == s) => return,
                Ok(s) => last = format!("serial {s}"),
                Err(why) => last = why,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let want = serial.map_or(String::new(), |s| format!(" at serial {s}"));
        panic!(
            "{} at {} did not serve {zone}{want} within {STARTUP:?} (SOA query: {last}):\n{}",
            self.program,
            self.addr,
            self.log()
        );
    }

    /// Runs a control program, panicking with its output and the server's
    /// log when it fails.
    pub fn control(&self, program: &Path, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{} does not run: {e}", program.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{text}\n--- {} log\n{}",
            program.display(),
            out.status,
            self.program,
            self.log()
        );
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stops a server the tests started: SIGTERM, then SIGKILL if it lingers.
pub fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The serial in a zone file's SOA, to wait for after an update.
pub fn soa_serial(text: &str) -> u32 {
    let zone = super::zones::origin_of(text);
    let records = xfr53::core::zonefile::parse("zone text", text, &zone)
        .unwrap_or_else(|e| panic!("the zone text does not parse: {e}"));
    records
        .iter()
        .find_map(|r| r.data().as_soa())
        .expect("the zone text has an SOA")
        .serial()
}
