//! The audit, in-process against a real BIND and Route 53 in memory: a
//! hand edit in Route 53 that leaves `_serial` alone (nothing a sync would
//! notice) is found by a deep audit within the configured period, alerted
//! once, counted, and repaired only when `repair_drift` says so.

use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::inprocess::{config, synced, wait_synced, InProcess};
use crate::support::memory_route53::MemoryRoute53;

const ZONE: &str = "audit.test";

fn audits(result: &str) -> String {
    format!("xfr53_audits_total{{zone=\"{ZONE}.\",result=\"{result}\"}}")
}

/// The daemon syncing `ZONE` from a fresh BIND, audited every second,
/// each audit deep; synced once.
async fn start(repair: bool) -> Option<(Bind, MemoryRoute53, InProcess, tempfile::TempDir)> {
    let zone = bind::Zone::new(
        ZONE,
        format!(
            "$TTL 300\n@ SOA ns1.{ZONE}. admin.{ZONE}. 1 3600 600 86400 300\n@ NS ns1.{ZONE}.\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
        ),
    );
    let sockets = InProcess::bind().await;
    let bind = Bind::start(vec![zone])?;
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&[ZONE]);
    let text = config(state.path(), bind.addr, &[(ZONE, "")])
        + &format!("\n[audit]\nperiod_seconds = 1\ndeep_every = 1\nrepair_drift = {repair}\n")
        + "\n[alerts]\nsns_topic_arn = \"arn:aws:sns:us-east-1:123456789012:xfr53\"\n";
    let daemon = InProcess::run(sockets, &text, route53.clone());
    wait_synced(&route53, &bind, ZONE).await;
    Some((bind, route53, daemon, state))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edit_is_found_alerted_once_and_repaired() {
    let Some((bind, route53, daemon, _state)) = start(true).await else {
        return;
    };
    let www = format!("www.{ZONE}.");
    route53.put(ZONE, &www, "A", 300, &["198.51.100.66"]);
    route53.put(ZONE, &format!("hand.{ZONE}."), "TXT", 60, &["\"by hand\""]);
    assert!(!synced(&route53, &bind, ZONE).await);
    // the first audit comes within two periods of the start, then one a period
    let repaired = eventually(Duration::from_secs(10), || synced(&route53, &bind, ZONE)).await;
    assert!(repaired, "the drift was not repaired");
    // counted and alerted once the audit's report is recorded
    assert!(
        daemon
            .metric_reaches(&audits("repaired"), 1.0, Duration::from_secs(5))
            .await
    );
    let alerted = || daemon.alerts.subjects();
    assert!(eventually(Duration::from_secs(5), || async { !alerted().is_empty() }).await);
    let alerted = alerted();
    assert_eq!(alerted.len(), 1, "{alerted:?}");
    assert!(alerted[0].contains("drifted"), "{alerted:?}");
    // later audits find it clean
    assert!(
        daemon
            .metric_reaches(&audits("clean"), 2.0, Duration::from_secs(10))
            .await
    );
    assert_eq!(daemon.alerts.subjects().len(), 1);
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_left_alone_is_counted_and_alerted_once() {
    let Some((bind, route53, daemon, _state)) = start(false).await else {
        return;
    };
    let www = format!("www.{ZONE}.");
    route53.put(ZONE, &www, "A", 300, &["198.51.100.66"]);
    assert!(
        daemon
            .metric_reaches(&audits("drift"), 3.0, Duration::from_secs(15))
            .await,
        "three audits found the drift"
    );
    assert_eq!(
        route53.values(ZONE, &www, "A"),
        Some(vec!["198.51.100.66".to_string()]),
        "left as it is"
    );
    let alerted = || daemon.alerts.subjects();
    assert!(eventually(Duration::from_secs(5), || async { !alerted().is_empty() }).await);
    let alerted = alerted();
    assert_eq!(alerted.len(), 1, "one alert for the spell: {alerted:?}");
    // the primary's next change is a sync on the listing the audit kept:
    // it carries the repair with it
    bind.nsupdate(ZONE, &format!("update add new.{ZONE}. 300 A 192.0.2.9"));
    assert!(eventually(Duration::from_secs(15), || synced(&route53, &bind, ZONE)).await);
    daemon.stop().await.unwrap();
}
