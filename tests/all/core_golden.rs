//! Golden tests: each fixture zone's plan against an empty hosted zone, and
//! one zone's second version against its first, checked in as text.
//! `UPDATE_GOLDEN=1 cargo test` rewrites the expected files.

use xfr53::core::convert::Converted;
use xfr53::core::diff::diff;
use xfr53::core::pipeline::plan_zone;
use xfr53::core::plan::serial_set;
use xfr53::core::rrset::CurrentSet;
use xfr53::core::rules::{Pattern, ZoneRules};
use xfr53::core::value::normalize;

use crate::support::zones::{data_dir, load};

fn check_golden(name: &str, actual: &str) {
    let path = data_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{name} differs from the golden file");
}

fn render(zone: &Converted, current: &[CurrentSet], rules: &ZoneRules) -> String {
    let current: xfr53::core::hosted::HostedSets = current.iter().cloned().collect();
    let plan = plan_zone(zone, &current, rules, false).unwrap();
    let mut out: String = zone
        .notes()
        .iter()
        .map(|n| format!("note: {n}\n"))
        .collect();
    let text = plan.to_string();
    counts_agree(&text);
    out.push_str(&text);
    out
}

/// The batch lines count what the summary counts: "batch 1/1: 23 changes"
/// stood against "22 to create", the difference being `_serial`. Returns
/// the number of batches that also set `_serial`.
fn counts_agree(plan: &str) -> usize {
    let number = |text: &str| text.trim().parse::<usize>().unwrap();
    let (mut changes, mut serials) = (0, 0);
    for line in plan.lines().filter(|l| l.starts_with("batch ")) {
        let (_, rest) = line.split_once(": ").unwrap();
        let (count, rest) = rest.split_once(" changes").unwrap();
        changes += number(count);
        serials += usize::from(rest.starts_with(" + _serial,"));
    }
    let summary = plan.lines().find(|l| l.starts_with("summary: ")).unwrap();
    let counted: usize = ["to create", "to delete", "to modify"]
        .iter()
        .map(|what| {
            number(
                summary
                    .split(what)
                    .next()
                    .unwrap()
                    .rsplit([' ', ':'])
                    .nth(1)
                    .unwrap(),
            )
        })
        .sum();
    assert_eq!(changes, counted, "{plan}");
    match serials {
        0 => assert!(!summary.contains("_serial"), "{summary}"),
        n => assert!(
            summary.contains(&format!(", + {n} to _serial;")),
            "{summary}"
        ),
    }
    serials
}

#[test]
fn batch_lines_and_summary_count_the_same_across_several_batches() {
    let zone = load("realistic.zone");
    let mut rules = ZoneRules::new(zone.origin.clone());
    rules.limits.max_values = 8;
    let plan = plan_zone(&zone, &Default::default(), &rules, false)
        .unwrap()
        .to_string();
    let batches = plan.lines().filter(|l| l.starts_with("batch ")).count();
    assert!(batches > 2, "{plan}");
    // the applying mark in each batch, the serial itself in the last
    assert_eq!(counts_agree(&plan), batches, "{plan}");
}

const FIXTURES: [&str; 7] = [
    "realistic",
    "wildcards",
    "escapes",
    "long_txt",
    "delegation",
    "unsupported",
    "ttls",
];

#[test]
fn fixture_plans_from_an_empty_hosted_zone() {
    for fixture in FIXTURES {
        let zone = load(&format!("{fixture}.zone"));
        let rules = ZoneRules::new(zone.origin.clone());
        check_golden(&format!("{fixture}.plan"), &render(&zone, &[], &rules));
    }
}

#[test]
fn rendered_values_are_already_normal() {
    // What xfr53 writes must read back as equal, or every sync rewrites it.
    for fixture in FIXTURES {
        for set in load(&format!("{fixture}.zone")).sets.values() {
            for value in &set.values {
                assert_eq!(
                    normalize(set.rtype, value),
                    value.as_str(),
                    "{fixture}: {set:?}"
                );
            }
        }
    }
}

#[test]
fn second_version_against_the_first() {
    let v1 = load("realistic.zone");
    let v2 = load("realistic.v2.zone");
    let mut rules = ZoneRules::new(v1.origin.clone());
    rules.ignore = vec![Pattern::new("_acme-challenge.*")];
    let mut current: Vec<CurrentSet> = v1.sets.values().cloned().map(CurrentSet::managed).collect();
    current.push(CurrentSet::managed(serial_set(v1.serial.unwrap(), &rules)));
    let mut alias = serial_set(v1.serial.unwrap(), &rules);
    alias.name = xfr53::core::name::Name::parse_route53("cdn.example.com").unwrap();
    alias.rtype = xfr53::core::rrset::RrType::A;
    alias.values.clear();
    current.push(CurrentSet {
        set: alias,
        unmanaged: Some("alias to d111111abcdef8.cloudfront.net.".into()),
    });
    let mut acme = v1.sets.values().next().unwrap().clone();
    acme.name = xfr53::core::name::Name::parse_route53("_acme-challenge.www.example.com").unwrap();
    current.push(CurrentSet::managed(acme));
    check_golden("realistic.v2.plan", &render(&v2, &current, &rules));
}

#[test]
fn diff_of_a_zone_with_itself_is_empty() {
    for fixture in FIXTURES {
        let zone = load(&format!("{fixture}.zone"));
        let rules = ZoneRules::new(zone.origin.clone());
        let current: Vec<CurrentSet> = zone
            .sets
            .values()
            .cloned()
            .map(CurrentSet::managed)
            .collect();
        assert!(
            diff(&zone.sets, &current, &rules).changes.is_empty(),
            "{fixture}"
        );
    }
}
