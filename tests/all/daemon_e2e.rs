//! `xfr53 daemon` end to end: real `named`, real moto and the strict
//! double, the real binary as a process.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::{expected, managed, Setup};
use crate::support::sns::{published, topic};

/// A daemon for `zones` (BIND NOTIFYs it when `notify`), listening on free ports.
async fn start(
    kind: Kind,
    mut zone: bind::Zone,
    notify: bool,
    zone_extra: &str,
) -> Option<(Setup, Daemon)> {
    let (dns, http) = (free_port(), free_port());
    if notify {
        zone.also_notify = Some(dns);
    }
    let setup = Setup::start(kind, vec![zone]).await?;
    let zones: Vec<String> = setup.zone_ids.keys().cloned().collect();
    let zones: Vec<&str> = zones.iter().map(String::as_str).collect();
    setup.write_config(Some((dns, http)), zone_extra, &zones);
    let daemon = Daemon::start(&setup, http);
    Some((setup, daemon))
}

async fn synced(setup: &Setup, zone: &str) -> bool {
    managed(setup.contents(zone).await, zone) == expected(&setup.bind, zone).await
}

async fn wait_synced(setup: &Setup, daemon: &Daemon, zone: &str) {
    let ok = eventually(Duration::from_secs(30), || synced(setup, zone)).await;
    assert!(ok, "{zone} did not converge\n{}", daemon.log());
}

async fn starts_and_syncs_without_notify(kind: Kind) {
    let Some((setup, daemon)) = start(kind, bind::Zone::fixture("realistic.zone"), false, "").await
    else {
        return;
    };
    wait_synced(&setup, &daemon, "example.com").await;
    let serial = r#"{zone="example.com."}"#;
    assert!(
        eventually(Duration::from_secs(5), || async {
            daemon
                .metric(&format!("xfr53_route53_serial{serial}"))
                .await
                == Some(2024060101.0)
        })
        .await,
        "{}",
        daemon.log()
    );
    let metrics = daemon.get("/metrics").await.unwrap().1;
    assert_eq!(
        daemon
            .metric(&format!("xfr53_primary_serial{serial}"))
            .await,
        Some(2024060101.0),
        "{metrics}"
    );
    assert_eq!(
        daemon.metric(&format!("xfr53_drift{serial}")).await,
        Some(0.0)
    );
    assert_eq!(
        daemon
            .metric(r#"xfr53_syncs_total{zone="example.com.",result="applied"}"#)
            .await,
        Some(1.0)
    );
    assert_eq!(
        daemon
            .metric(r#"xfr53_notify_total{result="accepted"}"#)
            .await,
        Some(0.0)
    );
    assert_eq!(daemon.get("/healthz").await.map(|r| r.0), Some(200));
    assert_eq!(daemon.get("/readyz").await.map(|r| r.0), Some(200));
}
both!(starts_and_syncs_without_notify);

async fn bind_notify_brings_a_change_to_route53(kind: Kind) {
    let Some((setup, daemon)) = start(kind, bind::Zone::fixture("delegation.zone"), true, "").await
    else {
        return;
    };
    wait_synced(&setup, &daemon, "parent.test").await;
    let started = std::time::Instant::now();
    setup.bind.nsupdate(
        "parent.test",
        "update add notified.parent.test. 300 A 192.0.2.88",
    );
    wait_synced(&setup, &daemon, "parent.test").await;
    eprintln!("nsupdate to Route 53 content: {:?}", started.elapsed());
    assert!(
        daemon
            .metric(r#"xfr53_notify_total{result="accepted"}"#)
            .await
            >= Some(1.0)
    );
    let serial = r#"{zone="parent.test."}"#;
    let equal = eventually(Duration::from_secs(5), || async {
        let route53 = daemon
            .metric(&format!("xfr53_route53_serial{serial}"))
            .await;
        route53 == Some(2024010101.0)
            && daemon
                .metric(&format!("xfr53_primary_serial{serial}"))
                .await
                == route53
    })
    .await;
    assert!(equal, "{}", daemon.log());
}
both!(bind_notify_brings_a_change_to_route53);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_broken_config_keeps_the_old_one() {
    let zones = vec![
        bind::Zone::fixture("delegation.zone"),
        bind::Zone::fixture("wildcards.zone"),
    ];
    let (dns, http) = (free_port(), free_port());
    let Some(setup) = Setup::start(Kind::Strict, zones).await else {
        return;
    };
    setup.write_config(Some((dns, http)), "", &["parent.test"]);
    let mut daemon = Daemon::start(&setup, http);
    wait_synced(&setup, &daemon, "parent.test").await;
    assert!(managed(setup.contents("wild.test").await, "wild.test").is_empty());

    setup.write_config(Some((dns, http)), "", &["parent.test", "wild.test"]);
    daemon.signal("HUP");
    wait_synced(&setup, &daemon, "wild.test").await;

    std::fs::write(setup.config_path(), "[[zone]]\nname = \"broken\n").unwrap();
    daemon.signal("HUP");
    let kept = eventually(Duration::from_secs(5), || async {
        daemon
            .log()
            .contains("configuration reload failed; keeping the running one")
    })
    .await;
    assert!(kept, "{}", daemon.log());
    assert_eq!(daemon.get("/healthz").await.map(|r| r.0), Some(200));
    let reloaded = eventually(Duration::from_secs(5), || async {
        daemon
            .metric(r#"xfr53_route53_serial{zone="wild.test."}"#)
            .await
            == Some(7.0)
    })
    .await;
    assert!(reloaded, "{}", daemon.log());

    daemon.signal("TERM");
    assert_eq!(
        daemon.wait(Duration::from_secs(10)).await,
        Some(0),
        "{}",
        daemon.log()
    );
    assert!(daemon.log().contains("stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_multi_batch_sync_a_restart_converges() {
    let mut text = String::from("$ORIGIN big.test.\n$TTL 300\n@ SOA ns.big.test. admin.big.test. 1 3600 600 86400 60\n@ NS ns.big.test.\nns A 192.0.2.1\n");
    for i in 0..3000 {
        writeln!(text, "h{i} A 10.0.{}.{}", i / 256, i % 256).unwrap();
    }
    let (dns, http) = (free_port(), free_port());
    let Some(setup) = Setup::start(Kind::Strict, vec![bind::Zone::new("big.test", text)]).await
    else {
        return;
    };
    setup.write_config(Some((dns, http)), "", &["big.test"]);
    let strict = setup.backend.strict();
    for _ in 0..4 {
        strict.inject(
            crate::support::strict_route53::Op::Change,
            crate::support::strict_route53::Fault::Slow(Duration::from_millis(400)),
        );
    }
    let mut daemon = Daemon::start(&setup, http);
    let started = eventually(Duration::from_secs(20), || async {
        crate::support::route53_backend::change_requests(&setup.backend.requests()).len() >= 2
    })
    .await;
    assert!(started, "{}", daemon.log());
    daemon.signal("KILL");
    daemon.wait(Duration::from_secs(5)).await;
    let partial = managed(setup.contents("big.test").await, "big.test");
    // the first batch marks _serial as applying; only the last sets it
    let serial = partial.get(&("_serial._dyn.big.test.".to_string(), "TXT".to_string()));
    assert!(
        serial
            .is_some_and(|(_, values)| values.len() == 1 && values[0].starts_with("\"applying 1")),
        "_serial holds the applying mark until the last batch: {serial:?}"
    );
    let daemon = Daemon::start(&setup, http);
    wait_synced(&setup, &daemon, "big.test").await;
}

/// A zone with refresh 2 s, retry 1 s, expire 4 s, synced by a daemon whose
/// alerts go to an SNS topic on `sns` (moto's endpoint); `extra` lines go
/// in the zone's section.
async fn alerting_daemon(setup: &Setup, sns: &str, extra: &str) -> Daemon {
    let topic = topic(sns, "xfr53-alerts").await;
    let (dns, http) = (free_port(), free_port());
    setup.write_config(
        Some((dns, http)),
        &format!("min_refresh_seconds = 1\n{extra}"),
        &["parent.test"],
    );
    // Route 53 requests are tried twice, so an outage fails a sync quickly
    let config = std::fs::read_to_string(setup.config_path())
        .unwrap()
        .replace(
            "insync_timeout_seconds = 30\n",
            "insync_timeout_seconds = 30\nmax_attempts = 2\n",
        );
    let config = format!("{config}\n[alerts]\nsns_topic_arn = \"{topic}\"\ngrace_seconds = 1\nendpoint = \"{sns}\"\n");
    std::fs::write(setup.config_path(), config).unwrap();
    let daemon = Daemon::start(setup, http);
    wait_synced(setup, &daemon, "parent.test").await;
    daemon
}

fn short_timers_zone() -> bind::Zone {
    let text = std::fs::read_to_string(crate::support::zones::data_dir().join("delegation.zone"))
        .unwrap()
        .replace("2024010100 3600 600 86400 60", "2024010100 2 1 4 60");
    bind::Zone::new("parent.test", text)
}

/// An outage between `begin` and `end`: /readyz turns 503 after the SOA
/// expire, exactly one "failing" alert however many syncs fail, then one
/// "recovered", and ready again.
async fn one_alert_per_outage(
    setup: &Setup,
    daemon: &Daemon,
    publishes: impl Fn() -> Vec<String>,
    begin: impl FnOnce(),
    end: impl FnOnce(),
) {
    let ready = || async { daemon.get("/readyz").await.map(|r| r.0) };
    assert!(
        eventually(Duration::from_secs(5), || async {
            ready().await == Some(200)
        })
        .await
    );
    begin();
    assert!(
        eventually(Duration::from_secs(15), || async {
            ready().await == Some(503)
        })
        .await,
        "{}",
        daemon.log()
    );
    assert!(
        eventually(Duration::from_secs(15), || async {
            !publishes().is_empty()
        })
        .await,
        "{}",
        daemon.log()
    );
    // failures go on (two more after the alert); the alert is not repeated
    let failed = r#"xfr53_syncs_total{zone="parent.test.",result="failed"}"#;
    let alerted = daemon.metric(failed).await.unwrap_or(0.0);
    assert!(
        eventually(Duration::from_secs(15), || async {
            daemon.metric(failed).await >= Some(alerted + 2.0)
        })
        .await,
        "{}",
        daemon.log()
    );
    let sent = publishes();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("failing"), "{}", sent[0]);
    end();
    wait_synced(setup, daemon, "parent.test").await;
    assert!(
        eventually(Duration::from_secs(15), || async { publishes().len() == 2 }).await,
        "{}",
        daemon.log()
    );
    assert!(publishes()[1].contains("recovered"));
    assert!(
        eventually(Duration::from_secs(5), || async {
            ready().await == Some(200)
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_primary_turns_readyz_false_and_alerts_once_then_recovers() {
    let Some(setup) = Setup::start(Kind::Moto, vec![short_timers_zone()]).await else {
        return;
    };
    let daemon = alerting_daemon(&setup, &setup.backend.endpoint(), "timeout_seconds = 1").await;
    let signal = |name: &str| {
        let pid = setup.bind.pid().to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    };
    let publishes = || published(setup.backend.requests());
    one_alert_per_outage(
        &setup,
        &daemon,
        publishes,
        || signal("STOP"),
        || signal("CONT"),
    )
    .await;
}

/// The primary's serial goes back while the daemon holds a copy at the
/// newer one (a primary restored from a backup): every sync is refused,
/// counted, and alerted once; Route 53 keeps what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_whose_serial_goes_back_is_refused_and_alerted() {
    let Some(mut setup) = Setup::start(Kind::Strict, vec![short_timers_zone()]).await else {
        return;
    };
    let Some(moto) = crate::support::moto::Moto::start().await else {
        return;
    };
    let daemon = alerting_daemon(&setup, &moto.endpoint(), "").await;
    let before = setup.contents("parent.test").await;
    let older = std::fs::read_to_string(crate::support::zones::data_dir().join("delegation.zone"))
        .unwrap()
        .replace("2024010100 3600 600 86400 60", "2024010099 2 1 4 60")
        + "restored A 192.0.2.99\n";
    setup.bind.restore("parent.test", &older);
    let refused = r#"xfr53_syncs_total{zone="parent.test.",result="refused"}"#;
    assert!(
        eventually(Duration::from_secs(30), || async {
            daemon.metric(refused).await >= Some(1.0)
        })
        .await,
        "{}",
        daemon.log()
    );
    assert!(
        eventually(Duration::from_secs(15), || async {
            !published(moto.requests()).is_empty()
        })
        .await,
        "{}",
        daemon.log()
    );
    let alert = &published(moto.requests())[0];
    assert!(
        alert.contains("failing") && alert.contains("older"),
        "{alert}"
    );
    assert_eq!(setup.contents("parent.test").await, before);
}
