//! `xfr53 check [ZONE...] [--deep]`: is Route 53 in sync with the primary?
//! Exit 0 in sync, 1 drift or never synced, 2 error; one line per zone, for
//! Nagios or cron.

use anyhow::{bail, Result};
use serde::Serialize;

use super::{hosted_zone, state_dir, zone_name, Exit};
use crate::cli::{CheckArgs, Common, Format};
use crate::config::ZoneConfig;
use crate::core::diff::Change;
use crate::core::plan::SerialMark;
use crate::engine::source::Source;
use crate::engine::state::StateDir;
use crate::engine::sync::ZoneSync;
use crate::loaded::Loaded;

/// Where a zone stands; `--format json` shows it in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    InSync,
    Drift,
    /// Route 53 holds no `_serial` record of xfr53's.
    NeverSynced,
    Error,
}

impl Status {
    /// Exit 1: Route 53 does not hold the primary's zone.
    fn is_out_of_sync(self) -> bool {
        matches!(self, Status::Drift | Status::NeverSynced)
    }
}

#[derive(Debug, Serialize)]
struct Report {
    zone: String,
    status: Status,
    primary_serial: Option<u32>,
    route53_serial: Option<u32>,
    /// An apply to this serial began and did not finish.
    unfinished_apply: Option<u32>,
    /// With --deep: the managed record sets that differ.
    differences: Vec<String>,
    error: Option<String>,
}

pub async fn run(args: &CheckArgs, common: &Common) -> Result<Exit> {
    let loaded = Loaded::read(&common.config)?;
    let config = &loaded.config;
    let zones: Vec<&ZoneConfig> = match args.zones.is_empty() {
        true => config.zones.iter().collect(),
        false => args
            .zones
            .iter()
            .map(|z| config.zone(&zone_name(z)?))
            .collect::<Result<_>>()?,
    };
    let states = state_dir(common, config);
    let mut reports = Vec::new();
    for zone in zones {
        let report = match check(&loaded, zone, &states, args.deep).await {
            Ok(report) => report,
            Err(e) => Report {
                zone: zone.rules.zone.to_string(),
                status: Status::Error,
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
    let errors = reports.iter().filter(|r| r.status == Status::Error).count();
    if errors > 0 {
        bail!("{errors} zone(s) could not be checked");
    }
    Ok(match reports.iter().any(|r| r.status.is_out_of_sync()) {
        true => Exit::Refused,
        false => Exit::Ok,
    })
}

async fn check(
    loaded: &Loaded,
    zone: &ZoneConfig,
    states: &StateDir,
    deep: bool,
) -> Result<Report> {
    let mut state = states.load(&zone.rules.zone);
    let config = &loaded.config;
    let hosted = hosted_zone(config, zone).await?;
    let mut sync = ZoneSync::new(
        zone,
        Source::Primaries(loaded.primaries(zone)),
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
    let status = if mark.is_none() {
        Status::NeverSynced
    } else if route53 == Some(primary) && unfinished_apply.is_none() && differences.is_empty() {
        Status::InSync
    } else {
        Status::Drift
    };
    Ok(Report {
        zone: zone.rules.zone.to_string(),
        status,
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
    let zone = &report.zone;
    match report.status {
        Status::InSync => outln!("OK {zone}: in sync ({serials})")?,
        Status::Drift => outln!(
            "DRIFT {zone}: {serials}; {} record set(s) differ",
            report.differences.len()
        )?,
        Status::NeverSynced => {
            let name = zone.trim_end_matches('.');
            outln!(
                "NEVER SYNCED {zone}: Route 53 has no _serial record: xfr53 has never synced this hosted zone (primary serial {}). Run `xfr53 sync {name}` (`xfr53 plan {name}` shows what it would change)",
                report.primary_serial.map_or("?".into(), |s| s.to_string())
            )?
        }
        Status::Error => outln!("ERROR {zone}: {}", report.error.as_deref().unwrap_or(""))?,
    }
    for difference in &report.differences {
        outln!("  {difference}")?;
    }
    Ok(())
}
