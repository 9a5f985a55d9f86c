//! What the daemon counts, and its Prometheus text form.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::core::name::Name;
use crate::dns::listener::{Counters, LimitHit};
use crate::dns::notify::{TsigCase, Verdict};
use crate::dns::rate_limit::NoSlot;
use crate::dns::transfer::LimitHits;

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
    const ALL: [SyncResult; 5] = [
        SyncResult::Applied,
        SyncResult::UpToDate,
        SyncResult::Refused,
        SyncResult::Failed,
        SyncResult::Timeout,
    ];

    fn as_str(self) -> &'static str {
        match self {
            SyncResult::Applied => "applied",
            SyncResult::UpToDate => "up_to_date",
            SyncResult::Refused => "refused",
            SyncResult::Failed => "failed",
            SyncResult::Timeout => "timeout",
        }
    }
}

/// Upper bounds of the sync duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// One zone's figures. Serials are stored plus one, so 0 means unknown.
#[derive(Debug, Default)]
pub struct ZoneMetrics {
    notify_skipped: AtomicU64,
    notify_deferred: AtomicU64,
    primary_serial: AtomicU64,
    route53_serial: AtomicU64,
    syncs: [AtomicU64; 5],
    changes: [AtomicU64; 3],
    /// Plans made over the names changed since the last landed plan, and
    /// over the whole zone.
    plans: [AtomicU64; 2],
    duration: Mutex<(Vec<u64>, f64, u64)>,
    last_success_unix: AtomicU64,
    expire_seconds: AtomicU64,
    /// When the running sync started (0: none runs) and its deadline.
    running_since_unix: AtomicU64,
    deadline_seconds: AtomicU64,
    /// Set by a sync that ran out of time or a zone task that died;
    /// cleared by the next success.
    stalled: AtomicBool,
    task_restarts: AtomicU64,
    /// Handed to the zone's primaries: transfers stopped at a limit.
    transfer_limits: Arc<LimitHits>,
}

/// What the daemon's NOTIFY coalescing counts.
impl ZoneMetrics {
    /// Counts a NOTIFY held back to space the zone's syncs.
    pub fn defer_notify(&self) {
        self.notify_deferred.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a NOTIFY dropped for announcing a serial already synced.
    pub fn skip_notify(&self) {
        self.notify_skipped.fetch_add(1, Ordering::Relaxed);
    }
}

impl ZoneMetrics {
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
        self.expire_seconds
            .store(expire.as_secs(), Ordering::Relaxed);
    }

    /// Counts a finished sync; `changes` are (create, delete, modify).
    pub fn record(
        &self,
        result: SyncResult,
        took: Duration,
        changes: (usize, usize, usize),
        now_unix: u64,
    ) {
        self.syncs[result as usize].fetch_add(1, Ordering::Relaxed);
        for (counter, n) in self.changes.iter().zip([changes.0, changes.1, changes.2]) {
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
        if matches!(result, SyncResult::Applied | SyncResult::UpToDate) {
            self.last_success_unix.store(now_unix, Ordering::Relaxed);
            self.stalled.store(false, Ordering::Relaxed);
        }
        if result == SyncResult::Timeout {
            self.stalled.store(true, Ordering::Relaxed);
        }
        let mut histogram = self.duration.lock().expect("never poisoned");
        if histogram.0.is_empty() {
            histogram.0 = vec![0; BUCKETS.len()];
        }
        let seconds = took.as_secs_f64();
        for (count, bound) in histogram.0.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.1 += seconds;
        histogram.2 += 1;
    }

    /// Counts a plan: `scoped` when it covered only the names changed since
    /// the last landed plan.
    pub fn count_plan(&self, scoped: bool) {
        self.plans[usize::from(!scoped)].fetch_add(1, Ordering::Relaxed);
    }

    /// A sync started now, with this deadline.
    pub fn sync_started(&self, now_unix: u64, deadline: Duration) {
        self.deadline_seconds
            .store(deadline.as_secs(), Ordering::Relaxed);
        self.running_since_unix
            .store(now_unix.max(1), Ordering::Relaxed);
    }

    /// The sync ended (however: `record` counts how).
    pub fn sync_ended(&self) {
        self.running_since_unix.store(0, Ordering::Relaxed);
    }

    /// The zone's task died: not ready until a sync succeeds again.
    pub fn task_died(&self) {
        self.task_restarts.fetch_add(1, Ordering::Relaxed);
        self.stalled.store(true, Ordering::Relaxed);
        self.sync_ended();
    }

    /// Synced successfully within the SOA's expire; no sync past its
    /// deadline (running now, or the last one) and no dead task since.
    pub fn is_ready(&self, now_unix: u64) -> bool {
        self.unready(now_unix).is_none()
    }

    /// Why the zone is not ready, for `/readyz`; `None` when it is.
    pub fn unready(&self, now_unix: u64) -> Option<&'static str> {
        let last = self.last_success_unix.load(Ordering::Relaxed);
        let since = self.running_since_unix.load(Ordering::Relaxed);
        if since > 0
            && now_unix.saturating_sub(since) > self.deadline_seconds.load(Ordering::Relaxed)
        {
            Some("a sync has run past sync_timeout_seconds")
        } else if self.stalled.load(Ordering::Relaxed) {
            Some("a sync timed out or the zone task died; ready after the next successful sync")
        } else if last == 0 {
            Some("not synced yet")
        } else if now_unix.saturating_sub(last) > self.expire_seconds.load(Ordering::Relaxed) {
            Some("not synced within its SOA expire")
        } else {
            None
        }
    }
}

/// Everything `/metrics` shows.
#[derive(Default)]
pub struct Metrics {
    zones: RwLock<BTreeMap<Name, Arc<ZoneMetrics>>>,
    notify: RwLock<Option<Arc<Counters>>>,
    http_refused: AtomicU64,
    http_deadline: AtomicU64,
}

/// The HTTP endpoint's limits.
impl Metrics {
    /// A connection closed at once: the endpoint had no slot for it.
    pub fn count_http_refused(&self) {
        self.http_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed at its deadline before it was answered.
    pub fn count_http_deadline(&self) {
        self.http_deadline.fetch_add(1, Ordering::Relaxed);
    }
}

/// The counters of the listener's and the HTTP endpoint's limits.
fn render_limits(out: &mut String, metrics: &Metrics, zones: &BTreeMap<Name, Arc<ZoneMetrics>>) {
    let mut counter = |name: &str, help: &str, lines: Vec<(String, u64)>| {
        writeln!(
            out,
            "# HELP xfr53_{name} {help}\n# TYPE xfr53_{name} counter"
        )
        .unwrap();
        for (labels, n) in lines {
            writeln!(out, "xfr53_{name}{labels} {n}").unwrap();
        }
    };
    // a counter of each zone's, as its lines
    let per_zone = |field: fn(&ZoneMetrics) -> &AtomicU64| {
        zones
            .iter()
            .map(|(zone, m)| {
                let n = field(m).load(Ordering::Relaxed);
                (format!("{{zone=\"{zone}\"}}"), n)
            })
            .collect()
    };
    counter(
        "notify_skipped_total",
        "Accepted NOTIFYs that started no sync: their serial was already synced.",
        per_zone(|m| &m.notify_skipped),
    );
    counter(
        "notify_deferred_total",
        "NOTIFYs that arrived within notify_sync_interval_seconds of the zone's last sync start by NOTIFY: they wait for the next slot (one sync for all).",
        per_zone(|m| &m.notify_deferred),
    );
    counter(
        "http_connections_refused_total",
        "HTTP connections closed at once: all slots taken.",
        vec![(String::new(), metrics.http_refused.load(Ordering::Relaxed))],
    );
    counter(
        "http_deadline_total",
        "HTTP connections closed at their deadline, unanswered.",
        vec![(String::new(), metrics.http_deadline.load(Ordering::Relaxed))],
    );
    let notify = metrics.notify.read().expect("never poisoned");
    let Some(counters) = notify.as_ref() else {
        return;
    };
    counter(
        "notify_replies_limited_total",
        "UDP replies withheld by the per-source reply rate (the message itself was still handled).",
        vec![(String::new(), counters.replies_limited())],
    );
    counter(
        "notify_tcp_refused_total",
        "NOTIFY listener TCP connections closed at once: per_source (the source holds its share) or full.",
        [(NoSlot::PerSource, "per_source"), (NoSlot::Full, "full")]
            .into_iter()
            .map(|(why, label)| (format!("{{reason=\"{label}\"}}"), counters.tcp_refused(why)))
            .collect(),
    );
    counter(
        "notify_tcp_deadline_total",
        "NOTIFY listener TCP connections closed at the per-connection deadline.",
        vec![(String::new(), counters.tcp_deadline())],
    );
    counter(
        "notify_limit_total",
        "NOTIFY listener bounds reached: reply_sources (busy sources forgotten at notify_reply_sources), replay_cache (unexpired MACs dropped at notify_replay_cache: replayable again), tcp_messages, tcp_idle (connections closed), queue (accepted NOTIFYs dropped: the zones' queue was full), message_size (messages over notify_max_message_bytes dropped).",
        LimitHit::ALL
            .into_iter()
            .map(|limit| {
                (
                    format!("{{limit=\"{}\"}}", limit.as_str()),
                    counters.limit_hit(limit),
                )
            })
            .collect(),
    );
}

impl Metrics {
    /// The figures of `zone`, created on first use.
    pub fn zone(&self, zone: &Name) -> Arc<ZoneMetrics> {
        let mut zones = self.zones.write().expect("never poisoned");
        zones.entry(zone.clone()).or_default().clone()
    }

    /// Keeps only these zones (after a reload).
    pub fn retain(&self, keep: &[Name]) {
        self.zones
            .write()
            .expect("never poisoned")
            .retain(|z, _| keep.contains(z));
    }

    pub fn set_notify_counters(&self, counters: Arc<Counters>) {
        *self.notify.write().expect("never poisoned") = Some(counters);
    }

    /// Every configured zone synced within its expire.
    /// Each zone that is not ready, with why.
    pub fn not_ready(&self, now_unix: u64) -> Vec<String> {
        self.zones
            .read()
            .expect("never poisoned")
            .iter()
            .filter_map(|(zone, m)| Some(format!("{zone}: {}", m.unready(now_unix)?)))
            .collect()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, now_unix: u64) -> String {
        let mut out = String::new();
        let zones = self.zones.read().expect("never poisoned");
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str| {
            writeln!(
                out,
                "# HELP xfr53_{name} {help}\n# TYPE xfr53_{name} {kind}"
            )
            .unwrap();
        };
        let serial = |v: &AtomicU64| v.load(Ordering::Relaxed).checked_sub(1);
        gauge(
            &mut out,
            "primary_serial",
            "The primary's SOA serial at the last check.",
            "gauge",
        );
        for (zone, m) in zones.iter() {
            if let Some(s) = serial(&m.primary_serial) {
                writeln!(out, "xfr53_primary_serial{{zone=\"{zone}\"}} {s}").unwrap();
            }
        }
        gauge(
            &mut out,
            "route53_serial",
            "The serial Route 53's _serial record holds.",
            "gauge",
        );
        for (zone, m) in zones.iter() {
            if let Some(s) = serial(&m.route53_serial) {
                writeln!(out, "xfr53_route53_serial{{zone=\"{zone}\"}} {s}").unwrap();
            }
        }
        gauge(
            &mut out,
            "drift",
            "1 when Route 53's serial differs from the primary's.",
            "gauge",
        );
        for (zone, m) in zones.iter() {
            let drift = serial(&m.primary_serial) != serial(&m.route53_serial);
            writeln!(out, "xfr53_drift{{zone=\"{zone}\"}} {}", u8::from(drift)).unwrap();
        }
        gauge(&mut out, "syncs_total", "Syncs by result.", "counter");
        for (zone, m) in zones.iter() {
            for result in SyncResult::ALL {
                let n = m.syncs[result as usize].load(Ordering::Relaxed);
                writeln!(
                    out,
                    "xfr53_syncs_total{{zone=\"{zone}\",result=\"{}\"}} {n}",
                    result.as_str()
                )
                .unwrap();
            }
        }
        gauge(
            &mut out,
            "changes_total",
            "Record sets changed, by action.",
            "counter",
        );
        for (zone, m) in zones.iter() {
            for (i, action) in ["create", "delete", "modify"].iter().enumerate() {
                let n = m.changes[i].load(Ordering::Relaxed);
                writeln!(
                    out,
                    "xfr53_changes_total{{zone=\"{zone}\",action=\"{action}\"}} {n}"
                )
                .unwrap();
            }
        }
        gauge(
            &mut out,
            "plans_total",
            "Plans made, by what they covered: the names changed since the last plan landed, or the whole zone (after a start, a whole transfer, a full listing or a failure).",
            "counter",
        );
        for (zone, m) in zones.iter() {
            for (i, scope) in ["changed_names", "whole_zone"].iter().enumerate() {
                let n = m.plans[i].load(Ordering::Relaxed);
                writeln!(
                    out,
                    "xfr53_plans_total{{zone=\"{zone}\",scope=\"{scope}\"}} {n}"
                )
                .unwrap();
            }
        }
        gauge(
            &mut out,
            "sync_duration_seconds",
            "How long syncs take.",
            "histogram",
        );
        for (zone, m) in zones.iter() {
            let histogram = m.duration.lock().expect("never poisoned");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let n = histogram.0.get(i).copied().unwrap_or(0);
                writeln!(
                    out,
                    "xfr53_sync_duration_seconds_bucket{{zone=\"{zone}\",le=\"{bound}\"}} {n}"
                )
                .unwrap();
            }
            writeln!(
                out,
                "xfr53_sync_duration_seconds_bucket{{zone=\"{zone}\",le=\"+Inf\"}} {}",
                histogram.2
            )
            .unwrap();
            writeln!(
                out,
                "xfr53_sync_duration_seconds_sum{{zone=\"{zone}\"}} {}",
                histogram.1
            )
            .unwrap();
            writeln!(
                out,
                "xfr53_sync_duration_seconds_count{{zone=\"{zone}\"}} {}",
                histogram.2
            )
            .unwrap();
        }
        gauge(
            &mut out,
            "last_success_timestamp_seconds",
            "When the zone last synced successfully.",
            "gauge",
        );
        for (zone, m) in zones.iter() {
            let t = m.last_success_unix.load(Ordering::Relaxed);
            writeln!(
                out,
                "xfr53_last_success_timestamp_seconds{{zone=\"{zone}\"}} {t}"
            )
            .unwrap();
        }
        gauge(
            &mut out,
            "zone_task_restarts_total",
            "Zone tasks that died (a bug) and were restarted.",
            "counter",
        );
        for (zone, m) in zones.iter() {
            let n = m.task_restarts.load(Ordering::Relaxed);
            writeln!(out, "xfr53_zone_task_restarts_total{{zone=\"{zone}\"}} {n}").unwrap();
        }
        gauge(
            &mut out,
            "ready",
            "1 when the zone synced within its SOA expire, and no sync ran past its deadline and no zone task died since.",
            "gauge",
        );
        for (zone, m) in zones.iter() {
            writeln!(
                out,
                "xfr53_ready{{zone=\"{zone}\"}} {}",
                u8::from(m.is_ready(now_unix))
            )
            .unwrap();
        }
        gauge(
            &mut out,
            "transfer_limit_total",
            "Transfers stopped at a limit: records, bytes or deadline.",
            "counter",
        );
        for (zone, m) in zones.iter() {
            for (limit, n) in m.transfer_limits.counts() {
                writeln!(
                    out,
                    "xfr53_transfer_limit_total{{zone=\"{zone}\",limit=\"{limit}\"}} {n}"
                )
                .unwrap();
            }
        }
        render_limits(&mut out, self, &zones);
        if let Some(counters) = self.notify.read().expect("never poisoned").as_ref() {
            gauge(
                &mut out,
                "notify_total",
                "NOTIFY listener messages by result.",
                "counter",
            );
            for verdict in Verdict::ALL {
                writeln!(
                    out,
                    "xfr53_notify_total{{result=\"{}\"}} {}",
                    verdict.as_str(),
                    counters.get(verdict)
                )
                .unwrap();
            }
            gauge(
                &mut out,
                "notify_tsig_total",
                "NOTIFYs from allowed sources by signature: signed and unsigned were accepted, bad_signature and unsigned_refused (notify_tsig = \"required\") refused.",
                "counter",
            );
            for case in TsigCase::ALL {
                writeln!(
                    out,
                    "xfr53_notify_tsig_total{{result=\"{}\"}} {}",
                    case.as_str(),
                    counters.tsig(case)
                )
                .unwrap();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced_at(now: u64) -> ZoneMetrics {
        let m = ZoneMetrics::default();
        m.set_expire(Duration::from_secs(3600));
        m.sync_started(now, Duration::from_secs(10));
        m.record(SyncResult::UpToDate, Duration::ZERO, (0, 0, 0), now);
        m.sync_ended();
        m
    }

    #[test]
    fn notify_counters_are_shown_per_zone() {
        let metrics = Metrics::default();
        let a = metrics.zone(&Name::parse_route53("a.test").unwrap());
        metrics.zone(&Name::parse_route53("b.test").unwrap());
        a.skip_notify();
        a.defer_notify();
        a.defer_notify();
        let text = metrics.render(0);
        for line in [
            "xfr53_notify_skipped_total{zone=\"a.test.\"} 1",
            "xfr53_notify_skipped_total{zone=\"b.test.\"} 0",
            "xfr53_notify_deferred_total{zone=\"a.test.\"} 2",
            "xfr53_notify_deferred_total{zone=\"b.test.\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }

    #[test]
    fn a_sync_running_past_its_deadline_is_not_ready() {
        let m = synced_at(1000);
        assert!(m.is_ready(1001));
        m.sync_started(1100, Duration::from_secs(10));
        assert!(m.is_ready(1110), "within its deadline");
        assert!(!m.is_ready(1111), "past its deadline");
    }

    #[test]
    fn a_timeout_or_a_dead_task_is_not_ready_until_a_success() {
        for fail in [
            |m: &ZoneMetrics| m.record(SyncResult::Timeout, Duration::ZERO, (0, 0, 0), 1100),
            |m: &ZoneMetrics| m.task_died(),
        ] {
            let m = synced_at(1000);
            fail(&m);
            assert!(!m.is_ready(1101));
            m.record(SyncResult::Failed, Duration::ZERO, (0, 0, 0), 1102);
            assert!(!m.is_ready(1103), "a plain failure does not clear it");
            m.record(SyncResult::UpToDate, Duration::ZERO, (0, 0, 0), 1104);
            assert!(m.is_ready(1105));
        }
        let m = synced_at(1000);
        m.task_died();
        let metrics = Metrics::default();
        *metrics.zones.write().unwrap() =
            BTreeMap::from([(Name::parse_route53("a.test").unwrap(), Arc::new(m))]);
        let text = metrics.render(1001);
        assert!(
            text.contains("xfr53_zone_task_restarts_total{zone=\"a.test.\"} 1"),
            "{text}"
        );
        assert!(text.contains("xfr53_ready{zone=\"a.test.\"} 0"), "{text}");
    }
}
