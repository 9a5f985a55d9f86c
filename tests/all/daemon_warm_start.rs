//! A restart with a warm state directory and nothing changed on the
//! primary: every zone is checked against its primary, and Route 53 is
//! asked only for the account's hosted zones, a page of 100 at a time
//! (not one lookup per zone), and nothing about any zone's records.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::{expected, managed, Setup};

const ZONES: usize = 4;

fn zone(i: usize) -> bind::Zone {
    let name = format!("warm{i}.test");
    let mut text = format!(
        "$ORIGIN {name}.\n$TTL 300\n@ SOA ns.{name}. admin.{name}. 7 3600 600 86400 60\n@ NS ns.{name}.\nns A 192.0.2.1\n"
    );
    for h in 0..20 {
        writeln!(text, "h{h} A 10.0.{i}.{h}").unwrap();
    }
    bind::Zone::new(&name, text)
}

fn up_to_date(name: &str) -> String {
    format!("xfr53_syncs_total{{zone=\"{name}.\",result=\"up_to_date\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_restart_asks_route53_for_no_zone_records() {
    let Some(setup) = Setup::start(Kind::Strict, (0..ZONES).map(zone).collect()).await else {
        return;
    };
    // 150 more hosted zones in the account: two pages of 100
    for i in 0..150 {
        setup
            .backend
            .create_zone(&format!("other{i}.example"), false)
            .await;
    }
    let names: Vec<String> = setup.zone_ids.keys().cloned().collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (dns, http) = (free_port(), free_port());
    setup.write_config(Some((dns, http)), "", &names);
    let mut daemon = Daemon::start(&setup, http);
    for name in &names {
        let synced = eventually(Duration::from_secs(30), || async {
            managed(setup.contents(name).await, name) == expected(&setup.bind, name).await
        })
        .await;
        assert!(synced, "{name} did not sync\n{}", daemon.log());
    }
    daemon.signal("TERM");
    assert_eq!(daemon.wait(Duration::from_secs(30)).await, Some(0));
    drop(daemon);

    let strict = setup.backend.strict();
    let mark = strict.requests().len();
    let daemon = Daemon::start(&setup, http);
    for name in &names {
        let checked = eventually(Duration::from_secs(30), || async {
            daemon.metric(&up_to_date(name)).await == Some(1.0)
        })
        .await;
        assert!(checked, "{name} was not checked\n{}", daemon.log());
    }
    let asked: Vec<String> = strict.requests()[mark..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    let counts = asked
        .iter()
        .filter(|r| r.contains("/hostedzonecount"))
        .count();
    let pages = asked
        .iter()
        .filter(|r| r.contains("/hostedzonesbyname"))
        .count();
    assert_eq!(
        (counts, pages, asked.len()),
        (1, 2, 3),
        "one count and two pages of hosted zones, nothing else: {asked:#?}"
    );
}
