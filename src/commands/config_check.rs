//! `xfr53 config check`: validate the configuration and exit.

use anyhow::Result;

use super::Exit;
use crate::cli::Common;
use crate::loaded::Loaded;

pub fn run(common: &Common) -> Result<Exit> {
    let config = Loaded::read(&common.config)?.config;
    config.require_zones()?;
    let zones: Vec<String> = config
        .zones
        .iter()
        .map(|z| z.rules.zone.to_string())
        .collect();
    let catalogs: Vec<String> = config
        .catalogs
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut line = format!("{} zone(s)", zones.len());
    if !zones.is_empty() {
        line += &format!(": {}", zones.join(" "));
    }
    if !catalogs.is_empty() {
        line += &format!(
            "; {} catalog(s), members read by the daemon: {}",
            catalogs.len(),
            catalogs.join(" ")
        );
    }
    outln!("{}: OK, {line}", common.config.display())?;
    Ok(Exit::Ok)
}
