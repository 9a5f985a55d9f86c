//! `xfr53 check [ZONE...] [--deep]`: is Route 53 in sync with the primary?
//! Exit 0 in sync, 1 drift, 2 error; one line per zone, for Nagios or cron.

use anyhow::{bail, Result};
use serde::Serialize;

use super::{hosted_zone, state_dir, zone_name, Exit};
use crate::cli::{CheckArgs, Common, Format};
use crate::config::{Config, ZoneConfig};
use crate::core::diff::Change;
use crate::core::plan::SerialMark;
use crate::engine::source::Source;
use crate::engine::state::StateDir;
use crate::engine::sync::ZoneSync;

#[derive(Debug, Serialize)]
struct Report {
    zone: String,
    status: &'static str,
    primary_serial: Option<u32>,
    route53_serial: Option<u32>,
    /// An apply to this serial began and did not finish.
    unfinished_apply: Option<u32>,
    /// With --deep: the managed record sets that differ.
    differences: Vec<String>,
    error: Option<String>,
}

pub async fn run(args: &CheckArgs, common: &Common) -> Result<Exit> {
    let config = Config::load(&common.config)?;
    let zones: Vec<&ZoneConfig> = match args.zones.is_empty() {
        true => config.zones.iter().collect(),
        false => args
            .zones
            .iter()
            .map(|z| config.zone(&zone_name(z)?))
            .collect::<Result<_>>()?,
    };
    let states = state_dir(common, &config);
    let mut reports = Vec::new();
    for zone in zones {
        let report = match check(&config, zone, &states, args.deep).await {
            Ok(report) => report,
            Err(e) => Report {
                zone: zone.rules.zone.to_string(),
                status: "error",
                primary_serial: None,
                route53_serial: None,
                unfinished_apply: None,
                differences: Vec::new(),
                error: Some(format!("{e:#}")),
            },
        };
        reports.push(report);
    }
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&reports)?)?,
        Format::Text => {
            for report in &reports {
                print_text(report)?;
            }
        }
    }
    let count = |status| reports.iter().filter(|r| r.status == status).count();
    if count("error") > 0 {
        bail!("{} zone(s) could not be checked", count("error"));
    }
    Ok(match count("drift") {
        0 => Exit::Ok,
        _ => Exit::Refused,
    })
}

async fn check(
    config: &Config,
    zone: &ZoneConfig,
    states: &StateDir,
    deep: bool,
) -> Result<Report> {
    let mut state = states.load(&zone.rules.zone);
    let hosted = hosted_zone(config, zone).await?;
    let mut sync = ZoneSync::new(
        zone,
        Source::Primaries(zone.primaries.clone()),
        &hosted,
        &mut state,
        config.route53.insync_timeout,
    );
    let (primary, mark) = sync.serials().await?;
    let (route53, unfinished_apply) = match mark {
        Some(SerialMark::Complete(serial)) => (Some(serial), None),
        Some(SerialMark::Applying { to, from }) => (from, Some(to.0)),
        None => (None, None),
    };
    let differences: Vec<String> = match deep {
        true => sync
            .deep_differences()
            .await?
            .iter()
            .map(describe)
            .collect(),
        false => Vec::new(),
    };
    let in_sync = route53 == Some(primary) && unfinished_apply.is_none() && differences.is_empty();
    Ok(Report {
        zone: zone.rules.zone.to_string(),
        status: if in_sync { "in_sync" } else { "drift" },
        primary_serial: Some(primary.0),
        route53_serial: route53.map(|s| s.0),
        unfinished_apply,
        differences,
        error: None,
    })
}

fn describe(change: &Change) -> String {
    let (sign, set) = match change {
        Change::Create { set } => ('+', set),
        Change::Delete { set } => ('-', set),
        Change::Modify { new, .. } => ('~', new),
    };
    format!("{sign} {} {}", set.name, set.rtype)
}

fn print_text(report: &Report) -> Result<(), super::StdoutError> {
    let mut serials = format!(
        "primary serial {}, Route 53 _serial {}",
        report.primary_serial.map_or("?".into(), |s| s.to_string()),
        report
            .route53_serial
            .map_or("none".into(), |s| s.to_string())
    );
    if let Some(to) = report.unfinished_apply {
        serials.push_str(&format!(
            " with an unfinished apply of serial {to} (the next sync lists Route 53 in full and repairs it)"
        ));
    }
    match report.status {
        "in_sync" => outln!("OK {}: in sync ({serials})", report.zone),
        "drift" => {
            outln!(
                "DRIFT {}: {serials}; {} record set(s) differ",
                report.zone,
                report.differences.len()
            )?;
            for difference in &report.differences {
                outln!("  {difference}")?;
            }
            Ok(())
        }
        _ => outln!(
            "ERROR {}: {}",
            report.zone,
            report.error.as_deref().unwrap_or("")
        ),
    }
}
