//! What the daemon counts, shown on `/metrics` in the Prometheus text
//! format (version 0.0.4) by prometheus-client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use super::catalogs::CatalogMetrics;
use super::collected::Collected;
use super::families::{Families, ZoneSeries};
use crate::core::name::Name;
use crate::core::schedule::{SyncRecord, Unready};
use crate::dns::listener::Counters;
use crate::dns::transfer::LimitHits;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// How a sync ended, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncResult {
    Applied,
    UpToDate,
    Refused,
    Failed,
    /// Still running at its deadline (`sync_timeout_seconds`): abandoned.
    Timeout,
}

impl SyncResult {
    pub(super) const ALL: [SyncResult; 5] = [
        SyncResult::Applied,
        SyncResult::UpToDate,
        SyncResult::Refused,
        SyncResult::Failed,
        SyncResult::Timeout,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            SyncResult::Applied => "applied",
            SyncResult::UpToDate => "up_to_date",
            SyncResult::Refused => "refused",
            SyncResult::Failed => "failed",
            SyncResult::Timeout => "timeout",
        }
    }
}

/// How an audit of a zone ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditResult {
    /// Route 53 is what the kept view (or the primary's zone) says.
    Clean,
    /// Route 53 was off the primary's serial: the audit synced it.
    Synced,
    /// Drift found and left (`repair_drift` off, or a safety rule refused).
    Drift,
    Repaired,
    Failed,
}

impl AuditResult {
    pub(super) const ALL: [AuditResult; 5] = [
        AuditResult::Clean,
        AuditResult::Synced,
        AuditResult::Drift,
        AuditResult::Repaired,
        AuditResult::Failed,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            AuditResult::Clean => "clean",
            AuditResult::Synced => "synced",
            AuditResult::Drift => "drift",
            AuditResult::Repaired => "repaired",
            AuditResult::Failed => "failed",
        }
    }
}

/// Unix seconds, as the readiness record counts time.
fn unix(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// One zone's figures. Serials are stored plus one, so 0 means unknown.
#[derive(Debug)]
pub struct ZoneMetrics {
    series: ZoneSeries,
    primary_serial: AtomicU64,
    route53_serial: AtomicU64,
    /// What readiness is judged on, in Unix seconds.
    sync: Mutex<SyncRecord>,
    /// Handed to the zone's primaries: transfers stopped at a limit.
    transfer_limits: Arc<LimitHits>,
}

/// Figures shown nowhere (for tests and tools that need a zone's).
impl Default for ZoneMetrics {
    fn default() -> ZoneMetrics {
        ZoneMetrics::new(Families::default().series(String::new()))
    }
}

/// What the daemon's NOTIFY coalescing counts.
impl ZoneMetrics {
    /// Counts a NOTIFY held back to space the zone's syncs.
    pub fn defer_notify(&self) {
        self.series.notify_deferred.inc();
    }

    /// Counts a NOTIFY dropped for announcing a serial already synced.
    pub fn skip_notify(&self) {
        self.series.notify_skipped.inc();
    }
}

impl ZoneMetrics {
    fn new(series: ZoneSeries) -> ZoneMetrics {
        ZoneMetrics {
            series,
            primary_serial: AtomicU64::new(0),
            route53_serial: AtomicU64::new(0),
            sync: Mutex::default(),
            transfer_limits: Arc::default(),
        }
    }

    /// The counter the zone's transfers count their limits in.
    pub fn transfer_limits(&self) -> Arc<LimitHits> {
        self.transfer_limits.clone()
    }

    pub fn set_primary_serial(&self, serial: u32) {
        self.primary_serial
            .store(u64::from(serial) + 1, Ordering::Relaxed);
    }

    pub fn set_route53_serial(&self, serial: u32) {
        self.route53_serial
            .store(u64::from(serial) + 1, Ordering::Relaxed);
    }

    pub fn set_expire(&self, expire: Duration) {
        self.sync().expire = expire;
    }

    /// Counts a finished sync; `changes` are (create, delete, modify).
    pub fn record(
        &self,
        result: SyncResult,
        took: Duration,
        changes: (usize, usize, usize),
        now_unix: u64,
    ) {
        self.series.syncs[result as usize].inc();
        for (counter, n) in self
            .series
            .changes
            .iter()
            .zip([changes.0, changes.1, changes.2])
        {
            counter.inc_by(n as u64);
        }
        match result {
            SyncResult::Applied | SyncResult::UpToDate => {
                self.sync().succeeded(unix(now_unix));
                let at = i64::try_from(now_unix).unwrap_or(i64::MAX);
                self.series.last_success.set(at);
            }
            SyncResult::Timeout => self.sync().stall(),
            SyncResult::Refused | SyncResult::Failed => {}
        }
        self.series.duration.observe(took.as_secs_f64());
    }

    /// Counts a finished audit.
    pub fn count_audit(&self, result: AuditResult) {
        self.series.audits[result as usize].inc();
    }

    /// Counts a plan: `scoped` when it covered only the names changed since
    /// the last landed plan.
    pub fn count_plan(&self, scoped: bool) {
        self.series.plans[usize::from(!scoped)].inc();
    }

    /// A sync started now, with this deadline.
    pub fn sync_started(&self, now_unix: u64, deadline: Duration) {
        self.sync().started(unix(now_unix), deadline);
    }

    /// The sync ended (however: `record` counts how).
    pub fn sync_ended(&self) {
        self.sync().ended();
    }

    /// The zone's task died: not ready until a sync succeeds again.
    pub fn task_died(&self) {
        self.series.task_restarts.inc();
        let mut sync = self.sync();
        sync.stall();
        sync.ended();
    }

    /// Whether the zone is ready, and if not, why.
    pub fn readiness(&self, now_unix: u64) -> Result<(), Unready> {
        self.sync().readiness(unix(now_unix))
    }

    fn sync(&self) -> MutexGuard<'_, SyncRecord> {
        // plain data: whole whatever panicked while it was held
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the state gauges for a scrape at `now_unix`.
    fn show(&self, now_unix: u64) {
        let serial = |v: &AtomicU64| {
            let stored = v.load(Ordering::Relaxed).checked_sub(1)?;
            u32::try_from(stored).ok()
        };
        self.series.show(
            serial(&self.primary_serial),
            serial(&self.route53_serial),
            self.readiness(now_unix).is_ok(),
        );
    }
}

/// Everything `/metrics` shows.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    families: Families,
    /// The zones, and the counters read at each scrape.
    collected: Arc<Collected>,
    http_refused: Counter,
    http_deadline: Counter,
    /// The `[[catalog]]` zones' figures.
    pub catalogs: CatalogMetrics,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("xfr53");
        let families = Families::default();
        families.register(&mut registry);
        let (http_refused, http_deadline) = (Counter::default(), Counter::default());
        registry.register(
            "http_connections_refused",
            "HTTP connections closed at once: all slots taken",
            http_refused.clone(),
        );
        registry.register(
            "http_deadline",
            "HTTP connections closed at their deadline, unanswered",
            http_deadline.clone(),
        );
        let collected = Arc::new(Collected::default());
        registry.register_collector(Box::new(collected.clone()));
        let catalogs = CatalogMetrics::default();
        catalogs.register(&mut registry);
        Metrics {
            registry,
            families,
            collected,
            http_refused,
            http_deadline,
            catalogs,
        }
    }
}

/// The HTTP endpoint's limits.
impl Metrics {
    /// A connection closed at once: the endpoint had no slot for it.
    pub fn count_http_refused(&self) {
        self.http_refused.inc();
    }

    /// A connection closed at its deadline before it was answered.
    pub fn count_http_deadline(&self) {
        self.http_deadline.inc();
    }
}

impl Metrics {
    /// The figures of `zone`, created on first use.
    pub fn zone(&self, zone: &Name) -> Arc<ZoneMetrics> {
        let mut zones = self.collected.zones.write().expect("never poisoned");
        let figures = zones
            .entry(zone.clone())
            .or_insert_with(|| Arc::new(ZoneMetrics::new(self.families.series(zone.to_string()))));
        figures.clone()
    }

    /// Keeps only these zones (after a reload): the others' series go.
    pub fn retain(&self, keep: &[Name]) {
        let mut zones = self.collected.zones.write().expect("never poisoned");
        zones.retain(|zone, figures| {
            let kept = keep.contains(zone);
            if !kept {
                figures.series.remove();
            }
            kept
        });
    }

    pub fn set_notify_counters(&self, counters: Arc<Counters>) {
        *self.collected.listener.write().expect("never poisoned") = Some(counters);
    }

    /// Each zone (or catalog) that is not ready, with why.
    pub fn not_ready(&self, now_unix: u64) -> Vec<String> {
        let zones = self.collected.zones.read().expect("never poisoned");
        zones
            .iter()
            .filter_map(|(zone, m)| Some(format!("{zone}: {}", m.readiness(now_unix).err()?)))
            .chain(self.catalogs.not_ready())
            .collect()
    }

    /// The Prometheus text exposition ([`CONTENT_TYPE`]).
    pub fn render(&self, now_unix: u64) -> String {
        {
            let zones = self.collected.zones.read().expect("never poisoned");
            zones.values().for_each(|m| m.show(now_unix));
        }
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)
            .expect("a String takes any text, and every label value encodes");
        out
    }
}

#[cfg(test)]
mod tests;
