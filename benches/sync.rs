//! A 10,000-record zone synced from BIND 9 into Route 53 three times (the
//! first sync, one after 10 records changed, one with nothing changed), by
//! xfr53 and by octoDNS, against the same moto server (moto is reset
//! between the two) and the same BIND; then xfr53 alone against the strict
//! double. Prints wall time and Route 53 requests for each.
//!
//! Run with `cargo bench --bench sync` after `scripts/install-test-deps`;
//! octoDNS comes from `scripts/install-bench-deps` (a venv at .venv-bench).

#[path = "../tests/all/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::bind::{self, Bind};
use support::route53_backend::{Backend, Kind};

const ZONE: &str = "bench.test";
const NAMES: usize = 5_000;

/// Ten records changed in one dynamic update (one new serial).
fn change_ten(bind: &Bind, round: usize) {
    let updates: String = (0..10)
        .map(|i| format!("update delete h{i}.{ZONE}. A 10.0.0.{i}\nupdate add h{i}.{ZONE}. 300 A 10.9.{round}.{i}\n"))
        .collect();
    bind.nsupdate(ZONE, &updates);
}

struct Measured {
    what: String,
    elapsed: Duration,
    requests: usize,
}

async fn measure(backend: &Backend, what: &str, command: &mut tokio::process::Command) -> Measured {
    eprintln!("{what} ...");
    let before = backend.requests().len();
    let started = Instant::now();
    let output = command.output().await.unwrap();
    let elapsed = started.elapsed();
    if std::env::var("BENCH_LOG").is_ok() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Measured {
        what: what.to_string(),
        elapsed,
        requests: backend.requests().len() - before,
    }
}

fn xfr53(dir: &Path, backend: &Backend, bind: &Bind, zone_id: &str) -> tokio::process::Command {
    let config = dir.join("xfr53.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}/state\"\n[route53]\nendpoint = \"{}\"\n[[zone]]\nname = \"{ZONE}\"\nprimaries = [\"{}\"]\nhosted_zone_id = \"{zone_id}\"\n",
            dir.display(),
            backend.endpoint(),
            bind.addr
        ),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_xfr53"));
    command
        .args(["sync", ZONE, "--config"])
        .arg(&config)
        .envs(aws_env())
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or("warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn octodns(dir: &Path, backend: &Backend, bind: &Bind, venv: &Path) -> tokio::process::Command {
    // octoDNS's Route53Provider reads health checks moto does not serve
    std::fs::write(
        dir.join("bench_route53.py"),
        "from octodns_route53 import Route53Provider\n\nclass Provider(Route53Provider):\n    @property\n    def health_checks(self):\n        return {}\n",
    )
    .unwrap();
    let config = dir.join("octodns.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:\n  bind:\n    class: octodns_bind.AxfrSource\n    host: 127.0.0.1\n    port: {}\n  route53:\n    class: bench_route53.Provider\n    access_key_id: testing\n    secret_access_key: testing\nprocessors:\n  no-root-ns:\n    class: octodns.processor.filter.IgnoreRootNsFilter\nzones:\n  {ZONE}.:\n    sources:\n      - bind\n    processors:\n      - no-root-ns\n    targets:\n      - route53\n",
            bind.addr.port()
        ),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(venv.join("bin/octodns-sync"));
    command
        .args(["--config-file"])
        .arg(&config)
        .arg("--doit")
        .envs(aws_env())
        .env("AWS_ENDPOINT_URL_ROUTE_53", backend.endpoint())
        .env("PYTHONPATH", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn aws_env() -> [(&'static str, &'static str); 5] {
    [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// xfr53's three syncs; `round` makes each run's ten changes new.
async fn three_syncs(
    label: &str,
    backend: &Backend,
    bind: &Bind,
    round: usize,
    mut command: impl FnMut() -> tokio::process::Command,
) -> Vec<Measured> {
    let mut out = vec![measure(backend, &format!("{label}: first sync"), &mut command()).await];
    change_ten(bind, round);
    out.push(
        measure(
            backend,
            &format!("{label}: 10 records changed"),
            &mut command(),
        )
        .await,
    );
    out.push(
        measure(
            backend,
            &format!("{label}: nothing changed"),
            &mut command(),
        )
        .await,
    );
    out
}

async fn reset(backend: &Backend) {
    let url = format!("{}/moto-api/reset", backend.endpoint());
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"POST /moto-api/reset HTTP/1.1\r\nhost: moto\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-bench");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Some(bind) = Bind::start(vec![bind::Zone::new(
            ZONE,
            support::zones::generated(ZONE, NAMES),
        )]) else {
            return;
        };
        let mut results = Vec::new();

        eprintln!("BIND serves {ZONE}; starting moto");
        let moto = Backend::start(Kind::Moto).await.expect("moto is installed");
        let dir = tempfile::tempdir().unwrap();
        let id = moto.create_zone(ZONE, false).await;
        results.extend(
            three_syncs("xfr53 on moto", &moto, &bind, 1, || {
                xfr53(dir.path(), &moto, &bind, &id)
            })
            .await,
        );
        if venv.join("bin/octodns-sync").is_file() {
            reset(&moto).await;
            moto.create_zone(ZONE, false).await;
            let dir = tempfile::tempdir().unwrap();
            results.extend(
                three_syncs("octoDNS on moto", &moto, &bind, 2, || {
                    octodns(dir.path(), &moto, &bind, &venv)
                })
                .await,
            );
        } else {
            eprintln!("octoDNS not installed (scripts/install-bench-deps): skipping its runs");
        }

        let strict = Backend::start(Kind::Strict).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let id = strict.create_zone(ZONE, false).await;
        results.extend(
            three_syncs("xfr53 on the strict double", &strict, &bind, 3, || {
                xfr53(dir.path(), &strict, &bind, &id)
            })
            .await,
        );

        println!(
            "{:<48} {:>10} {:>9}",
            "10,000 records (5,000 sets)", "wall", "requests"
        );
        for m in results {
            println!(
                "{:<48} {:>8.0} ms {:>9}",
                m.what,
                m.elapsed.as_secs_f64() * 1e3,
                m.requests
            );
        }
    });
}
