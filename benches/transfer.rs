//! AXFR of a generated 100,000-record zone from BIND 9 on loopback into the
//! zone model, side by side in one run with `dig AXFR > /dev/null` of the
//! same zone; then IXFR of a one-record change on that zone.
//! Run with `cargo bench --bench transfer`; prints figures, asserts nothing.

#[path = "../tests/all/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::bind::{self, Bind};
use xfr53::core::name::Name;
use xfr53::dns::primary::Primary;
use xfr53::dns::transfer::{axfr, refresh, Transferred};

const RECORDS: usize = 100_000;
const ROUNDS: usize = 5;

fn zone_text() -> String {
    let mut text = String::from(
        "$ORIGIN big.test.\n$TTL 300\n@ SOA ns.big.test. admin.big.test. 1 3600 600 86400 60\n@ NS ns.big.test.\nns A 192.0.2.1\n",
    );
    for i in 0..RECORDS - 3 {
        match i % 4 {
            0 | 1 => writeln!(
                text,
                "h{i} A 10.{}.{}.{}",
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255
            ),
            2 => writeln!(text, "h{i} TXT \"record number {i} of the benchmark zone\""),
            _ => writeln!(text, "h{i} MX 10 mail{}.big.test.", i % 100),
        }
        .unwrap();
    }
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // built by `cargo test --all-targets`: nothing to check here
    }
    let Some(bind) = Bind::start(vec![bind::Zone::new("big.test", zone_text())]) else {
        return;
    };
    let dig = support::programs::require("dig").expect("dig is installed");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let primary = Primary::new(bind.addr, None);
    let origin = Name::parse_route53("big.test").unwrap();

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut held = None;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let (zone, stats) = runtime.block_on(axfr(&primary, &origin)).unwrap();
        ours.push(started.elapsed());
        assert_eq!(stats.records, RECORDS + 1);
        held = Some(zone);

        let started = Instant::now();
        let status = Command::new(&dig)
            .args([
                "@127.0.0.1",
                "-p",
                &bind.addr.port().to_string(),
                "big.test",
                "AXFR",
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        theirs.push(started.elapsed());
        assert!(status.success());
    }
    println!(
        "AXFR of {RECORDS} records over loopback, median of {ROUNDS}: xfr53 into the zone model {:.1} ms; dig AXFR > /dev/null {:.1} ms",
        median(ours).as_secs_f64() * 1e3,
        median(theirs).as_secs_f64() * 1e3
    );

    let mut zone = held.unwrap();
    let mut ixfr = Vec::new();
    for i in 0..ROUNDS {
        bind.nsupdate(
            "big.test",
            &format!("update add new{i}.big.test. 300 A 192.0.2.{i}"),
        );
        let started = Instant::now();
        let (outcome, _) = runtime.block_on(refresh(&primary, &mut zone)).unwrap();
        ixfr.push(started.elapsed());
        assert!(
            matches!(outcome, Transferred::Incremental(ref d) if d.len() == 1),
            "{outcome:?}"
        );
    }
    println!(
        "IXFR of a one-record change on that zone, median of {ROUNDS}: {:.2} ms",
        median(ixfr).as_secs_f64() * 1e3
    );
}
