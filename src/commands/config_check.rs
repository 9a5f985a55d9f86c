//! `xfr53 config check`: validate the configuration and exit.

use anyhow::Result;

use super::Exit;
use crate::cli::Common;
use crate::loaded::Loaded;

pub fn run(common: &Common) -> Result<Exit> {
    let config = Loaded::read(&common.config)?.config;
    config.require_zones()?;
    let names = |names: Vec<String>| names.join(" ");
    let catalogs = match config.catalogs.len() {
        0 => String::new(),
        n => format!(
            "; {n} catalog(s), members read by the daemon: {}",
            names(
                config
                    .catalogs
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect()
            )
        ),
    };
    outln!(
        "{}: OK, {} zone(s): {}{catalogs}",
        common.config.display(),
        config.zones.len(),
        names(
            config
                .zones
                .iter()
                .map(|z| z.rules.zone.to_string())
                .collect()
        )
    )?;
    Ok(Exit::Ok)
}
