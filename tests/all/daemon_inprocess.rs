//! The daemon in-process against a real BIND and Route 53 in memory: a
//! NOTIFYed change reaches Route 53 with no new listing, and a reload
//! keeps each unchanged zone's task (its Route 53 view and hosted zone)
//! while a changed zone starts again and a removed one stops.

use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::inprocess::{config, InProcess};
use crate::support::memory_route53::MemoryRoute53;

fn zone(name: &str, notify: u16) -> bind::Zone {
    let mut zone = bind::Zone::new(
        name,
        format!(
            "$TTL 300\n@ SOA ns1.{name}. admin.{name}. 1 3600 600 86400 300\n@ NS ns1.{name}.\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
        ),
    );
    zone.also_notify = Some(notify);
    zone
}

/// Waits until Route 53's `_serial` for `zone` holds `serial`.
async fn serial_reaches(route53: &MemoryRoute53, zone: &str, serial: u32) -> bool {
    let name = format!("_serial._dyn.{zone}.");
    eventually(Duration::from_secs(30), || async {
        route53.values(zone, &name, "TXT").is_some_and(|v| {
            v.first()
                .is_some_and(|t| t.contains(&format!("\"{serial}")))
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifyed_change_is_synced_without_a_new_listing() {
    let sockets = InProcess::bind().await;
    let Some(bind) = Bind::start(vec![zone("a.test", sockets.dns)]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test"]);
    let daemon = InProcess::run(
        sockets,
        &config(state.path(), bind.addr, &[("a.test", "")]),
        route53.clone(),
    );
    assert!(
        serial_reaches(&route53, "a.test", 1).await,
        "{}",
        bind.log()
    );
    assert_eq!(
        route53.count("a.test", "list"),
        1,
        "the first sync lists once"
    );
    bind.nsupdate("a.test", "update add new.a.test. 300 A 192.0.2.7");
    assert!(serial_reaches(&route53, "a.test", 2).await);
    assert_eq!(
        route53.values("a.test", "new.a.test.", "A"),
        Some(vec!["192.0.2.7".to_string()])
    );
    assert_eq!(
        route53.count("a.test", "list"),
        1,
        "the NOTIFYed sync trusts the view it keeps"
    );
    assert_eq!(route53.count("a.test", "open"), 1);
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_unchanged_zones_and_restarts_changed_ones() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let Some(bind) = Bind::start(vec![
        zone("a.test", notify),
        zone("b.test", notify),
        zone("c.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test", "b.test", "c.test"]);
    let all = [("a.test", ""), ("b.test", ""), ("c.test", "")];
    let daemon = InProcess::run(
        sockets,
        &config(state.path(), bind.addr, &all),
        route53.clone(),
    );
    for zone in ["a.test", "b.test", "c.test"] {
        assert!(serial_reaches(&route53, zone, 1).await, "{zone}");
    }
    let series = |zone: &str| format!("xfr53_route53_serial{{zone=\"{zone}.\"}}");
    // recorded once the sync ends, after its batch landed
    assert!(
        eventually(Duration::from_secs(10), || async {
            daemon.metric(&series("c.test")).await == Some(1.0)
        })
        .await
    );
    // b.test changes, c.test goes, a.test stays as it was
    daemon
        .reload(&config(
            state.path(),
            bind.addr,
            &[("a.test", ""), ("b.test", "sync_timeout_seconds = 600")],
        ))
        .await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            route53.count("b.test", "open") == 2
        })
        .await,
        "the changed zone starts again"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            daemon.metric(&series("c.test")).await.is_none()
        })
        .await,
        "the removed zone leaves /metrics"
    );
    // c.test first: its NOTIFY comes before the others' syncs end
    for zone in ["c.test", "a.test", "b.test"] {
        bind.nsupdate(zone, &format!("update add new.{zone}. 300 A 192.0.2.7"));
    }
    assert!(serial_reaches(&route53, "a.test", 2).await);
    assert!(serial_reaches(&route53, "b.test", 2).await);
    assert_eq!(
        (
            route53.count("a.test", "open"),
            route53.count("a.test", "list")
        ),
        (1, 1),
        "the unchanged zone kept its hosted zone and Route 53 view"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            daemon.metric(&series("a.test")).await == Some(2.0)
        })
        .await
    );
    // the removed zone is no longer synced: its NOTIFY finds no zone
    assert_eq!(route53.values("c.test", "new.c.test.", "A"), None);
    daemon.stop().await.unwrap();
}
