//! The strict Route 53 double, driven over HTTP with the aws-sdk client
//! (not xfr53's adapter): each documented rule it enforces, so xfr53's
//! tests against it mean something. And moto through its wrapper: a value
//! changed and changed back succeeds, an inexact DELETE is refused.

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::error::ProvideErrorMetadata;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;

use crate::support::moto::Moto;
use crate::support::strict_route53::StrictRoute53;

const ZONE: &str = "double.test.";

fn client(endpoint: String) -> Client {
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// The double, a client, and a fresh hosted zone's ID.
async fn double() -> (StrictRoute53, Client, String) {
    let double = StrictRoute53::start().await;
    let client = client(double.endpoint());
    let id = create_zone(&client).await;
    (double, client, id)
}

async fn create_zone(client: &Client) -> String {
    let created = client
        .create_hosted_zone()
        .name(ZONE)
        .caller_reference(format!("double-{}", rand::random::<u32>()))
        .send()
        .await
        .unwrap();
    let id = created.hosted_zone().unwrap().id();
    id.trim_start_matches("/hostedzone/").to_string()
}

fn set(name: &str, rtype: &str, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let records = values
        .iter()
        .map(|v| ResourceRecord::builder().value(*v).build().unwrap())
        .collect();
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(rtype))
        .ttl(ttl)
        .set_resource_records(Some(records))
        .build()
        .unwrap()
}

fn weighted(name: &str, identifier: &str, weight: i64, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .set_identifier(identifier)
        .weight(weight)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap()
}

fn change(action: &str, set: ResourceRecordSet) -> Change {
    Change::builder()
        .action(ChangeAction::from(action))
        .resource_record_set(set)
        .build()
        .unwrap()
}

/// Sends one batch: Ok, or (error code, message).
async fn send(client: &Client, zone: &str, changes: Vec<Change>) -> Result<(), (String, String)> {
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .unwrap();
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let e = e.into_service_error();
            let code = e.code().unwrap_or("").to_string();
            (code, e.message().unwrap_or("").to_string())
        })
}

async fn refused(client: &Client, zone: &str, changes: Vec<Change>) -> (String, String) {
    let shown = format!("{changes:?}");
    send(client, zone, changes)
        .await
        .expect_err(&format!("Route 53 refuses {shown}"))
}

/// Every set of the zone, following NextRecordName / Type / Identifier,
/// `max` a page; and how many pages carried NextRecordIdentifier.
async fn list(client: &Client, zone: &str, max: i32) -> (Vec<ResourceRecordSet>, usize) {
    let (mut out, mut with_identifier) = (Vec::new(), 0);
    let mut start: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut request = client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .max_items(max);
        if let Some((name, rtype, identifier)) = start.take() {
            request = request
                .start_record_name(name)
                .start_record_type(rtype)
                .set_start_record_identifier(identifier);
        }
        let page = request.send().await.unwrap();
        out.extend(page.resource_record_sets().iter().cloned());
        if !page.is_truncated() {
            return (out, with_identifier);
        }
        with_identifier += usize::from(page.next_record_identifier().is_some());
        start = Some((
            page.next_record_name().unwrap().to_string(),
            page.next_record_type().unwrap().clone(),
            page.next_record_identifier().map(str::to_string),
        ));
    }
}

/// The values of the one set at (name, type), in the order listed.
async fn values(client: &Client, zone: &str, name: &str, rtype: &str) -> Vec<String> {
    let (sets, _) = list(client, zone, 300).await;
    let found: Vec<_> = sets
        .iter()
        .filter(|s| s.name() == name && s.r#type().as_str() == rtype)
        .collect();
    assert_eq!(found.len(), 1, "{name} {rtype} in {sets:?}");
    found[0]
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect()
}

#[tokio::test]
async fn values_of_every_type_are_parsed_and_invalid_ones_refused() {
    let (_double, client, zone) = double().await;
    let valid = [
        ("A", "192.0.2.1"),
        ("AAAA", "2001:db8::1"),
        ("CAA", "0 issue \"ca.example.net\""),
        ("CNAME", "target.example."),
        ("DS", "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"),
        ("HTTPS", "1 . alpn=\"h2,h3\" ipv4hint=192.0.2.1 ech=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw=="),
        ("MX", "10 mail.example."),
        ("NAPTR", "100 50 \"s\" \"http+I2R\" \"\" _http._tcp.example."),
        ("NS", "ns1.example."),
        ("PTR", "host.example."),
        ("SPF", "\"v=spf1 -all\""),
        ("SRV", "0 5 5060 sip.example."),
        ("SSHFP", "4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"),
        ("SVCB", "1 svc.example. port=8443 mandatory=port no-default-alpn alpn=h2"),
        ("TLSA", "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"),
        ("TXT", "\"hello world\" \"tab\\011here\""),
    ];
    let changes = valid
        .iter()
        .enumerate()
        .map(|(i, (t, v))| change("CREATE", set(&format!("v{i}.{ZONE}"), t, 300, &[v])))
        .collect();
    send(&client, &zone, changes).await.unwrap();

    let invalid = [
        ("A", "192.0.2"),
        ("A", "192.0.2.256"),
        ("AAAA", "2001:db8::g"),
        ("CAA", "0 issue"),
        ("CAA", "0 is-sue \"ca.example.net\""),
        ("CNAME", "a..example."),
        ("DS", "60485 5 1 2bb183af5f22588179a53b0a98631fad1a29211"),
        ("HTTPS", "1"),
        ("MX", "mail.example."),
        ("NAPTR", "100 50 s http+I2R \"\""),
        ("NS", "ns1 example."),
        ("PTR", "host example."),
        ("SOA", "ns. host. 1 2 3 4"),
        ("SPF", "v=spf1 -all"),
        ("SRV", "0 5 70000 sip.example."),
        ("SSHFP", "4 2 xyz"),
        ("SVCB", "1 . port=http"),
        ("TLSA", "3 1 1 0c7"),
        ("TXT", "unquoted"),
        ("TXT", "\"tab\\009here\""),
        ("TXT", "\"raw\ttab\""),
    ];
    for (rtype, value) in invalid {
        let target = format!("bad.{ZONE}");
        let name = if rtype == "SOA" { ZONE } else { &target };
        let (code, message) = refused(
            &client,
            &zone,
            vec![change("UPSERT", set(name, rtype, 300, &[value]))],
        )
        .await;
        assert_eq!(code, "InvalidChangeBatch", "{rtype} {value}: {message}");
        assert!(
            message.contains("FATAL problem") && message.contains(value),
            "{rtype} {value}: Route 53's reason names the value: {message}"
        );
    }
    // an invalid value refuses its whole batch
    let (_, message) = refused(
        &client,
        &zone,
        vec![
            change(
                "CREATE",
                set(&format!("ok.{ZONE}"), "A", 300, &["192.0.2.9"]),
            ),
            change(
                "CREATE",
                set(&format!("bad.{ZONE}"), "A", 300, &["192.0.2"]),
            ),
        ],
    )
    .await;
    let (sets, _) = list(&client, &zone, 300).await;
    assert!(
        !sets.iter().any(|s| s.name() == format!("ok.{ZONE}")),
        "atomic: {message}"
    );
}

#[tokio::test]
async fn svcb_keys_follow_the_rfc_9460_registry() {
    let (_double, client, zone) = double().await;
    let at = format!("svc.{ZONE}");
    for value in [
        "1 . unknown7=\"/q{?dns}\"",
        "1 . key65535=x",
        "1 . key07=x",
        "1 . alpn=h2 alpn=h3",
        "1 . mandatory=alpn",
        "1 . no-default-alpn",
        "1 . ipv4hint=2001:db8::1",
        "1 . dohpath=/no-variable",
    ] {
        let (code, message) = refused(
            &client,
            &zone,
            vec![change("UPSERT", set(&at, "HTTPS", 300, &[value]))],
        )
        .await;
        assert_eq!(code, "InvalidChangeBatch", "{value}: {message}");
    }
    for value in [
        "1 . key7=\"/dns-query{?dns}\"",
        "1 . dohpath=/dns-query{?dns} ohttp",
        "1 . key65534 key1=\\002h2",
        "1 . alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
        "1 . ipv6hint=\"2001:db8::1,2001:db8::2\"",
    ] {
        send(
            &client,
            &zone,
            vec![change("UPSERT", set(&at, "HTTPS", 300, &[value]))],
        )
        .await
        .unwrap_or_else(|e| panic!("{value} is RFC 9460 presentation: {e:?}"));
    }
}

#[tokio::test]
async fn a_set_holds_at_most_400_values() {
    let (_double, client, zone) = double().await;
    let many: Vec<String> = (0..401)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let at = format!("many.{ZONE}");
    let (code, message) = refused(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 300, &many))],
    )
    .await;
    assert_eq!(code, "InvalidChangeBatch");
    assert!(message.contains("400"), "{message}");
    send(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 300, &many[..400]))],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn wildcards_are_stored_as_octal_and_a_wildcard_ns_is_refused() {
    let (_double, client, zone) = double().await;
    let (code, message) = refused(
        &client,
        &zone,
        vec![change(
            "CREATE",
            set(&format!("*.sub.{ZONE}"), "NS", 300, &["ns1.example."]),
        )],
    )
    .await;
    assert_eq!(code, "InvalidChangeBatch");
    assert!(message.contains("wildcard"), "{message}");
    send(
        &client,
        &zone,
        vec![change(
            "CREATE",
            set(&format!("*.{ZONE}"), "A", 300, &["192.0.2.1"]),
        )],
    )
    .await
    .unwrap();
    values(&client, &zone, &format!("\\052.{ZONE}"), "A").await;
}

#[tokio::test]
async fn names_are_canonical_and_raw_bytes_refused() {
    let (_double, client, zone) = double().await;
    let written = [
        "WWW.Double.Test",
        "ex\\344mple.double.test.",
        "a@b.double.test.",
        "\\101\\102c.double.test.",
        "dot\\056inside.double.test.",
    ];
    let changes = written
        .iter()
        .map(|n| change("CREATE", set(n, "TXT", 300, &["\"x\""])))
        .collect();
    send(&client, &zone, changes).await.unwrap();
    let (sets, _) = list(&client, &zone, 300).await;
    let names: Vec<&str> = sets.iter().map(|s| s.name()).collect();
    for name in [
        "www.double.test.",
        "ex\\344mple.double.test.",
        "a\\100b.double.test.",
        "abc.double.test.",
        "dot\\056inside.double.test.",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for bad in ["a b.double.test.", "é.double.test.", "a..double.test."] {
        let (code, message) = refused(
            &client,
            &zone,
            vec![change("CREATE", set(bad, "A", 300, &["192.0.2.1"]))],
        )
        .await;
        assert_eq!(code, "InvalidChangeBatch", "{bad}: {message}");
    }
    let (_, message) = refused(
        &client,
        &zone,
        vec![change(
            "CREATE",
            set("www.other.test.", "A", 300, &["192.0.2.1"]),
        )],
    )
    .await;
    assert!(message.contains("not permitted in zone"), "{message}");
}

#[tokio::test]
async fn the_record_set_quota_is_enforced() {
    let (double, client, zone) = double().await;
    // the apex SOA and NS count
    double.set_record_set_quota(4);
    let a = |n: &str| set(&format!("{n}.{ZONE}"), "A", 300, &["192.0.2.1"]);
    send(
        &client,
        &zone,
        vec![change("CREATE", a("one")), change("CREATE", a("two"))],
    )
    .await
    .unwrap();
    let (code, message) = refused(&client, &zone, vec![change("CREATE", a("three"))]).await;
    assert_eq!(code, "InvalidChangeBatch");
    assert!(message.contains("limit is 4"), "{message}");
    // a batch that does not grow the zone still passes
    send(
        &client,
        &zone,
        vec![change("DELETE", a("two")), change("CREATE", a("three"))],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn ttls_outside_0_to_2147483647_are_refused() {
    let (_double, client, zone) = double().await;
    for ttl in [-1, 2_147_483_648] {
        let (code, message) = refused(
            &client,
            &zone,
            vec![change(
                "CREATE",
                set(&format!("t.{ZONE}"), "A", ttl, &["192.0.2.1"]),
            )],
        )
        .await;
        assert_eq!(code, "InvalidInput", "TTL {ttl}: {message}");
    }
    for (name, ttl) in [("zero", 0), ("max", 2_147_483_647)] {
        send(
            &client,
            &zone,
            vec![change(
                "CREATE",
                set(&format!("{name}.{ZONE}"), "A", ttl, &["192.0.2.1"]),
            )],
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_rewrite_with_the_same_meaning_keeps_the_first_spelling() {
    let (_double, client, zone) = double().await;
    let at = format!("www.{ZONE}");
    let first = "1 . alpn=h3,h2 port=443";
    let mine = "1 . port=\"443\" alpn=\"h3,h2\"";
    send(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "HTTPS", 300, &[first]))],
    )
    .await
    .unwrap();
    // a client comparing spellings replaces the set on every pass, forever
    for _ in 0..3 {
        let held = values(&client, &zone, &at, "HTTPS").await;
        assert_ne!(held, [mine], "the rewrite was a no-op");
        send(
            &client,
            &zone,
            vec![
                change("DELETE", set(&at, "HTTPS", 300, &[&held[0]])),
                change("CREATE", set(&at, "HTTPS", 300, &[mine])),
            ],
        )
        .await
        .unwrap();
    }
    assert_eq!(values(&client, &zone, &at, "HTTPS").await, [first]);
    // UPSERT likewise; a DELETE matches by meaning
    let v6 = format!("v6.{ZONE}");
    send(
        &client,
        &zone,
        vec![change("CREATE", set(&v6, "AAAA", 300, &["2001:DB8::1"]))],
    )
    .await
    .unwrap();
    send(
        &client,
        &zone,
        vec![change("UPSERT", set(&v6, "AAAA", 300, &["2001:db8:0::1"]))],
    )
    .await
    .unwrap();
    assert_eq!(values(&client, &zone, &v6, "AAAA").await, ["2001:DB8::1"]);
    send(
        &client,
        &zone,
        vec![change("DELETE", set(&v6, "AAAA", 300, &["2001:db8::1"]))],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn values_are_listed_in_another_order_than_written() {
    let (_double, client, zone) = double().await;
    let at = format!("multi.{ZONE}");
    let written = ["192.0.2.1", "192.0.2.2", "192.0.2.3"];
    send(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 300, &written))],
    )
    .await
    .unwrap();
    let listed = values(&client, &zone, &at, "A").await;
    assert_ne!(listed, written);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, written);
    // DELETE matches in any order
    send(
        &client,
        &zone,
        vec![change(
            "DELETE",
            set(&at, "A", 300, &["192.0.2.2", "192.0.2.3", "192.0.2.1"]),
        )],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn alias_and_weighted_sets_are_held_and_paged_by_identifier() {
    let (_double, client, zone) = double().await;
    let alias = ResourceRecordSet::builder()
        .name(format!("cdn.{ZONE}"))
        .r#type(RrType::A)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id("Z2FDTNDATAQYW2")
                .dns_name("d111111abcdef8.cloudfront.net")
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let at = format!("w.{ZONE}");
    let mut changes = vec![change("CREATE", alias)];
    for i in 1..=5 {
        changes.push(change(
            "CREATE",
            weighted(&at, &format!("w{i}"), i, &format!("192.0.2.{i}")),
        ));
    }
    changes.push(change(
        "CREATE",
        set(&format!("z.{ZONE}"), "A", 300, &["192.0.2.9"]),
    ));
    send(&client, &zone, changes).await.unwrap();

    let (all, _) = list(&client, &zone, 300).await;
    let cdn = all
        .iter()
        .find(|s| s.name() == format!("cdn.{ZONE}"))
        .unwrap();
    assert_eq!(
        cdn.alias_target().unwrap().dns_name(),
        "d111111abcdef8.cloudfront.net."
    );
    let ids: Vec<&str> = all.iter().filter_map(|s| s.set_identifier()).collect();
    assert_eq!(ids.len(), 5, "{all:?}");

    // pages of 2 walk every set once, resuming inside the weighted sets
    let (paged, with_identifier) = list(&client, &zone, 2).await;
    assert_eq!(paged, all);
    assert!(
        with_identifier >= 1,
        "a page ended inside the weighted sets"
    );

    // the exact rules hold for routed sets too
    let (_, message) = refused(
        &client,
        &zone,
        vec![change("DELETE", weighted(&at, "w3", 9, "192.0.2.3"))],
    )
    .await;
    assert!(message.contains("do not match"), "{message}");
    let (_, message) = refused(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 60, &["192.0.2.7"]))],
    )
    .await;
    assert!(message.contains("weighted sets exist"), "{message}");
    send(
        &client,
        &zone,
        vec![change("DELETE", weighted(&at, "w3", 3, "192.0.2.3"))],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn deletes_must_match_and_creates_must_not_find_a_set() {
    let (_double, client, zone) = double().await;
    let at = format!("a.{ZONE}");
    send(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 300, &["192.0.2.1"]))],
    )
    .await
    .unwrap();
    let (_, message) = refused(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "A", 300, &["192.0.2.2"]))],
    )
    .await;
    assert!(message.contains("already exists"), "{message}");
    for stale in [
        set(&at, "A", 60, &["192.0.2.1"]),
        set(&at, "A", 300, &["192.0.2.2"]),
    ] {
        let (_, message) = refused(&client, &zone, vec![change("DELETE", stale)]).await;
        assert!(message.contains("do not match"), "{message}");
    }
    let (_, message) = refused(
        &client,
        &zone,
        vec![change("CREATE", set(&at, "CNAME", 300, &["x.example."]))],
    )
    .await;
    assert!(message.contains("conflicting RRSet"), "{message}");
}

/// moto through scripts/moto_route53_strict.py: Route 53's rule for a
/// batch, not moto 5.2.5's journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_takes_a_value_changed_back_and_refuses_an_inexact_delete() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let client = client(moto.endpoint());
    let zone = create_zone(&client).await;
    let (at, later) = (format!("a.{ZONE}"), format!("z.{ZONE}"));
    let a = |v: &str| set(&at, "A", 300, &[v]);
    send(
        &client,
        &zone,
        vec![
            change("CREATE", a("192.0.2.1")),
            change("CREATE", set(&later, "A", 300, &["192.0.2.9"])),
        ],
    )
    .await
    .unwrap();
    send(
        &client,
        &zone,
        vec![
            change("DELETE", a("192.0.2.1")),
            change("CREATE", a("192.0.2.2")),
        ],
    )
    .await
    .unwrap();
    send(
        &client,
        &zone,
        vec![
            change("DELETE", a("192.0.2.2")),
            change("CREATE", a("192.0.2.1")),
        ],
    )
    .await
    .expect("a value changed back is a valid batch");
    assert_eq!(values(&client, &zone, &at, "A").await, ["192.0.2.1"]);

    for stale in [a("192.0.2.2"), set(&at, "A", 60, &["192.0.2.1"])] {
        let (code, message) = refused(&client, &zone, vec![change("DELETE", stale)]).await;
        assert_eq!(code, "InvalidChangeBatch", "{message}");
    }
    // refused as a whole: the CREATE before the bad DELETE did not land
    let (_, message) = refused(
        &client,
        &zone,
        vec![
            change(
                "CREATE",
                set(&format!("b.{ZONE}"), "A", 300, &["192.0.2.3"]),
            ),
            change("DELETE", a("192.0.2.7")),
        ],
    )
    .await;
    let (sets, _) = list(&client, &zone, 300).await;
    assert!(
        !sets.iter().any(|s| s.name() == format!("b.{ZONE}")),
        "{message}"
    );
    assert_eq!(values(&client, &zone, &at, "A").await, ["192.0.2.1"]);
}
