//! A one-record change costs the daemon work in proportion to the change:
//! once the first plan landed, each NOTIFYed change is planned over the
//! names it touched alone, sent as one request holding that change and
//! `_serial`, and saved as a journal entry, the state files untouched.

use std::time::Duration;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::programs::free_port;
use crate::support::route53_backend::{change_requests, Kind};
use crate::support::setup::{expected, managed, Setup};
use crate::support::zones::generated;

const ZONE: &str = "cost.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_record_change_is_planned_sent_and_saved_alone() {
    let (dns, http) = (free_port(), free_port());
    let mut zone = bind::Zone::new(ZONE, generated(ZONE, 300));
    zone.also_notify = Some(dns);
    let Some(setup) = Setup::start(Kind::Strict, vec![zone]).await else {
        return;
    };
    setup.write_config(Some((dns, http)), "", &[ZONE]);
    let daemon = Daemon::start(&setup, http);
    let serial = |n: f64| {
        let daemon = &daemon;
        move || async move {
            daemon
                .metric(&format!("xfr53_route53_serial{{zone=\"{ZONE}.\"}}"))
                .await
                == Some(n)
        }
    };
    assert!(
        eventually(Duration::from_secs(60), serial(1.0)).await,
        "{}",
        daemon.log()
    );
    let state = setup.dir.path().join("state");
    let files = std::fs::read(state.join("cost.test.zone")).unwrap();
    let journal = state.join("cost.test.journal");
    let empty = std::fs::metadata(&journal).unwrap().len();
    let strict = setup.backend.strict();
    for round in 0..3u32 {
        let mark = strict.requests().len();
        setup.bind.nsupdate(
            ZONE,
            &format!("update add new{round}.{ZONE}. 300 A 192.0.2.{round}"),
        );
        assert!(
            eventually(Duration::from_secs(30), serial(f64::from(round + 2))).await,
            "round {round}\n{}",
            daemon.log()
        );
        let requests = strict.requests()[mark..].to_vec();
        let sent = change_requests(&requests);
        assert_eq!(sent.len(), 1, "round {round}");
        let body = String::from_utf8_lossy(&sent[0].body).into_owned();
        // the new record's CREATE, and `_serial`'s DELETE and CREATE
        assert_eq!(body.matches("<Change>").count(), 3, "{body}");
        assert!(body.contains(&format!("new{round}.{ZONE}.")), "{body}");
    }
    assert_eq!(
        managed(setup.contents(ZONE).await, ZONE),
        expected(&setup.bind, ZONE).await
    );
    let plans = |scope: &str| {
        let daemon = &daemon;
        let series = format!("xfr53_plans_total{{zone=\"{ZONE}.\",scope=\"{scope}\"}}");
        async move { daemon.metric(&series).await }
    };
    assert_eq!(plans("whole_zone").await, Some(1.0));
    assert_eq!(plans("changed_names").await, Some(3.0));
    // saved as three small journal entries; the files are as first written
    assert_eq!(std::fs::read(state.join("cost.test.zone")).unwrap(), files);
    let grown = std::fs::metadata(&journal).unwrap().len() - empty;
    assert!(
        grown > 0 && grown < 6 * 1024,
        "{grown} bytes of journal for three one-record changes"
    );
}
