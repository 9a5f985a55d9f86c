//! `xfr53 sync ZONE [SERIAL [SOURCE]]`: one sync now.

use anyhow::Result;

use super::{state_dir, zone_name, Exit};
use crate::cli::{Common, SyncArgs};
use crate::core::serial::Serial;
use crate::engine::source::Source;
use crate::engine::sync::SyncOutcome;
use crate::engine::{SyncOptions, ZoneEngine};
use crate::loaded::Loaded;
use crate::route53::aws::AwsZones;

pub async fn run(args: &SyncArgs, common: &Common) -> Result<Exit> {
    let loaded = Loaded::read(&common.config)?;
    let config = &loaded.config;
    let zone = zone_name(&args.zone)?;
    let zone_config = config.zone(&zone)?;
    tracing::info!(zone = %zone, notified_serial = ?args.serial, notify_source = ?args.source, "sync requested");
    let zones = AwsZones::connect(&config.route53).await;
    let mut engine = ZoneEngine::new(state_dir(common, config), zone.clone());
    let source = Source::of(args.zone_file.as_deref(), loaded.primaries(zone_config));
    let options = SyncOptions {
        insync_timeout: config.route53.insync_timeout,
        force: args.force,
        ..SyncOptions::default()
    };
    let described = source.describe();
    let report = engine.sync(zone_config, source, &zones, options).await;
    let reached = match report.outcome? {
        SyncOutcome::UpToDate(serial) => {
            outln!("{zone}: up to date at serial {serial}")?;
            serial
        }
        SyncOutcome::Applied(plan) => {
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
        SyncOutcome::Refused(plan) => {
            out!("{plan}")?;
            return Ok(Exit::Refused);
        }
        // an audit's outcome: a sync finds no drift at an unchanged serial
        SyncOutcome::Drifted { plan, repaired } => {
            let s = &plan.summary;
            let differ = s.create + s.delete + s.modify;
            outln!(
                "{zone}: {differ} record set(s) drifted at serial {}; repaired: {repaired}",
                plan.serial
            )?;
            if !repaired {
                return Ok(Exit::Refused);
            }
            plan.serial
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
            let source = described.join(", ");
            outln!(
                "{zone}: the primary has not caught up to serial {announced} yet ({source} serves {reached}); exit 1 so the sync is retried"
            )?;
            Exit::Refused
        }
        _ => Exit::Ok,
    })
}
