//! The per-zone metric families of `/metrics`, and one zone's series in
//! them. Names are registered without `_total`: the encoder adds it to
//! counters; the registry adds the final `.` to each help text.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::metrics::{AuditResult, SyncResult};

/// Upper bounds of the sync duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

const ACTIONS: [&str; 3] = ["create", "delete", "modify"];
/// Plans over the names changed since the last landed plan, and over the
/// whole zone.
const SCOPES: [&str; 2] = ["changed_names", "whole_zone"];

// Label values are escaped by the encoder (`\`, `"`, newline).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabel {
    zone: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    zone: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    zone: String,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    zone: String,
    scope: &'static str,
}

type PerZone<M> = Family<ZoneLabel, M>;

/// Every per-zone family; clones share their series.
#[derive(Clone, Debug)]
pub(super) struct Families {
    primary_serial: PerZone<Gauge>,
    route53_serial: PerZone<Gauge>,
    drift: PerZone<Gauge>,
    syncs: Family<ResultLabels, Counter>,
    audits: Family<ResultLabels, Counter>,
    changes: Family<ActionLabels, Counter>,
    plans: Family<ScopeLabels, Counter>,
    sync_duration: Family<ZoneLabel, Histogram, fn() -> Histogram>,
    last_success: PerZone<Gauge>,
    task_restarts: PerZone<Counter>,
    ready: PerZone<Gauge>,
    notify_skipped: PerZone<Counter>,
    notify_deferred: PerZone<Counter>,
}

impl Default for Families {
    fn default() -> Families {
        Families {
            primary_serial: Family::default(),
            route53_serial: Family::default(),
            drift: Family::default(),
            syncs: Family::default(),
            audits: Family::default(),
            changes: Family::default(),
            plans: Family::default(),
            sync_duration: Family::new_with_constructor(|| Histogram::new(BUCKETS)),
            last_success: Family::default(),
            task_restarts: Family::default(),
            ready: Family::default(),
            notify_skipped: Family::default(),
            notify_deferred: Family::default(),
        }
    }
}

impl Families {
    pub(super) fn register(&self, registry: &mut Registry) {
        let f = self.clone();
        registry.register(
            "primary_serial",
            "The primary's SOA serial at the last check",
            f.primary_serial,
        );
        registry.register(
            "route53_serial",
            "The serial Route 53's _serial record holds",
            f.route53_serial,
        );
        registry.register(
            "drift",
            "1 when Route 53's serial differs from the primary's",
            f.drift,
        );
        registry.register("syncs", "Syncs by result", f.syncs);
        registry.register("audits", "Audits by result: clean, synced (Route 53 was off the primary's serial), drift (found and left), repaired, failed", f.audits);
        registry.register("changes", "Record sets changed, by action", f.changes);
        registry.register("plans", "Plans made, by what they covered: the names changed since the last plan landed, or the whole zone (after a start, a whole transfer, a full listing or a failure)", f.plans);
        registry.register(
            "sync_duration_seconds",
            "How long syncs take",
            f.sync_duration,
        );
        registry.register(
            "last_success_timestamp_seconds",
            "When the zone last synced successfully",
            f.last_success,
        );
        registry.register(
            "zone_task_restarts",
            "Zone tasks that died (a bug) and were restarted",
            f.task_restarts,
        );
        registry.register("ready", "1 when the zone synced within its SOA expire, and no sync ran past its deadline and no zone task died since", f.ready);
        registry.register(
            "notify_skipped",
            "Accepted NOTIFYs that started no sync: their serial was already synced",
            f.notify_skipped,
        );
        registry.register("notify_deferred", "NOTIFYs that arrived within notify_sync_interval_seconds of the zone's last sync start by NOTIFY: they wait for the next slot (one sync for all)", f.notify_deferred);
    }

    /// The series of `zone`, each counter shown at zero from now on.
    pub(super) fn series(&self, zone: String) -> ZoneSeries {
        let label = ZoneLabel { zone };
        let zone = || label.zone.clone();
        ZoneSeries {
            syncs: SyncResult::ALL.map(|r| {
                let labels = ResultLabels {
                    zone: zone(),
                    result: r.as_str(),
                };
                self.syncs.get_or_create_owned(&labels)
            }),
            audits: AuditResult::ALL.map(|r| {
                self.audits.get_or_create_owned(&ResultLabels {
                    zone: zone(),
                    result: r.as_str(),
                })
            }),
            changes: ACTIONS.map(|action| {
                let labels = ActionLabels {
                    zone: zone(),
                    action,
                };
                self.changes.get_or_create_owned(&labels)
            }),
            plans: SCOPES.map(|scope| {
                self.plans.get_or_create_owned(&ScopeLabels {
                    zone: zone(),
                    scope,
                })
            }),
            duration: self.sync_duration.get_or_create_owned(&label),
            last_success: self.last_success.get_or_create_owned(&label),
            task_restarts: self.task_restarts.get_or_create_owned(&label),
            notify_skipped: self.notify_skipped.get_or_create_owned(&label),
            notify_deferred: self.notify_deferred.get_or_create_owned(&label),
            families: self.clone(),
            label,
        }
    }
}

/// One zone's series. Counters are counted as things happen; the state
/// gauges (serials, drift, ready) are set by [`ZoneSeries::show`] at each
/// scrape.
#[derive(Debug)]
pub(super) struct ZoneSeries {
    families: Families,
    label: ZoneLabel,
    pub(super) syncs: [Counter; SyncResult::ALL.len()],
    pub(super) audits: [Counter; AuditResult::ALL.len()],
    /// Record sets created, deleted, modified.
    pub(super) changes: [Counter; 3],
    /// Plans over changed names, over the whole zone.
    pub(super) plans: [Counter; 2],
    pub(super) duration: Histogram,
    pub(super) last_success: Gauge,
    pub(super) task_restarts: Counter,
    pub(super) notify_skipped: Counter,
    pub(super) notify_deferred: Counter,
}

impl ZoneSeries {
    /// Sets the state gauges; a serial not known yet is left out.
    pub(super) fn show(&self, primary: Option<u32>, route53: Option<u32>, ready: bool) {
        let f = &self.families;
        for (family, serial) in [(&f.primary_serial, primary), (&f.route53_serial, route53)] {
            if let Some(serial) = serial {
                family.get_or_create(&self.label).set(i64::from(serial));
            }
        }
        f.drift
            .get_or_create(&self.label)
            .set(i64::from(primary != route53));
        f.ready.get_or_create(&self.label).set(i64::from(ready));
    }

    /// Takes the zone out of every family (it left the configuration).
    pub(super) fn remove(&self) {
        let f = &self.families;
        let label = &self.label;
        let zone = || label.zone.clone();
        for family in [
            &f.primary_serial,
            &f.route53_serial,
            &f.drift,
            &f.last_success,
            &f.ready,
        ] {
            family.remove(label);
        }
        for family in [&f.task_restarts, &f.notify_skipped, &f.notify_deferred] {
            family.remove(label);
        }
        f.sync_duration.remove(label);
        for result in SyncResult::ALL {
            f.syncs.remove(&ResultLabels {
                zone: zone(),
                result: result.as_str(),
            });
        }
        for result in AuditResult::ALL {
            f.audits.remove(&ResultLabels {
                zone: zone(),
                result: result.as_str(),
            });
        }
        for action in ACTIONS {
            f.changes.remove(&ActionLabels {
                zone: zone(),
                action,
            });
        }
        for scope in SCOPES {
            f.plans.remove(&ScopeLabels {
                zone: zone(),
                scope,
            });
        }
    }
}
