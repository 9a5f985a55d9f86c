//! Many accounts: a zone with `role_arn` makes its Route 53 calls with the
//! credentials of that role, assumed through STS with the standard chain's;
//! a zone without makes them with the chain's own. moto plays STS and
//! Route 53 behind the recording proxy (`[route53] endpoint` serves STS
//! too). moto keeps one Route 53 per account and tells a request's account
//! by its access key, and its AssumeRole hands out keys of the role's
//! account starting with ASIA: so the role's zone is found, and synced, in
//! the role's account only when its requests are signed with the role's key.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_route53::types::ResourceRecordSet;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::http::{percent_decode, serve, Request, Response};
use crate::support::programs::free_port;
use crate::support::route53_backend::{Contents, Kind};
use crate::support::setup::{assert_synced, expected, managed, show, Setup};

const ROLE: &str = "arn:aws:iam::111122223333:role/dns/xfr53-target";
const ROLE_ACCOUNT: &str = "111122223333";
/// The key Setup runs xfr53 with (AWS_ACCESS_KEY_ID).
const BASE_KEY: &str = "testing";

/// (access key ID, service) of a SigV4-signed request:
/// `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`.
fn signer(request: &Request) -> (String, String) {
    let authorization = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("{} {} is unsigned", request.method, request.target));
    let scope = authorization
        .split_once("Credential=")
        .and_then(|(_, rest)| rest.split(',').next())
        .unwrap_or_else(|| panic!("no Credential in {authorization:?}"));
    let parts: Vec<&str> = scope.split('/').collect();
    assert_eq!(parts.len(), 5, "{scope:?}");
    (parts[0].to_string(), parts[3].to_string())
}

/// A form field of an AWS query-protocol request body, percent-decoded.
fn form_field(request: &Request, key: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&request.body);
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

/// Every record set of hosted zone `id` in moto's account `account`.
async fn contents_in(setup: &Setup, account: &'static str, id: &str) -> Contents {
    let page = setup
        .backend
        .client()
        .list_resource_record_sets()
        .hosted_zone_id(id)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", account);
        })
        .send()
        .await
        .unwrap();
    assert!(!page.is_truncated(), "one page is enough for these zones");
    page.resource_record_sets()
        .iter()
        .map(|set: &ResourceRecordSet| {
            let mut values: Vec<String> = (set.resource_records().iter())
                .map(|r| r.value().to_string())
                .collect();
            values.sort();
            (
                (set.name().to_string(), set.r#type().as_str().to_string()),
                (set.ttl().unwrap_or(0) as u32, values),
            )
        })
        .collect()
}

/// Creates hosted zone `name` in moto's account `account`; its ID.
async fn create_in(setup: &Setup, account: &'static str, name: &str) -> String {
    setup
        .backend
        .client()
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("{name}-{account}"))
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", account);
        })
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string()
}

/// Gives `zone`'s section of the configuration `role_arn = role`.
fn with_role(setup: &Setup, zone: &str, role: &str) {
    let config = std::fs::read_to_string(setup.config_path()).unwrap();
    let section = format!("name = \"{zone}\"\n");
    assert!(config.contains(&section), "{config}");
    std::fs::write(
        setup.config_path(),
        config.replace(&section, &format!("{section}role_arn = \"{role}\"\n")),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_with_role_arn_calls_route53_with_the_assumed_role() {
    let zones = vec![
        bind::Zone::fixture("delegation.zone"),
        bind::Zone::fixture("wildcards.zone"),
    ];
    let Some(setup) = Setup::start(Kind::Moto, zones).await else {
        return;
    };
    let (plain, roled) = ("parent.test", "wild.test");
    // the role's account holds the role's zone; the same name in xfr53's
    // own account (made by Setup) is what a zone ignoring its role syncs
    let role_zone_id = create_in(&setup, ROLE_ACCOUNT, roled).await;
    with_role(&setup, roled, ROLE);

    let mut seen = setup.backend.requests().len();
    let mut requests_of = |zone: &str| {
        let all = setup.backend.requests();
        let these = all[seen..].to_vec();
        seen = all.len();
        assert!(!these.is_empty(), "{zone}: no request recorded");
        these
    };
    let run = setup.run(&["sync", plain]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let plain_requests = requests_of(plain);
    let run = setup.run(&["sync", roled]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let role_requests = requests_of(roled);

    // the zone without a role: Route 53 only, with the base key
    for request in &plain_requests {
        assert_eq!(
            signer(request),
            (BASE_KEY.to_string(), "route53".to_string()),
            "{plain}: {} {}",
            request.method,
            request.target
        );
    }

    // the zone with a role: first AssumeRole, signed with the base key, in
    // a session named after xfr53 and the zone...
    let (assume, route53) = role_requests.split_first().unwrap();
    assert_eq!(
        signer(assume),
        (BASE_KEY.to_string(), "sts".to_string()),
        "{roled}: first {} {}",
        assume.method,
        assume.target
    );
    assert_eq!(form_field(assume, "Action").as_deref(), Some("AssumeRole"));
    assert_eq!(form_field(assume, "RoleArn").as_deref(), Some(ROLE));
    assert_eq!(
        form_field(assume, "RoleSessionName").as_deref(),
        Some("xfr53-wild.test")
    );
    // ...then every Route 53 request with the one key it returned
    let signers: BTreeSet<(String, String)> = route53.iter().map(signer).collect();
    assert_eq!(signers.len(), 1, "{roled}: {signers:?}");
    let (key, service) = signers.into_iter().next().unwrap();
    assert_eq!(service, "route53");
    assert!(
        key.starts_with("ASIA"),
        "{roled}: signed with {key}, not the assumed role's temporary key"
    );
    assert!(route53.len() >= 2, "{roled}: found, listed and changed");

    // each zone synced in its own account; the role zone's namesake in
    // xfr53's own account untouched
    assert_synced(&setup, plain).await;
    assert_eq!(
        managed(
            contents_in(&setup, ROLE_ACCOUNT, &role_zone_id).await,
            roled
        ),
        expected(&setup.bind, roled).await,
        "{roled}: the role's account differs from the primary"
    );
    let untouched = managed(setup.contents(roled).await, roled);
    assert!(
        untouched.is_empty(),
        "{roled}: xfr53's own account was written to: {untouched:?}"
    );
}

/// STS refusing AssumeRole, as its API reference shows an error: the
/// caller's trust is missing in the role's account.
const ACCESS_DENIED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:sts::123456789012:assumed-role/xfr53-instance/i-0abc is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/dns/xfr53-target</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_assume_role_names_the_zone_the_role_and_the_trust_policy() {
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = requests.clone();
    let sts = serve(move |request| {
        recorded.lock().unwrap().push(request);
        async {
            Response::Reply {
                status: 403,
                body: ACCESS_DENIED.to_string(),
            }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("xfr53.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}/state\"\n[route53]\nendpoint = \"http://{}\"\n[[zone]]\nname = \"wild.test\"\nprimaries = [\"127.0.0.1:1\"]\nrole_arn = \"{ROLE}\"\n",
            dir.path().display(),
            sts.addr
        ),
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .args(["plan", "wild.test", "--config"])
        .arg(&config)
        .env("AWS_ACCESS_KEY_ID", BASE_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "base-secret-never-shown")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(
        stderr.starts_with(&format!("xfr53: error: zone wild.test.: finding its hosted zone in Route 53: STS refused to let xfr53 assume role {ROLE} for zone wild.test. (AccessDenied: User: arn:aws:sts::123456789012:assumed-role/xfr53-instance/i-0abc is not authorized")),
        "{stderr}"
    );
    assert!(
        stderr.contains("check the role's trust policy in account 111122223333 allows sts:AssumeRole to xfr53's own role"),
        "{stderr}"
    );
    assert!(!stderr.contains("base-secret-never-shown"), "{stderr}");
    // refused for good: asked once, not retried
    let asked = requests.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        form_field(&asked[0], "Action").as_deref(),
        Some("AssumeRole")
    );
}

/// No credentials of xfr53's own to assume the role with: said in one line
/// naming the role and the ways to provide them, as quickly as without a
/// role (see aws_credentials.rs).
#[test]
fn without_base_credentials_a_role_zone_says_so_in_one_line_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let config = dir.path().join("xfr53.toml");
    std::fs::write(
        &config,
        format!("[[zone]]\nname = \"wild.test\"\nprimaries = [\"127.0.0.1:1\"]\nrole_arn = \"{ROLE}\"\n"),
    )
    .unwrap();
    // an instance metadata service that never answers
    let imds = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started = std::time::Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{}/", imds.local_addr().unwrap()),
        )
        .arg("--config")
        .arg(&config)
        .args(["plan", "wild.test"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(
        stderr.starts_with(&format!("xfr53: error: zone wild.test.: finding its hosted zone in Route 53: assuming role {ROLE} for zone wild.test. needs xfr53's own credentials first: no AWS credentials found. Provide them by one of: ")),
        "{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

const OTHER_ROLE: &str = "arn:aws:iam::444455556666:role/xfr53-dns";
const OTHER_ACCOUNT: &str = "444455556666";

/// Whether `zone` in moto's `account` (hosted zone `id`) holds the
/// primary's zone, within 30 s.
async fn converges_in(setup: &Setup, account: &'static str, id: &str, zone: &str) -> bool {
    eventually(Duration::from_secs(30), || async {
        managed(contents_in(setup, account, id).await, zone) == expected(&setup.bind, zone).await
    })
    .await
}

/// The access keys that signed xfr53's requests naming hosted zone `id`
/// (or looking `zone` up by name); the test's own name their account.
fn keys_for(requests: &[Request], id: &str, zone: &str) -> BTreeSet<String> {
    let by_name = format!("dnsname={zone}.");
    requests
        .iter()
        .filter(|r| {
            !r.headers
                .iter()
                .any(|(name, _)| name == "x-moto-account-id")
        })
        .filter(|r| r.target.contains(&format!("/hostedzone/{id}")) || r.target.contains(&by_name))
        .map(|r| {
            let (key, service) = signer(r);
            assert_eq!(service, "route53", "{} {}", r.method, r.target);
            key
        })
        .collect()
}

/// The AssumeRole requests: (signing key, RoleArn, RoleSessionName).
fn assumed(requests: &[Request]) -> Vec<(String, String, String)> {
    requests
        .iter()
        .filter(|r| signer(r).1 == "sts")
        .map(|r| {
            assert_eq!(form_field(r, "Action").as_deref(), Some("AssumeRole"));
            (
                signer(r).0,
                form_field(r, "RoleArn").unwrap_or_default(),
                form_field(r, "RoleSessionName").unwrap_or_default(),
            )
        })
        .collect()
}

/// In one daemon each zone calls Route 53 in its own account, and a reload
/// that changes a zone's role moves that zone to the new role's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_each_zone_in_its_account_and_a_new_role_on_reload_moves_it() {
    let zones = vec![
        bind::Zone::fixture("delegation.zone"),
        bind::Zone::fixture("wildcards.zone"),
    ];
    let (dns, http) = (free_port(), free_port());
    let Some(setup) = Setup::start(Kind::Moto, zones).await else {
        return;
    };
    let (plain, roled) = ("parent.test", "wild.test");
    let first = create_in(&setup, ROLE_ACCOUNT, roled).await;
    let second = create_in(&setup, OTHER_ACCOUNT, roled).await;
    setup.write_config(Some((dns, http)), "", &[plain, roled]);
    with_role(&setup, roled, ROLE);
    let mut daemon = Daemon::start(&setup, http);

    assert!(
        converges_in(&setup, ROLE_ACCOUNT, &first, roled).await,
        "{roled} in {ROLE_ACCOUNT}\n{}",
        daemon.log()
    );
    assert!(
        eventually(Duration::from_secs(30), || async {
            managed(setup.contents(plain).await, plain) == expected(&setup.bind, plain).await
        })
        .await,
        "{plain}\n{}",
        daemon.log()
    );
    let requests = setup.backend.requests();
    assert_eq!(
        keys_for(&requests, setup.zone_id(plain), plain),
        BTreeSet::from([BASE_KEY.to_string()])
    );
    // never its namesake in xfr53's own account, listed there at start
    let decoy = format!("/hostedzone/{}", setup.zone_id(roled));
    let strays: Vec<&str> = (requests.iter())
        .filter(|r| r.target.contains(&decoy) && signer(r).0 != BASE_KEY)
        .map(|r| r.target.as_str())
        .collect();
    assert!(strays.is_empty(), "{roled}: {strays:?}");
    let first_keys = keys_for(&requests, &first, roled);
    assert_eq!(first_keys.len(), 1, "{first_keys:?}");
    let first_key = first_keys.into_iter().next().unwrap();
    assert!(first_key.starts_with("ASIA"), "{first_key}");
    assert_eq!(
        assumed(&requests),
        [(
            BASE_KEY.to_string(),
            ROLE.to_string(),
            "xfr53-wild.test".to_string()
        )]
    );

    let before = requests.len();
    setup.write_config(Some((dns, http)), "", &[plain, roled]);
    with_role(&setup, roled, OTHER_ROLE);
    daemon.signal("HUP");
    assert!(
        converges_in(&setup, OTHER_ACCOUNT, &second, roled).await,
        "{roled} in {OTHER_ACCOUNT} after the reload\n{}",
        daemon.log()
    );
    let requests = setup.backend.requests()[before..].to_vec();
    assert_eq!(
        assumed(&requests),
        [(
            BASE_KEY.to_string(),
            OTHER_ROLE.to_string(),
            "xfr53-wild.test".to_string()
        )]
    );
    let second_keys = keys_for(&requests, &second, roled);
    assert_eq!(second_keys.len(), 1, "{second_keys:?}");
    assert!(
        second_keys
            .iter()
            .all(|k| k.starts_with("ASIA") && *k != first_key),
        "{second_keys:?}"
    );
    // the zone's namesake in xfr53's own account was never written to
    assert!(managed(setup.contents(roled).await, roled).is_empty());

    daemon.signal("TERM");
    assert_eq!(
        daemon.wait(Duration::from_secs(10)).await,
        Some(0),
        "{}",
        daemon.log()
    );
}
