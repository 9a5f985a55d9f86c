//! One catalog's task: the catalog zone transferred on its schedule (SOA
//! refresh, NOTIFY) like any zone, never synced to Route 53; after each
//! read its member set goes to the daemon, which starts and stops the
//! members' zone tasks. Missing hosted zones are created first when the
//! catalog says so.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{bail, Result};
use hickory_proto::rr::rdata::SOA;
use tokio::sync::{mpsc, watch, Mutex};

use super::scheduler::drive;
use crate::config::CatalogConfig;
use crate::core::catalog::{caller_reference, members};
use crate::core::name::Name;
use crate::core::schedule::{Event, Schedule, Timers};
use crate::core::serial::Serial;
use crate::core::zone::Zone;
use crate::dns::primary::Primary;
use crate::dns::soa::query_soa;
use crate::dns::transfer::{refresh, Transferred};
use crate::engine::PrimarySoa;
use crate::observe::catalogs::CatalogMetrics;
use crate::route53::throttle::in_lane;
use crate::route53::HostedZones;

/// A catalog's member zones, as last read.
#[derive(Debug)]
pub struct MemberSet {
    pub catalog: Name,
    pub members: BTreeSet<Name>,
}

/// What a catalog's task holds between reads.
struct Held {
    zone: Zone,
    /// Members whose hosted zone is known to exist (create_hosted_zones).
    hosted: BTreeSet<Name>,
    /// The members last sent.
    sent: BTreeSet<Name>,
}

/// Runs `catalog`'s schedule until `shutdown` changes, sending each member
/// set read to `updates`.
pub async fn catalog_task<Z: HostedZones>(
    catalog: Arc<CatalogConfig>,
    primaries: Arc<Vec<Primary>>,
    route53: Arc<Z>,
    updates: mpsc::Sender<MemberSet>,
    metrics: CatalogMetrics,
    mut notified: mpsc::Receiver<()>,
    shutdown: watch::Receiver<bool>,
) {
    let held = Arc::new(Mutex::new(Held {
        zone: Zone::new(catalog.name().clone()),
        hosted: BTreeSet::new(),
        sent: BTreeSet::new(),
    }));
    // until the first SOA is seen: a day's expire, the configured clamps
    let schedule = Schedule::new(Timers::from_soa(3600, 600, 86_400, catalog.zone.clamps));
    // a read still running at shutdown is aborted with it: it writes nothing
    // its Route 53 requests (create_hosted_zones, the listing for new
    // members) in the lane of what started the read, like a zone's sync
    drive(schedule, &mut notified, shutdown, |lane| {
        tokio::spawn(in_lane(
            lane,
            read_once(
                catalog.clone(),
                primaries.clone(),
                route53.clone(),
                updates.clone(),
                metrics.clone(),
                held.clone(),
            ),
        ))
    })
    .await;
}

/// One read of the catalog; the event for its schedule.
async fn read_once<Z: HostedZones>(
    catalog: Arc<CatalogConfig>,
    primaries: Arc<Vec<Primary>>,
    route53: Arc<Z>,
    updates: mpsc::Sender<MemberSet>,
    metrics: CatalogMetrics,
    held: Arc<Mutex<Held>>,
) -> Event {
    let name = catalog.name();
    let mut held = held.lock().await;
    let read = match transfer(name, &primaries, &mut held.zone).await {
        Ok(soa) => members(&held.zone)
            .map_err(anyhow::Error::from)
            .map(|m| (soa, m)),
        Err(e) => Err(e),
    };
    let (soa, members) = match read {
        Ok(read) => read,
        Err(e) => {
            metrics.count_failure(name);
            tracing::error!(catalog = %name, "reading the catalog failed, its member set stays as it was: {e:#}");
            return Event::Failed {
                jitter: rand::random(),
            };
        }
    };
    if catalog.create_hosted_zones {
        held.hosted.retain(|zone| members.contains(zone));
        let unknown: Vec<Name> = members.difference(&held.hosted).cloned().collect();
        let serial = Serial(soa.serial());
        let created = create_missing(route53.as_ref(), name, unknown, serial).await;
        held.hosted.extend(created);
    }
    // the new members' tasks find their hosted zones in one listing of the
    // account when that is cheaper than a lookup each
    route53
        .prefetch(members.difference(&held.sent).count())
        .await;
    held.sent = members.clone();
    let set = MemberSet {
        catalog: name.clone(),
        members,
    };
    // an error: the daemon is stopping
    let _ = updates.send(set).await;
    Event::Succeeded {
        timers: PrimarySoa::from(&soa).timers(catalog.zone.clamps),
    }
}

/// Creates a public hosted zone for each of `members` that has none (one
/// listing of the account's zones, then one request per zone created).
/// Returns those that have one now.
async fn create_missing<Z: HostedZones>(
    route53: &Z,
    catalog: &Name,
    members: Vec<Name>,
    serial: Serial,
) -> Vec<Name> {
    if members.is_empty() {
        return members;
    }
    let existing = match route53.names().await {
        Ok(names) => names,
        Err(e) => {
            tracing::error!(catalog = %catalog, "listing the hosted zones failed; members without one are created at the next read of the catalog: {e:#}");
            return Vec::new();
        }
    };
    let mut hosted = Vec::new();
    for zone in members {
        if existing.contains(&zone) {
            hosted.push(zone);
            continue;
        }
        let reference = caller_reference(catalog, &zone, serial);
        match route53.create(&zone, &reference).await {
            Ok(name_servers) => {
                tracing::warn!(catalog = %catalog, zone = %zone, name_servers = ?name_servers, "created a public hosted zone for the new member: delegate the zone to these name servers (none listed: created by an earlier request with the same reference)");
                hosted.push(zone);
            }
            Err(e) => {
                tracing::error!(catalog = %catalog, zone = %zone, "creating the member's hosted zone failed; its syncs fail until one exists, and the next read of the catalog tries again: {e:#}")
            }
        }
    }
    hosted
}

/// Brings `held` to the catalog's serial at the first primary that
/// answers: IXFR from the serial held, else AXFR (`dns::transfer`).
/// Returns the primary's SOA.
async fn transfer(name: &Name, primaries: &[Primary], held: &mut Zone) -> Result<SOA> {
    let mut errors = Vec::new();
    for primary in primaries {
        let soa = match query_soa(primary, name).await {
            Ok(soa) => soa,
            Err(e) => {
                errors.push(format!("{e:#}"));
                continue;
            }
        };
        let serial = Serial(soa.serial());
        let behind = |held: &Zone| {
            !held.serial().is_some_and(|s| {
                matches!(
                    s.partial_cmp(&serial),
                    Some(Ordering::Greater | Ordering::Equal)
                )
            })
        };
        if !behind(held) {
            if held.serial() == Some(serial) {
                return Ok(soa);
            }
            tracing::warn!(catalog = %name, held = ?held.serial().map(|s| s.0), primary = serial.0, "the held catalog is ahead of the primary's serial; transferring it whole");
            *held = Zone::new(name.clone());
        }
        match refresh(primary, held).await {
            Ok((outcome, stats)) if !behind(held) => {
                let kind = match outcome {
                    Transferred::UpToDate => "none",
                    Transferred::Incremental(_) => "IXFR",
                    Transferred::Full { .. } => "AXFR",
                };
                tracing::info!(catalog = %name, primary = %primary.addr, serial = serial.0, records = stats.records, kind, "catalog transferred");
                return Ok(soa);
            }
            Ok(_) => errors.push(format!(
                "primary {} transferred a serial behind the {serial} its SOA answered",
                primary.addr
            )),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    bail!("catalog {name}: {}", errors.join("; "))
}
