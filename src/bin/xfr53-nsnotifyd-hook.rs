//! The command nsnotifyd runs: `nsnotifyd [-d] -a ADDR -p PORT
//! xfr53-nsnotifyd-hook ZONE...`. nsnotifyd runs one program, with no
//! arguments of its own, as `PROGRAM ZONE SERIAL [SOURCE]`; this one becomes
//! `xfr53 sync -- ZONE SERIAL [SOURCE]`, the `xfr53` installed beside it.
//!
//! The configuration comes from nsnotifyd's environment: `XFR53_CONFIG`, else
//! /etc/xfr53/xfr53.toml. The exit code is xfr53's, and anything but 0 makes
//! nsnotifyd try again at the zone's SOA retry interval.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !(2..=3).contains(&args.len()) {
        eprintln!(
            "usage: xfr53-nsnotifyd-hook ZONE SERIAL [SOURCE]\n\
             nsnotifyd runs it: nsnotifyd -a ADDR -p PORT xfr53-nsnotifyd-hook ZONE..."
        );
        return ExitCode::from(2);
    }
    let xfr53 = xfr53_path();
    // exec: nsnotifyd waits for, and judges, xfr53 itself
    let error = Command::new(&xfr53)
        .arg("sync")
        .arg("--")
        .args(&args)
        .exec();
    eprintln!(
        "xfr53-nsnotifyd-hook: cannot run {}: {error}",
        xfr53.display()
    );
    ExitCode::from(2)
}

/// `xfr53` in this program's own directory: nsnotifyd's PATH is not ours to
/// trust (a daemon's may lack /usr/bin, a test's holds no build directory).
fn xfr53_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("xfr53")))
        .unwrap_or_else(|| "xfr53".into())
}
