//! `xfr53 plan`: what a sync would do.

use anyhow::{Context, Result};

use crate::cli::{Format, PlanArgs};
use crate::commands::Outcome;
use crate::core::name::Name;
use crate::core::pipeline::plan_zone;
use crate::core::rules::{Pattern, ZoneRules};
use crate::core::zone::Zone;
use crate::core::zonefile;

pub fn run(args: &PlanArgs) -> Result<Outcome> {
    let zone = Name::parse_route53(&args.zone)
        .with_context(|| format!("zone {:?} is not a valid domain name", args.zone))?;
    let path = args.zone_file.display().to_string();
    let text = std::fs::read_to_string(&args.zone_file)
        .with_context(|| format!("zone {zone}: cannot read zone file {path}"))?;
    let records = zonefile::parse(&path, &text, &zone)?;
    let desired = Zone::from_records(zone.clone(), &records).convert()?;
    for note in desired.notes() {
        tracing::warn!("{note}");
    }
    let mut rules = ZoneRules::new(zone);
    rules.ignore = args.ignore.iter().map(|g| Pattern::new(g)).collect();
    let plan = plan_zone(&desired, &[], &rules, false)?;
    match args.format {
        Format::Text => print!("{plan}"),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    Ok(match plan.is_refused() {
        true => Outcome::Refused,
        false => Outcome::Ok,
    })
}
