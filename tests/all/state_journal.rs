//! The state directory saves a change as a journal entry, not a rewrite,
//! and reads back exactly what was saved: after a crash mid-append the
//! state saved before it, and never entries onto files another process
//! wrote since.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name as DnsName, RData, Record};
use xfr53::core::diff::Change;
use xfr53::core::edits::Edits;
use xfr53::core::hosted::HostedSets;
use xfr53::core::name::Name;
use xfr53::core::plan::Batch;
use xfr53::core::rrset::{CurrentSet, RecordSet, RrType};
use xfr53::core::serial::Serial;
use xfr53::core::zone::{Delta, Zone};
use xfr53::engine::state::{Provenance, Route53View, StateDir, ZoneState};

const ORIGIN: &str = "journal.test.";

fn origin() -> Name {
    Name::parse_route53(ORIGIN).unwrap()
}

fn soa(serial: u32) -> Record {
    crate::support::zones::soa_record(ORIGIN, serial)
}

fn host(i: u32) -> Record {
    let owner = DnsName::from_ascii(format!("h{i}.{ORIGIN}")).unwrap();
    Record::from_rdata(owner, 300, RData::A(A(Ipv4Addr::from(0x0a00_0000 + i))))
}

fn set(i: u32) -> RecordSet {
    RecordSet {
        name: Name::parse_route53(&format!("h{i}.{ORIGIN}")).unwrap(),
        rtype: RrType::A,
        ttl: 300,
        values: vec![Ipv4Addr::from(0x0a00_0000 + i).to_string()],
    }
}

/// A state of `hosts` records at serial 1, with Route 53 holding them.
fn state(hosts: u32) -> ZoneState {
    let records: Vec<Record> = (0..hosts).map(host).chain([soa(1)]).collect();
    let mut state = ZoneState::empty(origin());
    state.zone = Zone::from_records(origin(), &records).unwrap();
    let sets: HostedSets = (0..hosts).map(|i| CurrentSet::managed(set(i))).collect();
    state.route53 = Some(Route53View {
        serial: 1,
        sets: Arc::new(sets),
        baseline: None,
    });
    state.provenance = Some(Provenance {
        zone: ORIGIN.into(),
        source: vec!["192.0.2.1:53".into()],
        hosted_zone_id: "Z1".into(),
    });
    state
}

/// One host added at `serial + 1`, in the held copy and in Route 53.
fn change(state: &mut ZoneState, serial: u32, added: u32) {
    state
        .zone
        .apply(&[Delta {
            from: Serial(serial),
            to: Serial(serial + 1),
            soa: soa(serial + 1),
            removed: Vec::new(),
            added: vec![host(added)],
        }])
        .unwrap();
    let view = state.route53.as_mut().unwrap();
    Arc::make_mut(&mut view.sets).apply(&[Batch {
        changes: vec![Change::Create { set: set(added) }],
    }]);
    view.serial = serial + 1;
}

fn assert_same(loaded: &ZoneState, saved: &ZoneState) {
    assert_eq!(loaded.zone, saved.zone);
    let (a, b) = (loaded.route53.as_ref(), saved.route53.as_ref());
    assert_eq!(a.map(|v| v.serial), b.map(|v| v.serial));
    let sets = |v: Option<&Route53View>| {
        v.map(|v| v.sets.iter().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(sets(a), sets(b));
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_change_is_appended_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let states = StateDir::new(dir.path());
    let mut saved = state(2_000);
    states.save(&origin(), &mut saved);
    let zone_file = dir.path().join("journal.test.zone");
    let journal = dir.path().join("journal.test.journal");
    let (files, empty) = (len(&zone_file), len(&journal));
    let before = std::fs::read(&zone_file).unwrap();
    for serial in 1..=3 {
        change(&mut saved, serial, 10_000 + serial);
        states.save(&origin(), &mut saved);
    }
    // the files are untouched; the journal grew by three small entries
    assert_eq!(std::fs::read(&zone_file).unwrap(), before);
    let grown = len(&journal) - empty;
    assert!(
        grown < 3 * 1024,
        "{grown} bytes for three one-record changes"
    );
    assert!(files > 30 * grown, "files {files} bytes, journal {grown}");
    let loaded = states.load(&origin());
    assert_eq!(loaded.zone.serial(), Some(Serial(4)));
    assert_same(&loaded, &saved);
    // the loaded state appends on where it was read
    let mut loaded = loaded;
    change(&mut loaded, 4, 20_000);
    states.save(&origin(), &mut loaded);
    assert_eq!(std::fs::read(&zone_file).unwrap(), before);
    assert_same(&states.load(&origin()), &loaded);
}

#[test]
fn a_torn_entry_leaves_the_state_saved_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let states = StateDir::new(dir.path());
    let mut saved = state(10);
    states.save(&origin(), &mut saved);
    change(&mut saved, 1, 100);
    states.save(&origin(), &mut saved);
    let at_two = saved.clone();
    change(&mut saved, 2, 200);
    states.save(&origin(), &mut saved);
    let journal = dir.path().join("journal.test.journal");
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() - 5]).unwrap();
    let mut loaded = states.load(&origin());
    assert_eq!(loaded.zone.serial(), Some(Serial(2)));
    assert_same(&loaded, &at_two);
    // the next save writes the files whole, and reads back
    change(&mut loaded, 2, 300);
    states.save(&origin(), &mut loaded);
    assert_same(&states.load(&origin()), &loaded);
}

#[test]
fn files_another_process_wrote_are_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let states = StateDir::new(dir.path());
    let mut daemon = state(10);
    states.save(&origin(), &mut daemon);
    // an operator's `xfr53 sync` saves a newer state meanwhile
    let mut operator = states.load(&origin());
    change(&mut operator, 1, 100);
    change(&mut operator, 2, 101);
    states.save(&origin(), &mut operator);
    // the daemon's own next change is saved whole, over it: the last
    // writer wins, as with whole files, and what is read back is one
    // writer's state, never a mix
    change(&mut daemon, 1, 200);
    states.save(&origin(), &mut daemon);
    assert_same(&states.load(&origin()), &daemon);
}

#[test]
fn a_view_built_anew_or_dropped_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let states = StateDir::new(dir.path());
    let mut saved = state(10);
    states.save(&origin(), &mut saved);
    let view = dir.path().join("journal.test.route53.json");
    saved.route53 = None;
    states.save(&origin(), &mut saved);
    assert!(!view.exists());
    assert_same(&states.load(&origin()), &saved);
    // a fresh listing
    saved.route53 = Some(Route53View {
        serial: 1,
        sets: Arc::new((0..3).map(|i| CurrentSet::managed(set(i))).collect()),
        baseline: None,
    });
    states.save(&origin(), &mut saved);
    assert!(view.exists());
    assert_same(&states.load(&origin()), &saved);
}

/// While the state directory takes no writes, the edits since the last
/// save are not kept piling up in memory: the next save writes whole.
#[test]
fn a_failed_save_keeps_no_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let states = StateDir::new(&path);
    let mut saved = state(10);
    states.save(&origin(), &mut saved);
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, "not a directory").unwrap();
    for serial in 1..=3 {
        change(&mut saved, serial, 100 + serial);
        states.save(&origin(), &mut saved);
        assert!(matches!(saved.zone.unsaved(), Edits::Since(d) if d.is_empty()));
        let view = &saved.route53.as_ref().unwrap().sets;
        assert!(matches!(view.unsaved(), Edits::Since(b) if b.is_empty()));
    }
    std::fs::remove_file(&path).unwrap();
    states.save(&origin(), &mut saved);
    assert_same(&states.load(&origin()), &saved);
}
