//! `xfr53 sync ZONE [SERIAL [SOURCE]]`: one sync now.

use anyhow::Result;

use super::{hosted_zone, state_dir, zone_name, Outcome};
use crate::cli::{Common, SyncArgs};
use crate::config::Config;
use crate::core::serial::Serial;
use crate::sync::{self, Source, ZoneSync};

pub async fn run(args: &SyncArgs, common: &Common) -> Result<Outcome> {
    let config = Config::load(&common.config)?;
    let zone = zone_name(&args.zone)?;
    let zone_config = config.zone(&zone)?;
    tracing::info!(zone = %zone, notified_serial = ?args.serial, notify_source = ?args.source, "sync requested");
    let states = state_dir(common, &config);
    // One process at a time writes a zone's state; held to the end of run.
    let _lock = states.lock(&zone).await?;
    let mut state = states.load(&zone);
    let hosted = hosted_zone(&config, zone_config).await?;
    let source = match &args.zone_file {
        Some(file) => Source::ZoneFile(file.clone()),
        None => Source::Primaries(zone_config.primaries.clone()),
    };
    let result = ZoneSync::new(
        zone_config,
        source,
        &hosted,
        &mut state,
        config.route53.insync_timeout,
    )
    .sync(args.force)
    .await;
    match &result {
        // nothing was read or changed: the state on disk is still right
        Ok(sync::Outcome::UpToDate(_)) if !state.relisted => {}
        // the sync kept only the view it can still trust
        _ => states.save(&zone, &mut state),
    }
    let reached = match result? {
        sync::Outcome::UpToDate(serial) => {
            outln!("{zone}: up to date at serial {serial}")?;
            serial
        }
        sync::Outcome::Applied(plan) => {
            let s = &plan.summary;
            outln!(
                "{zone}: serial {} -> {}: {} created, {} deleted, {} modified in {} batch(es); INSYNC",
                plan.previous_serial.map_or("none".into(), |p| p.to_string()),
                plan.serial,
                s.create,
                s.delete,
                s.modify,
                s.batches
            )?;
            plan.serial
        }
        sync::Outcome::Refused(plan) => {
            out!("{plan}")?;
            return Ok(Outcome::Refused);
        }
    };
    Ok(match args.serial.map(Serial) {
        // nsnotifyd takes exit 0 as "this serial is done" and never asks
        // again: a primary still behind the NOTIFY must fail so it retries
        // (two serials 2^31 apart have no order: not provably caught up)
        Some(announced)
            if !matches!(
                reached.partial_cmp(&announced),
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            ) =>
        {
            let source = match &args.zone_file {
                Some(file) => file.display().to_string(),
                None => (zone_config.primaries.iter())
                    .map(|p| p.addr.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            outln!(
                "{zone}: the primary has not caught up to serial {announced} yet ({source} serves {reached}); exit 1 so the sync is retried"
            )?;
            Outcome::Refused
        }
        _ => Outcome::Ok,
    })
}
