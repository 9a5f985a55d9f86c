//! `delete_removed`: the hosted zone of a member removed from its catalog
//! is emptied and deleted, once its zone task has stopped and under the
//! zone's state lock (so no sync of it runs meanwhile), unless it is
//! listed again by then. Tried once: a failure is logged and counted, and
//! the hosted zone is left for a person.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use tokio::sync::watch;

use crate::core::emptying::emptying;
use crate::core::name::Name;
use crate::core::rules::ZoneRules;
use crate::engine::state::StateDir;
use crate::observe::catalogs::CatalogMetrics;
use crate::route53::{HostedZone, HostedZones};

/// What keeps a deletion from racing a sync of the zone.
pub struct Guards {
    /// Says when the zone's task has stopped.
    pub stopped: watch::Receiver<bool>,
    /// Whose zone lock is held while deleting (as a sync holds it).
    pub states: StateDir,
    /// Every catalog's members now: one that came back is not deleted.
    pub listed: watch::Receiver<BTreeSet<Name>>,
}

/// Deletes the hosted zone of `rules.zone`, removed from `catalog`, once
/// its zone task has stopped, holding the zone's lock.
pub async fn delete_member<Z: HostedZones>(
    route53: Arc<Z>,
    rules: ZoneRules,
    catalog: Name,
    metrics: CatalogMetrics,
    mut guards: Guards,
) {
    let zone = rules.zone.clone();
    // dropped unsent: the daemon is stopping, and deletes nothing
    if guards.stopped.wait_for(|stopped| *stopped).await.is_err() {
        return;
    }
    let locked = guards.states.lock(&zone).await;
    if guards.listed.borrow().contains(&zone) {
        tracing::info!(catalog = %catalog, zone = %zone, "removed member is listed again: its hosted zone is kept and synced");
        return;
    }
    let deleted = match locked {
        Ok(_lock) => delete(&*route53, &rules).await,
        Err(e) => Err(e),
    };
    match deleted {
        Ok((id, sets)) => {
            tracing::warn!(catalog = %catalog, zone = %zone, hosted_zone_id = %id, record_sets = sets, "removed member's hosted zone deleted (delete_removed): its record sets, then the hosted zone");
            metrics.count_deleted(&catalog);
        }
        Err(e) => {
            tracing::error!(catalog = %catalog, zone = %zone, "removed member's hosted zone not deleted (delete_removed), and not tried again: {e:#}; delete it by hand, or add the zone back to the catalog to sync it again");
            metrics.count_delete_failures(&catalog, 1);
        }
    }
}

/// Empties the hosted zone of all but its apex SOA and NS, then deletes
/// it. Its ID and how many record sets were deleted.
async fn delete<Z: HostedZones>(route53: &Z, rules: &ZoneRules) -> Result<(String, usize)> {
    let zone = &rules.zone;
    let hosted = route53.open(zone, None, None).await?;
    let id = hosted.id().to_string();
    let listed =
        (hosted.list().await).map_err(|e| anyhow!("zone {zone}: listing hosted zone {id}: {e}"))?;
    let batches = emptying(&listed, rules).map_err(|e| anyhow!(e))?;
    let mut sets = 0;
    for batch in &batches {
        (hosted.change(batch).await).map_err(|e| {
            anyhow!("zone {zone}: deleting record sets of hosted zone {id} ({sets} deleted so far): {e}")
        })?;
        sets += batch.changes.len();
    }
    route53.delete(zone, &id).await?;
    Ok((id, sets))
}
