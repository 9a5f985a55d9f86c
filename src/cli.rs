//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::DEFAULT_PATH;

#[derive(Debug, Parser)]
#[command(
    name = "xfr53",
    version,
    about = "Keeps a Route 53 hosted zone an exact copy of a zone on a primary nameserver"
)]
pub struct Cli {
    /// Log lines as text (for a terminal or the journal) or JSON.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the NOTIFY listener and keep every configured zone in sync.
    Daemon(Common),
    /// Sync one zone now (takes the arguments nsnotifyd passes).
    Sync(SyncArgs),
    /// Show what a sync would change; changes nothing.
    Plan(PlanArgs),
    /// Compare Route 53 with the primary: exit 0 in sync, 1 drift, 2 error.
    Check(CheckArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the man page and shell completions into a directory (for
    /// packaging).
    #[command(hide = true)]
    Generate {
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration (keys, files, addresses) and exit.
    Check(Common),
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// Where the zone copy and the Route 53 view are kept between runs
    /// (default: state_dir from the configuration, else /var/lib/xfr53).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The zone, e.g. example.com (a trailing dot is optional).
    pub zone: String,
    /// The serial a NOTIFY announced: logged; only a hint.
    pub serial: Option<u32>,
    /// Who sent the NOTIFY: logged, never used as a transfer address.
    pub source: Option<String>,
    /// Read the zone from this master file instead of the primaries.
    #[arg(long, value_name = "FILE")]
    pub zone_file: Option<PathBuf>,
    /// Sync even when Route 53 holds the serial already, and apply a plan
    /// the safety rules refuse.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The zone, e.g. example.com (a trailing dot is optional).
    pub zone: String,
    /// Read the zone from this master file instead of the primaries.
    #[arg(long, value_name = "FILE")]
    pub zone_file: Option<PathBuf>,
    /// Plan against an empty hosted zone without contacting Route 53 (and
    /// without a configuration file if there is none).
    #[arg(long, requires = "zone_file")]
    pub assume_empty: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Zones to check (default: every configured zone).
    pub zones: Vec<String>,
    /// Also compare every managed record set, reading both sides in full.
    #[arg(long)]
    pub deep: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
