//! Nothing freezes the daemon: while big zones convert (CPU work), the
//! NOTIFY listener and `/healthz` keep answering.
//!
//! As many 100,000-record zones (the size) as the daemon has async
//! worker threads (one per core), each over the hosted zone's record-set
//! quota, so a sync ends in a refusal after the conversion and nothing is
//! written. A first daemon transfers them and keeps them in its state
//! directory. A second one, started on that state, finds each copy up to
//! date and converts them all at once: one conversion per worker, the case
//! where conversion on the workers leaves none to answer (with transfers
//! in between, the conversions barely overlap and the idle worker answers
//! everything). From its start until every sync has failed, `/healthz` is
//! asked in a loop and a NOTIFY is sent every 100 ms.
//!
//! The bound: 95 in 100 answers within 100 ms (the requirement),
//! and every answer within 500 ms. Conversion on the async workers blocks
//! them for the whole conversion (a second or more in a debug build, with
//! answers waiting that long), so the cap fails when it runs there. With it off the workers an answer waits only for a
//! CPU timeslice: on a 2-core machine busy with other builds (or
//! `stress-ng --cpu 2`) most take a few milliseconds and a few take tens,
//! when the scheduler runs the conversion threads and the load first. The
//! 5% allowance is for those; the cap, 5 times the requirement because a
//! single sample on a shared machine can wait out several timeslices (under
//! `stress-ng --cpu 2` the worst seen was 70 ms), still fails a runtime
//! frozen for a conversion.

use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::Setup;

/// Records per zone, besides the SOA, NS and the NS's address.
const RECORDS: usize = 100_000;

fn notify(zone: &str) -> Vec<u8> {
    crate::support::listener::notify_message(&format!("{zone}."), RecordType::SOA, rand::random())
        .to_vec()
        .unwrap()
}

/// How long the daemon took to answer a NOTIFY for `zone` (up to 5 s).
async fn notify_latency(port: u16, zone: &str) -> Duration {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let query = notify(zone);
    let sent = Instant::now();
    socket.send_to(&query, ("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await {
        Ok(Ok(_)) => sent.elapsed(),
        _ => Duration::from_secs(5),
    }
}

/// The `percent`th percentile: the least value that many in 100 are at or
/// under.
fn percentile(mut v: Vec<Duration>, percent: usize) -> Duration {
    v.sort();
    v[(v.len() * percent).div_ceil(100).max(1) - 1]
}

fn failed(name: &str) -> String {
    format!("xfr53_syncs_total{{zone=\"{name}.\",result=\"failed\"}}")
}

/// Starts the daemon listening on fresh ports: it and its NOTIFY port.
async fn start(setup: &Setup, names: &[String]) -> (Daemon, u16) {
    let (dns, http) = (free_port(), free_port());
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    // transfers this big are expected here; the quota still refuses them
    setup.write_config(Some((dns, http)), "max_transfer_records = 1000000", &all);
    let daemon = Daemon::start(setup, http);
    assert!(
        eventually(Duration::from_secs(30), || async {
            daemon.get("/healthz").await.is_some()
        })
        .await,
        "{}",
        daemon.log()
    );
    (daemon, dns)
}

/// The `records=` counts of the daemon's "zone transferred" lines of kind
/// `kind`.
fn transferred(log: &str, kind: &str) -> Vec<usize> {
    log.lines()
        .filter(|line| line.contains("zone transferred") && line.contains(kind))
        .filter_map(|line| line.split("records=").nth(1))
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_notify_answer_while_big_zones_convert() {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let names: Vec<String> = (0..workers).map(|i| format!("big{i}.test")).collect();
    let zones = names
        .iter()
        .map(|name| bind::Zone::new(name, crate::support::zones::generated(name, RECORDS / 2)))
        .collect();
    let Some(setup) = Setup::start(Kind::Moto, zones).await else {
        return;
    };

    // The first daemon transfers every zone into the state directory.
    let (mut first, _) = start(&setup, &names).await;
    assert!(
        eventually(Duration::from_secs(300), || async {
            let mut done = true;
            for name in &names {
                done &= first.metric(&failed(name)).await.unwrap_or(0.0) >= 1.0;
            }
            done
        })
        .await,
        "the first syncs did not end: {}",
        first.log()
    );
    let log = first.log();
    let axfr = transferred(&log, "AXFR");
    assert!(
        axfr.len() == names.len() && axfr.iter().all(|n| *n > RECORDS),
        "each zone transferred its {RECORDS} records: {axfr:?}\n{log}"
    );
    first.signal("TERM");
    assert_eq!(first.wait(Duration::from_secs(30)).await, Some(0), "{log}");

    let started = Instant::now();
    let (daemon, dns) = start(&setup, &names).await;
    let notified = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let notifier = {
        let (zone, notified) = (names[0].clone(), notified.clone());
        tokio::spawn(async move {
            loop {
                let latency = notify_latency(dns, &zone).await;
                notified.lock().unwrap().push(latency);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut healthz = Vec::new();
    loop {
        let asked = Instant::now();
        let answer = daemon.get("/healthz").await;
        healthz.push(asked.elapsed());
        assert!(answer.is_some(), "{}", daemon.log());
        let mut done = true;
        for name in &names {
            done &= daemon.metric(&failed(name)).await.unwrap_or(0.0) >= 1.0;
        }
        if done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the syncs did not end: {}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let window = started.elapsed();
    notifier.abort();
    let notifies = notified.lock().unwrap().clone();
    let log = daemon.log();
    assert!(
        log.contains("over the hosted zone's quota"),
        "the syncs converted the zones and stopped at the quota: {log}"
    );
    let held = |name: &String| {
        log.lines().any(|line| {
            line.contains("zone transferred")
                && line.contains(&format!("zone={name}. "))
                && line.contains("kind=\"none\"")
        })
    };
    assert!(
        names.iter().all(held) && transferred(&log, "AXFR").is_empty(),
        "every zone was converted from its held copy, none transferred: {log}"
    );
    let summary = |probes: &Vec<Duration>| {
        format!(
            "{} answers, median {:?}, p95 {:?}, max {:?}",
            probes.len(),
            percentile(probes.clone(), 50),
            percentile(probes.clone(), 95),
            probes.iter().max().copied().unwrap_or_default()
        )
    };
    let report = format!(
        "over {window:?}: /healthz {}; NOTIFY {}",
        summary(&healthz),
        summary(&notifies)
    );
    eprintln!("{report}");
    assert!(
        healthz.len() >= 20 && notifies.len() >= 10,
        "the conversion was too short to probe: {report}"
    );
    for probes in [&healthz, &notifies] {
        assert!(
            percentile(probes.clone(), 95) < Duration::from_millis(100),
            "{report}"
        );
        assert!(
            probes.iter().all(|d| *d < Duration::from_millis(500)),
            "{report}"
        );
    }
}
