//! convert + diff + plan on generated zones of 10,000 and 100,000 record
//! sets: from an empty hosted zone, with 10 changes (planned over the whole
//! zone, and over only the names changed since a plan landed), and with
//! none; and the zone model and conversion of 20,000 and 100,000 values at
//! one name.
//! Before criterion's timings, prints the peak heap each scenario takes,
//! the heap the zone model holds per record, and the one-name timings.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hickory_proto::rr::rdata::{A, MX, SOA, TXT};
use hickory_proto::rr::{Name as DnsName, RData, Record};
use xfr53::core::convert::Converted;
use xfr53::core::diff::diff;
use xfr53::core::hosted::HostedSets;
use xfr53::core::name::Name;
use xfr53::core::pipeline::{plan_names, plan_zone, Baseline};
use xfr53::core::plan::serial_set;
use xfr53::core::rrset::CurrentSet;
use xfr53::core::rules::ZoneRules;
use xfr53::core::zone::Zone;

/// The system allocator, counting live and peak bytes while `COUNTING` is
/// set (off during the timings, so they are not slowed down).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ZONE: &str = "bench.example.";

/// A zone of `sets` record sets (A, TXT and MX in turn), plus its SOA.
fn records(sets: usize, serial: u32, changed: usize) -> Vec<Record> {
    let origin = DnsName::from_ascii(ZONE).unwrap();
    let soa = SOA::new(
        DnsName::from_ascii("ns.bench.example.").unwrap(),
        DnsName::from_ascii("admin.bench.example.").unwrap(),
        serial,
        3600,
        600,
        86400,
        60,
    );
    let mut out = vec![Record::from_rdata(origin.clone(), 3600, RData::SOA(soa))];
    for i in 0..sets {
        let owner = DnsName::from_ascii(format!("host{}.{ZONE}", i / 3)).unwrap();
        // the first `changed` sets get a new value
        let v = if i < changed { 1 } else { 0 };
        let data = match i % 3 {
            0 => RData::A(A(Ipv4Addr::from((i as u32) << 1 | v))),
            1 => RData::TXT(TXT::new(vec![format!("v={v} id={i} some text to carry")])),
            _ => RData::MX(MX::new(
                10 + v as u16,
                DnsName::from_ascii("mail.bench.example.").unwrap(),
            )),
        };
        out.push(Record::from_rdata(owner, 300, data));
    }
    out
}

fn route53_view(zone: &Converted, rules: &ZoneRules) -> HostedSets {
    let mut current: HostedSets = zone
        .sets
        .values()
        .cloned()
        .map(CurrentSet::managed)
        .collect();
    current.insert(CurrentSet::managed(serial_set(zone.serial.unwrap(), rules)));
    current
}

/// convert + diff + plan, as a sync runs them on the zone a transfer built.
fn run(zone: &Zone, current: &HostedSets, rules: &ZoneRules) -> usize {
    let desired = zone.convert().unwrap();
    let plan = plan_zone(&desired, current, rules, true).unwrap();
    plan.summary.create + plan.summary.modify + plan.summary.delete
}

/// The same, once a plan landed: only the names an IXFR changed.
fn run_scoped(zone: &Zone, current: &HostedSets, baseline: &Baseline, rules: &ZoneRules) -> usize {
    let desired = zone.convert_names(&baseline.dirty).unwrap();
    let plan = plan_names(&desired, current, baseline, rules, true).unwrap();
    plan.summary.create + plan.summary.modify + plan.summary.delete
}

/// Runs `f` and returns the most heap it had allocated at once.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, isize) {
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    (out, PEAK.load(Ordering::Relaxed))
}

/// `count` TXT values at one name, plus the SOA.
fn one_name(count: usize) -> Vec<Record> {
    let mut out = records(0, 1, 0);
    let owner = DnsName::from_ascii(format!("big.{ZONE}")).unwrap();
    out.extend((0..count).map(|i| {
        Record::from_rdata(
            owner.clone(),
            300,
            RData::TXT(TXT::new(vec![format!("v={i}")])),
        )
    }));
    out
}

/// Heap bytes `f`'s result holds once built.
fn held<T>(f: impl FnOnce() -> T) -> (T, isize) {
    LIVE.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    (out, LIVE.load(Ordering::Relaxed))
}

fn bench(c: &mut Criterion) {
    let origin = Name::parse_route53(ZONE).unwrap();
    for count in [20_000, 100_000] {
        let input = one_name(count);
        let started = std::time::Instant::now();
        let zone = Zone::from_records(origin.clone(), &input).unwrap();
        let problems = zone.convert().unwrap_err().problems;
        eprintln!(
            "{count} values at one name: zone model + convert (refused: {}) in {:.0} ms",
            problems.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    for sets in [100_000, 1_000_000] {
        let input = records(sets, 1, 0);
        let (zone, bytes) = held(|| Zone::from_records(origin.clone(), &input).unwrap());
        eprintln!(
            "{} records at distinct names (A, TXT, MX): the zone model holds {:.0} bytes per record",
            zone.len(),
            bytes as f64 / zone.len() as f64
        );
        let (converted, bytes) = held(|| zone.convert().unwrap());
        eprintln!(
            "  and its {} record sets {:.0} bytes per set",
            converted.sets.len(),
            bytes as f64 / converted.sets.len() as f64
        );
        let rules = ZoneRules::new(origin.clone());
        let (view, bytes) = held(|| route53_view(&converted, &rules));
        eprintln!(
            "  and the Route 53 view of them {:.0} bytes per set",
            bytes as f64 / view.len() as f64
        );
    }

    let mut rules = ZoneRules::new(Name::parse_route53(ZONE).unwrap());
    // zones this large need a record set quota AWS has raised
    rules.record_set_quota = 200_000;
    for sets in [10_000, 100_000] {
        let v1 = Zone::from_records(rules.zone.clone(), &records(sets, 1, 0)).unwrap();
        let v2 = Zone::from_records(rules.zone.clone(), &records(sets, 2, 10)).unwrap();
        let desired = v1.convert().unwrap();
        let current = route53_view(&desired, &rules);
        let empty = HostedSets::default();
        // as a landed plan of v1 leaves it, and v2's IXFR changed 4 names
        let mut baseline =
            Baseline::landed(&plan_zone(&desired, &empty, &rules, false).unwrap(), &rules);
        baseline.dirty = (0..4)
            .map(|i| Name::parse_route53(&format!("host{i}.{ZONE}")).unwrap())
            .collect();

        let (changes, peak) = peak_of(|| run(&v1, &empty, &rules));
        eprintln!(
            "{sets} sets from empty: {changes} changes, peak heap {:.1} MiB",
            mib(peak)
        );
        let (changes, peak) = peak_of(|| run(&v2, &current, &rules));
        eprintln!(
            "{sets} sets with 10 changes: {changes} changes, peak heap {:.1} MiB",
            mib(peak)
        );
        let (changes, peak) = peak_of(|| run_scoped(&v2, &current, &baseline, &rules));
        eprintln!(
            "{sets} sets with 10 changes, planned from the baseline: {changes} changes, peak heap {:.1} KiB",
            peak as f64 / 1024.0
        );
        let (changes, peak) = peak_of(|| diff(&desired.sets, current.iter(), &rules).changes.len());
        eprintln!(
            "{sets} sets, no-change diff: {changes} changes, peak heap {:.1} MiB",
            mib(peak)
        );

        let mut group = c.benchmark_group(format!("{sets} sets"));
        group.sample_size(10);
        group.bench_function("convert+diff+plan from empty", |b| {
            b.iter(|| run(&v1, &empty, &rules))
        });
        group.bench_function("convert+diff+plan, 10 changes", |b| {
            b.iter(|| run(&v2, &current, &rules))
        });
        group.bench_function("convert+diff+plan of the changed names, 10 changes", |b| {
            b.iter(|| run_scoped(&v2, &current, &baseline, &rules))
        });
        group.bench_function("convert+diff+plan, no change", |b| {
            b.iter(|| run(&v1, &current, &rules))
        });
        group.bench_function("diff, no change", |b| {
            b.iter_batched(
                || (),
                |_| diff(&desired.sets, current.iter(), &rules).changes.len(),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
