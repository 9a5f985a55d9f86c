//! Planning from a baseline (only the owner names IXFR deltas changed since
//! a plan landed) gives exactly the plan of the whole zone: same batches,
//! refusals, unmanaged sets and errors, over random zones, Route 53
//! contents (managed, weighted, ignored) and chains of deltas, some of
//! whose plans are refused and so pile up.

use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, CNAME, MX, TXT};
use hickory_proto::rr::{Name as DnsName, RData, Record};
use proptest::prelude::*;
use xfr53::core::hosted::HostedSets;
use xfr53::core::name::Name;
use xfr53::core::pipeline::{plan_names, plan_zone, Baseline};
use xfr53::core::plan::Plan;
use xfr53::core::rrset::{CurrentSet, RecordSet, RrType};
use xfr53::core::rules::{MaxChange, Pattern, ZoneRules};
use xfr53::core::serial::Serial;
use xfr53::core::zone::{Delta, Zone};

const ORIGIN: &str = "scoped.test.";

/// A record from a small space, so deltas often hit names and sets that
/// exist: (owner index, kind, value index).
type Spec = (u8, u8, u8);

fn record((owner, kind, value): Spec) -> Record {
    let owner = match owner % 7 {
        0 => ORIGIN.to_string(),
        6 => format!("skip.{ORIGIN}"),
        n => format!("n{n}.{ORIGIN}"),
    };
    let data = match kind % 4 {
        0 => RData::A(A(Ipv4Addr::new(192, 0, 2, value % 4))),
        1 => RData::TXT(TXT::new(vec![format!("v{}", value % 3)])),
        2 => RData::MX(MX::new(
            10,
            DnsName::from_ascii(format!("mx{}.example.", value % 2)).unwrap(),
        )),
        _ => RData::CNAME(CNAME(
            DnsName::from_ascii(format!("t{}.example.", value % 2)).unwrap(),
        )),
    };
    Record::from_rdata(DnsName::from_ascii(owner).unwrap(), 300, data)
}

fn soa(serial: u32) -> Record {
    crate::support::zones::soa_record(ORIGIN, serial)
}

/// Route 53's content: managed sets (some stale), and an unmanaged
/// (weighted) one at a name the zone may use.
fn route53(specs: &[Spec], weighted: bool, rules: &ZoneRules) -> HostedSets {
    let mut sets: HostedSets = specs
        .iter()
        .map(|&spec| {
            let record = record(spec);
            CurrentSet::managed(RecordSet {
                name: Name::from_hickory(record.name()),
                rtype: match record.record_type().to_string().as_str() {
                    "A" => RrType::A,
                    "TXT" => RrType::TXT,
                    "MX" => RrType::MX,
                    _ => RrType::CNAME,
                },
                ttl: 60,
                values: vec![record.data().to_string()],
            })
        })
        .filter(|c| c.set.name != rules.zone)
        .map(|c| (c.set.key(), c))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .collect();
    if weighted {
        sets.insert(CurrentSet {
            set: RecordSet {
                name: Name::parse_route53(&format!("n2.{ORIGIN}")).unwrap(),
                rtype: RrType::A,
                ttl: 60,
                values: vec!["198.51.100.1".into()],
            },
            unmanaged: Some("SetIdentifier w".into()),
        });
    }
    sets
}

/// The plan as comparable text: everything it says, or the error.
fn outcome<E: std::fmt::Display>(plan: &Result<Plan, E>) -> String {
    match plan {
        Ok(plan) => format!(
            "{}\nmanaged {}",
            serde_json::to_string(plan).unwrap(),
            plan.managed_count
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// One case: a zone, Route 53's content and rules, then a chain of deltas
/// (records removed by index among those held, records added).
struct Case {
    start: Vec<Spec>,
    existing: Vec<Spec>,
    weighted: bool,
    ignore: bool,
    max_change: usize,
    quota: usize,
    steps: Vec<(Vec<u8>, Vec<Spec>)>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_scoped_plan_is_the_whole_zones_plan(
        start in prop::collection::vec(any::<Spec>(), 0..24),
        existing in prop::collection::vec(any::<Spec>(), 0..16),
        weighted in any::<bool>(),
        ignore in any::<bool>(),
        max_change in 1usize..6,
        quota in 6usize..16,
        steps in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..4), prop::collection::vec(any::<Spec>(), 0..4)),
            1..8,
        ),
    ) {
        chain(Case { start, existing, weighted, ignore, max_change, quota, steps })?;
    }
}

/// The last record at an ignored name removed: its unmanaged entry goes,
/// though no set at a changed name is unmanaged any more.
#[test]
fn an_ignored_name_emptied_leaves_the_unmanaged_sets() {
    let case = Case {
        start: vec![(6, 0, 0), (1, 0, 0)],
        existing: Vec::new(),
        weighted: false,
        ignore: true,
        max_change: 5,
        quota: 15,
        steps: vec![(vec![], vec![]), (vec![0], vec![]), (vec![], vec![])],
    };
    chain(case).unwrap();
}

fn chain(case: Case) -> Result<(), TestCaseError> {
    let Case {
        start,
        existing,
        weighted,
        ignore,
        max_change,
        quota,
        steps,
    } = case;
    let origin = Name::parse_route53(ORIGIN).unwrap();
    let mut rules = ZoneRules::new(origin.clone());
    rules.max_change = MaxChange::Count(max_change);
    rules.record_set_quota = quota;
    if ignore {
        rules.ignore = vec![Pattern::new("skip")];
    }
    // the records held, the SOA apart (all at one TTL, so equal
    // records are the same record)
    let mut held: Vec<Record> = Vec::new();
    for record in start.iter().map(|&s| record(s)) {
        if !held.contains(&record) {
            held.push(record);
        }
    }
    let mut zone = Zone::from_records(origin.clone(), held.iter().chain([&soa(1)])).unwrap();
    let mut current = route53(&existing, weighted, &rules);
    // No baseline until a plan lands; a refused or failed one leaves it
    // be, and the next delta's names pile onto it.
    let mut baseline: Option<Baseline> = None;
    for (serial, (removed, added)) in (1u32..).zip(steps) {
        let whole = zone
            .convert()
            .map_err(|e| e.to_string())
            .and_then(|desired| {
                plan_zone(&desired, &current, &rules, false).map_err(|e| e.to_string())
            });
        if let Some(baseline) = &baseline {
            let scoped = zone
                .convert_names(&baseline.dirty)
                .map_err(|e| e.to_string())
                .and_then(|desired| {
                    plan_names(&desired, &current, baseline, &rules, false)
                        .map_err(|e| e.to_string())
                });
            prop_assert_eq!(outcome(&whole), outcome(&scoped));
        }
        if let Some(plan) = whole.as_ref().ok().filter(|plan| !plan.is_refused()) {
            current.apply(&plan.batches);
            baseline = Some(Baseline::landed(plan, &rules));
            // Route 53 now holds the zone: nothing is left to do.
            let again = plan_zone(&zone.convert().unwrap(), &current, &rules, false).unwrap();
            prop_assert_eq!(
                again.summary.create + again.summary.delete + again.summary.modify,
                0
            );
        }
        // The next IXFR delta: held records removed, others added.
        let mut delta = Delta {
            from: Serial(serial),
            to: Serial(serial + 1),
            soa: soa(serial + 1),
            removed: Vec::new(),
            added: Vec::new(),
        };
        for pick in removed {
            if !held.is_empty() {
                delta
                    .removed
                    .push(held.remove(usize::from(pick) % held.len()));
            }
        }
        for record in added.into_iter().map(record) {
            if !held.contains(&record) && !delta.removed.contains(&record) {
                held.push(record.clone());
                delta.added.push(record);
            }
        }
        zone.apply(std::slice::from_ref(&delta)).unwrap();
        if let Some(baseline) = baseline.as_mut() {
            prop_assert!(baseline.moved(Serial(serial), Serial(serial + 1), delta.owners()));
        }
    }
    Ok(())
}
