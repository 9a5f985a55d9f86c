//! A reload in the middle of an outage, in-process: a zone whose settings
//! change keeps its alert episode (one "failing" alert, then one
//! "recovered"), whether the reload restarts that zone alone or every zone
//! (a changed `[route53]`), and a zone removed by either leaves /metrics.

use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::inprocess::{config, wait_synced, InProcess};
use crate::support::memory_route53::{MemoryRoute53, Outage};

const ALERTS: &str =
    "\n[alerts]\nsns_topic_arn = \"arn:aws:sns:us-east-1:123456789012:xfr53\"\ngrace_seconds = 0\n";

fn zone(name: &str) -> bind::Zone {
    bind::Zone::new(
        name,
        format!("$TTL 300\n@ SOA ns1.{name}. admin.{name}. 1 3600 600 86400 300\n@ NS ns1.{name}.\nns1 A 192.0.2.1\n"),
    )
}

fn failed(zone: &str) -> String {
    format!("xfr53_syncs_total{{zone=\"{zone}.\",result=\"failed\"}}")
}

async fn reload_mid_outage(restart_all: &str) {
    let sockets = InProcess::bind().await;
    let Some(bind) = Bind::start(vec![zone("a.test"), zone("b.test")]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test", "b.test"]);
    route53.set_down(Some(Outage::Fatal));
    let both = [("a.test", ""), ("b.test", "")];
    let text = config(state.path(), bind.addr, &both) + ALERTS;
    let daemon = InProcess::run(sockets, &text, route53.clone());
    let alerts_for = |zone: &str| {
        (daemon.alerts.subjects().into_iter())
            .filter(|s| s.contains(&format!(" {zone}. ")))
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(15), || async {
            alerts_for("a.test").len() == 1 && alerts_for("b.test").len() == 1
        })
        .await,
        "{:?}",
        daemon.alerts.subjects()
    );
    let before = daemon.metric(&failed("a.test")).await.unwrap();
    let changed = [("a.test", "sync_timeout_seconds = 600")];
    daemon
        .reload(&(config(state.path(), bind.addr, &changed) + ALERTS + restart_all))
        .await;
    // the new task syncs at once, and fails
    let limit = Duration::from_secs(15);
    assert!(
        daemon
            .metric_reaches(&failed("a.test"), before + 1.0, limit)
            .await
    );
    assert!(
        eventually(limit, || async {
            daemon.metric(&failed("b.test")).await.is_none()
        })
        .await,
        "the removed zone leaves /metrics"
    );
    route53.set_down(None);
    wait_synced(&route53, &bind, "a.test").await;
    assert!(
        eventually(limit, || async { alerts_for("a.test").len() == 2 }).await,
        "{:?}",
        daemon.alerts.subjects()
    );
    let sent = alerts_for("a.test");
    assert!(sent[0].contains("is failing to sync"), "{sent:?}");
    assert!(sent[1].contains("recovered"), "{sent:?}");
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_zone_keeps_its_alert_episode() {
    reload_mid_outage("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_restarting_every_zone_keeps_alert_episodes_and_drops_removed_zones() {
    reload_mid_outage("\n[route53]\nrequests_per_second = 20\n").await;
}
