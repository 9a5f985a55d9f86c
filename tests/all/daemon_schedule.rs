//! When the daemon syncs, in-process against a real BIND and Route 53 in
//! memory: a burst of NOTIFYs coalesces into a few syncs, a lost NOTIFY is
//! covered by the SOA refresh timer, and a transfer over its cap fails the
//! sync, counted by limit, with nothing sent to Route 53.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::inprocess::{config, wait_synced, InProcess};
use crate::support::memory_route53::MemoryRoute53;

/// The daemon syncing `zone` (from BIND, NOTIFYing it when `notify`) with
/// `extra` lines in the zone's section.
async fn start(
    mut zone: bind::Zone,
    notify: bool,
    extra: &str,
) -> Option<(Bind, MemoryRoute53, InProcess, tempfile::TempDir)> {
    let sockets = InProcess::bind().await;
    if notify {
        zone.also_notify = Some(sockets.dns);
    }
    let name = zone.name.clone();
    let bind = Bind::start(vec![zone])?;
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&[&name]);
    let text = config(state.path(), bind.addr, &[(&name, extra)]);
    let daemon = InProcess::run(sockets, &text, route53.clone());
    Some((bind, route53, daemon, state))
}

/// All syncs of `zone` so far, whatever their result.
async fn syncs(daemon: &InProcess, zone: &str) -> f64 {
    let mut syncs = 0.0;
    for result in ["applied", "up_to_date", "failed", "refused", "timeout"] {
        let series = format!(r#"xfr53_syncs_total{{zone="{zone}.",result="{result}"}}"#);
        syncs += daemon.metric(&series).await.unwrap_or(0.0);
    }
    syncs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_updates_in_a_second_coalesce() {
    let fixture = bind::Zone::fixture("delegation.zone");
    let Some((bind, route53, daemon, _state)) = start(fixture, true, "").await else {
        return;
    };
    wait_synced(&route53, &bind, "parent.test").await;
    let mut updates = String::new();
    for i in 0..100 {
        write!(
            updates,
            "update add burst{i}.parent.test. 300 A 192.0.2.{}\nsend\n",
            i + 1
        )
        .unwrap();
    }
    bind.nsupdate("parent.test", updates.trim_end().trim_end_matches("send"));
    wait_synced(&route53, &bind, "parent.test").await;
    let series = r#"xfr53_route53_serial{zone="parent.test."}"#;
    assert!(
        daemon
            .metric_reaches(series, 2024010200.0, Duration::from_secs(5))
            .await
    );
    let (syncs, changes) = (
        syncs(&daemon, "parent.test").await,
        route53.count("parent.test", "change"),
    );
    eprintln!("for the initial load and 100 updates: {syncs} syncs, {changes} change requests");
    // the first sync, then a handful for the burst: not one per update
    assert!(syncs <= 12.0, "{syncs} syncs for 100 updates");
    assert!(changes <= 12, "{changes} change requests for 100 updates");
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notify_is_covered_by_the_refresh_timer() {
    let text = std::fs::read_to_string(crate::support::zones::data_dir().join("delegation.zone"))
        .unwrap()
        .replace("2024010100 3600 600 86400 60", "2024010100 1 1 86400 60");
    let zone = bind::Zone::new("parent.test", text);
    let Some((bind, route53, daemon, _state)) = start(zone, false, "min_refresh_seconds = 1").await
    else {
        return;
    };
    wait_synced(&route53, &bind, "parent.test").await;
    bind.nsupdate(
        "parent.test",
        "update add quiet.parent.test. 300 A 192.0.2.89",
    );
    wait_synced(&route53, &bind, "parent.test").await;
    assert_eq!(
        daemon
            .metric(r#"xfr53_notify_total{result="accepted"}"#)
            .await,
        Some(0.0),
        "no NOTIFY reached the daemon: the timer brought the change"
    );
    daemon.stop().await.unwrap();
}

/// A transfer stopped at its record cap is a failed sync, counted by limit
/// in `/metrics`, and nothing reaches Route 53.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_over_its_cap_is_counted_in_metrics() {
    let fixture = bind::Zone::fixture("realistic.zone");
    let Some((_bind, route53, daemon, _state)) =
        start(fixture, false, "max_transfer_records = 5").await
    else {
        return;
    };
    let zone = r#"zone="example.com.""#;
    let capped = format!(r#"xfr53_transfer_limit_total{{{zone},limit="records"}}"#);
    assert!(
        daemon
            .metric_reaches(&capped, 1.0, Duration::from_secs(30))
            .await
    );
    // the failure is recorded once the sync ends, after the transfer stopped
    let failed = format!(r#"xfr53_syncs_total{{{zone},result="failed"}}"#);
    assert!(
        daemon
            .metric_reaches(&failed, 1.0, Duration::from_secs(30))
            .await
    );
    let applied = format!(r#"xfr53_syncs_total{{{zone},result="applied"}}"#);
    assert_eq!(daemon.metric(&applied).await, Some(0.0));
    assert_eq!(route53.count("example.com", "change"), 0);
    daemon.stop().await.unwrap();
}
