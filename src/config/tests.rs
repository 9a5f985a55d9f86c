use super::*;

#[test]
fn defaults_and_derived_values() {
    let config = Config::parse(
        "[[zone]]\nname = \"Example.com\"\nprimaries = [\"192.0.2.1\", \"[2001:db8::1]:5353\"]\n",
    )
    .unwrap();
    let zone = &config.zones[0];
    assert_eq!(zone.rules.zone.as_str(), "example.com.");
    assert_eq!(zone.rules.serial_name.as_str(), "_serial._dyn.example.com.");
    assert_eq!(zone.primaries[0], "192.0.2.1:53".parse().unwrap());
    assert_eq!(
        zone.notify_from.len(),
        2,
        "notify_from defaults to the primaries"
    );
    assert_eq!(config.route53.requests_per_second, 4.0);
    assert_eq!(zone.rules.record_set_quota, 10_000);
    assert!(
        !zone.notify_tsig_required,
        "unsigned NOTIFY is accepted unless asked otherwise"
    );
    assert_eq!(zone.rules.record_set_quota, 10_000);
}

#[test]
fn a_raised_record_set_quota_and_a_parent_zone_beside_its_child() {
    let config = Config::parse(
        "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nrecord_set_quota = 25000\n[[zone]]\nname = \"sub.a.test\"\nprimaries = [\"192.0.2.1\"]\n",
    )
    .unwrap();
    assert_eq!(config.zones[0].rules.record_set_quota, 25_000);
}

#[test]
fn errors_name_the_key_and_the_fix() {
    let cases = [
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\ntsig = \"nope\"\n", "zone[0] (a.test): tsig = \"nope\" names no [tsig.nope] section"),
        ("[[zone]]\nname = \"a.test\"\n", "primaries: list at least one primary"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"ns1.example\"]\n", "names are not resolved"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nmax_change = \"lots\"\n", "max_change \"lots\""),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"x.other.\"\n", "must be a name below the zone"),
        ("[route53]\nregoin = \"us-east-1\"\n", "unknown field `regoin`"),
        ("[tsig.k]\nalgorithm = \"hmac-sha256\"\n", "tsig.k: set exactly one of secret_file and secret_env"),
        ("[listen]\ndns = [\"0.0.0.0\"]\n", "listen.dns"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nnotify_tsig = \"required\"\n", "zone[0] (a.test): notify_tsig = \"required\" needs a key: set tsig"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nnotify_tsig = \"yes\"\n", "notify_tsig = \"yes\": use \"optional\" (the default) or \"required\""),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"@\"\n", "must be a name below the zone"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"*\"\n", "serial_record: \\052.a.test. is a wildcard"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"*._dyn\"\n", "is a wildcard, which would answer for every name below it"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nignore = [\"_serial*\"]\n", "serial_record: _serial._dyn.a.test. matches ignore pattern \"_serial*\", names xfr53 never touches: choose another serial_record or narrow the pattern"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_record = \"_serial.sub\"\n[[zone]]\nname = \"sub.a.test\"\nprimaries = [\"192.0.2.1\"]\n", "zone a.test.: serial_record _serial.sub.a.test. is inside zone sub.a.test., also configured"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nrecord_set_quota = 2\n", "record_set_quota = 2 is outside the allowed range 3 to 10000000: the hosted zone holds its own SOA and NS"),
        ("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\nserial_ttl = 2147483648\n", "serial_ttl = 2147483648 is outside the allowed range 0 to 2147483647"),
    ];
    for (text, expected) in cases {
        let error = format!("{:#}", Config::parse(text).unwrap_err());
        assert!(error.contains(expected), "{error:?} lacks {expected:?}");
    }
}

fn zone_with(setting: &str) -> String {
    format!("[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\n{setting}\n")
}

#[test]
fn every_numeric_setting_is_range_checked_with_its_name_and_range() {
    let cases = [
        ("[route53]\nrequests_per_second = 1e-30\n".to_string(), "route53.requests_per_second = 1e-30 is outside the allowed range 0.1 to 100.0"),
        ("[route53]\nrequests_per_second = 1e-300\n".into(), "route53.requests_per_second = 1e-300 is outside"),
        ("[route53]\nrequests_per_second = nan\n".into(), "route53.requests_per_second = NaN is outside"),
        ("[route53]\nrequests_per_second = inf\n".into(), "route53.requests_per_second = inf is outside"),
        ("[route53]\nrequests_per_second = 0.0\n".into(), "route53.requests_per_second = 0.0 is outside"),
        ("[route53]\ninsync_timeout_seconds = 9223372036854775807\n".into(), "route53.insync_timeout_seconds = 9223372036854775807 is outside"),
        ("[route53]\nmax_attempts = 0\n".into(), "route53.max_attempts = 0 is outside the allowed range 1 to 100"),
        ("[alerts]\nsns_topic_arn = \"arn:aws:sns:us-east-1:1:x\"\ngrace_seconds = 9223372036854775807\n".into(), "alerts.grace_seconds = 9223372036854775807 is outside the allowed range 0 to 2592000"),
        (zone_with("sync_timeout_seconds = 0"), "sync_timeout_seconds = 0 is outside the allowed range 1 to 86400"),
        (zone_with("timeout_seconds = 0"), "zone[0] (a.test): timeout_seconds = 0 is outside the allowed range 1 to 300"),
        (zone_with("timeout_seconds = 9223372036854775807"), "timeout_seconds = 9223372036854775807 is outside"),
        (zone_with("min_refresh_seconds = 0"), "min_refresh_seconds = 0 is outside the allowed range 1 to 2419200"),
        (zone_with("max_refresh_seconds = 9223372036854775807"), "max_refresh_seconds = 9223372036854775807 is outside"),
        (zone_with("min_refresh_seconds = 600\nmax_refresh_seconds = 60"), "min_refresh_seconds = 600 is above max_refresh_seconds = 60"),
        (zone_with("serial_ttl = 4294967295"), "serial_ttl = 4294967295 is outside the allowed range 0 to 2147483647"),
        (zone_with("record_set_quota = 100000000"), "record_set_quota = 100000000 is outside"),
        (zone_with("max_transfer_records = 2"), "max_transfer_records = 2 is outside the allowed range 3 to 100000000"),
        (zone_with("max_transfer_bytes = 100"), "max_transfer_bytes = 100 is outside the allowed range 65535 to 68719476736"),
        (zone_with("transfer_timeout_seconds = 0"), "transfer_timeout_seconds = 0 is outside the allowed range 1 to 86400"),
        (zone_with("transfer_timeout_seconds = 9223372036854775807"), "transfer_timeout_seconds = 9223372036854775807 is outside"),
        ("state_dir = \"\"\n".into(), "state_dir = \"\": give a directory, or leave state_dir out for the default /var/lib/xfr53"),
        (zone_with("notify_from = [\"0.0.0.0/0\"]"), "notify_from: 0.0.0.0/0 lets a large part of the internet make xfr53 query the primary"),
        (zone_with("notify_from = [\"192.0.2.1\", \"::/0\"]"), "notify_from: ::/0 lets a large part"),
        (zone_with("notify_from = [\"0.0.0.0/1\", \"128.0.0.0/1\"]"), "notify_from: 0.0.0.0/1 lets"),
        // a negative number is no u64: serde names the type expected
        (zone_with("timeout_seconds = -1"), "line 4, column 19, in [zone], key timeout_seconds: invalid value: integer `-1`, expected u64"),
    ];
    for (text, expected) in cases {
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(error.contains(expected), "{error:?} lacks {expected:?}");
    }
}

#[test]
fn transfer_limits_follow_the_quota_unless_set() {
    let config = Config::parse(&zone_with("record_set_quota = 25000")).unwrap();
    let limits = config.zones[0].transfer;
    assert_eq!(limits.max_records, 250_000);
    assert_eq!(limits.max_bytes, 250_000 * 1024);
    assert_eq!(limits.deadline, Duration::from_secs(300));
    let config = Config::parse(&zone_with(
        "max_transfer_records = 500\nmax_transfer_bytes = 70000\ntransfer_timeout_seconds = 9",
    ))
    .unwrap();
    assert_eq!(
        config.zones[0].transfer,
        TransferLimits {
            max_records: 500,
            max_bytes: 70_000,
            deadline: Duration::from_secs(9)
        }
    );
}

#[test]
fn the_byte_cap_follows_the_record_cap_and_stays_in_range() {
    let limits = |settings| Config::parse(&zone_with(settings)).unwrap().zones[0].transfer;
    let set = limits("max_transfer_records = 500000");
    assert_eq!((set.max_records, set.max_bytes), (500_000, 500_000 * 1024));
    // 10M sets: 100M records, whose 1 KiB each is above the byte range
    let huge = limits("record_set_quota = 10000000");
    assert_eq!(huge.max_records, 100_000_000);
    assert_eq!(huge.max_bytes, *ranges::MAX_TRANSFER_BYTES.end());
    let small = limits("max_transfer_records = 3");
    assert_eq!(small.max_bytes, *ranges::MAX_TRANSFER_BYTES.start());
}

#[test]
fn a_sync_deadline_shorter_than_its_transfers_and_insync_is_warned_about() {
    let warnings = |settings| Config::parse(&zone_with(settings)).unwrap().warnings;
    assert!(
        warnings("").is_empty(),
        "the defaults fit: 2 x 300 + 300 = 900"
    );
    assert_eq!(
        warnings("transfer_timeout_seconds = 400"),
        ["zone a.test.: sync_timeout_seconds = 900 is below 2 x transfer_timeout_seconds (400) + route53.insync_timeout_seconds (300) = 1100: a sync whose IXFR and AXFR fallback each run near their deadline is abandoned before INSYNC; raise sync_timeout_seconds or lower the others"]
    );
}

#[test]
fn the_whole_internet_may_notify_only_with_tsig_required() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("k.key");
    std::fs::write(&secret, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
    let text = format!(
        "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = {:?}\n{}tsig = \"k\"\nnotify_tsig = \"required\"\n",
        secret.display().to_string(),
        zone_with("notify_from = [\"0.0.0.0/0\", \"::/0\"]")
    );
    assert_eq!(Config::parse(&text).unwrap().zones[0].notify_from.len(), 2);
}

#[test]
fn toml_errors_never_show_a_secret() {
    let secret = "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=";
    let cases = [
        // BIND's spelling: an unknown key
        (
            format!("[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"),
            "TOML error at line 3, column 1, in [tsig.k], key secret: unknown field `secret`",
        ),
        // a value of the wrong type
        (
            format!("[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = [\"{secret}\"]\n"),
            "line 3, column 15, in [tsig.k], key secret_file: invalid type: sequence",
        ),
        (
            format!("[route53]\nrequests_per_second = \"{secret}\"\n"),
            "key requests_per_second: invalid type: string \"...\", expected f64",
        ),
        // broken syntax on the secret's line
        (
            format!("[tsig.k]\nsecret = \"{secret}\n"),
            "TOML error at line 2, column",
        ),
        (
            format!("[tsig.k]\nsecret = {secret}\n"),
            "TOML error at line 2, column",
        ),
        // the secret pasted alone on a line
        (
            format!("[tsig.k]\n{secret}\n"),
            "TOML error at line 2, column",
        ),
        (
            format!("[tsig.k]\nsecret_env = \"X\"\n[tsig.k]\nsecret = \"{secret}\"\n"),
            "TOML error at line 3",
        ),
    ];
    for (text, expected) in cases {
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(!error.contains(&secret[..20]), "{error:?} shows the secret");
        assert!(error.contains(expected), "{error:?} lacks {expected:?}");
    }
}

#[test]
fn a_catalog_and_what_its_members_get() {
    let config = Config::parse(
        "[[catalog]]\nzone = \"catz.test\"\nprimaries = [\"192.0.2.1\"]\ncreate_hosted_zones = true\nmax_refresh_seconds = 600\n[catalog.members]\nserial_record = \"_serial\"\nmax_change = \"5\"\n",
    )
    .unwrap();
    config.require_zones().unwrap();
    let catalog = &config.catalogs[0];
    assert_eq!(catalog.name().as_str(), "catz.test.");
    assert!(catalog.create_hosted_zones);
    let member = catalog
        .member(&Name::parse_route53("a.example").unwrap())
        .unwrap();
    assert_eq!(member.rules.zone.as_str(), "a.example.");
    assert_eq!(member.rules.serial_name.as_str(), "_serial.a.example.");
    assert_eq!(
        member.rules.max_change,
        crate::core::rules::MaxChange::Count(5)
    );
    assert_eq!(member.primaries, catalog.zone.primaries);
    assert_eq!(member.clamps.max, Duration::from_secs(600));
    assert_eq!(member.hosted_zone_id, None);
    let long = Name::parse_route53(&format!("{}.test", vec!["a".repeat(60); 4].join("."))).unwrap();
    assert!(
        catalog.member(&long).is_err(),
        "its serial record is no name"
    );
}

#[test]
fn catalog_errors_name_the_section_and_the_fix() {
    let catalog = "[[catalog]]\nzone = \"catz.test\"\nprimaries = [\"192.0.2.1\"]\n";
    let cases = [
        (
            format!("{catalog}{catalog}"),
            "catalog[1]: catz.test. is configured twice",
        ),
        (
            format!("{catalog}[[zone]]\nname = \"catz.test\"\nprimaries = [\"192.0.2.1\"]\n"),
            "catalog[0]: catz.test. is also a [[zone]]",
        ),
        (
            format!("{catalog}[catalog.members]\nserial_record = \"_s.other.\"\n"),
            "members.serial_record = \"_s.other.\": give a name relative to each member",
        ),
        (format!("{catalog}name = \"x\"\n"), "unknown field `name`"),
        (
            "[[catalog]]\nzone = \"catz.test\"\n".to_string(),
            "catalog[0] (catz.test): primaries: list at least one primary",
        ),
    ];
    for (text, expected) in cases {
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(error.contains(expected), "{error:?} lacks {expected:?}");
    }
}

#[test]
fn role_arn_is_an_iam_role_arn_and_named_with_its_zone_when_not() {
    for good in [
        "arn:aws:iam::111122223333:role/xfr53",
        "arn:aws-us-gov:iam::111122223333:role/dns/xfr53-target",
        "arn:aws-cn:iam::111122223333:role/x",
    ] {
        let config = Config::parse(&zone_with(&format!("role_arn = {good:?}"))).unwrap();
        assert_eq!(config.zones[0].role_arn.as_deref(), Some(good));
    }
    let without = Config::parse(&zone_with("")).unwrap();
    assert_eq!(without.zones[0].role_arn, None);
    // a reload restarts a zone whose ZoneConfig changed
    let with = Config::parse(&zone_with(
        "role_arn = \"arn:aws:iam::111122223333:role/x\"",
    ))
    .unwrap();
    assert_ne!(with.zones[0], without.zones[0]);
    for bad in [
        "xfr53",
        "arn:aws:iam::111122223333:user/xfr53",
        "arn:aws:iam::11112222333:role/xfr53",
        "arn:aws:iam::1111222233334:role/xfr53",
        "arn:aws:iam::11112222333x:role/xfr53",
        "arn:aws:iam:us-east-1:111122223333:role/xfr53",
        "arn:aws:sts::111122223333:role/xfr53",
        "arn:AWS:iam::111122223333:role/xfr53",
        "arn:aws:iam::111122223333:role/",
    ] {
        let error = format!(
            "{:#}",
            Config::parse(&zone_with(&format!("role_arn = {bad:?}"))).unwrap_err()
        );
        assert!(
            error.contains(&format!("zone[0] (a.test): role_arn: {bad:?} is not an IAM role ARN like \"arn:aws:iam::123456789012:role/xfr53\"")),
            "{error}"
        );
    }
}
