//! What each command does, on top of the library.

/// `print!` that returns the error instead of panicking on it: `main` ends
/// quietly when the reader went away (`xfr53 plan ... | head -1`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::write_out(format_args!($($arg)*))
    };
}

/// `println!`, as `out!`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod check;
pub mod config_check;
pub mod daemon;
pub mod generate;
pub mod plan;
pub mod sync;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::Common;
use crate::config::{Config, ZoneConfig};
use crate::core::name::Name;
use crate::engine::state::StateDir;
use crate::loaded::Loaded;
use crate::route53::aws::{AwsHostedZone, AwsZones};
use crate::route53::HostedZones;

/// How a command ended, as the exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done / in sync: exit 0.
    Ok,
    /// Drift found, or a safety rule refused the plan: exit 1.
    Refused,
}

/// Standard output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(#[source] std::io::Error);

impl StdoutError {
    /// The reader closed the pipe: a normal end, as in ripgrep.
    pub fn is_closed_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

pub fn write_out(text: std::fmt::Arguments) -> Result<(), StdoutError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(text)
        .and_then(|()| stdout.flush())
        .map_err(StdoutError)
}

/// A zone named on the command line (nsnotifyd passes it without the dot).
pub fn zone_name(text: &str) -> Result<Name> {
    Name::parse_route53(text).with_context(|| format!("{text:?} is not a valid zone name"))
}

/// The state directory: `--state-dir`, else the configuration's, else the
/// default.
pub fn state_dir(common: &Common, config: &Config) -> StateDir {
    StateDir::new(state_path(common, config))
}

fn state_path(common: &Common, config: &Config) -> PathBuf {
    (common.state_dir.clone()).unwrap_or_else(|| config.state_path())
}

/// The configuration at `--config` made ready to run, its state
/// directory resolved.
pub fn load_config(common: &Common) -> Result<Loaded> {
    let mut loaded = Loaded::read(&common.config)?;
    loaded.config.state_dir = Some(state_path(common, &loaded.config));
    Ok(loaded)
}

/// The hosted zone of `zone`, with a client of this command's own.
pub async fn hosted_zone(config: &Config, zone: &ZoneConfig) -> Result<AwsHostedZone> {
    AwsZones::connect(&config.route53)
        .await
        .open(
            &zone.rules.zone,
            zone.hosted_zone_id.as_deref(),
            zone.role_arn.as_deref(),
        )
        .await
}
