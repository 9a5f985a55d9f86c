//! What each command does, on top of the library.

pub mod check;
pub mod config_check;
pub mod plan;
pub mod sync;

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::Common;
use crate::config::{Config, ZoneConfig};
use crate::core::name::Name;
use crate::route53::aws::{client, AwsHostedZone};
use crate::route53::throttle::Throttle;
use crate::state::{StateDir, ZoneState, DEFAULT_DIR};

/// How a command ended, as the exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done / in sync: exit 0.
    Ok,
    /// Drift found, or a safety rule refused the plan: exit 1.
    Refused,
}

/// A zone named on the command line (nsnotifyd passes it without the dot).
pub fn zone_name(text: &str) -> Result<Name> {
    Name::parse_route53(text).with_context(|| format!("{text:?} is not a valid zone name"))
}

pub fn state_dir(common: &Common, config: &Config) -> StateDir {
    StateDir::new(
        common
            .state_dir
            .clone()
            .or_else(|| config.state_dir.clone())
            .unwrap_or_else(|| DEFAULT_DIR.into()),
    )
}

/// The hosted zone of `zone`: the one the state's view was written to (if
/// the configuration does not name another), else found by ID or name.
pub async fn hosted_zone(
    config: &Config,
    zone: &ZoneConfig,
    state: &ZoneState,
) -> Result<AwsHostedZone> {
    let throttle = Arc::new(Throttle::new(config.route53.requests_per_second));
    let client = client(&config.route53).await;
    let known = state
        .route53
        .as_ref()
        .map(|view| view.hosted_zone_id.as_str())
        .filter(|id| !id.is_empty() && zone.hosted_zone_id.as_deref().is_none_or(|c| c == *id));
    if let Some(id) = known {
        return Ok(AwsHostedZone::known(client, throttle, &zone.rules.zone, id));
    }
    AwsHostedZone::find(
        client,
        throttle,
        &zone.rules.zone,
        zone.hosted_zone_id.as_deref(),
    )
    .await
    .with_context(|| {
        format!(
            "zone {}: finding its hosted zone in Route 53",
            zone.rules.zone
        )
    })
}
