//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "xfr53",
    version,
    about = "Keeps a Route 53 hosted zone an exact copy of a zone on a primary nameserver"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a sync would change; changes nothing.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The zone, e.g. example.com (a trailing dot is optional).
    pub zone: String,
    /// Read the zone from this RFC 1035 master file instead of the primary.
    #[arg(long, value_name = "FILE")]
    pub zone_file: PathBuf,
    /// Plan against an empty hosted zone instead of reading Route 53.
    /// (Required for now: reading Route 53 is not built yet.)
    #[arg(long, required = true)]
    pub assume_empty: bool,
    /// Names never touched, as globs (`_acme-challenge.*`); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub ignore: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
