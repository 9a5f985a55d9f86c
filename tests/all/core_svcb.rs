//! HTTPS and SVCB as people write them: the forms BIND, Knot, the Route 53
//! console and RFC 9460 print all read from a zone file, render the one way
//! Route 53 accepts, and compare by meaning against any spelling Route 53
//! holds. Also: one escape decoder (`\DDD` above 255 is an error naming
//! file:line) and CAA tags compared without case.
//!
//! Only the library's long-standing entry points are used (zone file ->
//! records -> record sets -> diff, `value::render`/`normalize`), so the same
//! file shows the failures on code before the fix.

use std::collections::BTreeMap;

use hickory_proto::rr::rdata::svcb::{SvcParamKey, SvcParamValue, Unknown, SVCB};
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use xfr53::core::diff::{diff, equivalent};
use xfr53::core::name::Name;
use xfr53::core::rrset::{CurrentSet, RecordSet, RrType};
use xfr53::core::rules::ZoneRules;
use xfr53::core::value::{normalize, render};
use xfr53::core::zone::Zone;
use xfr53::core::zonefile;

const HEAD: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n";

fn origin() -> Name {
    Name::parse_route53("example.com.").unwrap()
}

/// The values each (owner, type) of `body` converts to.
fn values(body: &str) -> BTreeMap<(String, RrType), Vec<String>> {
    let text = format!("{HEAD}{body}");
    let records = zonefile::parse("svcb.zone", &text, &origin()).unwrap_or_else(|e| panic!("{e}"));
    let converted = Zone::from_records(origin(), &records)
        .unwrap()
        .convert()
        .unwrap_or_else(|e| panic!("{e}"));
    converted
        .sets
        .into_values()
        .map(|s| ((s.name.to_string(), s.rtype), s.values))
        .collect()
}

fn one(body: &str, owner: &str, rtype: RrType) -> String {
    let all = values(body);
    let got = all
        .get(&(owner.to_string(), rtype))
        .unwrap_or_else(|| panic!("no {owner} {rtype} in {all:?}"));
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].clone()
}

/// What BIND 9.18.49 printed for these records, captured on this machine
/// with `named-checkzone -D -o - example.com example.com.zone` (and the same
/// text from `dig +short` against `named` serving that file), owner names
/// made relative. Paired with what xfr53 must render.
const BIND_9_18: &[(&str, &str, &str)] = &[
    ("@", r#"HTTPS 1 . alpn="h2""#, "1 . alpn=h2"),
    (
        "www",
        r#"HTTPS 1 . alpn="h3,h2" ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1"#,
        "1 . alpn=h3,h2 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
    ),
    (
        "d2d",
        r#"SVCB 1 foo.example.com. key667="hello\210qoo""#,
        r"1 foo.example.com. key667=hello\210qoo",
    ),
    (
        "d2f",
        "SVCB 1 example.com. ipv6hint=2001:db8:122:344::c000:221",
        "1 example.com. ipv6hint=2001:db8:122:344::c000:221",
    ),
    (
        "d2g",
        r#"SVCB 16 foo.example.org. mandatory=alpn,ipv4hint alpn="h2,h3-19" ipv4hint=192.0.2.1"#,
        "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
    ),
    (
        "d2h",
        r#"SVCB 16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
        r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
    ),
    (
        "doh",
        r#"SVCB 1 doh.example.net. alpn="h2" key7="/dns-query{?dns}""#,
        "1 doh.example.net. alpn=h2 key7=/dns-query{?dns}",
    ),
    (
        "ech",
        r#"HTTPS 1 . alpn="h2" ech=AEP+DQA/BAAgACCW2/dfOBZAtQU55/py/BlhdRdaauPAkrERAUwppoeSEgAEAAEAAQAQY2QxLmV4YW1wbGUuY29tAAA="#,
        "1 . alpn=h2 ech=AEP+DQA/BAAgACCW2/dfOBZAtQU55/py/BlhdRdaauPAkrERAUwppoeSEgAEAAEAAQAQY2QxLmV4YW1wbGUuY29tAAA=",
    ),
    (
        "k",
        r#"SVCB 1 . key7="/q{?dns}" key9="xyz" key65280="abc""#,
        "1 . key7=/q{?dns} key9=xyz key65280=abc",
    ),
    (
        "nda",
        r#"HTTPS 1 . alpn="h2" no-default-alpn port=8443"#,
        "1 . alpn=h2 no-default-alpn port=8443",
    ),
    ("ohttp", r#"SVCB 1 . alpn="h2" key8"#, "1 . alpn=h2 key8"),
    ("d1", "SVCB 0 foo.example.com.", "0 foo.example.com."),
];

/// What Knot DNS 3.2.6 printed for the same zone (`dohpath=` written as
/// `key7=`, which Knot 3.2 requires), captured on this machine with
/// `knotc zone-read example.com` and `kdig +short` against `knotd`.
const KNOT_3_2: &[(&str, &str, &str)] = &[
    ("@", "HTTPS 1 . alpn=h2", "1 . alpn=h2"),
    (
        "www",
        "HTTPS 1 . alpn=h3,h2 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
        "1 . alpn=h3,h2 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
    ),
    (
        "d2h",
        r"SVCB 16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
        r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
    ),
    (
        "d2g",
        "SVCB 16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
        "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
    ),
    (
        "d2d",
        r#"SVCB 1 foo.example.com. key667="hello\210qoo""#,
        r"1 foo.example.com. key667=hello\210qoo",
    ),
    ("ohttp", "SVCB 1 . alpn=h2 key8", "1 . alpn=h2 key8"),
];

/// RFC 9460 Appendix D.1 and D.2 as written there, with each rendering.
const RFC_9460_APPENDIX_D: &[(&str, &str, &str)] = &[
    ("d1", "SVCB 0 foo.example.com.", "0 foo.example.com."),
    ("d2a", "SVCB 1 .", "1 ."),
    (
        "d2b",
        "SVCB 16 foo.example.com. port=53",
        "16 foo.example.com. port=53",
    ),
    (
        "d2c",
        "SVCB 1 foo.example.com. key667=hello",
        "1 foo.example.com. key667=hello",
    ),
    (
        "d2d",
        r#"SVCB 1 foo.example.com. key667="hello\210qoo""#,
        r"1 foo.example.com. key667=hello\210qoo",
    ),
    (
        "d2e",
        r#"SVCB 1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1""#,
        "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1",
    ),
    (
        "d2f",
        r#"SVCB 1 example.com. ipv6hint="2001:db8:122:344::192.0.2.33""#,
        "1 example.com. ipv6hint=2001:db8:122:344::c000:221",
    ),
    (
        "d2g",
        "SVCB 16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn\n ipv4hint=192.0.2.1)",
        "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
    ),
    (
        "d2h",
        r#"SVCB 16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
        r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
    ),
    (
        "d2i",
        r"SVCB 16 foo.example.org. alpn=f\\\092oo\092,bar,h2",
        r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
    ),
];

fn check_forms(cases: &[(&str, &str, &str)]) {
    let body: String = cases
        .iter()
        .map(|(owner, data, _)| format!("{owner} IN {data}\n"))
        .collect();
    let all = values(&body);
    for (owner, data, expected) in cases {
        let name = match *owner {
            "@" => "example.com.".to_string(),
            o => format!("{o}.example.com."),
        };
        let rtype: RrType = data.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(
            all.get(&(name.clone(), rtype)),
            Some(&vec![expected.to_string()]),
            "{owner} {data}"
        );
        // What Route 53 would hold if another tool wrote this spelling
        // means the same as what xfr53 renders.
        let spelling = data
            .split_once(' ')
            .unwrap()
            .1
            .replace(['(', ')', '\n'], " ");
        assert_eq!(normalize(rtype, &spelling), *expected, "{spelling}");
    }
}

#[test]
fn bind_output_reads_and_renders_one_way() {
    check_forms(BIND_9_18);
}

#[test]
fn knot_output_reads_and_renders_one_way() {
    check_forms(KNOT_3_2);
}

#[test]
fn rfc_9460_appendix_d_reads_and_renders_one_way() {
    check_forms(RFC_9460_APPENDIX_D);
}

#[test]
fn named_dohpath_and_ohttp_render_as_key_nnnnn() {
    let body = "doh IN SVCB 1 doh.example.net. alpn=h2 dohpath=/dns-query{?dns}\n\
                o IN SVCB 1 . alpn=h2 ohttp\n";
    let all = values(body);
    assert_eq!(
        all[&("doh.example.com.".into(), RrType::SVCB)],
        ["1 doh.example.net. alpn=h2 key7=/dns-query{?dns}"]
    );
    assert_eq!(
        all[&("o.example.com.".into(), RrType::SVCB)],
        ["1 . alpn=h2 key8"]
    );
}

/// Data as a transfer delivers it: hickory decodes keys 7 and up as its own
/// `Unknown`, which it prints as `unknown7`, a spelling no RFC 9460 parser
/// (Route 53 included) accepts.
#[test]
fn transferred_unregistered_keys_render_as_key_nnnnn() {
    let svcb = SVCB::new(
        1,
        ".".parse().unwrap(),
        vec![
            (
                SvcParamKey::Alpn,
                SvcParamValue::Alpn(hickory_proto::rr::rdata::svcb::Alpn(vec!["h2".into()])),
            ),
            (
                SvcParamKey::Unknown(7),
                SvcParamValue::Unknown(Unknown(b"/dns-query{?dns}".to_vec())),
            ),
            (
                SvcParamKey::Unknown(9),
                SvcParamValue::Unknown(Unknown(vec![0, 1, 0xff])),
            ),
        ],
    );
    let text = render(RrType::SVCB, &RData::SVCB(svcb)).unwrap();
    assert_eq!(text, r"1 . alpn=h2 key7=/dns-query{?dns} key9=\000\001\255");
    assert_eq!(normalize(RrType::SVCB, &text), text);
}

/// RFC 9460 D.2's wire vector, decoded by hickory as a transfer would be,
/// renders as the zone file's text does.
#[test]
fn wire_and_zone_file_meet_in_one_rendering() {
    let hex = "0010 03666f6f076578616d706c65036f726700 0000 0004 00010004 \
               0001 0009 026832 0568332d3139 0004 0004 c0000201";
    let hex: String = hex.split_whitespace().collect();
    let wire = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
    let data = RData::read(
        &mut BinDecoder::new(&wire),
        RecordType::SVCB,
        Restrict::new(wire.len() as u16),
    )
    .unwrap();
    let from_wire = render(RrType::SVCB, &data).unwrap();
    let from_file = one(
        "x IN SVCB 16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1\n",
        "x.example.com.",
        RrType::SVCB,
    );
    assert_eq!(from_wire, from_file);
}

fn set(rtype: RrType, owner: &str, values: &[&str]) -> RecordSet {
    RecordSet {
        name: Name::parse_route53(owner).unwrap(),
        rtype,
        ttl: 300,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// Route 53 keeps a value as first written. Whoever wrote it, a full
/// listing must not plan a change when it means what the zone holds.
#[test]
fn route53_spellings_compare_by_meaning() {
    let body = "@ IN HTTPS 1 . alpn=h3,h2 ipv4hint=192.0.2.1 port=443\n";
    let desired = {
        let text = format!("{HEAD}{body}");
        let records = zonefile::parse("svcb.zone", &text, &origin()).unwrap();
        Zone::from_records(origin(), &records)
            .unwrap()
            .convert()
            .unwrap()
            .sets
    };
    let want = &desired[&(origin(), RrType::HTTPS)];
    let spellings = [
        // the Route 53 console and xfr53 before this change
        "1 . alpn=h3,h2 ipv4hint=192.0.2.1 port=443",
        // BIND's and most documentation's quoting
        r#"1 . alpn="h3,h2" ipv4hint="192.0.2.1" port="443""#,
        // keys in another order
        "1 . port=443 ipv4hint=192.0.2.1 alpn=h3,h2",
        // the generic keyNNNNN form holds the wire value itself
        r"1 . key1=\002h3\002h2 key3=\001\187 key4=\192\000\002\001",
        // a target with its name spelled otherwise
        r#"00001 . alpn="h3,h2" ipv4hint=192.0.2.1 port=443"#,
    ];
    let rules = ZoneRules::new(origin());
    for spelling in spellings {
        let have = set(RrType::HTTPS, "example.com.", &[spelling]);
        assert!(equivalent(&have, want), "{spelling:?} vs {:?}", want.values);
        let current = vec![CurrentSet::managed(have)];
        let changes = diff(&desired, &current, &rules).changes;
        assert!(changes.is_empty(), "{spelling:?}: {changes:?}");
    }
    // and a different meaning is still a change
    let other = set(
        RrType::HTTPS,
        "example.com.",
        &["1 . alpn=h2,h3 ipv4hint=192.0.2.1 port=443"],
    );
    assert!(!equivalent(&other, want));
}

#[test]
fn plan_accepts_the_quoted_form() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.com.zone");
    std::fs::write(
        &file,
        format!("{HEAD}@ IN NS ns1\nns1 IN A 192.0.2.53\n@ IN HTTPS 1 . alpn=\"h2\"\n"),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .args(["plan", "example.com", "--assume-empty", "--zone-file"])
        .arg(&file)
        .arg("--config")
        .arg(dir.path().join("absent.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("example.com. HTTPS"), "{stdout}");
    assert!(stdout.contains("1 . alpn=h2"), "{stdout}");
}

fn zone_error(body: &str) -> zonefile::ZoneFileError {
    let text = format!("{HEAD}{body}");
    zonefile::parse("svcb.zone", &text, &origin()).expect_err(body)
}

#[test]
fn a_decimal_escape_above_255_names_file_and_line() {
    for body in [
        "t IN TXT \"a\\256\"\n",
        "t IN TXT a\\300b\n",
        "c IN CNAME a\\256b.example.net.\n",
        "x\\999 IN A 192.0.2.1\n",
        "s IN SVCB 1 . key667=\"x\\256\"\n",
        "n IN NAPTR 1 1 \"u\" \"E2U+sip\" \"!\\256!\" .\n",
    ] {
        let err = zone_error(body);
        assert_eq!(err.line, 4, "{body}: {err}");
        assert!(err.to_string().starts_with("svcb.zone:4: "), "{err}");
        assert!(err.reason.contains("above 255"), "{body}: {err}");
    }
}

/// Master files write `\DDD` in decimal, in RDATA names too: `\065` is `A`.
#[test]
fn names_in_record_data_read_decimal_escapes() {
    assert_eq!(
        one(
            "c IN CNAME a\\065b.example.net.\n",
            "c.example.com.",
            RrType::CNAME
        ),
        "aab.example.net."
    );
    assert_eq!(
        one("m IN MX 10 m\\046x\n", "m.example.com.", RrType::MX),
        "10 m\\056x.example.com."
    );
}

#[test]
fn caa_tags_compare_without_case() {
    let body = "@ IN CAA 0 ISSUE \"ca.example.net\"\nx IN CAA 0 Tbs \"Unknown\"\n";
    for (owner, other_case, expected) in [
        (
            "example.com.",
            "0 Issue \"ca.example.net\"",
            "0 issue \"ca.example.net\"",
        ),
        ("x.example.com.", "0 TBS \"Unknown\"", "0 tbs \"Unknown\""),
    ] {
        let rendered = one(body, owner, RrType::CAA);
        assert_eq!(rendered, expected);
        assert_eq!(normalize(RrType::CAA, &rendered), rendered);
        assert_eq!(normalize(RrType::CAA, other_case), rendered);
    }
}
