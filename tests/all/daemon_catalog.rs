//! Catalog zones (RFC 9432) in-process: BIND serves a catalog as a plain
//! zone (transferred with TSIG, NOTIFYing); members added and removed with
//! nsupdate start and stop being synced, Route 53 is left alone on a
//! removal (or, with delete_removed, the hosted zone is emptied and
//! deleted, within the guard), and the removal is counted.

use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::inprocess::{synced, wait_synced, InProcess};
use crate::support::memory_route53::MemoryRoute53;

const CATALOG: &str = "catz.test";

/// The catalog at schema `version` listing `members` (unique ID, zone),
/// NOTIFYing port `notify`.
fn catalog(version: &str, members: &[(&str, &str)], notify: u16) -> bind::Zone {
    let mut text = format!(
        "$TTL 0\n@ SOA invalid. invalid. 1 3600 600 86400 0\n@ NS invalid.\nversion TXT \"{version}\"\n"
    );
    for (id, zone) in members {
        text += &format!("{id}.zones PTR {zone}.\n");
    }
    let mut zone = bind::Zone::new(CATALOG, text);
    zone.also_notify = Some(notify);
    zone
}

fn member(name: &str, notify: u16) -> bind::Zone {
    let mut zone = bind::Zone::new(
        name,
        format!(
            "$TTL 300\n@ SOA ns1.{name}. admin.{name}. 1 3600 600 86400 300\n@ NS ns1.{name}.\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
        ),
    );
    zone.also_notify = Some(notify);
    zone
}

fn config(state: &std::path::Path, bind: &Bind, extra: &str) -> String {
    format!(
        "state_dir = \"{}\"\n\n[[catalog]]\nzone = \"{CATALOG}\"\nprimaries = [\"{}\"]\n{extra}\n",
        state.display(),
        bind.addr
    )
}

fn members_series() -> String {
    format!("xfr53_catalog_members{{catalog=\"{CATALOG}.\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_added_are_synced_and_removed_ones_no_longer() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    // the catalog is transferred only with the key
    let mut signed = catalog("2", &[("m1", "a.test"), ("m1-again", "a.test")], notify);
    signed.transfer_key = Some(bind::KEY_SHA256);
    let Some(bind) = Bind::start(vec![
        signed,
        member("a.test", notify),
        member("b.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let secret = state.path().join("xfr.key");
    std::fs::write(&secret, bind::KEY_SHA256.secret).unwrap();
    let key = format!(
        "[tsig.k]\nname = \"{}\"\nalgorithm = \"{}\"\nsecret_file = \"{}\"\n",
        bind::KEY_SHA256.name,
        bind::KEY_SHA256.algorithm,
        secret.display()
    );
    let text = format!("{}\n{key}", config(state.path(), &bind, "tsig = \"k\""));
    let route53 = MemoryRoute53::with_zones(&["a.test", "b.test"]);
    let daemon = InProcess::run(sockets, &text, route53.clone());
    wait_synced(&route53, &bind, "a.test").await;
    assert_eq!(
        daemon.metric(&members_series()).await,
        Some(1.0),
        "a zone under two unique IDs is one member"
    );
    assert_eq!(route53.count("b.test", "open"), 0, "not a member yet");

    // added: its catalog's NOTIFY brings it in
    bind.nsupdate(CATALOG, "update add m2.zones.catz.test. 0 PTR b.test.");
    wait_synced(&route53, &bind, "b.test").await;
    assert!(
        daemon
            .metric_reaches(&members_series(), 2.0, Duration::from_secs(10))
            .await
    );

    // removed (both of its unique IDs): no longer synced, Route 53 untouched
    bind.nsupdate(
        CATALOG,
        "update delete m1.zones.catz.test. PTR\nupdate delete m1-again.zones.catz.test. PTR",
    );
    let removed = format!("xfr53_catalog_removed_total{{catalog=\"{CATALOG}.\"}}");
    assert!(
        daemon
            .metric_reaches(&removed, 1.0, Duration::from_secs(30))
            .await,
        "{}",
        bind.log()
    );
    assert_eq!(daemon.metric(&members_series()).await, Some(1.0));
    let before = route53.contents("a.test");
    let changes = route53.count("a.test", "change");
    bind.nsupdate("a.test", "update add new.a.test. 300 A 192.0.2.7");
    // a later change of the member still synced is applied: the daemon
    // has had the removed member's NOTIFY by then
    bind.nsupdate("b.test", "update add new.b.test. 300 A 192.0.2.7");
    wait_synced(&route53, &bind, "b.test").await;
    assert!(!synced(&route53, &bind, "a.test").await);
    assert_eq!(route53.contents("a.test"), before, "Route 53 left as it is");
    assert_eq!(route53.count("a.test", "change"), changes);
    assert_eq!(
        route53.count("a.test", "delete"),
        0,
        "delete_removed is off"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            daemon
                .metric("xfr53_route53_serial{zone=\"a.test.\"}")
                .await
                .is_none()
        })
        .await,
        "the removed member leaves /metrics"
    );
    assert_eq!(daemon.metric(&removed).await, Some(1.0), "counted once");
    daemon.stop().await.unwrap();
}

fn catalog_series(family: &str) -> String {
    format!("xfr53_catalog_{family}_total{{catalog=\"{CATALOG}.\"}}")
}

/// With delete_removed, a removed member's hosted zone is emptied and then
/// deleted (the double refuses to delete a zone holding more than its apex
/// SOA and NS); the member added back gets a new hosted zone and is synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_hosted_zone_is_deleted_when_asked() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let Some(bind) = Bind::start(vec![
        catalog("2", &[("m1", "a.test"), ("m2", "b.test")], notify),
        member("a.test", notify),
        member("b.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test", "b.test"]);
    let extra = "delete_removed = true\ncreate_hosted_zones = true";
    let daemon = InProcess::run(
        sockets,
        &config(state.path(), &bind, extra),
        route53.clone(),
    );
    wait_synced(&route53, &bind, "a.test").await;
    wait_synced(&route53, &bind, "b.test").await;
    assert!(
        route53.contents("a.test").len() > 1,
        "records to delete first"
    );
    let changes = route53.count("a.test", "change");

    bind.nsupdate(CATALOG, "update delete m1.zones.catz.test. PTR");
    assert!(
        daemon
            .metric_reaches(&catalog_series("deleted"), 1.0, Duration::from_secs(30))
            .await,
        "{}",
        bind.log()
    );
    assert!(!route53.has_zone("a.test"), "the hosted zone is deleted");
    assert_eq!(route53.count("a.test", "delete"), 1);
    assert!(
        route53.count("a.test", "change") > changes,
        "its record sets were deleted first"
    );
    assert_eq!(
        daemon.metric(&catalog_series("delete_failures")).await,
        Some(0.0)
    );
    assert!(
        route53.has_zone("b.test"),
        "the member still listed is kept"
    );
    assert_eq!(route53.count("b.test", "delete"), 0);

    // back in the catalog: a new hosted zone, synced again
    bind.nsupdate(CATALOG, "update add m3.zones.catz.test. 0 PTR a.test.");
    let created = || async { route53.has_zone("a.test") };
    assert!(eventually(Duration::from_secs(30), created).await);
    wait_synced(&route53, &bind, "a.test").await;
    daemon.stop().await.unwrap();
}

/// The guard: one read removing most members deletes no hosted zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_most_members_at_once_deletes_nothing() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let zones = ["a.test", "b.test", "c.test", "d.test"];
    let listed: Vec<(String, &str)> = (zones.iter().enumerate())
        .map(|(i, z)| (format!("m{i}"), *z))
        .collect();
    let listed: Vec<(&str, &str)> = listed.iter().map(|(id, z)| (id.as_str(), *z)).collect();
    let mut served = vec![catalog("2", &listed, notify)];
    served.extend(zones.iter().map(|z| member(z, notify)));
    let Some(bind) = Bind::start(served) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&zones);
    let daemon = InProcess::run(
        sockets,
        &config(state.path(), &bind, "delete_removed = true"),
        route53.clone(),
    );
    for zone in zones {
        wait_synced(&route53, &bind, zone).await;
    }
    bind.nsupdate(
        CATALOG,
        "update delete m0.zones.catz.test. PTR\nupdate delete m1.zones.catz.test. PTR\nupdate delete m2.zones.catz.test. PTR",
    );
    assert!(
        daemon
            .metric_reaches(
                &catalog_series("delete_failures"),
                3.0,
                Duration::from_secs(30)
            )
            .await,
        "the refusal is counted for each member"
    );
    assert_eq!(daemon.metric(&catalog_series("removed")).await, Some(3.0));
    // a later change of the member left is synced: the daemon moved on
    bind.nsupdate("d.test", "update add new.d.test. 300 A 192.0.2.7");
    wait_synced(&route53, &bind, "d.test").await;
    for zone in zones {
        assert!(route53.has_zone(zone), "{zone} kept");
        assert_eq!(route53.count(zone, "delete"), 0, "{zone}");
    }
    assert_eq!(daemon.metric(&catalog_series("deleted")).await, Some(0.0));
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_of_another_version_is_refused() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let Some(bind) = Bind::start(vec![
        catalog("1", &[("m1", "a.test")], notify),
        member("a.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test"]);
    let daemon = InProcess::run(sockets, &config(state.path(), &bind, ""), route53.clone());
    let failures = format!("xfr53_catalog_failures_total{{catalog=\"{CATALOG}.\"}}");
    assert!(
        daemon
            .metric_reaches(&failures, 1.0, Duration::from_secs(30))
            .await
    );
    assert_eq!(
        route53.count("a.test", "open"),
        0,
        "its member is not synced"
    );
    assert_eq!(daemon.metric(&members_series()).await, None);
    let (status, body) = daemon.get("/readyz").await.unwrap();
    assert_eq!(status, 503);
    assert!(
        body.contains("catalog catz.test.: not read yet, its members are unknown"),
        "{body}"
    );
    // version 2 from now on: read again (its NOTIFY), and its member synced
    bind.nsupdate(
        CATALOG,
        "update delete version.catz.test. TXT\nupdate add version.catz.test. 0 TXT \"2\"",
    );
    wait_synced(&route53, &bind, "a.test").await;
    let ready = || async { daemon.get("/readyz").await.is_some_and(|(s, _)| s == 200) };
    assert!(eventually(Duration::from_secs(10), ready).await);
    daemon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_hosted_zone_is_created_when_asked() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let Some(bind) = Bind::start(vec![
        catalog("2", &[("m1", "a.test")], notify),
        member("a.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::default();
    let daemon = InProcess::run(
        sockets,
        &config(state.path(), &bind, "create_hosted_zones = true"),
        route53.clone(),
    );
    let created = || async { route53.has_zone("a.test") };
    assert!(eventually(Duration::from_secs(30), created).await);
    wait_synced(&route53, &bind, "a.test").await;
    assert_eq!(route53.count("a.test", "create"), 1, "checked once");
    daemon.stop().await.unwrap();
}

/// A reload that changes only the catalog's own task keeps its members
/// running; one without the catalog stops them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_members_until_the_catalog_goes() {
    let sockets = InProcess::bind().await;
    let notify = sockets.dns;
    let Some(bind) = Bind::start(vec![
        catalog("2", &[("m1", "a.test")], notify),
        member("a.test", notify),
        member("b.test", notify),
    ]) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let route53 = MemoryRoute53::with_zones(&["a.test", "b.test"]);
    // b.test, a [[zone]] throughout, shows when the daemon has had a NOTIFY
    let b = format!(
        "[[zone]]\nname = \"b.test\"\nprimaries = [\"{}\"]\n",
        bind.addr
    );
    let with = |extra: &str| format!("{}\n{b}", config(state.path(), &bind, extra));
    let daemon = InProcess::run(sockets, &with(""), route53.clone());
    wait_synced(&route53, &bind, "a.test").await;
    daemon.reload(&with("create_hosted_zones = true")).await;
    // the restarted catalog task read the catalog: it looked for hosted zones
    let listed = || async { route53.count(".", "names") == 1 };
    assert!(eventually(Duration::from_secs(30), listed).await);
    bind.nsupdate("a.test", "update add new.a.test. 300 A 192.0.2.7");
    wait_synced(&route53, &bind, "a.test").await;
    assert_eq!(
        route53.count("a.test", "open"),
        1,
        "the member's task was kept"
    );

    daemon
        .reload(&format!("state_dir = \"{}\"\n{b}", state.path().display()))
        .await;
    let gone = || async { daemon.metric(&members_series()).await.is_none() };
    assert!(eventually(Duration::from_secs(10), gone).await);
    let stopped = || async {
        (daemon
            .metric("xfr53_route53_serial{zone=\"a.test.\"}")
            .await)
            .is_none()
    };
    assert!(eventually(Duration::from_secs(10), stopped).await);
    let changes = route53.count("a.test", "change");
    bind.nsupdate("a.test", "update add newer.a.test. 300 A 192.0.2.8");
    bind.nsupdate("b.test", "update add new.b.test. 300 A 192.0.2.8");
    wait_synced(&route53, &bind, "b.test").await;
    assert_eq!(
        route53.count("a.test", "change"),
        changes,
        "no longer synced"
    );
    daemon.stop().await.unwrap();
}

/// The real binary with moto as Route 53: a member without a hosted zone
/// gets one through the SDK (ListHostedZones, CreateHostedZone), is
/// synced into it, and the name servers to delegate to are logged; removed
/// with delete_removed, it is emptied and deleted (DeleteHostedZone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_creates_a_missing_hosted_zone_in_moto() {
    use crate::support::daemon::Daemon;
    use crate::support::programs::free_port;
    use crate::support::route53_backend::{Backend, Kind};
    use crate::support::setup::{expected, managed, Setup};

    let (dns, http) = (free_port(), free_port());
    let Some(bind) = Bind::start(vec![
        catalog("2", &[("m1", "a.test")], dns),
        member("a.test", dns),
    ]) else {
        return;
    };
    let Some(backend) = Backend::start(Kind::Moto).await else {
        return;
    };
    let setup = Setup {
        bind,
        backend,
        dir: tempfile::tempdir().unwrap(),
        zone_ids: Default::default(),
    };
    let text = format!(
        "{}\n[route53]\nendpoint = \"{}\"\nrequests_per_second = 50\ninsync_timeout_seconds = 30\n\n[listen]\ndns = [\"127.0.0.1:{dns}\"]\nhttp = \"127.0.0.1:{http}\"\n",
        config(
            setup.dir.path(),
            &setup.bind,
            "create_hosted_zones = true\ndelete_removed = true"
        ),
        setup.backend.endpoint()
    );
    std::fs::write(setup.config_path(), text).unwrap();
    let daemon = Daemon::start(&setup, http);
    let client = setup.backend.client();
    let hosted = || async {
        let listed = client.list_hosted_zones().send().await.ok()?;
        let zones = listed.hosted_zones();
        let found: Vec<_> = zones.iter().filter(|z| z.name() == "a.test.").collect();
        assert!(found.len() <= 1, "one hosted zone created: {found:?}");
        Some(
            found
                .first()?
                .id()
                .trim_start_matches("/hostedzone/")
                .to_string(),
        )
    };
    let created = || async { hosted().await.is_some() };
    assert!(
        eventually(Duration::from_secs(60), created).await,
        "{}",
        daemon.log()
    );
    let id = hosted().await.unwrap();
    let want = expected(&setup.bind, "a.test").await;
    let synced = eventually(Duration::from_secs(60), || async {
        managed(setup.backend.contents(&id).await, "a.test") == want
    })
    .await;
    assert!(synced, "{}", daemon.log());
    let log = daemon.log();
    assert!(
        log.contains("created a public hosted zone for the new member"),
        "{log}"
    );

    // removed: emptied and deleted through the SDK (DeleteHostedZone)
    setup
        .bind
        .nsupdate(CATALOG, "update delete m1.zones.catz.test. PTR");
    let deleted = || async { hosted().await.is_none() };
    assert!(
        eventually(Duration::from_secs(60), deleted).await,
        "{}",
        daemon.log()
    );
    let logged = || async {
        let log = daemon.log();
        log.contains("removed member's hosted zone deleted") && log.contains(&id)
    };
    assert!(
        eventually(Duration::from_secs(10), logged).await,
        "{}",
        daemon.log()
    );
}
