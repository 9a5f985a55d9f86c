//! Behind nsnotifyd, as the README tells users to run it: BIND's NOTIFY
//! reaches nsnotifyd, nsnotifyd runs the shipped hook as-is, and the change
//! reaches Route 53. `xfr53 sync ZONE SERIAL` fails while the primary is
//! behind SERIAL, so nsnotifyd tries again until it has caught up.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name as DnsName, RecordType};

use crate::support::bind::{self, Bind};
use crate::support::programs::{free_port, require};
use crate::support::route53_backend::Kind;
use crate::support::setup::{assert_synced, expected, managed, show, Setup};

const ZONE: &str = "parent.test";
const SERIAL: u32 = 2024010100;

/// nsnotifyd in the foreground, stopped when dropped.
struct Nsnotifyd {
    child: Child,
    log: PathBuf,
}

impl Nsnotifyd {
    /// Listens on 127.0.0.1:`port` for NOTIFYs of `zone` and runs the hook,
    /// with xfr53's configuration in `XFR53_CONFIG` and nothing else. Its SOA
    /// queries (to the NOTIFY's source, and at start and on retries to `-s`)
    /// go to `soa` through the vendored shim's NSNOTIFYD_SOA_PORT; retries
    /// come after 9 to 10 s.
    fn start(port: u16, soa: SocketAddr, config: &Path, dir: &Path) -> Option<Nsnotifyd> {
        let program = require("nsnotifyd")?;
        let log = dir.join("nsnotifyd.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(program)
            .args(["-d", "-4", "-a", "127.0.0.1", "-p", &port.to_string()])
            // nsnotifyd's jitter divides the retry by 10: below 10 it crashes
            .args(["-s", &soa.ip().to_string(), "-r", "10"])
            .arg(env!("CARGO_BIN_EXE_xfr53-nsnotifyd-hook"))
            .arg(ZONE)
            .env_clear()
            .env("NSNOTIFYD_SOA_PORT", soa.port().to_string())
            .env("XFR53_CONFIG", config)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("nsnotifyd starts");
        let mut nsnotifyd = Nsnotifyd { child, log };
        nsnotifyd.wait_ready(port);
        Some(nsnotifyd)
    }

    /// nsnotifyd binds its socket after its first SOA queries; it answers
    /// any query but a NOTIFY with REFUSED.
    fn wait_ready(&mut self, port: u16) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut query = Message::new();
        query
            .set_id(rand::random())
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .add_query(Query::query(
                DnsName::from_ascii(ZONE).unwrap(),
                RecordType::SOA,
            ));
        let bytes = query.to_vec().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            self.assert_running();
            socket.send_to(&bytes, ("127.0.0.1", port)).unwrap();
            let mut buf = [0u8; 512];
            if let Ok(len) = socket.recv(&mut buf) {
                let reply = Message::from_vec(&buf[..len]).unwrap();
                assert_eq!(reply.id(), query.id());
                assert_eq!(reply.response_code(), ResponseCode::Refused);
                return;
            }
        }
        panic!("nsnotifyd did not answer within 20 s:\n{}", self.log());
    }

    /// Panics with the log when nsnotifyd has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("nsnotifyd exited with {status}:\n{}", self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Nsnotifyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until Route 53's `_serial` holds `serial`.
async fn wait_for_serial(setup: &Setup, serial: u32, nsnotifyd: &mut Nsnotifyd) {
    let key = (format!("_serial._dyn.{ZONE}."), "TXT".to_string());
    let want = vec![format!("\"{serial}\"")];
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let contents = setup.contents(ZONE).await;
        if contents.get(&key).map(|(_, v)| v) == Some(&want) {
            return;
        }
        nsnotifyd.assert_running();
        assert!(
            Instant::now() < deadline,
            "Route 53 never reached serial {serial}: {contents:?}\n--- nsnotifyd\n{}",
            nsnotifyd.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn nsupdate_reaches_route53_through_nsnotifyd_and_the_hook(kind: Kind) {
    let port = free_port();
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.also_notify = Some(port);
    let Some(setup) = Setup::start(kind, vec![zone]).await else {
        return;
    };
    let initial = setup.run(&["sync", ZONE]).await;
    assert_eq!(initial.status.code(), Some(0), "{}", show(&initial));
    let Some(mut nsnotifyd) = Nsnotifyd::start(
        port,
        setup.bind.addr,
        &setup.config_path(),
        setup.dir.path(),
    ) else {
        return;
    };

    setup
        .bind
        .nsupdate(ZONE, "update add new.parent.test. 300 A 192.0.2.77");
    wait_for_serial(&setup, SERIAL + 1, &mut nsnotifyd).await;
    assert_synced(&setup, ZONE).await;
    // nsnotifyd passed ZONE SERIAL SOURCE through, and the configuration
    // came from XFR53_CONFIG alone
    let log = nsnotifyd.log();
    assert!(
        log.contains(&format!(
            "notified_serial=Some({}) notify_source=Some(\"127.0.0.1\")",
            SERIAL + 1
        )),
        "{log}"
    );
}
both!(nsupdate_reaches_route53_through_nsnotifyd_and_the_hook);

/// A NOTIFY comes from a server ahead of xfr53's configured primary (a
/// hidden primary feeding slow secondaries): nsnotifyd's hook fails until
/// the configured primary has the serial, then Route 53 gets it.
async fn nsnotifyd_retries_until_the_primary_catches_up(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::fixture("delegation.zone")]).await else {
        return;
    };
    let initial = setup.run(&["sync", ZONE]).await;
    assert_eq!(initial.status.code(), Some(0), "{}", show(&initial));
    // the server nsnotifyd hears from, one serial ahead from the start
    let port = free_port();
    let mut ahead = bind::Zone::new(
        ZONE,
        std::fs::read_to_string(crate::support::zones::data_dir().join("delegation.zone"))
            .unwrap()
            .replace(&SERIAL.to_string(), &(SERIAL + 1).to_string()),
    );
    ahead.also_notify = Some(port);
    let Some(ahead) = Bind::start(vec![ahead]) else {
        return;
    };
    let Some(mut nsnotifyd) =
        Nsnotifyd::start(port, ahead.addr, &setup.config_path(), setup.dir.path())
    else {
        return;
    };

    ahead.nsupdate(ZONE, "update add new.parent.test. 300 A 192.0.2.77");
    // the hook ran for SERIAL + 2 and failed: the configured primary is at SERIAL
    let deadline = Instant::now() + Duration::from_secs(30);
    while !nsnotifyd.log().contains("exited with status 1") {
        nsnotifyd.assert_running();
        assert!(Instant::now() < deadline, "{}", nsnotifyd.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = nsnotifyd.log();
    assert!(
        log.contains(&format!(
            "the primary has not caught up to serial {} yet ({} serves {SERIAL})",
            SERIAL + 2,
            setup.bind.addr
        )),
        "{log}"
    );
    assert_eq!(
        managed(setup.contents(ZONE).await, ZONE)
            [&(format!("_serial._dyn.{ZONE}."), "TXT".to_string())]
            .1,
        [format!("\"{SERIAL}\"")]
    );

    // the configured primary catches up; nsnotifyd's next retry succeeds
    setup
        .bind
        .nsupdate(ZONE, "update add new.parent.test. 300 A 192.0.2.77");
    setup
        .bind
        .nsupdate(ZONE, "update add later.parent.test. 300 A 192.0.2.78");
    wait_for_serial(&setup, SERIAL + 2, &mut nsnotifyd).await;
    assert_synced(&setup, ZONE).await;
}
both!(nsnotifyd_retries_until_the_primary_catches_up);

/// `xfr53 sync ZONE SERIAL [SOURCE]` directly: exit 1 while the primary is
/// behind SERIAL (RFC 1982), whether or not there was something to apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_fails_while_the_primary_is_behind_the_announced_serial() {
    let Some(setup) =
        Setup::start(Kind::Strict, vec![bind::Zone::fixture("delegation.zone")]).await
    else {
        return;
    };
    let serial = |s: u32| s.to_string();
    // up to date, but not at the announced serial
    for announced in [SERIAL + 1, SERIAL.wrapping_add(1 << 30)] {
        let run = setup
            .run(&["sync", ZONE, &serial(announced), "127.0.0.1"])
            .await;
        assert_eq!(run.status.code(), Some(1), "{}", show(&run));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains(&format!(
                "{ZONE}.: the primary has not caught up to serial {announced} yet ({} serves {SERIAL})",
                setup.bind.addr
            )),
            "{}",
            show(&run)
        );
    }
    // at or past the announced serial (a NOTIFY may be old news); in
    // RFC 1982 order, where SERIAL + 2^31 + 1 is older than SERIAL
    for announced in [SERIAL, SERIAL - 1, SERIAL.wrapping_add((1 << 31) + 1)] {
        let run = setup.run(&["sync", ZONE, &serial(announced)]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    }
    // a change is applied, and still the primary is behind
    setup
        .bind
        .nsupdate(ZONE, "update add new.parent.test. 300 A 192.0.2.77");
    let run = setup.run(&["sync", ZONE, &serial(SERIAL + 3)]).await;
    assert_eq!(run.status.code(), Some(1), "{}", show(&run));
    assert_eq!(
        managed(setup.contents(ZONE).await, ZONE),
        expected(&setup.bind, ZONE).await,
        "what the primary has is applied all the same"
    );
}

/// `--config` works before and after the command, and from XFR53_CONFIG;
/// the flag wins over the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_from_either_position_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.toml");
    let run = |args: &[&str], env: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xfr53"));
        command.args(args).env_remove("XFR53_CONFIG");
        if let Some(path) = env {
            command.env("XFR53_CONFIG", path);
        }
        command.output().unwrap()
    };
    let good_s = good.to_str().unwrap();
    let missing_s = missing.to_str().unwrap();
    for (args, env) in [
        (vec!["--config", good_s, "config", "check"], None),
        (vec!["config", "--config", good_s, "check"], None),
        (vec!["config", "check", "--config", good_s], None),
        (vec!["config", "check"], Some(good.as_path())),
        (
            vec!["config", "check", "--config", good_s],
            Some(missing.as_path()),
        ),
    ] {
        let out = run(&args, env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} {env:?}: {}",
            show(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(&format!("{good_s}: OK, 1 zone(s)")),
            "{args:?}: {}",
            show(&out)
        );
    }
    let out = run(&["config", "check"], Some(missing.as_path()));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(missing_s),
        "{}",
        show(&out)
    );
}

/// The hook refuses to run with arguments nsnotifyd never passes.
#[test]
fn the_hook_takes_exactly_what_nsnotifyd_passes() {
    for args in [
        &[][..],
        &["a.test"][..],
        &["a.test", "1", "127.0.0.1", "x"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_xfr53-nsnotifyd-hook"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr)
            .starts_with("usage: xfr53-nsnotifyd-hook ZONE SERIAL [SOURCE]"));
    }
}
