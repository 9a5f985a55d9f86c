//! Command-line definitions.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
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
    #[command(flatten)]
    pub common: Common,
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
    Daemon,
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
    Check,
}

/// Options every command takes, before or after its name (global: nsnotifyd
/// and scripts put them wherever they like).
#[derive(Clone, Debug, Args)]
pub struct Common {
    /// The configuration file.
    #[arg(long, global = true, value_name = "FILE", env = "XFR53_CONFIG", default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// Where the zone copy and the Route 53 view are kept between runs
    /// (default: state_dir from the configuration, else /var/lib/xfr53).
    #[arg(long, global = true, value_name = "DIR", value_parser = clap::builder::NonEmptyStringValueParser::new().map(PathBuf::from))]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The zone, e.g. example.com (a trailing dot is optional).
    pub zone: String,
    /// The serial a NOTIFY announced: only a hint (the primary is asked),
    /// but exit 1 while the primary is still behind it, so nsnotifyd retries.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_empty_state_dir_is_refused() {
        let error =
            Cli::try_parse_from(["xfr53", "--state-dir", "", "config", "check"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn config_and_state_dir_go_before_or_after_the_command() {
        for args in [
            &[
                "xfr53",
                "--config",
                "c.toml",
                "--state-dir",
                "s",
                "sync",
                "a.test",
                "1",
            ][..],
            &[
                "xfr53",
                "sync",
                "a.test",
                "1",
                "--config",
                "c.toml",
                "--state-dir",
                "s",
            ][..],
            &[
                "xfr53",
                "--config",
                "c.toml",
                "sync",
                "--state-dir",
                "s",
                "a.test",
            ][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.common.config, PathBuf::from("c.toml"), "{args:?}");
            assert_eq!(cli.common.state_dir, Some("s".into()), "{args:?}");
            assert!(matches!(cli.command, Command::Sync(_)), "{args:?}");
        }
        let cli = Cli::try_parse_from(["xfr53", "config", "check", "--config", "c.toml"]).unwrap();
        assert_eq!(cli.common.config, PathBuf::from("c.toml"));
    }

    #[test]
    fn help_names_the_environment_variable_once() {
        let help = Cli::command().render_help().to_string();
        assert_eq!(help.matches("XFR53_CONFIG").count(), 1, "{help}");
        assert!(help.contains("--state-dir <DIR>"), "{help}");
    }
}
