//! A Route 53 outage, in-process against a real BIND and Route 53 in
//! memory: while requests fail (worth retrying, then not) every sync fails
//! and is counted, one alert is sent for the whole outage, and the zone
//! turns not ready once its SOA expire passes; once Route 53 answers again
//! the zone converges, is ready and one recovery is sent, from the view it
//! kept (`_serial` never moved), with no full listing.

use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::inprocess::{config, wait_synced, InProcess};
use crate::support::memory_route53::{MemoryRoute53, Outage};

const ZONE: &str = "outage.test";

fn failed() -> String {
    format!("xfr53_syncs_total{{zone=\"{ZONE}.\",result=\"failed\"}}")
}

async fn ready(daemon: &InProcess) -> Option<u16> {
    daemon.get("/readyz").await.map(|(status, _)| status)
}

/// Waits until at least `more` syncs failed after `before` did.
async fn fail_more(daemon: &InProcess, before: f64, more: f64) -> f64 {
    let limit = Duration::from_secs(15);
    assert!(
        daemon.metric_reaches(&failed(), before + more, limit).await,
        "syncs did not fail while Route 53 was down"
    );
    daemon.metric(&failed()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route53_outage_alerts_once_and_recovery_lists_nothing_again() {
    // refresh 2 s, retry 1 s, expire 4 s
    let zone = bind::Zone::new(
        ZONE,
        format!(
            "$TTL 300\n@ SOA ns1.{ZONE}. admin.{ZONE}. 1 2 1 4 300\n@ NS ns1.{ZONE}.\nns1 A 192.0.2.1\n"
        ),
    );
    let sockets = InProcess::bind().await;
    let Some(bind) = Bind::start(vec![zone]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&[ZONE]);
    let text = config(
        state.path(),
        bind.addr,
        &[(ZONE, "min_refresh_seconds = 1")],
    ) + "\n[alerts]\nsns_topic_arn = \"arn:aws:sns:us-east-1:123456789012:xfr53\"\ngrace_seconds = 0\n";
    let daemon = InProcess::run(sockets, &text, route53.clone());
    wait_synced(&route53, &bind, ZONE).await;
    let up = || async { ready(&daemon).await == Some(200) };
    assert!(eventually(Duration::from_secs(5), up).await);
    let lists = route53.count(ZONE, "list");
    assert_eq!((lists, route53.count(ZONE, "change")), (1, 1));

    route53.set_down(Some(Outage::Transient));
    bind.nsupdate(ZONE, &format!("update add during.{ZONE}. 300 A 192.0.2.90"));
    let down = fail_more(&daemon, 0.0, 2.0).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            ready(&daemon).await == Some(503)
        })
        .await,
        "not ready once the SOA expire passed without a sync"
    );
    let alerted = || daemon.alerts.subjects();
    assert!(
        eventually(Duration::from_secs(15), || async { !alerted().is_empty() }).await,
        "the outage is alerted"
    );
    route53.set_down(Some(Outage::Fatal));
    fail_more(&daemon, down, 2.0).await;
    assert_eq!(alerted().len(), 1, "one alert an outage: {:?}", alerted());
    assert!(
        alerted()[0].contains("is failing to sync"),
        "{:?}",
        alerted()
    );
    assert_eq!(
        route53.values(ZONE, &format!("during.{ZONE}."), "A"),
        None,
        "nothing lands while Route 53 is down"
    );

    route53.set_down(None);
    wait_synced(&route53, &bind, ZONE).await;
    assert!(eventually(Duration::from_secs(15), up).await, "ready again");
    assert!(
        eventually(Duration::from_secs(5), || async { alerted().len() == 2 }).await,
        "{:?}",
        alerted()
    );
    assert!(alerted()[1].contains("recovered"), "{:?}", alerted());
    assert_eq!(
        route53.count(ZONE, "list"),
        lists,
        "the view kept through the outage still holds: no full listing"
    );
    daemon.stop().await.unwrap();
}
