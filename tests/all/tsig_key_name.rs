//! The TSIG key name sent is the `[tsig.<label>]` label unless the section
//! sets `name`; when the primary (BIND) refuses the key, xfr53's error names
//! the key name it sent and what the primary's TSIG error means.

use crate::support::bind::{self, KEY_SHA256};
use crate::support::route53_backend::Kind;
use crate::support::setup::{show, Setup};

/// The configuration for parent.test with `[tsig.provider]` holding `tsig`.
fn write_config(setup: &Setup, tsig: &str) {
    let secret = setup.dir.path().join("provider.key");
    std::fs::write(&secret, KEY_SHA256.secret).unwrap();
    // not readable by every user, so config check does not warn
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = format!(
        "state_dir = \"{dir}/state\"\n\n[route53]\nendpoint = \"{endpoint}\"\n\n\
         [tsig.provider]\nalgorithm = \"hmac-sha256\"\nsecret_file = \"{secret}\"\n{tsig}\n\n\
         [[zone]]\nname = \"parent.test\"\nprimaries = [\"{primary}\"]\ntsig = \"provider\"\n",
        dir = setup.dir.path().display(),
        endpoint = setup.backend.endpoint(),
        secret = secret.display(),
        primary = setup.bind.addr,
    );
    std::fs::write(setup.config_path(), config).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_named_as_it_was_sent() {
    let mut zone = bind::Zone::fixture("delegation.zone");
    zone.transfer_key = Some(KEY_SHA256);
    let Some(setup) = Setup::start(Kind::Strict, vec![zone]).await else {
        return;
    };

    // no `name`: the label "provider" is sent, and BIND knows only xfr-key
    write_config(&setup, "");
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("the primary rejected TSIG key \"provider\" (hmac-sha256): BADKEY: the primary has no key of this name"),
        "{}",
        show(&run)
    );
    assert!(stderr.contains("`name`"), "{stderr}");

    // the right name with another secret
    write_config(&setup, "name = \"xfr-key\"");
    let other = setup.dir.path().join("provider.key");
    std::fs::write(&other, "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=").unwrap();
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("the primary rejected TSIG key \"xfr-key\" (hmac-sha256): BADSIG: "),
        "{}",
        show(&run)
    );

    // the name and secret BIND has: the sync goes through
    write_config(&setup, "name = \"xfr-key\"");
    let run = setup.run(&["sync", "parent.test"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
}
