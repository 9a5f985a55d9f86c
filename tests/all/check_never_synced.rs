//! `check` before the first sync says Route 53 was never synced, and what
//! to run; it said "DRIFT … 0 record set(s) differ".

use crate::support::bind;
use crate::support::route53_backend::Kind;
use crate::support::setup::{show, Setup};

async fn check_before_the_first_sync_says_never_synced(kind: Kind) {
    let Some(setup) = Setup::start(kind, vec![bind::Zone::fixture("delegation.zone")]).await else {
        return;
    };
    let check = setup.run(&["check", "parent.test"]).await;
    assert_eq!(check.status.code(), Some(1), "{}", show(&check));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.starts_with("NEVER SYNCED parent.test.: Route 53 has no _serial record: xfr53 has never synced this hosted zone"),
        "{}",
        show(&check)
    );
    assert!(stdout.contains("Run `xfr53 sync parent.test`"), "{stdout}");
    assert!(!stdout.contains("DRIFT"), "{stdout}");

    let json = setup
        .run(&["check", "--format", "json", "parent.test"])
        .await;
    assert_eq!(json.status.code(), Some(1), "{}", show(&json));
    let reports: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(reports[0]["status"], "never_synced", "{}", show(&json));
    assert_eq!(reports[0]["route53_serial"], serde_json::Value::Null);

    let sync = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(sync.status.code(), Some(0), "{}", show(&sync));
    let check = setup.run(&["check", "--format", "json"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", show(&check));
    let reports: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(reports[0]["status"], "in_sync", "{}", show(&check));
}
both!(check_before_the_first_sync_says_never_synced);
