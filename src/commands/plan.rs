//! `xfr53 plan ZONE`: what a sync would do; changes nothing.

use anyhow::Result;

use super::{hosted_zone, state_dir, zone_name, Exit};
use crate::cli::{Common, Format, PlanArgs};
use crate::config::Config;
use crate::core::hosted::HostedSets;
use crate::core::pipeline::plan_zone;
use crate::core::plan::Plan;
use crate::core::rules::ZoneRules;
use crate::engine::source::{read_zone_file, Source};
use crate::engine::sync::ZoneSync;
use crate::loaded::Loaded;

pub async fn run(args: &PlanArgs, common: &Common) -> Result<Exit> {
    let zone = zone_name(&args.zone)?;
    let plan = if args.assume_empty {
        plan_from_empty(args, common, &zone)?
    } else {
        let loaded = Loaded::read(&common.config)?;
        let config = &loaded.config;
        let zone_config = config.zone(&zone)?;
        let mut state = state_dir(common, config).load(&zone);
        let hosted = hosted_zone(config, zone_config).await?;
        let source = Source::of(args.zone_file.as_deref(), loaded.primaries(zone_config));
        ZoneSync::new(
            zone_config,
            source,
            &hosted,
            &mut state,
            config.route53.insync_timeout,
        )
        .plan()
        .await?
    };
    match args.format {
        Format::Text => out!("{plan}")?,
        Format::Json => outln!("{}", serde_json::to_string_pretty(&plan)?)?,
    }
    Ok(match plan.is_refused() {
        true => Exit::Refused,
        false => Exit::Ok,
    })
}

/// The zone file against an empty hosted zone, with the zone's configured
/// rules when a configuration file exists.
fn plan_from_empty(
    args: &PlanArgs,
    common: &Common,
    zone: &crate::core::name::Name,
) -> Result<Plan> {
    let rules = match common.config.exists() {
        true => Config::load(&common.config)?.zone(zone)?.rules.clone(),
        false => ZoneRules::new(zone.clone()),
    };
    let path = args.zone_file.as_ref().expect("clap requires --zone-file");
    let desired = read_zone_file(path, zone)?.convert()?;
    for note in desired.notes() {
        tracing::warn!("{note}");
    }
    Ok(plan_zone(&desired, &HostedSets::default(), &rules, false)?)
}
