//! No AWS credentials anywhere: one line naming the ways to provide them,
//! within seconds, and no retries (it was 8 retries, 7-26 s and 16 KB of
//! SDK output about IMDS).

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn without_credentials_plan_says_so_in_one_line_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let config = dir.path().join("xfr53.toml");
    std::fs::write(
        &config,
        "[[zone]]\nname = \"example.com.\"\nprimaries = [\"127.0.0.1:1\"]\n",
    )
    .unwrap();
    // An instance metadata service that accepts connections and never
    // answers: the slowest case off EC2 (the kernel completes the
    // handshakes; nothing ever reads).
    let imds = TcpListener::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{}/", imds.local_addr().unwrap()),
        )
        .arg("--config")
        .arg(&config)
        .args(["plan", "example.com"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("took {took:?}, {} bytes on stderr", output.stderr.len());
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(
        stderr.starts_with("xfr53: error: zone example.com.: finding its hosted zone in Route 53: no AWS credentials found. "),
        "{stderr}"
    );
    for way in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "~/.aws/config",
        "aws sso login",
        "instance role",
    ] {
        assert!(stderr.contains(way), "names {way}: {stderr}");
    }
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
