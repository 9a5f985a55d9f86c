//! What a failure costs afterwards: after a failed sync and one full
//! listing, a sync that finds Route 53 up to date costs one small request
//! (`_serial` alone), not a listing of the whole zone.

use std::fmt::Write as _;

use crate::support::bind;
use crate::support::route53_backend::{change_requests, Kind};
use crate::support::setup::{show, Setup};
use crate::support::strict_route53::{Fault, Op};

const ZONE: &str = "costs.test";

/// Reads of record sets among `requests` (ListResourceRecordSets): each
/// one's query string.
fn reads(requests: &[crate::support::http::Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("/rrset"))
        .map(|r| r.target.clone())
        .collect()
}

/// A read of one record set: at most one item asked for (RFC-less, AWS
/// API reference: `maxitems` of ListResourceRecordSets).
fn is_small(target: &str) -> bool {
    target.contains("maxitems=1&") || target.ends_with("maxitems=1")
}

/// A sync fails (AccessDenied on the change); another writer (a second
/// state directory) applies the serial; this writer's next sync lists once
/// and finds it up to date; the three after that read `_serial` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failure_up_to_date_syncs_cost_one_small_request() {
    let mut text = format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ SOA ns.{ZONE}. admin.{ZONE}. 1 3600 600 86400 60\n@ NS ns.{ZONE}.\nns A 192.0.2.1\n"
    );
    for i in 0..40 {
        writeln!(text, "h{i} A 10.0.0.{i}").unwrap();
    }
    let Some(setup) = Setup::start(Kind::Strict, vec![bind::Zone::new(ZONE, text)]).await else {
        return;
    };
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));

    setup
        .bind
        .nsupdate(ZONE, &format!("update add new.{ZONE}. 300 A 192.0.2.77"));
    let strict = setup.backend.strict();
    let sent = change_requests(&strict.requests()).len();
    strict.inject(Op::Change, Fault::AccessDenied);
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    assert_eq!(change_requests(&strict.requests()).len(), sent + 1);

    let other = setup.dir.path().join("other-state");
    let other = other.to_str().unwrap();
    let run = setup.run(&["sync", ZONE, "--state-dir", other]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));

    for round in 0..4 {
        let mark = strict.requests().len();
        let run = setup.run(&["sync", ZONE]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        let requests = strict.requests()[mark..].to_vec();
        assert!(
            change_requests(&requests).is_empty(),
            "round {round}: up to date"
        );
        let reads = reads(&requests);
        if round > 0 {
            assert!(
                reads.len() == 1 && is_small(&reads[0]),
                "round {round}: an up-to-date sync after the re-listing reads `_serial` alone, read {reads:?}"
            );
        }
    }
}
