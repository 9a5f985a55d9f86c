//! Route 53's limits and the serial record's name, through the real binary
//! against a real primary: refused before the first change request, with a
//! message naming the zone and the set, and the hosted zone left as it was.

use crate::support::bind;
use crate::support::route53_backend::{change_requests, Kind};
use crate::support::setup::{assert_synced, managed, show, Setup};

const ZONE: &str = "limits.test";
const HEAD: &str = "$ORIGIN limits.test.\n$TTL 300\n@ SOA ns1 admin 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n";

async fn refused_before_any_change(setup: &Setup, args: &[&str], expected: &[&str]) {
    let run = setup.run(args).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    for text in expected {
        assert!(stderr.contains(text), "{text:?} missing: {}", show(&run));
    }
    assert!(change_requests(&setup.backend.requests()).is_empty());
    assert!(managed(setup.contents(ZONE).await, ZONE).is_empty());
}

/// `serial_record = "www"` used to delete `www A` and overwrite `www TXT`.
async fn serial_record_on_a_name_the_zone_uses(kind: Kind) {
    let text = format!("{HEAD}www A 192.0.2.80\nwww TXT \"site\"\n");
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new(ZONE, text)]).await else {
        return;
    };
    setup.write_config(None, "serial_record = \"www\"", &[ZONE]);
    refused_before_any_change(
        &setup,
        &["sync", ZONE],
        &[
            "zone limits.test. cannot be synced to Route 53",
            "www.limits.test. A TXT: the zone has data at serial_record's name, which xfr53 would delete or overwrite: choose another serial_record",
        ],
    )
    .await;
    // with the default serial record the same zone syncs, www intact
    setup.write_config(None, "", &[ZONE]);
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_synced(&setup, ZONE).await;
}
both!(serial_record_on_a_name_the_zone_uses);

/// Route 53 refuses a set of more than 400 values on every attempt. (BIND
/// 9.18 serves at most 100 records of a type at a name by default,
/// max-records-per-type, so this zone comes from a file.)
async fn a_set_of_401_values(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new(ZONE, HEAD.into())]).await else {
        return;
    };
    let many: String = (0..401)
        .map(|i| format!("many A 10.0.{}.{}\n", i / 256, i % 256))
        .collect();
    let file = setup.dir.path().join("many.zone");
    std::fs::write(&file, format!("{HEAD}{many}")).unwrap();
    refused_before_any_change(
        &setup,
        &["sync", ZONE, "--zone-file", file.to_str().unwrap()],
        &["many.limits.test. A: 401 values, over Route 53's 400 per record set"],
    )
    .await;
}
both!(a_set_of_401_values);

/// The quota is per zone: the same zone syncs once it is raised.
async fn more_sets_than_the_quota(kind: Kind) {
    let text = format!("{HEAD}a A 192.0.2.2\nb A 192.0.2.3\n");
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new(ZONE, text)]).await else {
        return;
    };
    // ns1 A, a A, b A, and SOA, NS, _serial
    setup.write_config(None, "record_set_quota = 5", &[ZONE]);
    refused_before_any_change(
        &setup,
        &["sync", ZONE],
        &["Route 53 would hold 6 record sets", "quota of 5"],
    )
    .await;
    setup.write_config(None, "record_set_quota = 6", &[ZONE]);
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_synced(&setup, ZONE).await;
}
both!(more_sets_than_the_quota);
