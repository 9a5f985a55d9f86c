//! The safety rules: too many deletions or modifications, or a serial older
//! than Route 53's `_serial`, refuse the plan unless forced.

use xfr53::core::diff::diff;
use xfr53::core::name::Name;
use xfr53::core::plan::{mark_of, plan, serial_of, serial_set, Action, Plan, SerialMark};
use xfr53::core::rrset::{CurrentSet, RecordSet, RecordSets, RrType};
use xfr53::core::rules::RequestLimits;
use xfr53::core::rules::{MaxChange, ZoneRules};
use xfr53::core::serial::Serial;

fn sets(count: usize) -> RecordSets {
    (0..count)
        .map(|i| {
            let set = RecordSet {
                name: Name::parse_route53(&format!("h{i}.safe.test")).unwrap(),
                rtype: RrType::A,
                ttl: 300,
                values: vec![format!("192.0.2.{i}")],
            };
            (set.key(), set)
        })
        .collect()
}

fn planned(
    existing: usize,
    kept: usize,
    route53_serial: u32,
    serial: u32,
    rules: &ZoneRules,
    force: bool,
) -> Plan {
    let mut current: Vec<CurrentSet> = sets(existing)
        .into_values()
        .map(CurrentSet::managed)
        .collect();
    current.push(CurrentSet::managed(serial_set(
        Serial(route53_serial),
        rules,
    )));
    let desired: RecordSets = sets(existing).into_iter().take(kept).collect();
    plan(
        diff(&desired, &current, rules),
        Serial(serial),
        rules,
        force,
    )
    .unwrap()
}

#[test]
fn deleting_more_than_the_threshold_is_refused() {
    let rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    // 3 of 10 is exactly 30 %: allowed; 4 of 10 is not
    assert!(!planned(10, 7, 1, 2, &rules, false).is_refused());
    let refused = planned(10, 6, 1, 2, &rules, false);
    assert!(refused.is_refused());
    assert_eq!(
        refused.refusals,
        ["4 of 10 existing record sets would be deleted or modified, over max_change 30%"]
    );
    assert!(refused.to_string().contains("REFUSED: 4 of 10"));
    // forced: applied, and the plan still says what was overridden
    let forced = planned(10, 6, 1, 2, &rules, true);
    assert!(!forced.is_refused());
    assert!(forced.to_string().contains("FORCED: 4 of 10"));
    // a zone of fewer than 10 sets may be emptied
    assert!(!planned(9, 0, 1, 2, &rules, false).is_refused());
}

#[test]
fn an_absolute_max_change() {
    let mut rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    rules.max_change = "2".parse::<MaxChange>().unwrap();
    assert!(!planned(5, 3, 1, 2, &rules, false).is_refused());
    assert!(planned(5, 2, 1, 2, &rules, false).is_refused());
    assert!("130%".parse::<MaxChange>().is_err());
    assert!("lots"
        .parse::<MaxChange>()
        .unwrap_err()
        .contains("max_change \"lots\""));
}

#[test]
fn an_older_serial_is_refused() {
    let rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    let older = planned(3, 3, 100, 99, &rules, false);
    assert!(older.is_refused());
    assert!(
        older.refusals[0].contains("serves serial 99, older (RFC 1982) than the 100"),
        "{}",
        older.refusals[0]
    );
    assert!(
        older.refusals[0].contains("xfr53 sync --force safe.test"),
        "the refusal names the way out: {}",
        older.refusals[0]
    );
    // RFC 1982: 1 follows 4294967295
    assert!(!planned(3, 3, u32::MAX, 1, &rules, false).is_refused());
    // exactly 2^31 apart: no order, so not provably newer
    assert!(planned(3, 3, 0, 1 << 31, &rules, false).is_refused());
    // the same serial again (repairing drift) is fine
    assert!(!planned(3, 3, 100, 100, &rules, false).is_refused());
    assert!(!planned(3, 3, 100, 99, &rules, true).is_refused());
}

/// The `_serial` values a plan writes, batch by batch, in order.
fn serial_writes(plan: &Plan, rules: &ZoneRules) -> Vec<(usize, String)> {
    plan.batches
        .iter()
        .enumerate()
        .flat_map(|(i, batch)| {
            batch
                .actions()
                .filter(|(action, set)| *action == Action::Create && set.name == rules.serial_name)
                .map(move |(_, set)| (i, set.values[0].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_plan_of_several_requests_marks_serial_as_applying_and_swaps_it_in_every_batch() {
    let mut rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    rules.limits = RequestLimits {
        max_values: 6,
        max_chars: 32_000,
    };
    // 10 new sets at 6 values a request, 2 kept for `_serial`: 3 batches
    let current = vec![CurrentSet::managed(serial_set(Serial(1), &rules))];
    let grown = plan_of(&sets(10), &current, 2, &rules);
    let count = grown.batches.len();
    assert!(count >= 3, "{grown}");
    let mark = "\"applying 2 from 1\"".to_string();
    let mut expected: Vec<(usize, String)> = (0..count - 1).map(|i| (i, mark.clone())).collect();
    expected.push((count - 1, "\"2\"".to_string()));
    assert_eq!(serial_writes(&grown, &rules), expected);
    // each batch first deletes exactly what the one before left: a
    // compare-and-swap, so no batch lands once another writer moved on
    let mut held = "\"1\"".to_string();
    for (i, batch) in grown.batches.iter().enumerate() {
        let deleted: Vec<_> = batch
            .actions()
            .filter(|(action, set)| *action == Action::Delete && set.name == rules.serial_name)
            .map(|(_, set)| set.values[0].clone())
            .collect();
        assert_eq!(deleted, [held.clone()], "batch {i}");
        held = expected[i].1.clone();
        assert!(batch.size().values <= rules.limits.max_values, "batch {i}");
    }
    // every reader sees the mark as no serial at all: no cache is trusted
    let mark = RecordSet {
        values: vec![mark],
        ..serial_set(Serial(2), &rules)
    };
    assert_eq!(serial_of(&mark), None);
    assert_eq!(
        mark_of(&mark),
        Some(SerialMark::Applying {
            to: Serial(2),
            from: Some(Serial(1))
        })
    );
    // one request: no mark
    let small = plan_of(&sets(2), &current, 2, &rules);
    assert_eq!(serial_writes(&small, &rules), [(0, "\"2\"".to_string())]);
    // a forced plan backwards marks no `from` it would then protect
    let backwards = plan(diff(&sets(10), &current, &rules), Serial(0), &rules, true).unwrap();
    assert_eq!(serial_writes(&backwards, &rules)[0].1, "\"applying 0\"");
}

#[test]
fn after_an_interrupted_apply_the_next_plan_replaces_the_mark_and_keeps_the_safety_rules() {
    let rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    let mark = RecordSet {
        values: vec!["\"applying 2 from 100\"".into()],
        ..serial_set(Serial(2), &rules)
    };
    let current = vec![CurrentSet::managed(mark.clone())];
    let next = plan_of(&sets(1), &current, 101, &rules);
    assert_eq!(next.previous_serial, Some(Serial(100)));
    assert_eq!(serial_writes(&next, &rules), [(0, "\"101\"".to_string())]);
    // the last complete serial still guards against an older primary
    assert!(plan_of(&sets(1), &current, 99, &rules).is_refused());
    // and so does a serial another writer is applying
    let applying = RecordSet {
        values: vec!["\"applying 7 from 5\"".into()],
        ..serial_set(Serial(7), &rules)
    };
    let current = vec![CurrentSet::managed(applying)];
    let stale = plan_of(&sets(1), &current, 6, &rules);
    assert!(stale.is_refused());
    assert!(
        stale.refusals[0]
            .contains("older (RFC 1982) than the 7 Route 53's _serial says it is being brought to"),
        "{:?}",
        stale.refusals
    );
    assert!(!plan_of(&sets(1), &current, 7, &rules).is_refused());
}

/// Changes at the serial Route 53 holds (an audit's repair of drift)
/// still swap `_serial`, for itself: the batch lands only on the Route 53
/// it was planned for, not over a newer serial another writer landed.
#[test]
fn changes_at_the_serial_held_still_swap_serial() {
    let rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    let mut current: Vec<CurrentSet> = sets(3).into_values().map(CurrentSet::managed).collect();
    current.push(CurrentSet::managed(serial_set(Serial(5), &rules)));
    let repair = plan_of(&sets(4), &current, 5, &rules);
    assert_eq!(repair.batches.len(), 1);
    let serial = |action| {
        (repair.batches[0].actions())
            .filter(|(a, set)| *a == action && set.name == rules.serial_name)
            .map(|(_, set)| set.values.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(serial(Action::Delete), [vec!["\"5\"".to_string()]]);
    assert_eq!(serial(Action::Create), [vec!["\"5\"".to_string()]]);
    // nothing to change: nothing sent
    assert!(plan_of(&sets(3), &current, 5, &rules).batches.is_empty());
}

fn plan_of(desired: &RecordSets, current: &[CurrentSet], serial: u32, rules: &ZoneRules) -> Plan {
    plan(diff(desired, current, rules), Serial(serial), rules, false).unwrap()
}

#[test]
fn a_name_that_fills_a_request_keeps_its_batch_and_the_serial_still_moves_last() {
    let mut rules = ZoneRules::new(Name::parse_route53("safe.test").unwrap());
    rules.limits = RequestLimits {
        max_values: 6,
        max_chars: 32_000,
    };
    let set = |values: &[&str]| RecordSet {
        name: Name::parse_route53("big.safe.test").unwrap(),
        rtype: RrType::A,
        ttl: 300,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    let old = set(&["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    let new = set(&["192.0.2.4", "192.0.2.5", "192.0.2.6"]);
    let mut current = vec![
        CurrentSet::managed(old),
        CurrentSet::managed(serial_set(Serial(1), &rules)),
    ];
    current.extend(sets(4).into_values().map(CurrentSet::managed));
    // the 6-value modification fits a request only without room for _serial
    let mut desired = sets(8);
    desired.insert(new.key(), new);
    let plan = plan_of(&desired, &current, 2, &rules);
    let holding = |name: &str| {
        plan.batches
            .iter()
            .filter(|b| b.changes.iter().any(|c| c.set().name.as_str() == name))
            .count()
    };
    assert_eq!(holding("big.safe.test."), 1, "{plan}");
    let writes = serial_writes(&plan, &rules);
    assert_eq!(
        writes[0],
        (0, "\"applying 2 from 1\"".to_string()),
        "{plan}"
    );
    assert_eq!(
        writes.last().unwrap(),
        &(plan.batches.len() - 1, "\"2\"".to_string()),
        "{plan}"
    );
    for batch in &plan.batches {
        assert!(batch.size().values <= 6, "{plan}");
    }
}
