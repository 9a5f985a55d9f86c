use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use xfr53::cli::{Cli, Command, ConfigCommand, LogFormat};
use xfr53::commands::{self, Exit};

fn main() -> ExitCode {
    xfr53::heap::one_arena();
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            // aws-config warns about every source of region and credentials
            // it tried (IMDS off EC2, most of all); what matters reaches the
            // error xfr53 reports. RUST_LOG=aws_config=debug shows it all.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=error".into()),
        );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let common = &cli.common;
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Daemon => commands::daemon::run(common).await,
            Command::Sync(args) => commands::sync::run(args, common).await,
            Command::Plan(args) => commands::plan::run(args, common).await,
            Command::Check(args) => commands::check::run(args, common).await,
            Command::Config(ConfigCommand::Check) => commands::config_check::run(common),
            Command::Generate { out_dir } => commands::generate::run(out_dir),
        }
    });
    match result {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::Refused) => ExitCode::from(1),
        // the reader has all it wanted (`xfr53 plan ... | head -1`)
        Err(error)
            if error
                .downcast_ref::<commands::StdoutError>()
                .is_some_and(commands::StdoutError::is_closed_pipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("xfr53: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
