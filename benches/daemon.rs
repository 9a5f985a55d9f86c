//! The daemon holding a 10,000- and a 100,000-record zone: from BIND's
//! NOTIFY to the change request leaving xfr53 for a one-record change, to
//! Route 53's serial moving (moto answers INSYNC at once), the idle daemon's
//! memory and CPU, its memory across 30 one-record changes and the bytes of
//! state written per change. Run with `cargo bench --bench daemon`
//! (`BENCH_RECORDS=10000` for one size); prints figures.

#[path = "../tests/all/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use support::bind;
use support::daemon::{eventually, Daemon};
use support::programs::free_port;
use support::relay::relay;
use support::route53_backend::{change_requests, Kind};
use support::setup::Setup;

const ZONE: &str = "bench.test";
const ROUNDS: u32 = 30;

/// (resident kB, CPU ticks) of a process, from /proc.
fn usage(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    (rss, ticks)
}

/// Bytes and modification times of the files in the state directory.
fn state_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.len(), meta.modified().ok()?))
        })
        .collect()
}

/// Bytes a save wrote to `file`: what it appended to the journal, or the
/// whole of a file written anew.
fn appended(
    file: &(std::path::PathBuf, u64, std::time::SystemTime),
    before: &[(std::path::PathBuf, u64, std::time::SystemTime)],
) -> u64 {
    let grown = before
        .iter()
        .find(|b| b.0 == file.0 && b.1 <= file.1)
        .filter(|_| file.0.extension().is_some_and(|e| e == "journal"));
    file.1 - grown.map_or(0, |b| b.1)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes = std::env::var("BENCH_RECORDS").unwrap_or_else(|_| "10000,100000".into());
    for records in sizes.split(',').map(|n| n.trim().parse::<usize>().unwrap()) {
        bench(records);
    }
}

fn bench(records: usize) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (dns, http, relay_port) = (free_port(), free_port(), free_port());
        // two A records per name
        let mut zone = bind::Zone::new(ZONE, support::zones::generated(ZONE, records / 2));
        // BIND notifies a relay that notes when each NOTIFY arrives and
        // passes it on to the daemon (and the answer back)
        zone.also_notify = Some(relay_port);
        let notifies = relay(relay_port, dns).await;
        // moto slows down with every batch at 100,000 records (about a
        // minute per batch of 1,000 values by the 40th): the strict double
        // stands in for Route 53 there
        let (kind, backend) = match records > 10_000 {
            true => (Kind::Strict, "the strict double"),
            false => (Kind::Moto, "moto"),
        };
        let Some(setup) = Setup::start(kind, vec![zone]).await else {
            return;
        };
        let quota = format!("record_set_quota = {}", records + 100);
        if kind == Kind::Strict {
            setup.backend.strict().set_record_set_quota(records + 100);
        }
        setup.write_config(Some((dns, http)), &quota, &[ZONE]);
        // NOTIFY-started syncs are spaced 1 s apart by default (a flood
        // guard); the rounds here come faster, and the figure is the work
        // of a change, not that spacing
        let config = std::fs::read_to_string(setup.config_path()).unwrap();
        std::fs::write(setup.config_path(), format!("{config}\n[limits]\nnotify_sync_interval_seconds = 0\n")).unwrap();
        let state_dir = setup.dir.path().join("state");
        let daemon = Daemon::start(&setup, http);
        let serial = |n: f64| {
            let daemon = &daemon;
            move || async move { daemon.metric(&format!("xfr53_route53_serial{{zone=\"{ZONE}.\"}}")).await == Some(n) }
        };
        let started = Instant::now();
        assert!(eventually(Duration::from_secs(1800), serial(1.0)).await, "{}", daemon.log());
        println!("[{records} records] first sync of {records} records ({} sets) into {backend}: {:.0} ms", records / 2, started.elapsed().as_secs_f64() * 1e3);

        tokio::time::sleep(Duration::from_secs(2)).await;
        let (rss, before) = usage(daemon.pid());
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (_, after) = usage(daemon.pid());
        let ticks_per_second = 100.0;
        println!(
            "[{records} records] idle daemon holding the zone: RSS {:.1} MB; CPU over 10 s idle: {:.2} % ({} ticks)",
            rss as f64 / 1024.0,
            (after - before) as f64 / ticks_per_second / 10.0 * 100.0,
            after - before
        );

        let (mut to_request, mut to_serial, mut written) = (Vec::new(), Vec::new(), Vec::new());
        let rss_before = rss;
        for round in 0..ROUNDS {
            let files_before = state_files(&state_dir);
            let mark = setup.backend.requests().len();
            let seen = notifies.lock().unwrap().len();
            setup.bind.nsupdate(ZONE, &format!("update add new{round}.{ZONE}. 300 A 192.0.2.{}", round + 10));
            let saved = |files: &[(std::path::PathBuf, u64, std::time::SystemTime)]| files.iter().any(|f| !files_before.contains(f));
            assert!(eventually(Duration::from_secs(10), || async { notifies.lock().unwrap().len() > seen }).await);
            let notified = notifies.lock().unwrap()[seen];
            let sent = eventually(Duration::from_secs(10), || async {
                !change_requests(&setup.backend.requests()[mark..]).is_empty()
            })
            .await;
            assert!(sent, "{}", daemon.log());
            let requests = setup.backend.requests();
            let request = change_requests(&requests[mark..])[0].at;
            to_request.push(request.saturating_duration_since(notified));
            assert!(eventually(Duration::from_secs(60), serial(f64::from(round + 2))).await);
            to_serial.push(notified.elapsed());
            // the state is saved after INSYNC: bytes of files new or rewritten
            eventually(Duration::from_secs(30), || async { saved(&state_files(&state_dir)) }).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let files = state_files(&state_dir);
            written.push(files.iter().filter(|f| !files_before.contains(f)).map(|f| appended(f, &files_before)).sum::<u64>());
        }
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e3
        };
        let max = |v: &[Duration]| v.iter().max().unwrap().as_secs_f64() * 1e3;
        println!(
            "[{records} records] one-record change, {ROUNDS} rounds: NOTIFY -> change request leaves xfr53: median {:.1} ms, max {:.1} ms",
            median(to_request.clone()),
            max(&to_request)
        );
        println!(
            "[{records} records] one-record change, {ROUNDS} rounds: NOTIFY -> INSYNC (Route 53 serial metric moved, {backend}): median {:.1} ms, max {:.1} ms",
            median(to_serial.clone()),
            max(&to_serial)
        );
        if std::env::var("BENCH_LOG").is_ok() {
            let log = daemon.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("{}", lines[lines.len().saturating_sub(12)..].join("\n"));
        }
        let (rss, _) = usage(daemon.pid());
        written.sort();
        println!(
            "[{records} records] state written per change: median {} bytes, max {} bytes",
            written[written.len() / 2],
            written.last().unwrap()
        );
        println!(
            "[{records} records] RSS after the {ROUNDS} changes: {:.1} MB (idle before them {:.1} MB)",
            rss as f64 / 1024.0,
            rss_before as f64 / 1024.0
        );
    });
}
