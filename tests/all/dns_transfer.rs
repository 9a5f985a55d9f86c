//! Zone transfers from a real BIND 9: AXFR of every fixture, TSIG, and IXFR
//! driven by nsupdate.

use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::dns::primary::Primary;
use xfr53::dns::soa::query_soa;
use xfr53::dns::transfer::{axfr, refresh, Transferred};

use crate::support::bind::{self, Bind, KEY_SHA256, KEY_SHA512};
use crate::support::zones::{data_dir, origin_of};
use xfr53::core::zonefile;

/// ttls.zone is left out: BIND gives every record of an RRset the first
/// record's TTL when it loads a zone, so it never serves mixed TTLs.
const FIXTURES: [&str; 6] = [
    "realistic.zone",
    "wildcards.zone",
    "escapes.zone",
    "long_txt.zone",
    "delegation.zone",
    "unsupported.zone",
];

fn zone_file(file: &str) -> Zone {
    let text = std::fs::read_to_string(data_dir().join(file)).unwrap();
    let origin = origin_of(&text);
    Zone::from_records(
        origin.clone(),
        &zonefile::parse(file, &text, &origin).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn axfr_of_each_fixture_equals_its_zone_file() {
    let Some(bind) = Bind::start(FIXTURES.iter().map(|f| bind::Zone::fixture(f)).collect()) else {
        return;
    };
    let primary = Primary::new(bind.addr, None);
    for file in FIXTURES {
        let expected = zone_file(file);
        let (zone, stats) = axfr(&primary, expected.origin()).await.unwrap();
        assert_eq!(zone.len(), expected.len(), "{file}: record count");
        assert_eq!(stats.records, zone.len() + 1, "{file}: SOA twice");
        let (got, want) = (zone.convert().unwrap(), expected.convert().unwrap());
        assert_eq!(got.sets, want.sets, "{file}: record sets");
        assert_eq!(got.skipped, want.skipped, "{file}: skipped types");
        assert_eq!(got.serial, want.serial, "{file}: serial");
        let soa = query_soa(&primary, expected.origin()).await.unwrap();
        assert_eq!(Some(soa.serial()), want.serial.map(|s| s.0));
    }
}

#[tokio::test]
async fn tsig_right_key_works_wrong_or_missing_key_is_a_clear_error() {
    let mut sha256 = bind::Zone::fixture("wildcards.zone");
    sha256.transfer_key = Some(KEY_SHA256);
    let mut sha512 = bind::Zone::fixture("delegation.zone");
    sha512.transfer_key = Some(KEY_SHA512);
    let Some(bind) = Bind::start(vec![sha256, sha512]) else {
        return;
    };
    let wild = Name::parse_route53("wild.test").unwrap();
    let parent = Name::parse_route53("parent.test").unwrap();

    for (zone, key) in [(&wild, KEY_SHA256), (&parent, KEY_SHA512)] {
        let primary = Primary::new(bind.addr, Some(key.tsig()));
        let (transferred, stats) = axfr(&primary, zone).await.unwrap();
        assert!(
            transferred.len() > 3 && stats.messages >= 1,
            "{zone} with {}",
            key.algorithm
        );
        query_soa(&primary, zone).await.unwrap();
    }

    let no_key = axfr_error(Primary::new(bind.addr, None), &wild).await;
    assert!(
        no_key.contains("zone wild.test.: AXFR from primary 127.0.0.1"),
        "{no_key}"
    );
    assert!(no_key.contains("REFUSED"), "{no_key}");

    let wrong_secret = bind::Key {
        secret: "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=",
        ..KEY_SHA256
    };
    let wrong = axfr_error(Primary::new(bind.addr, Some(wrong_secret.tsig())), &wild).await;
    assert!(
        wrong.contains("NOTAUTH") || wrong.contains("TSIG"),
        "{wrong}"
    );

    let wrong_algorithm = bind::Key {
        algorithm: "hmac-sha512",
        ..KEY_SHA256
    };
    let wrong = axfr_error(Primary::new(bind.addr, Some(wrong_algorithm.tsig())), &wild).await;
    assert!(
        wrong.contains("NOTAUTH") || wrong.contains("TSIG"),
        "{wrong}"
    );

    let soa = query_soa(&Primary::new(bind.addr, Some(wrong_secret.tsig())), &wild).await;
    let soa = format!("{:#}", soa.unwrap_err());
    assert!(
        soa.contains("zone wild.test.: SOA query to primary"),
        "{soa}"
    );
}

async fn axfr_error(primary: Primary, zone: &Name) -> String {
    format!("{:#}", axfr(&primary, zone).await.unwrap_err())
}

#[tokio::test]
async fn ixfr_yields_exactly_the_deltas_and_matches_a_fresh_axfr() {
    let Some(bind) = Bind::start(vec![bind::Zone::fixture("delegation.zone")]) else {
        return;
    };
    let primary = Primary::new(bind.addr, None);
    let origin = Name::parse_route53("parent.test").unwrap();
    let (mut held, _) = axfr(&primary, &origin).await.unwrap();
    let first = held.serial().unwrap();

    bind.nsupdate(
        "parent.test",
        "update add new.parent.test. 300 A 192.0.2.77",
    );
    bind.nsupdate("parent.test", "update delete ns2.child.parent.test. AAAA");
    bind.nsupdate(
        "parent.test",
        "update delete ns1.parent.test. A 192.0.2.1\nupdate add ns1.parent.test. 86400 A 192.0.2.9",
    );

    let (outcome, _) = refresh(&primary, &mut held).await.unwrap();
    let Transferred::Incremental(deltas) = outcome else {
        panic!("expected IXFR deltas, got {outcome:?}");
    };
    assert_eq!(deltas.len(), 3);
    assert_eq!(deltas[0].from, first);
    let text = |records: &[hickory_proto::rr::Record]| -> Vec<String> {
        records.iter().map(|r| r.to_string()).collect()
    };
    assert_eq!(text(&deltas[0].removed), Vec::<String>::new());
    assert_eq!(
        text(&deltas[0].added),
        ["new.parent.test. 300 IN A 192.0.2.77"]
    );
    assert_eq!(
        text(&deltas[1].removed),
        ["ns2.child.parent.test. 86400 IN AAAA 2001:db8::11"]
    );
    assert!(deltas[1].added.is_empty());
    assert_eq!(
        text(&deltas[2].removed),
        ["ns1.parent.test. 86400 IN A 192.0.2.1"]
    );
    assert_eq!(
        text(&deltas[2].added),
        ["ns1.parent.test. 86400 IN A 192.0.2.9"]
    );

    let (fresh, _) = axfr(&primary, &origin).await.unwrap();
    assert_eq!(held, fresh);

    // nothing new: up to date, zone untouched
    assert_eq!(
        refresh(&primary, &mut held).await.unwrap().0,
        Transferred::UpToDate
    );
    assert_eq!(held, fresh);
}

#[tokio::test]
async fn ixfr_from_a_serial_bind_has_no_journal_for_falls_back_to_the_whole_zone() {
    let Some(bind) = Bind::start(vec![bind::Zone::fixture("delegation.zone")]) else {
        return;
    };
    let primary = Primary::new(bind.addr, None);
    let origin = Name::parse_route53("parent.test").unwrap();
    let (fresh, _) = axfr(&primary, &origin).await.unwrap();
    bind.nsupdate(
        "parent.test",
        "update add later.parent.test. 300 A 192.0.2.78",
    );
    // a held copy at a serial BIND never journaled
    let mut held = zone_file("delegation.zone");
    held.insert(&old_soa(&fresh, 1000)).unwrap();
    let (outcome, _) = refresh(&primary, &mut held).await.unwrap();
    assert!(
        matches!(outcome, Transferred::Full { reason: Some(_) }),
        "{outcome:?}"
    );
    let (now, _) = axfr(&primary, &origin).await.unwrap();
    assert_eq!(held, now);
}

/// `zone`'s SOA with its serial lowered by `by`.
fn old_soa(zone: &Zone, by: u32) -> hickory_proto::rr::Record {
    let soa = zone.soa().unwrap();
    let old = hickory_proto::rr::rdata::SOA::new(
        soa.mname().clone(),
        soa.rname().clone(),
        soa.serial().wrapping_sub(by),
        soa.refresh(),
        soa.retry(),
        soa.expire(),
        soa.minimum(),
    );
    hickory_proto::rr::Record::from_rdata(
        zone.origin().to_hickory(),
        86400,
        hickory_proto::rr::RData::SOA(old),
    )
}
