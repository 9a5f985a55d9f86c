//! Property tests of the core: plans applied to a strict model of Route 53
//! reach the desired zone within the request limits; names round-trip;
//! serials compare as RFC 1982 says.

use std::cmp::Ordering;

use proptest::prelude::*;
use xfr53::core::diff::diff;
use xfr53::core::name::Name;
use xfr53::core::plan::{plan, serial_set};
use xfr53::core::rrset::{CurrentSet, RecordSet, RecordSets, RrType};
use xfr53::core::rules::{Pattern, RequestLimits, ZoneRules};
use xfr53::core::serial::Serial;

use crate::support::route53_model::HostedZone;

fn zone() -> Name {
    Name::parse_route53("prop.test").unwrap()
}

/// A small name space so both sides often share names.
fn owner() -> impl Strategy<Value = Name> {
    prop_oneof![
        Just("prop.test.".to_string()),
        "(a|b|c|d|e|f|_acme-challenge\\.a)\\.prop\\.test\\."
    ]
    .prop_map(|s| Name::parse_route53(&s).unwrap())
}

fn rtype() -> impl Strategy<Value = RrType> {
    prop_oneof![
        Just(RrType::A),
        Just(RrType::TXT),
        Just(RrType::CNAME),
        Just(RrType::MX)
    ]
}

fn values(rtype: RrType) -> BoxedStrategy<Vec<String>> {
    let one = match rtype {
        RrType::A => (0u8..6).prop_map(|i| format!("192.0.2.{i}")).boxed(),
        // some long enough to force splitting under the small test limits
        RrType::TXT => "[a-z]{1,40}".prop_map(|s| format!("\"{s}\"")).boxed(),
        RrType::CNAME => "(x|y)\\.example\\.".prop_map(String::from).boxed(),
        _ => (0u8..4).prop_map(|p| format!("{p} mail.example.")).boxed(),
    };
    // a modification of one set (old + new) always fits one request
    let max = if rtype == RrType::CNAME { 1 } else { 10 };
    proptest::collection::btree_set(one, 1..=max)
        .prop_map(|s| s.into_iter().collect())
        .boxed()
}

fn record_set() -> impl Strategy<Value = RecordSet> {
    (owner(), rtype(), prop_oneof![Just(60u32), Just(300)]).prop_flat_map(|(name, rtype, ttl)| {
        values(rtype).prop_map(move |values| RecordSet {
            name: name.clone(),
            rtype,
            ttl,
            values,
        })
    })
}

/// Record sets a real zone could hold: one per key, a CNAME alone at its
/// name and never at the apex.
fn zone_sets() -> impl Strategy<Value = RecordSets> {
    proptest::collection::vec(record_set(), 0..24).prop_map(|sets| {
        let mut out = RecordSets::new();
        for set in sets {
            let cname_clash = out.keys().any(|(n, t)| {
                *n == set.name && ((*t == RrType::CNAME) != (set.rtype == RrType::CNAME))
            });
            if cname_clash || (set.rtype == RrType::CNAME && set.name == zone()) {
                continue;
            }
            out.insert(set.key(), set);
        }
        out
    })
}

fn rules() -> ZoneRules {
    let mut rules = ZoneRules::new(zone());
    rules.ignore = vec![Pattern::new("_acme-challenge.*")];
    rules.limits = RequestLimits {
        max_values: 20,
        max_chars: 1000,
    };
    rules
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn applying_the_plan_reaches_the_desired_zone(
        desired in zone_sets(),
        current in zone_sets(),
        alias_at in owner(),
        old_serial in any::<u32>(),
        serial in any::<u32>(),
    ) {
        let rules = rules();
        let mut route53: Vec<CurrentSet> = current.values().cloned().map(CurrentSet::managed).collect();
        route53.push(CurrentSet::managed(serial_set(Serial(old_serial), &rules)));
        let alias = RecordSet { name: alias_at, rtype: RrType::AAAA, ttl: 0, values: vec![] };
        route53.push(CurrentSet { set: alias.clone(), unmanaged: Some("alias".into()) });

        let plan = plan(diff(&desired, &route53, &rules), Serial(serial), &rules, true).unwrap();

        let mut model = HostedZone::new(route53.iter().cloned());
        for batch in &plan.batches {
            let size = batch.size();
            prop_assert!(size.values <= rules.limits.max_values && size.chars <= rules.limits.max_chars);
            model.apply(batch).map_err(TestCaseError::fail)?;
        }

        // desired, minus ignored names and sets that cannot stand beside the
        // alias; plus what xfr53 leaves alone
        let beside_alias = |(n, t): &(Name, RrType)| {
            *n == alias.name && (*t == alias.rtype || *t == RrType::CNAME)
        };
        let mut expected: RecordSets = desired
            .into_iter()
            .filter(|(key, _)| !key.0.as_str().starts_with("_acme-challenge") && !beside_alias(key))
            .collect();
        for (key, set) in &current {
            if key.0.as_str().starts_with("_acme-challenge") {
                expected.insert(key.clone(), set.clone());
            }
        }
        expected.insert(alias.key(), alias);
        let serial_record = serial_set(Serial(serial), &rules);
        expected.insert(serial_record.key(), serial_record);
        prop_assert_eq!(model.sets, expected);
    }

    #[test]
    fn batches_keep_names_and_modifications_whole(
        desired in zone_sets(),
        current in zone_sets(),
    ) {
        let rules = rules();
        let route53: Vec<CurrentSet> = current.values().cloned().map(CurrentSet::managed).collect();
        let plan = plan(diff(&desired, &route53, &rules), Serial(1), &rules, true).unwrap();
        let mut seen = std::collections::BTreeMap::<Name, (usize, usize, usize)>::new();
        for (i, batch) in plan.batches.iter().enumerate() {
            // `_serial` is marked in the first batch and set in the last
            for change in batch.changes.iter().filter(|c| c.set().name != rules.serial_name) {
                let size = xfr53::core::plan::Batch { changes: vec![change.clone()] }.size();
                let entry = seen.entry(change.set().name.clone()).or_insert((i, 0, 0));
                // a name in two batches must be too large for one
                if entry.0 != i {
                    prop_assert!(entry.1 + size.values > rules.limits.max_values
                        || entry.2 + size.chars > rules.limits.max_chars
                        || true_total_too_large(&plan, &change.set().name, rules.limits));
                }
                entry.1 += size.values;
                entry.2 += size.chars;
            }
        }
        // one batch when everything fits
        let total: usize = plan.batches.iter().map(|b| b.size().values).sum();
        let chars: usize = plan.batches.iter().map(|b| b.size().chars).sum();
        if total <= rules.limits.max_values && chars <= rules.limits.max_chars {
            prop_assert!(plan.batches.len() <= 1);
        }
    }

    #[test]
    fn names_round_trip_through_route53s_form(
        labels in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..20), 0..5)
    ) {
        let name = Name::from_labels(labels.iter().map(Vec::as_slice));
        let lower: Vec<Vec<u8>> = labels.iter().map(|l| l.to_ascii_lowercase()).collect();
        prop_assert_eq!(name.labels(), lower);
        prop_assert_eq!(Name::parse_route53(name.as_str()).unwrap(), name.clone());
        prop_assert_eq!(Name::from_hickory(&name.to_hickory()), name);
    }

    #[test]
    fn serials_follow_rfc1982(a in any::<u32>(), d in 1u32..(1 << 31)) {
        let b = a.wrapping_add(d);
        prop_assert!(Serial(a) < Serial(b));
        prop_assert!(Serial(b) > Serial(a));
        prop_assert_eq!(Serial(a).partial_cmp(&Serial(a.wrapping_add(1 << 31))), None);
    }
}

/// Whether the changes at `name` together exceed one request.
fn true_total_too_large(
    plan: &xfr53::core::plan::Plan,
    name: &Name,
    limits: RequestLimits,
) -> bool {
    let changes = plan
        .batches
        .iter()
        .flat_map(|b| &b.changes)
        .filter(|c| c.set().name == *name)
        .cloned()
        .collect();
    let size = xfr53::core::plan::Batch { changes }.size();
    size.values > limits.max_values || size.chars > limits.max_chars
}

/// RFC 1982 section 5's examples, scaled into 32 bits (shifting left by
/// 32 - SERIAL_BITS preserves the arithmetic exactly).
#[test]
fn rfc1982_table() {
    // 5.1, SERIAL_BITS = 2
    let s = |x: u32| Serial(x << 30);
    for (higher, lower) in [(1, 0), (2, 1), (3, 2), (0, 3)] {
        assert!(s(higher) > s(lower), "{higher} > {lower}");
        assert!(s(lower) < s(higher), "{lower} < {higher}");
    }
    for (a, b) in [(0, 2), (1, 3)] {
        assert_eq!(s(a).partial_cmp(&s(b)), None, "{a} vs {b} is undefined");
        assert_eq!(s(b).partial_cmp(&s(a)), None, "{b} vs {a} is undefined");
    }
    // 5.2, SERIAL_BITS = 8
    let s = |x: u32| Serial(x << 24);
    let table = [
        (1, 0),
        (44, 0),
        (100, 0),
        (100, 44),
        (200, 100),
        (255, 200),
        (0, 255),
        (100, 255),
        (0, 200),
        (44, 200),
    ];
    for (higher, lower) in table {
        assert!(s(higher) > s(lower), "{higher} > {lower}");
        assert!(s(lower) < s(higher), "{lower} < {higher}");
    }
    assert_eq!(s(7).partial_cmp(&s(7)), Some(Ordering::Equal));
}
