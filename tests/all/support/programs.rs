//! Finding the real programs the tests run. Under CI a missing program
//! fails the test; on a developer's machine the test is skipped with a
//! message saying how to install it.

use std::path::PathBuf;

/// The path of `program`, looked up in PATH and the sbin directories.
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|p| p.is_file());
    found
}

/// `program`'s path; `None` (skip) locally when it is missing, a panic in CI.
pub fn require(program: &str) -> Option<PathBuf> {
    let found = find(program);
    if found.is_none() {
        missing(&format!(
            "{program} is not installed: run scripts/install-test-deps"
        ));
    }
    found
}

/// `program` in the project's Python venv (moto, cfn-lint); `None` (skip)
/// locally when it is missing, a panic in CI.
pub fn venv(program: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(program);
    if path.is_file() {
        return Some(path);
    }
    missing(&format!(
        "{program} is not installed: run scripts/install-test-deps"
    ));
    None
}

/// A test dependency is missing: a panic under CI; locally a line on the
/// terminal itself, past libtest's capture (which takes only `eprintln!`),
/// so the skip shows beside the test's "ok".
pub fn missing(hint: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{hint}");
    }
    use std::io::Write;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {hint}");
}

/// A free loopback port, for both UDP and TCP.
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
