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
pub mod generate;
pub mod plan;
pub mod sync;

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::Common;
use crate::config::{Config, ZoneConfig};
use crate::core::name::Name;
use crate::route53::aws::{client, AwsHostedZone};
use crate::route53::throttle::Throttle;
use crate::state::{StateDir, DEFAULT_DIR};

/// How a command ended, as the exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
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

pub fn state_dir(common: &Common, config: &Config) -> StateDir {
    StateDir::new(
        common
            .state_dir
            .clone()
            .or_else(|| config.state_dir.clone())
            .unwrap_or_else(|| DEFAULT_DIR.into()),
    )
}

/// The hosted zone of `zone`, with a client of this command's own.
pub async fn hosted_zone(config: &Config, zone: &ZoneConfig) -> Result<AwsHostedZone> {
    let throttle = Arc::new(Throttle::new(
        config.route53.requests_per_second,
        config.route53.max_attempts,
    ));
    AwsHostedZone::for_zone(client(&config.route53).await, throttle, zone).await
}
