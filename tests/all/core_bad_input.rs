//! Bad input fails with a clear error naming the file and line, or the zone
//! and record set, and nothing is planned.

use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::core::zonefile;

const HEAD: &str = "$ORIGIN bad.test.\n$TTL 300\n@ SOA ns admin 1 2 3 4 5\n";

fn zone_error(body: &str) -> (usize, String) {
    let text = format!("{HEAD}{body}");
    let origin = Name::parse_route53("bad.test").unwrap();
    let err = zonefile::parse("bad.zone", &text, &origin).expect_err(body);
    assert!(err
        .to_string()
        .starts_with(&format!("bad.zone:{}: ", err.line)));
    (err.line, err.reason)
}

#[test]
fn malformed_zone_files_name_file_line_and_reason() {
    let cases: &[(&str, usize, &str)] = &[
        ("www A 300.1.1.1\n", 4, "A record of www.bad.test."),
        ("\n\nmx MX ten mail\n", 6, "MX record of mx.bad.test."),
        ("x TXT \"unterminated\n", 4, "unterminated quoted string"),
        ("x TXT ( \"a\"\n\n", 4, "'(' is never closed"),
        ("x BOGUS data\n", 4, "unknown record type"),
        ("x CH TXT \"chaos\"\n", 4, "class CH is not supported"),
        ("$INCLUDE other.zone\n", 4, "$INCLUDE is not supported"),
        (
            "$GENERATE 1-10 h$ A 192.0.2.$\n",
            4,
            "$GENERATE is not supported",
        ),
        ("a..b A 192.0.2.1\n", 4, "empty label"),
        ("x A\n", 4, "no record data"),
        ("y A 192.0.2.1 )\n", 4, "unbalanced ')'"),
    ];
    for (body, line, reason) in cases {
        let (got_line, got_reason) = zone_error(body);
        assert_eq!(got_line, *line, "{body:?}: {got_reason}");
        assert!(
            got_reason.contains(reason),
            "{body:?}: {got_reason:?} lacks {reason:?}"
        );
    }
    let long = format!("x TXT \"{}\"\n", "a".repeat(256));
    assert!(zone_error(&long).1.contains("256 bytes"));
}

/// Strings hickory cannot encode are refused at their line, as
/// `named-checkzone` refuses them, rather than panicking the zone model.
#[test]
fn over_long_strings_and_tags_are_errors_at_their_line() {
    let long = "a".repeat(256);
    let cases = [
        format!("x TXT \"ok\" {long}\n"),
        format!("x SPF \"{long}\"\n"),
        format!("x NAPTR 1 1 \"{long}\" \"\" \"\" .\n"),
        format!("x NAPTR 1 1 \"u\" \"E2U+sip\" \"{long}\" .\n"),
        format!("x CAA 0 {long} \"ca.example\"\n"),
    ];
    for body in &cases {
        let (line, reason) = zone_error(body);
        assert_eq!(line, 4, "{body:?}: {reason}");
        assert!(reason.contains("256"), "{body:?}: {reason:?}");
    }
    let fine = "x NAPTR 1 1 \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .\n";
    let text = format!("{HEAD}{fine}");
    let origin = Name::parse_route53("bad.test").unwrap();
    let records = zonefile::parse("ok.zone", &text, &origin).unwrap();
    assert_eq!(records.len(), 2);
}

#[test]
fn sets_route53_cannot_take_name_zone_and_set() {
    let strings: Vec<String> = (0..17)
        .map(|_| format!("\"{}\"", "b".repeat(250)))
        .collect();
    let body = format!(
        "big TXT {}\nc CNAME a.example.\nc A 192.0.2.1\n@ CNAME elsewhere.example.\nout.of.zone. A 192.0.2.1\n",
        strings.join(" ")
    );
    let text = format!("{HEAD}{body}");
    let origin = Name::parse_route53("bad.test").unwrap();
    let records = zonefile::parse("bad.zone", &text, &origin).unwrap();
    let err = Zone::from_records(origin, &records)
        .unwrap()
        .convert()
        .unwrap_err()
        .to_string();
    for expected in [
        "zone bad.test.",
        "big.bad.test. TXT: a value of 4300 characters is over Route 53's 4000",
        "c.bad.test. CNAME: other data at the same name (A)",
        "bad.test. CNAME: a CNAME at the zone apex",
        "out.of.zone. A: outside zone bad.test.",
    ] {
        assert!(err.contains(expected), "{err} lacks {expected}");
    }
}

#[test]
fn a_set_too_large_for_one_request_is_an_error_naming_it() {
    use xfr53::core::diff::diff;
    use xfr53::core::plan::plan;
    use xfr53::core::rrset::{RecordSet, RecordSets, RrType};
    use xfr53::core::rules::ZoneRules;
    use xfr53::core::serial::Serial;

    let zone = Name::parse_route53("big.test").unwrap();
    let set = RecordSet {
        name: Name::parse_route53("many.big.test").unwrap(),
        rtype: RrType::A,
        ttl: 300,
        values: (0..1001)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect(),
    };
    let desired: RecordSets = [(set.key(), set)].into_iter().collect();
    let rules = ZoneRules::new(zone);
    let err = plan(diff(&desired, &[], &rules), Serial(1), &rules, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "zone big.test.: many.big.test. A alone has 1001 values and 9570 characters of changes, over Route 53's 1000 values / 32000 characters per request"
    );
}

#[test]
fn every_shipped_example_configuration_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let examples = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path());
    // the package's conffile too: it parses, and names no zone until edited
    for path in examples.chain([root.join("packaging/debian/xfr53.toml")]) {
        if path.extension().is_some_and(|e| e == "toml") {
            xfr53::config::Config::load(&path)
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            checked += 1;
        }
    }
    assert!(checked > 0, "no example configuration found");
}

/// Route 53's documented limits (quotas, record format) that DNS allows:
/// refused when converting, naming the set and what to do.
#[test]
fn route53_limits_dns_allows_are_errors_naming_the_set() {
    let many: String = (0..401)
        .map(|i| format!("many A 10.0.{}.{}\n", i / 256, i % 256))
        .collect();
    let body = format!("{many}* NS ns.elsewhere.example.\nlong 2147483648 TXT \"x\"\n");
    let text = format!("{HEAD}{body}");
    let origin = Name::parse_route53("bad.test").unwrap();
    let records = zonefile::parse("bad.zone", &text, &origin).unwrap();
    let err = Zone::from_records(origin, &records)
        .unwrap()
        .convert()
        .unwrap_err()
        .to_string();
    for expected in [
        "zone bad.test. cannot be synced to Route 53 (3 problem(s); nothing was changed)",
        "many.bad.test. A: 401 values, over Route 53's 400 per record set",
        "\\052.bad.test. NS: Route 53 does not allow a wildcard NS",
        "long.bad.test. TXT: TTL 2147483648 is over Route 53's maximum of 2147483647",
    ] {
        assert!(err.contains(expected), "{err} lacks {expected}");
    }
}

/// What depends on the zone's settings is refused before any plan: data at
/// the serial record's name, and more sets than the hosted zone's quota.
#[test]
fn serial_record_on_a_used_name_and_the_quota_refuse_the_plan() {
    use xfr53::core::pipeline::plan_zone;
    use xfr53::core::rules::ZoneRules;

    let text = format!("{HEAD}www A 192.0.2.1\nwww TXT \"site\"\nmail A 192.0.2.2\n");
    let origin = Name::parse_route53("bad.test").unwrap();
    let records = zonefile::parse("bad.zone", &text, &origin).unwrap();
    let desired = Zone::from_records(origin.clone(), &records)
        .unwrap()
        .convert()
        .unwrap();
    let mut rules = ZoneRules::new(origin);
    assert!(plan_zone(&desired, &Default::default(), &rules, false).is_ok());

    rules.serial_name = Name::parse_route53("www.bad.test").unwrap();
    let err = plan_zone(&desired, &Default::default(), &rules, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zone bad.test. cannot be synced")
            && err.contains("www.bad.test. A TXT: the zone has data at serial_record's name, which xfr53 would delete or overwrite: choose another serial_record"),
        "{err}"
    );

    rules.serial_name = Name::parse_route53("_serial.bad.test").unwrap();
    rules.record_set_quota = 5; // www A, www TXT, mail A, SOA, NS, _serial
    let err = plan_zone(&desired, &Default::default(), &rules, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Route 53 would hold 6 record sets")
            && err.contains(
                "over the hosted zone's quota of 5: ask AWS to raise it and set record_set_quota"
            ),
        "{err}"
    );
}

/// Zone-file text made of the pieces that parsers get wrong: directives,
/// parentheses, comments, quotes and escapes, numbers at and past their
/// limits, names long and short, every type Route 53 takes and some it
/// does not.
fn zone_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let token = prop_oneof![
        Just("@".to_string()),
        Just("*".to_string()),
        Just("www".to_string()),
        Just("a.b.c".to_string()),
        Just("x.bad.test.".to_string()),
        Just("other.test.".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("\\046".to_string()),
        Just("\\999".to_string()),
        Just("\\".to_string()),
        Just("\\#".to_string()),
        Just("$ORIGIN".to_string()),
        Just("$TTL".to_string()),
        Just("$INCLUDE".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(";c".to_string()),
        Just("\"".to_string()),
        Just("\"q \\\" \\092 s\"".to_string()),
        Just("IN".to_string()),
        Just("CH".to_string()),
        prop_oneof![
            Just("A"),
            Just("AAAA"),
            Just("TXT"),
            Just("MX"),
            Just("CNAME"),
            Just("SOA"),
            Just("NS"),
            Just("SRV"),
            Just("CAA"),
            Just("SVCB"),
            Just("HTTPS"),
            Just("TLSA"),
            Just("SSHFP"),
            Just("DS"),
            Just("NAPTR"),
            Just("PTR"),
            Just("SPF"),
            Just("HINFO"),
            Just("TYPE65"),
            Just("TYPE0"),
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("0"),
            Just("1"),
            Just("65535"),
            Just("65536"),
            Just("4294967295"),
            Just("4294967296"),
            Just("2147483648"),
            Just("-1"),
            Just("1h2m"),
            Just("1w"),
            Just("192.0.2.1"),
            Just("2001:db8::1"),
            Just("0a000001"),
            Just("alpn=h2,h3"),
            Just("key65535=\"x\""),
            Just("mandatory=alpn"),
            Just("ipv4hint=192.0.2.1"),
            Just("issue"),
            Just("128"),
        ]
        .prop_map(str::to_string),
        "[a-z0-9-]{1,70}",
        // One byte past a character-string's and a CAA tag's limit.
        Just("a".repeat(256)),
        Just(format!("\"{}\"", "b".repeat(256))),
        "[a-z]{1,63}(\\.[a-z]{1,63}){3,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    let space = prop_oneof![Just(" "), Just("\t"), Just("\n"), Just(" \n "), Just("")];
    proptest::collection::vec((token, space), 0..40).prop_map(|pieces| {
        let mut text = String::from("$ORIGIN bad.test.\n");
        for (token, space) in pieces {
            text.push_str(&token);
            text.push_str(space);
        }
        text
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    #[test]
    fn zone_file_pieces_never_panic_and_errors_name_a_line_of_the_file(text in zone_text()) {
        check_zone_text(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics_the_zone_file_reader(text in "(?s).{0,300}") {
        check_zone_text(&text)?;
    }

    #[test]
    fn mutated_fixtures_never_panic_the_zone_file_reader(
        fixture in 0usize..FIXTURES.len(),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<usize>(), 0u8..3, "[ -~\t\n]|\\\\[0-9]{1,3}|[()\";$@*.]"),
            1..8,
        ),
    ) {
        let mut text: Vec<char> = fixture_text(fixture).chars().collect();
        for (at, how, piece) in edits {
            let at = at % (text.len() + 1);
            match how {
                0 => text.splice(at..at, piece.chars()).for_each(drop),
                1 if at < text.len() => text.splice(at..at + 1, piece.chars()).for_each(drop),
                _ if at < text.len() => {
                    text.remove(at);
                }
                _ => {}
            }
        }
        check_zone_text(&text.into_iter().collect::<String>())?;
    }
}

const FIXTURES: [&str; 8] = [
    "realistic.zone",
    "realistic.v2.zone",
    "escapes.zone",
    "long_txt.zone",
    "ttls.zone",
    "wildcards.zone",
    "delegation.zone",
    "unsupported.zone",
];

fn fixture_text(i: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        FIXTURES
            .iter()
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
            .collect()
    });
    &texts[i]
}

/// Reading `text` ends in records or in an error at one of its lines.
fn check_zone_text(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    let origin = Name::parse_route53("bad.test").unwrap();
    match zonefile::parse("fuzz.zone", text, &origin) {
        Ok(records) => {
            if let Ok(zone) = Zone::from_records(origin, &records) {
                let _ = zone.convert();
            }
        }
        Err(error) => {
            let lines = text.matches('\n').count() + 1;
            proptest::prop_assert!(
                (1..=lines).contains(&error.line),
                "line {} of a {lines}-line text: {}",
                error.line,
                error.reason
            );
        }
    }
    Ok(())
}
