//! `xfr53 config check`: validate the configuration and exit.

use anyhow::Result;

use super::Exit;
use crate::cli::Common;
use crate::loaded::Loaded;

pub fn run(common: &Common) -> Result<Exit> {
    let config = Loaded::read(&common.config)?.config;
    config.require_zones()?;
    outln!(
        "{}: OK, {} zone(s): {}",
        common.config.display(),
        config.zones.len(),
        config
            .zones
            .iter()
            .map(|z| z.rules.zone.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    Ok(Exit::Ok)
}
