//! What the daemon reads from Route 53, in-process against a real BIND and
//! Route 53 in memory (every request counted): the view it keeps is
//! trusted while `_serial` says what it said, and read again in full when
//! another writer moved `_serial`; a batch rejected because the zone
//! changed between the read and the change is re-planned on a fresh
//! listing; a zone already up to date costs no listing and no change.

use std::time::Duration;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name as DnsName, RData, Record, RecordType};

use crate::support::bind::{self, Bind};
use crate::support::inprocess::{config, synced, wait_synced, InProcess};
use crate::support::listener::{notify_message, udp_exchange};
use crate::support::memory_route53::MemoryRoute53;

const ZONE: &str = "view.test";

/// `ZONE` at serial 1, refreshed every `refresh` seconds.
fn zone(refresh: u32) -> bind::Zone {
    bind::Zone::new(
        ZONE,
        format!(
            "$TTL 300\n@ SOA ns1.{ZONE}. admin.{ZONE}. 1 {refresh} 1 86400 300\n@ NS ns1.{ZONE}.\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
        ),
    )
}

/// The daemon syncing `zone` from BIND, synced once; the NOTIFY
/// listener's port. BIND does not NOTIFY the daemon (its NOTIFY on loading
/// the zone would start a sync at a time of its choosing): the test does.
async fn start(
    zone: bind::Zone,
    extra: &str,
) -> Option<(Bind, MemoryRoute53, InProcess, u16, tempfile::TempDir)> {
    let sockets = InProcess::bind().await;
    let dns = sockets.dns;
    let bind = Bind::start(vec![zone])?;
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&[ZONE]);
    let text = config(state.path(), bind.addr, &[(ZONE, extra)]);
    let daemon = InProcess::run(sockets, &text, route53.clone());
    wait_synced(&route53, &bind, ZONE).await;
    Some((bind, route53, daemon, dns, state))
}

/// Requests made for `ZONE`: (list, get, change).
fn costs(route53: &MemoryRoute53) -> (usize, usize, usize) {
    let count = |request| route53.count(ZONE, request);
    (count("list"), count("get"), count("change"))
}

fn series(name: &str) -> String {
    format!("{name}{{zone=\"{ZONE}.\"}}")
}

fn syncs(result: &str) -> String {
    format!("xfr53_syncs_total{{zone=\"{ZONE}.\",result=\"{result}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_writer_moving_serial_costs_a_full_listing_and_is_corrected() {
    let Some((bind, route53, daemon, dns, _state)) = start(zone(3600), "").await else {
        return;
    };
    assert_eq!(costs(&route53), (1, 0, 1), "the first sync lists once");
    // another writer changes a record and `_serial`
    let serial = format!("_serial._dyn.{ZONE}.");
    route53.put(ZONE, &serial, "TXT", 300, &["\"0\""]);
    route53.put(ZONE, &format!("www.{ZONE}."), "A", 300, &["192.0.2.66"]);
    bind.nsupdate(ZONE, &format!("update add new.{ZONE}. 300 A 192.0.2.7"));
    send_notify(dns, None).await;
    wait_synced(&route53, &bind, ZONE).await;
    let (list, get, change) = costs(&route53);
    assert_eq!(
        (list, get, change),
        (2, 1, 3),
        "`_serial` moved: the batch sent on the kept view is rejected, `_serial` read, the zone listed again and re-planned"
    );
    // the daemon's own change leaves `_serial` as it set it: trusted
    bind.nsupdate(ZONE, &format!("update add newer.{ZONE}. 300 A 192.0.2.8"));
    send_notify(dns, None).await;
    wait_synced(&route53, &bind, ZONE).await;
    assert_eq!(
        route53.count(ZONE, "list"),
        2,
        "the NOTIFYed sync uses the view it keeps"
    );
    assert!(
        daemon
            .metric_reaches(&syncs("applied"), 3.0, Duration::from_secs(5))
            .await
    );
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_rejected_after_another_write_is_replanned_on_a_fresh_listing() {
    let Some((bind, route53, daemon, dns, _state)) = start(zone(3600), "").await else {
        return;
    };
    assert_eq!(costs(&route53), (1, 0, 1));
    // another writer creates the set the daemon is about to create, between
    // the daemon's read and its change: the CREATE is rejected
    let new = format!("new.{ZONE}.");
    route53.put_before_next_change(ZONE, &new, "A", 300, &["192.0.2.66"]);
    bind.nsupdate(ZONE, &format!("update add {new} 300 A 192.0.2.7"));
    send_notify(dns, None).await;
    wait_synced(&route53, &bind, ZONE).await;
    assert_eq!(
        route53.values(ZONE, &new, "A"),
        Some(vec!["192.0.2.7".to_string()])
    );
    let (list, _, change) = costs(&route53);
    assert_eq!(
        (list, change),
        (2, 3),
        "one listing after the rejection, then the re-planned batch"
    );
    assert!(
        daemon
            .metric_reaches(&syncs("applied"), 2.0, Duration::from_secs(5))
            .await
    );
    assert_eq!(daemon.metric(&syncs("failed")).await, Some(0.0));
    daemon.stop().await.unwrap();
}

/// A NOTIFY for `ZONE` as BIND sends it, with its SOA at `serial` when
/// given.
fn notify(serial: Option<u32>) -> Vec<u8> {
    let mut message = notify_message(&format!("{ZONE}."), RecordType::SOA, 4242);
    if let Some(serial) = serial {
        let origin = DnsName::from_ascii(format!("{ZONE}.")).unwrap();
        let soa = SOA::new(origin.clone(), origin.clone(), serial, 1, 1, 1, 1);
        message.add_answer(Record::from_rdata(origin, 300, RData::SOA(soa)));
    }
    message.to_vec().unwrap()
}

/// Sends the daemon listening on `dns` a NOTIFY (with its SOA at `serial`
/// when given), as BIND would; waits for the answer.
async fn send_notify(dns: u16, serial: Option<u32>) {
    let to = ([127, 0, 0, 1], dns).into();
    let answered = udp_exchange("127.0.0.1:0", to, &notify(serial)).await;
    assert!(answered.is_some(), "the daemon answers a NOTIFY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_for_the_serial_held_costs_no_listing_and_no_change() {
    let Some((bind, route53, daemon, dns, _state)) = start(zone(3600), "").await else {
        return;
    };
    assert!(
        daemon
            .metric_reaches(&series("xfr53_route53_serial"), 1.0, Duration::from_secs(5))
            .await
    );
    let before = costs(&route53);
    // announcing the serial synced: dropped before any sync
    send_notify(dns, Some(1)).await;
    assert!(
        daemon
            .metric_reaches(
                &series("xfr53_notify_skipped_total"),
                1.0,
                Duration::from_secs(5)
            )
            .await
    );
    assert_eq!(
        costs(&route53),
        before,
        "a skipped NOTIFY asks Route 53 nothing"
    );
    // announcing no serial: a sync, which trusts the view it keeps
    send_notify(dns, None).await;
    assert!(
        daemon
            .metric_reaches(&syncs("up_to_date"), 1.0, Duration::from_secs(5))
            .await
    );
    assert_eq!(
        costs(&route53),
        before,
        "the primary's serial is the view's: no request"
    );
    assert!(synced(&route53, &bind, ZONE).await);
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_with_nothing_new_costs_nothing() {
    let Some((_bind, route53, daemon, _, _state)) = start(zone(1), "min_refresh_seconds = 1").await
    else {
        return;
    };
    assert!(
        daemon
            .metric_reaches(&syncs("up_to_date"), 3.0, Duration::from_secs(30))
            .await
    );
    assert_eq!(
        costs(&route53),
        (1, 0, 1),
        "refreshes at the serial of the view kept ask Route 53 nothing"
    );
    daemon.stop().await.unwrap();
}
