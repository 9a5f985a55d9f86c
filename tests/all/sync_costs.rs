//! What a failure costs afterwards: the view kept across a failed sync is
//! trusted, so the next sync's batch is the check. When another writer
//! already applied the serial, that batch is rejected and one small read
//! (`_serial` alone) tells it is done: no listing of the whole zone, and
//! the syncs after cost nothing.

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
/// state directory) applies the serial; this writer's next sync sends its
/// batch, rejected, reads `_serial` once and is up to date; the three after
/// that ask Route 53 nothing.
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
        assert!(
            show(&run).contains("up to date at serial"),
            "round {round}: up to date\n{}",
            show(&run)
        );
        let requests = strict.requests()[mark..].to_vec();
        let (changes, reads) = (change_requests(&requests).len(), reads(&requests));
        match round {
            0 => assert!(
                changes == 1 && reads.len() == 1 && is_small(&reads[0]),
                "round 0: the batch (rejected) and `_serial` alone, sent {changes} changes and read {reads:?}"
            ),
            _ => assert!(
                changes == 0 && reads.is_empty() && requests.len() == 1,
                "round {round}: the trusted view needs no request but finding the hosted zone, sent {requests:?}"
            ),
        }
    }
}
