//! The audit of one zone: is Route 53 still what the kept view says? A
//! shallow pass reads `_serial` alone; a deep one lists the zone in full
//! and compares it with the primary's zone at the same serial. Drift (a
//! hand edit, another tool) is reported, and repaired when asked, under
//! the same safety rules as any sync.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{SyncOutcome, ZoneSync};
use crate::route53::apply::apply;
use crate::route53::HostedZone;

impl<Z: HostedZone> ZoneSync<'_, Z> {
    /// Audits the zone: shallow unless `deep` (or unless `_serial` moved
    /// from the kept view, or there is none). Route 53 off the primary's
    /// serial is a sync's work, done here on the listing just read.
    pub async fn audit(&mut self, deep: bool, repair: bool) -> Result<SyncOutcome> {
        let zone = self.config.rules.zone.clone();
        if let Some(serial) = self.state.route53.as_ref().map(|v| v.serial()) {
            if !deep {
                if self.route53_serial().await? == Some(serial) {
                    return Ok(SyncOutcome::UpToDate(serial));
                }
                tracing::info!(zone = %zone, view = serial.0, "audit: _serial moved from the serial the kept view holds; listing the zone");
            }
        }
        let primary_serial = self.primary_serial().await?;
        let listed = self.relist().await?;
        if self.serial_in(&listed) != Some(primary_serial) {
            return self.sync(false).await;
        }
        self.transfer_held(primary_serial).await?;
        let desired = Arc::new(self.convert(None).await?);
        let plan = self.plan_off(&desired, &listed, None, false).await??;
        if plan.batches.is_empty() {
            return Ok(SyncOutcome::UpToDate(primary_serial));
        }
        let s = plan.summary;
        tracing::warn!(zone = %zone, serial = primary_serial.0, created = s.create, deleted = s.delete, modified = s.modify, "audit: Route 53 differs from the primary's zone at the serial its _serial holds");
        if !repair || plan.is_refused() {
            return Ok(SyncOutcome::Drifted {
                plan,
                repaired: false,
            });
        }
        if let Err(stopped) = apply(
            self.hosted,
            &plan,
            self.insync_timeout,
            self.stop.as_deref(),
        )
        .await
        {
            // a batch may have landed: the listing no longer holds
            self.state.route53 = None;
            return Err(stopped.error)
                .with_context(|| format!("zone {zone}: repairing drift in Route 53"));
        }
        self.landed(&plan, listed);
        Ok(SyncOutcome::Drifted {
            plan,
            repaired: true,
        })
    }
}
