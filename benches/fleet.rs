//! A thousand zones in one daemon: 1,000 zones of about 100 records on one
//! `named`, the strict double as Route 53, and a small probe zone that
//! BIND NOTIFYs (through a relay that notes each arrival). Prints:
//! - NOTIFY -> the probe's change request while every other zone waits in
//!   the refresh lane for its start-up sync at 5 requests a second;
//! - the time to sync all of them at 100 requests a second;
//! - a warm restart: the time until every zone was checked against its
//!   primary, the Route 53 requests it made, the idle RSS;
//! - the audit over all of them at 5 requests a second, its share 0.2:
//!   its requests a second, and NOTIFY -> change request meanwhile.
//!
//! Run with `cargo bench --bench fleet` (`FLEET_ZONES=200` for fewer).

#[path = "../tests/all/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::bind;
use support::daemon::{eventually, http_get, Daemon};
use support::programs::free_port;
use support::relay::relay;
use support::route53_backend::{change_requests, Kind};
use support::setup::Setup;

const PROBE: &str = "probe.fleet.test";
const ROUNDS: u32 = 5;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let zones = std::env::var("FLEET_ZONES").map_or(1000, |n| n.parse().unwrap());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(bench(zones));
}

/// Resident kB of a process.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Zones with at least one sync counted as `results`, per /metrics.
async fn zones_with(http: u16, results: &[&str]) -> usize {
    let Some((_, body)) = http_get(http, "/metrics").await else {
        return 0;
    };
    let mut zones = BTreeMap::new();
    for line in body.lines().filter(|l| l.starts_with("xfr53_syncs_total{")) {
        let counted = results
            .iter()
            .any(|r| line.contains(&format!("result=\"{r}\"")));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        if counted && value >= 1.0 {
            zones.insert(line.split('"').nth(1).unwrap().to_string(), ());
        }
    }
    zones.len()
}

struct Fleet {
    setup: Setup,
    names: Vec<String>,
    dns: u16,
    http: u16,
    notifies: Arc<Mutex<Vec<Instant>>>,
    probe_id: String,
}

impl Fleet {
    /// The configuration for every zone, at `rps`, with `extra` sections.
    fn configure(&self, rps: u32, extra: &str) {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.setup
            .write_config(Some((self.dns, self.http)), "", &names);
        let config = std::fs::read_to_string(self.setup.config_path())
            .unwrap()
            .replace(
                "requests_per_second = 50",
                &format!("requests_per_second = {rps}"),
            );
        std::fs::write(
            self.setup.config_path(),
            format!("{config}\n[limits]\nnotify_sync_interval_seconds = 0\n{extra}"),
        )
        .unwrap();
    }

    /// `ROUNDS` one-record changes to the probe zone: NOTIFY arrival ->
    /// its change request, each.
    async fn probe(&self, daemon: &Daemon, from: u32) -> Vec<Duration> {
        let mut took = Vec::new();
        for round in from..from + ROUNDS {
            let mark = self.setup.backend.requests().len();
            let seen = self.notifies.lock().unwrap().len();
            self.setup.bind.nsupdate(
                PROBE,
                &format!("update add p{round}.{PROBE}. 300 A 192.0.2.{}", round % 250),
            );
            let notified = eventually(Duration::from_secs(10), || async {
                self.notifies.lock().unwrap().len() > seen
            })
            .await;
            assert!(notified, "BIND sent no NOTIFY");
            let at = self.notifies.lock().unwrap()[seen];
            let sent = eventually(Duration::from_secs(60), || async {
                self.probe_changes(mark).is_some()
            })
            .await;
            assert!(sent, "no change request for the probe\n{}", daemon.log());
            took.push(
                self.probe_changes(mark)
                    .unwrap()
                    .saturating_duration_since(at),
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        took
    }

    /// When the first change request for the probe zone after `mark` came.
    fn probe_changes(&self, mark: usize) -> Option<Instant> {
        let requests = self.setup.backend.requests();
        let first = change_requests(&requests[mark..])
            .into_iter()
            .find(|r| r.target.contains(&self.probe_id))
            .map(|r| r.at);
        first
    }
}

fn figures(v: &[Duration]) -> String {
    let mut v = v.to_vec();
    v.sort();
    format!(
        "median {:.0} ms, max {:.0} ms",
        v[v.len() / 2].as_secs_f64() * 1e3,
        v.last().unwrap().as_secs_f64() * 1e3
    )
}

async fn bench(count: usize) {
    let (dns, http, relay_port) = (free_port(), free_port(), free_port());
    let mut zones: Vec<bind::Zone> = (0..count)
        .map(|i| {
            let name = format!("z{i}.fleet.test");
            bind::Zone::new(&name, support::zones::generated(&name, 50))
        })
        .collect();
    let mut probe = String::new();
    writeln!(probe, "$ORIGIN {PROBE}.\n$TTL 300\n@ SOA ns.{PROBE}. admin.{PROBE}. 1 3600 600 86400 60\n@ NS ns.{PROBE}.\nns A 192.0.2.1").unwrap();
    let mut probe = bind::Zone::new(PROBE, probe);
    probe.also_notify = Some(relay_port);
    zones.push(probe);
    let notifies = relay(relay_port, dns).await;
    let started = Instant::now();
    let Some(setup) = Setup::start(Kind::Strict, zones).await else {
        panic!("BIND is needed");
    };
    let names: Vec<String> = setup.zone_ids.keys().cloned().collect();
    let probe_id = setup.zone_id(PROBE).to_string();
    println!(
        "[fleet] {count} zones of ~100 records and a probe zone on one named, hosted zones in the strict double: set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let fleet = Fleet {
        setup,
        names,
        dns,
        http,
        notifies,
        probe_id,
    };
    let all = fleet.names.len();
    let stop = |mut daemon: Daemon| async move {
        daemon.signal("TERM");
        assert_eq!(daemon.wait(Duration::from_secs(60)).await, Some(0));
    };

    // cold: every zone's start-up sync queued in the refresh lane at 5/s
    fleet.configure(5, "[audit]\nperiod_seconds = 0\n");
    let daemon = Daemon::start(&fleet.setup, http);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cold = fleet.probe(&daemon, 0).await;
    let synced = zones_with(http, &["applied", "up_to_date"]).await;
    println!("[fleet] NOTIFY -> probe change request while {count} zones sync at start-up through 5 requests/s ({synced} of {all} synced by then): {} ({ROUNDS} rounds)", figures(&cold));
    stop(daemon).await;

    // every zone synced, at 100/s (the most the configuration allows)
    fleet.configure(100, "[audit]\nperiod_seconds = 0\n");
    let started = Instant::now();
    let daemon = Daemon::start(&fleet.setup, http);
    let done = eventually(Duration::from_secs(900), || async {
        zones_with(http, &["applied", "up_to_date"]).await == all
    })
    .await;
    assert!(done, "not every zone synced\n{}", daemon.log());
    println!(
        "[fleet] all {all} zones synced (the rest of the start-up syncs) at 100 requests/s: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    stop(daemon).await;

    // warm: nothing changed, state kept
    fleet.configure(5, "[audit]\nperiod_seconds = 0\n");
    let mark = fleet.setup.backend.requests().len();
    let started = Instant::now();
    let daemon = Daemon::start(&fleet.setup, http);
    let checked = eventually(Duration::from_secs(120), || async {
        zones_with(http, &["up_to_date"]).await == all
    })
    .await;
    assert!(checked, "not every zone was checked\n{}", daemon.log());
    let took = started.elapsed();
    let requests = fleet.setup.backend.requests()[mark..].to_vec();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let path = r.path();
        let kind = path.split('/').nth(2).unwrap_or("?").to_string();
        *kinds.entry(format!("{} {kind}", r.method)).or_default() += 1;
    }
    println!(
        "[fleet] warm restart, nothing changed: every one of {all} zones checked against its primary in {:.2} s; Route 53 requests: {} ({:.3} per zone) {kinds:?}",
        took.as_secs_f64(),
        requests.len(),
        requests.len() as f64 / all as f64
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "[fleet] idle RSS holding {all} zones: {:.1} MB",
        rss(daemon.pid()) as f64 / 1024.0
    );
    stop(daemon).await;

    // the audit: a pass every 20 s wants ~50 requests/s; its share of 5/s is 1/s
    let period = 20;
    fleet.configure(
        5,
        &format!("[audit]\nperiod_seconds = {period}\ndeep_every = 2\n"),
    );
    let daemon = Daemon::start(&fleet.setup, http);
    // the first audits come after a whole period and each zone's point in it
    tokio::time::sleep(Duration::from_secs(period + 5)).await;
    let mark = fleet.setup.backend.requests().len();
    let window = Instant::now();
    let during = fleet.probe(&daemon, 100).await;
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(window.elapsed())).await;
    let seconds = window.elapsed().as_secs_f64();
    let requests = fleet.setup.backend.requests()[mark..].to_vec();
    // the probe's own requests (its GetChange polls name no zone) are not the audit's
    let audit = requests
        .iter()
        .filter(|r| !r.target.contains(&fleet.probe_id) && !r.target.contains("/change/"))
        .count();
    let audits = zones_with_audits(http).await;
    println!(
        "[fleet] audit of {all} zones at 5 requests/s, share 0.2 (1/s): {audit} audit requests in {seconds:.1} s = {:.2}/s; {audits} audits counted; NOTIFY -> probe change request meanwhile: {}",
        audit as f64 / seconds,
        figures(&during)
    );
    stop(daemon).await;
}

/// Audits counted on /metrics, all zones and results together.
async fn zones_with_audits(http: u16) -> u64 {
    let Some((_, body)) = http_get(http, "/metrics").await else {
        return 0;
    };
    body.lines()
        .filter(|l| l.starts_with("xfr53_audits_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}
