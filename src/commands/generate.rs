//! `xfr53 generate --out-dir DIR`: the man page and shell completions,
//! from the same clap definitions the command line uses.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::Exit;
use crate::cli::Cli;

pub fn run(out_dir: &Path) -> Result<Exit> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(out_dir.join("xfr53.1"), page)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut command.clone(), "xfr53", out_dir)
            .with_context(|| format!("writing {shell} completions"))?;
    }
    Ok(Exit::Ok)
}
