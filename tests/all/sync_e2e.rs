//! End to end: BIND 9 as the primary, the real `xfr53` binary, and Route 53
//! played by moto (behind a recording proxy) and by the strict double.
//! Every scenario that both can play runs against both.

use std::fmt::Write as _;

use crate::support::bind;
use crate::support::route53_backend::{change_requests, request_changes, request_size, Kind};
use crate::support::setup::{assert_synced, show, Setup};
use crate::support::strict_route53::{Fault, Op};

const FIXTURES: [&str; 5] = [
    "realistic.zone",
    "wildcards.zone",
    "escapes.zone",
    "long_txt.zone",
    "delegation.zone",
];

async fn initial_sync_then_nothing_to_do(kind: Kind) {
    let zones = FIXTURES.iter().map(|f| bind::Zone::fixture(f)).collect();
    let Some(setup) = Setup::start(kind, zones).await else {
        return;
    };
    let names: Vec<String> = setup.zone_ids.keys().cloned().collect();
    for zone in &names {
        let run = setup.run(&["sync", zone]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        assert_synced(&setup, zone).await;
    }
    let before = setup.backend.requests().len();
    for zone in &names {
        let run = setup.run(&["sync", zone]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        assert!(
            String::from_utf8_lossy(&run.stdout).contains("up to date"),
            "{}",
            show(&run)
        );
    }
    // with no state, `plan` reads Route 53 in full: still nothing to change
    std::fs::remove_dir_all(setup.dir.path().join("state")).unwrap();
    for zone in &names {
        let run = setup.run(&["plan", zone]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains("0 to create, 0 to delete, 0 to modify"),
            "{zone}: no-op plan expected\n{stdout}"
        );
    }
    let requests = setup.backend.requests();
    assert!(
        change_requests(&requests[before..]).is_empty(),
        "a second sync sent changes"
    );
}
both!(initial_sync_then_nothing_to_do);

async fn one_nsupdate_one_change_request(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::fixture("delegation.zone")]).await else {
        return;
    };
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let before = setup.backend.requests().len();
    setup.bind.nsupdate(
        "parent.test",
        "update add new.parent.test. 300 A 192.0.2.77",
    );
    let run = setup
        .run(&["sync", "parent.test", "2024010101", "127.0.0.1"])
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let requests = setup.backend.requests();
    let changes = change_requests(&requests[before..]);
    assert_eq!(changes.len(), 1, "{}", show(&run));
    assert_eq!(
        request_changes(changes[0]),
        [
            "CREATE new.parent.test. A 300 192.0.2.77",
            "DELETE _serial._dyn.parent.test. TXT 300 \"2024010100\"",
            "CREATE _serial._dyn.parent.test. TXT 300 \"2024010101\"",
        ]
    );
    // neither a full transfer nor a full listing was needed
    let listings = requests[before..]
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path().contains("/rrset")
                && r.query("maxitems").as_deref() != Some("1")
        })
        .count();
    assert_eq!(listings, 0, "the cached view should have been used");
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("kind=\"IXFR\""),
        "{}",
        show(&run)
    );
    assert_synced(&setup, "parent.test").await;
}
both!(one_nsupdate_one_change_request);

async fn drift_is_found_and_repaired(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::fixture("delegation.zone")]).await else {
        return;
    };
    assert_eq!(
        setup.run(&["sync", "parent.test"]).await.status.code(),
        Some(0)
    );
    let check = setup.run(&["check", "--deep"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", show(&check));
    // another tool adds a set; on the strict double it also deletes one and
    // rewrites another (moto cannot take those back: it refuses to CREATE
    // again what an earlier request created, whatever the zone holds now)
    let id = setup.zone_id("parent.test");
    setup
        .backend
        .upsert(
            id,
            "stray.parent.test.",
            "TXT",
            60,
            &["\"left by another tool\""],
        )
        .await;
    let mut expected_drift = vec!["- stray.parent.test. TXT"];
    if kind == Kind::Strict {
        setup
            .backend
            .delete(
                id,
                "ns2.child.parent.test.",
                "AAAA",
                86400,
                &["2001:db8::11"],
            )
            .await;
        setup
            .backend
            .upsert(id, "ns1.child.parent.test.", "A", 86400, &["198.51.100.1"])
            .await;
        expected_drift.extend([
            "+ ns2.child.parent.test. AAAA",
            "~ ns1.child.parent.test. A",
        ]);
    }
    let check = setup.run(&["check", "--deep", "parent.test"]).await;
    assert_eq!(check.status.code(), Some(1), "{}", show(&check));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(stdout.contains("DRIFT parent.test."), "{stdout}");
    for drift in expected_drift {
        assert!(stdout.contains(drift), "{stdout} lacks {drift}");
    }
    let repair = setup.run(&["sync", "--force", "parent.test"]).await;
    assert_eq!(repair.status.code(), Some(0), "{}", show(&repair));
    assert_synced(&setup, "parent.test").await;
    assert_eq!(setup.run(&["check", "--deep"]).await.status.code(), Some(0));
}
both!(drift_is_found_and_repaired);

async fn ten_thousand_records_in_batches_within_limits(kind: Kind) {
    let text = crate::support::zones::generated("big.test", 5_000);
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new("big.test", text)]).await else {
        return;
    };
    let before = setup.backend.requests().len();
    let run = setup.run(&["sync", "big.test"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let requests = setup.backend.requests();
    // the client-side rate limit (50 per second here, a burst of 2): any
    // three consecutive requests span at least one interval
    let ours = &requests[before..];
    for window in ours.windows(3) {
        let span = window[2].at.duration_since(window[0].at);
        assert!(
            span >= std::time::Duration::from_millis(16),
            "3 requests within {span:?}"
        );
    }
    let changes = change_requests(&requests);
    assert!(
        changes.len() >= 10,
        "10,001 values need at least 11 requests, saw {}",
        changes.len()
    );
    for request in &changes {
        let (values, chars) = request_size(request);
        assert!(
            values <= 1000 && chars <= 32_000,
            "a request of {values} values, {chars} characters"
        );
    }
    assert_synced(&setup, "big.test").await;
}
both!(ten_thousand_records_in_batches_within_limits);

async fn shrinking_by_80_percent_is_refused_unless_forced(kind: Kind) {
    let mut text = String::from("$ORIGIN shrink.test.\n$TTL 300\n@ SOA ns.shrink.test. admin.shrink.test. 1 3600 600 86400 60\n@ NS ns.shrink.test.\nns A 192.0.2.1\n");
    for i in 0..19 {
        writeln!(text, "h{i} A 192.0.2.{}", i + 10).unwrap();
    }
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new("shrink.test", text)]).await else {
        return;
    };
    assert_eq!(
        setup.run(&["sync", "shrink.test"]).await.status.code(),
        Some(0)
    );
    let before = setup.contents("shrink.test").await;
    let deletes: String = (0..16)
        .map(|i| format!("update delete h{i}.shrink.test. A\n"))
        .collect();
    setup.bind.nsupdate("shrink.test", &deletes);
    let refused = setup.run(&["sync", "shrink.test"]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", show(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("REFUSED: 16 of 20 existing record sets"),
        "{}",
        show(&refused)
    );
    assert_eq!(
        setup.contents("shrink.test").await,
        before,
        "a refused plan changed Route 53"
    );
    let forced = setup.run(&["sync", "--force", "shrink.test"]).await;
    assert_eq!(forced.status.code(), Some(0), "{}", show(&forced));
    assert_synced(&setup, "shrink.test").await;
}
both!(shrinking_by_80_percent_is_refused_unless_forced);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_the_sync_converges() {
    let Some(setup) = Setup::start(Kind::Strict, vec![bind::Zone::fixture("realistic.zone")]).await
    else {
        return;
    };
    let strict = setup.backend.strict();
    for fault in [
        Fault::Throttling,
        Fault::Unavailable,
        Fault::PriorRequestNotComplete,
        Fault::Slow(std::time::Duration::from_millis(800)),
        Fault::Dropped,
    ] {
        strict.inject(Op::Change, fault);
    }
    strict.inject(Op::List, Fault::Throttling);
    strict.inject(Op::List, Fault::Dropped);
    let run = setup.run(&["sync", "example.com"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("retrying"),
        "{}",
        show(&run)
    );
    assert_synced(&setup, "example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_changes_nothing_and_exits_2() {
    let Some(setup) =
        Setup::start(Kind::Strict, vec![bind::Zone::fixture("delegation.zone")]).await
    else {
        return;
    };
    assert_eq!(
        setup.run(&["sync", "parent.test"]).await.status.code(),
        Some(0)
    );
    let before = setup.contents("parent.test").await;
    setup.bind.nsupdate(
        "parent.test",
        "update add new.parent.test. 300 A 192.0.2.77",
    );
    setup
        .backend
        .strict()
        .reject_every_change("simulated: the batch is not valid");
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("xfr53: error: zone parent.test.: Route 53 refused a change batch (batch 1 of 1: [simulated: the batch is not valid])"),
        "{stderr}"
    );
    assert_eq!(setup.contents("parent.test").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_changed_between_read_and_write_is_replanned() {
    let Some(setup) =
        Setup::start(Kind::Strict, vec![bind::Zone::fixture("delegation.zone")]).await
    else {
        return;
    };
    assert_eq!(
        setup.run(&["sync", "parent.test"]).await.status.code(),
        Some(0)
    );
    setup.bind.nsupdate(
        "parent.test",
        "update delete ns1.child.parent.test. A\nupdate add ns1.child.parent.test. 86400 A 192.0.2.20",
    );
    // someone else changes the set xfr53 is about to compare-and-swap
    setup.backend.strict().tamper_before_next_change(|sets| {
        sets.insert(
            ("ns1.child.parent.test.".into(), "A".into()),
            (86400, vec!["203.0.113.5".into()]),
        );
    });
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("re-planning"),
        "{}",
        show(&run)
    );
    assert_synced(&setup, "parent.test").await;
}

async fn a_zone_name_with_two_hosted_zones_is_refused(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::fixture("delegation.zone")]).await else {
        return;
    };
    let private = setup.backend.create_zone("parent.test", true).await;
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("zone parent.test.: finding its hosted zone in Route 53: 2 hosted zones are named parent.test."), "{stderr}");
    assert!(
        stderr.contains(&private) && stderr.contains("set hosted_zone_id"),
        "{stderr}"
    );
}
both!(a_zone_name_with_two_hosted_zones_is_refused);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_iam_action() {
    let Some(setup) =
        Setup::start(Kind::Strict, vec![bind::Zone::fixture("delegation.zone")]).await
    else {
        return;
    };
    setup
        .backend
        .strict()
        .inject(Op::Change, Fault::AccessDenied);
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("zone parent.test.: applying the plan to Route 53"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "allow route53:ChangeResourceRecordSets on this hosted zone in the IAM policy"
        ),
        "{stderr}"
    );
}
