//! The primary is the truth: Route 53 gets what the primary serves now,
//! whatever the state directory holds (a copy ahead of a restored primary,
//! one written for another primary or hosted zone, a damaged file) and
//! whatever an interrupted apply left behind.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::bind::{self, Bind};
use crate::support::daemon::eventually;
use crate::support::lost_answer::sync_with_a_lost_answer;
use crate::support::route53_backend::{change_requests, Kind};
use crate::support::setup::{assert_synced, expected, managed, show, Setup};
use crate::support::strict_route53::{Fault, Op};

const ZONE: &str = "trust.test";

/// The zone at `serial`: 20 hosts, `www` at `www`, and `extra` names.
fn zone_text(serial: u32, www: &str, extra: &[&str]) -> String {
    let mut text = format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ SOA ns.{ZONE}. admin.{ZONE}. {serial} 3600 600 86400 60\n@ NS ns.{ZONE}.\nns A 192.0.2.1\nwww A {www}\n"
    );
    for i in 0..20 {
        writeln!(text, "h{i} A 10.0.0.{i}").unwrap();
    }
    for name in extra {
        writeln!(text, "{name} A 198.51.100.7").unwrap();
    }
    text
}

const S: u32 = 2024010100;

fn state_dir(setup: &Setup) -> std::path::PathBuf {
    setup.dir.path().join("state")
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The primary is rebuilt from a backup at an older serial, without two
/// names it had: the old hosted zone is refused (naming --force), --force
/// makes it exact, and a fresh hosted zone synced with the old state
/// directory gets the primary's zone, not the held copy.
async fn a_primary_restored_from_backup_is_what_route53_gets(kind: Kind) {
    let ahead = zone_text(S + 40, "192.0.2.80", &["stale1", "stale2"]);
    let Some(mut setup) = Setup::start(kind, vec![bind::Zone::new(ZONE, ahead)]).await else {
        return;
    };
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let snapshot = setup.dir.path().join("state-after-first-sync");
    copy_dir(&state_dir(&setup), &snapshot);

    setup.bind.restore(ZONE, &zone_text(S, "192.0.2.81", &[]));
    let before = setup.contents(ZONE).await;
    let refused = setup.run(&["sync", ZONE]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", show(&refused));
    let said = show(&refused);
    assert!(
        said.contains("older (RFC 1982) than the 2024010140") && said.contains("--force"),
        "the refusal says what happened and names --force:\n{said}"
    );
    assert_eq!(
        setup.contents(ZONE).await,
        before,
        "a refusal changes nothing"
    );

    let forced = setup.run(&["sync", ZONE, "--force"]).await;
    assert_eq!(forced.status.code(), Some(0), "{}", show(&forced));
    assert_synced(&setup, ZONE).await;

    // a fresh hosted zone, with the state directory as the first sync left it
    let fresh = setup.backend.create_zone(ZONE, false).await;
    std::fs::remove_dir_all(state_dir(&setup)).unwrap();
    copy_dir(&snapshot, &state_dir(&setup));
    setup.write_config(None, &format!("hosted_zone_id = \"{fresh}\""), &[ZONE]);
    setup.zone_ids.insert(ZONE.into(), fresh);
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_synced(&setup, ZONE).await;
}
both!(a_primary_restored_from_backup_is_what_route53_gets);

/// A state directory written for another primary whose zone has the same
/// serial: its copy must not stand in for this primary's zone. The hosted
/// zone stays the same; its `_serial` is gone (an operator's clean-up), so
/// only the primary's address tells the held copy is not this primary's.
async fn a_state_directory_for_another_primary_sends_nothing_stale(kind: Kind) {
    let first = zone_text(S, "192.0.2.80", &["stale1", "stale2"]);
    let Some(setup) = Setup::start(kind, vec![bind::Zone::new(ZONE, first)]).await else {
        return;
    };
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let other = Bind::start(vec![bind::Zone::new(ZONE, zone_text(S, "192.0.2.99", &[]))]).unwrap();
    let config = std::fs::read_to_string(setup.config_path())
        .unwrap()
        .replace(&setup.bind.addr.to_string(), &other.addr.to_string());
    std::fs::write(setup.config_path(), config).unwrap();
    let serial = format!("\"{S}\"");
    let serial_name = format!("_serial._dyn.{ZONE}.");
    (setup.backend)
        .delete(setup.zone_id(ZONE), &serial_name, "TXT", 300, &[&serial])
        .await;
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let have = managed(setup.contents(ZONE).await, ZONE);
    assert_eq!(have, expected(&other, ZONE).await, "{}", show(&run));
}
both!(a_state_directory_for_another_primary_sends_nothing_stale);

/// A held copy that was truncated at a record boundary, or has one byte
/// flipped, fails its checksum and is dropped: the next sync transfers and
/// lists in full and Route 53 stays exact.
async fn a_damaged_state_file_is_dropped(kind: Kind) {
    let Some(setup) = Setup::start(
        kind,
        vec![bind::Zone::new(ZONE, zone_text(S, "192.0.2.80", &[]))],
    )
    .await
    else {
        return;
    };
    let copy = state_dir(&setup).join(format!("{ZONE}.zone"));
    for (round, damage) in ["flip", "truncate"].into_iter().enumerate() {
        let run = setup.run(&["sync", ZONE]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        let mut bytes = std::fs::read(&copy).unwrap();
        match damage {
            // in the last record's data: it still parses, as another value
            "flip" => *bytes.last_mut().unwrap() ^= 0x01,
            _ => bytes.truncate(last_record_start(&bytes)),
        }
        std::fs::write(&copy, bytes).unwrap();
        setup.bind.nsupdate(
            ZONE,
            &format!("update add new{round}.{ZONE}. 300 A 192.0.2.{round}"),
        );
        let run = setup.run(&["sync", ZONE]).await;
        assert_eq!(run.status.code(), Some(0), "{}", show(&run));
        assert!(
            show(&run).contains("fails its check"),
            "the dropped file is logged:\n{}",
            show(&run)
        );
        assert_synced(&setup, ZONE).await;
    }
}
both!(a_damaged_state_file_is_dropped);

/// Where the last record of a held copy starts: after the header and
/// provenance lines, records are a 2-byte length and the record.
fn last_record_start(bytes: &[u8]) -> usize {
    let lines = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i);
    let mut at = lines.take(2).last().unwrap() + 1;
    let mut last = at;
    while at < bytes.len() {
        last = at;
        at += 2 + usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    }
    assert_eq!(at, bytes.len(), "the held copy is records to its end");
    last
}

/// `check --deep` transfers afresh: a held copy ahead of the primary does
/// not hide a difference.
async fn check_deep_compares_a_fresh_transfer(kind: Kind) {
    let Some(mut setup) = Setup::start(
        kind,
        vec![bind::Zone::new(ZONE, zone_text(S + 40, "192.0.2.80", &[]))],
    )
    .await
    else {
        return;
    };
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    setup.bind.restore(ZONE, &zone_text(S, "192.0.2.81", &[]));
    let check = setup.run(&["check", "--deep"]).await;
    assert_eq!(check.status.code(), Some(1), "{}", show(&check));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains(&format!("~ www.{ZONE}. A")),
        "www differs:\n{}",
        show(&check)
    );
}
both!(check_deep_compares_a_fresh_transfer);

/// Two processes on one state directory: the second waits for the zone's
/// lock, says who holds it, and runs once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_waits_for_the_zone_lock() {
    let Some(setup) = Setup::start(
        Kind::Strict,
        vec![bind::Zone::new(ZONE, zone_text(S, "192.0.2.80", &[]))],
    )
    .await
    else {
        return;
    };
    let states = xfr53::engine::state::StateDir::new(state_dir(&setup));
    let zone = xfr53::core::name::Name::parse_route53(ZONE).unwrap();
    let lock = states.lock(&zone).await.unwrap();
    let log = setup.dir.path().join("second.log");
    let mut second = setup
        .command(&["sync", ZONE])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = format!("pid {}", std::process::id());
    let waiting = eventually(Duration::from_secs(30), || async {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting") && l.contains(&pid))
    })
    .await;
    assert!(
        waiting,
        "the second process says who holds the lock:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(second.try_wait().unwrap().is_none(), "it waits");
    assert!(
        change_requests(&setup.backend.requests()).is_empty(),
        "nothing is sent while another process holds the zone"
    );
    drop(lock);
    let status = tokio::time::timeout(Duration::from_secs(60), second.wait())
        .await
        .expect("the second process finishes once the lock is free")
        .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_synced(&setup, ZONE).await;
}

/// S1 holds `a`..`y`; S2 deletes them and adds 1,500 sets (two batches);
/// `xfr53 sync` is killed with -9 after the first; the primary goes back to
/// S1's content as S3. The next sync must not trust the cached view:
/// Route 53 ends equal to the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_is_never_trusted() {
    // a zone large enough that the 1,000 stray sets stay under max_change
    let base = |serial: u32| {
        crate::support::zones::generated(ZONE, 3000).replacen(
            " 1 3600 ",
            &format!(" {serial} 3600 "),
            1,
        )
    };
    let letters = || ('a'..='y').map(|c| format!("a-{c} A 192.0.2.2\n"));
    let s1 = base(S) + &letters().collect::<String>();
    let mut s2 = base(S + 1);
    for i in 0..1500 {
        writeln!(s2, "n{i} A 198.51.100.{}", i % 250).unwrap();
    }
    let s3 = base(S + 2) + &letters().collect::<String>();

    let Some(mut setup) = Setup::start(Kind::Strict, vec![bind::Zone::new(ZONE, s1)]).await else {
        return;
    };
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));

    setup.bind.restore(ZONE, &s2);
    let strict = setup.backend.strict();
    let before = change_requests(&strict.requests()).len();
    // the first batch lands; the second is held until the test ends
    strict.inject(Op::Change, Fault::Slow(Duration::ZERO));
    strict.inject(Op::Change, Fault::Slow(Duration::from_secs(3600)));
    let mut sync = setup
        .command(&["sync", ZONE])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let second_sent = eventually(Duration::from_secs(60), || async {
        change_requests(&strict.requests()).len() >= before + 2
    })
    .await;
    assert!(second_sent, "the sync reached its second batch");
    sync.kill().await.unwrap();
    let partial = setup.contents(ZONE).await;
    let strays = partial
        .keys()
        .filter(|(name, _)| name.starts_with('n'))
        .count();
    assert!(strays > 500, "the first batch landed: {strays} new sets");
    let mark = &partial[&(format!("_serial._dyn.{ZONE}."), "TXT".to_string())].1;
    assert_eq!(mark, &[format!("\"applying {} from {S}\"", S + 1)]);
    let check = setup.run(&["check"]).await;
    assert_eq!(check.status.code(), Some(1), "{}", show(&check));
    assert!(
        show(&check).contains(&format!("unfinished apply of serial {}", S + 1)),
        "{}",
        show(&check)
    );

    setup.bind.restore(ZONE, &s3);
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_synced(&setup, ZONE).await;
    let check = setup.run(&["check", "--deep"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", show(&check));
}

/// A batch Route 53 refuses for its content (not because it changed
/// underneath) fails at once with Route 53's reason: one request, no
/// re-plans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_is_not_replanned() {
    let Some(setup) = Setup::start(
        Kind::Strict,
        vec![bind::Zone::new(ZONE, zone_text(S, "192.0.2.80", &[]))],
    )
    .await
    else {
        return;
    };
    assert_eq!(setup.run(&["sync", ZONE]).await.status.code(), Some(0));
    let before = setup.contents(ZONE).await;
    setup
        .bind
        .nsupdate(ZONE, &format!("update add new.{ZONE}. 300 A 192.0.2.77"));
    let strict = setup.backend.strict();
    let sent = change_requests(&strict.requests()).len();
    strict.reject_every_change("simulated: the batch is not valid");
    let run = setup.run(&["sync", ZONE]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("simulated: the batch is not valid")
            && stderr.contains("refuses the change itself"),
        "{stderr}"
    );
    assert_eq!(
        change_requests(&strict.requests()).len(),
        sent + 1,
        "one request, no re-plans"
    );
    assert_eq!(setup.contents(ZONE).await, before);
}

/// A change request that landed but whose answer was lost is retried; the
/// retry is rejected (the set exists now). That is not a refusal of the
/// change itself: a fresh listing shows the work done, and the sync ends
/// well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_that_had_landed_is_not_a_refusal() {
    let zone = bind::Zone::new(ZONE, zone_text(S, "192.0.2.80", &[]));
    let Some(lost) = sync_with_a_lost_answer(zone).await else {
        return;
    };
    assert_eq!(lost.run.status.code(), Some(0), "{}", show(&lost.run));
    assert_synced(&lost.setup, ZONE).await;
}
