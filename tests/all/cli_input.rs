//! The command line facing its surroundings: a reader that stops early
//! (`| head -1`) ends xfr53 quietly, and `config check` never shows a TSIG
//! secret written where it does not belong.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn plan_into_a_pipe_closed_early_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.zone");
    let mut text = String::from("$ORIGIN pipe.test.\n$TTL 300\n@ SOA ns admin 1 2 3 4 5\n");
    // far more plan text than a pipe buffers (64 KiB on Linux)
    for i in 0..5_000 {
        text.push_str(&format!("host-{i} A 192.0.2.{}\n", i % 250));
    }
    std::fs::write(&zone, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .args(["--config", "/nonexistent/xfr53.toml", "plan", "pipe.test"])
        .arg("--assume-empty")
        .arg("--zone-file")
        .arg(&zone)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // the reader is gone, as `head -1` is after one line
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!first.is_empty());
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn config_check_never_prints_a_misplaced_secret() {
    let secret = "c2VjcmV0LXRzaWcta2V5LW5ldmVyLXRvLWJlLXByaW50ZWQ=";
    let zone = "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\n";
    let configs = [
        // BIND's key clause spelling
        format!("[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n{zone}"),
        // the secret where a number or a list belongs
        format!("[route53]\nrequests_per_second = \"{secret}\"\n{zone}"),
        format!("[tsig.k]\nsecret_file = [\"{secret}\"]\n{zone}"),
        // broken quoting on the secret's line
        format!("[tsig.k]\nsecret = \"{secret}\n{zone}"),
        format!("[tsig.k]\nsecret = {secret}\n{zone}"),
        format!("[tsig.k]\n{secret}\n{zone}"),
        format!("[tsig.k]\nsecret = '''{secret}\n{zone}"),
        // echoed by serde in backticks, as an unknown key or variant
        format!("[tsig.k]\n\"{secret}\" = 1\n{zone}"),
        format!("[tsig.k]\n'{secret}' = 1\n{zone}"),
        format!("[tsig.k]\n{} = 1\n{zone}", &secret[..40]),
        // a literal string where a number belongs
        format!("[route53]\nrequests_per_second = '{secret}'\n{zone}"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for config in configs {
        let path = dir.path().join("xfr53.toml");
        std::fs::write(&path, &config).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_xfr53"))
            .args(["config", "check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(2), "{config}\n{stderr}");
        assert!(stderr.contains("TOML error at line"), "{config}\n{stderr}");
        for half in [&secret[..20], &secret[20..40]] {
            assert!(
                !stderr.contains(half) && !stdout.contains(half),
                "{config}\nshows the secret:\n{stderr}"
            );
        }
    }
}

/// `config check` on `text`: exit code and stderr.
fn config_check(dir: &std::path::Path, text: &str) -> (Option<i32>, String) {
    let path = dir.join("check.toml");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn config_check_refuses_absurd_numbers_and_warns_about_readable_keys() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let zone = "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.1\"]\n";
    for (setting, expected) in [
        (
            "[route53]\nrequests_per_second = 1e-30\n",
            "route53.requests_per_second = 1e-30 is outside the allowed range 0.1 to 100.0",
        ),
        (
            "[route53]\ninsync_timeout_seconds = 9223372036854775807\n",
            "route53.insync_timeout_seconds = 9223372036854775807 is outside",
        ),
    ] {
        let (code, stderr) = config_check(dir.path(), &format!("{setting}{zone}"));
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let (code, stderr) = config_check(
        dir.path(),
        &format!("{zone}timeout_seconds = 9223372036854775807\n"),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("zone[0] (a.test): timeout_seconds = 9223372036854775807 is outside the allowed range 1 to 300"), "{stderr}");
    let key = dir.path().join("k.key");
    std::fs::write(&key, "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!(
        "[tsig.k]\nalgorithm = \"hmac-sha256\"\nsecret_file = \"{}\"\n{zone}tsig = \"k\"\n",
        key.display()
    );
    let (code, stderr) = config_check(dir.path(), &text);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(
        stderr.contains("is readable by every user on this host"),
        "{stderr}"
    );
}

/// A configuration that is not there: the error names the file, the
/// `--config` option and the commented example to start from.
#[test]
fn a_missing_configuration_names_config_and_the_example() {
    let output = Command::new(env!("CARGO_BIN_EXE_xfr53"))
        .args(["--config", "/nonexistent/xfr53.toml", "config", "check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needed in ["/nonexistent/xfr53.toml", "--config", "examples/xfr53.toml"] {
        assert!(stderr.contains(needed), "{needed} in {stderr}");
    }
}
