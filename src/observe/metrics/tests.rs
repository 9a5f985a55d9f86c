use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

use super::super::families::Families;
use super::*;

fn name(text: &str) -> Name {
    Name::parse_route53(text).unwrap()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

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
    let a = metrics.zone(&name("a.test"));
    metrics.zone(&name("b.test"));
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
        assert!(has_line(&text, line), "no {line:?} in\n{text}");
    }
}

#[test]
fn a_timeout_or_a_dead_task_is_not_ready_until_a_success() {
    for fail in [
        |m: &ZoneMetrics| m.record(SyncResult::Timeout, Duration::ZERO, (0, 0, 0), 1100),
        |m: &ZoneMetrics| m.task_died(),
    ] {
        let m = synced_at(1000);
        fail(&m);
        assert_eq!(m.readiness(1101), Err(Unready::Stalled));
        m.record(SyncResult::Failed, Duration::ZERO, (0, 0, 0), 1102);
        assert!(
            m.readiness(1103).is_err(),
            "a plain failure does not clear it"
        );
        m.record(SyncResult::UpToDate, Duration::ZERO, (0, 0, 0), 1104);
        assert_eq!(m.readiness(1105), Ok(()));
    }
}

/// `/readyz` and the `ready` gauge say the same, from the one judgement.
#[test]
fn readyz_and_the_ready_metric_agree() {
    let metrics = Metrics::default();
    let m = metrics.zone(&name("a.test"));
    assert_eq!(metrics.not_ready(1000), ["a.test.: not synced yet"]);
    assert!(has_line(
        &metrics.render(1000),
        "xfr53_ready{zone=\"a.test.\"} 0"
    ));
    m.set_expire(Duration::from_secs(3600));
    m.record(SyncResult::Applied, Duration::ZERO, (1, 0, 0), 1000);
    assert!(metrics.not_ready(1001).is_empty());
    assert!(has_line(
        &metrics.render(1001),
        "xfr53_ready{zone=\"a.test.\"} 1"
    ));
    m.task_died();
    let text = metrics.render(1002);
    assert!(has_line(&text, "xfr53_ready{zone=\"a.test.\"} 0"), "{text}");
    assert!(
        has_line(&text, "xfr53_zone_task_restarts_total{zone=\"a.test.\"} 1"),
        "{text}"
    );
    assert_eq!(
        metrics.not_ready(1002),
        ["a.test.: a sync timed out or the zone task died; ready after the next successful sync"]
    );
}

/// Names, types, help and label order as they were before prometheus-client.
#[test]
fn the_exposition_keeps_its_names_types_and_buckets() {
    let metrics = Metrics::default();
    let m = metrics.zone(&name("a.test"));
    let text = metrics.render(0);
    assert!(
        !text.contains("xfr53_primary_serial{"),
        "unknown serial shown:\n{text}"
    );
    assert!(has_line(&text, "xfr53_drift{zone=\"a.test.\"} 0"), "{text}");
    m.set_primary_serial(7);
    m.record(
        SyncResult::Applied,
        Duration::from_millis(700),
        (2, 1, 0),
        50,
    );
    let text = metrics.render(60);
    for line in [
        "# HELP xfr53_syncs_total Syncs by result.",
        "# TYPE xfr53_syncs_total counter",
        "xfr53_syncs_total{zone=\"a.test.\",result=\"applied\"} 1",
        "xfr53_syncs_total{zone=\"a.test.\",result=\"timeout\"} 0",
        "xfr53_changes_total{zone=\"a.test.\",action=\"create\"} 2",
        "xfr53_changes_total{zone=\"a.test.\",action=\"delete\"} 1",
        "xfr53_plans_total{zone=\"a.test.\",scope=\"whole_zone\"} 0",
        "# TYPE xfr53_primary_serial gauge",
        "xfr53_primary_serial{zone=\"a.test.\"} 7",
        "xfr53_drift{zone=\"a.test.\"} 1",
        "# TYPE xfr53_sync_duration_seconds histogram",
        "xfr53_sync_duration_seconds_bucket{zone=\"a.test.\",le=\"0.5\"} 0",
        "xfr53_sync_duration_seconds_bucket{zone=\"a.test.\",le=\"1\"} 1",
        "xfr53_sync_duration_seconds_bucket{zone=\"a.test.\",le=\"+Inf\"} 1",
        "xfr53_sync_duration_seconds_count{zone=\"a.test.\"} 1",
        "xfr53_last_success_timestamp_seconds{zone=\"a.test.\"} 50",
        "xfr53_transfer_limit_total{zone=\"a.test.\",limit=\"records\"} 0",
        "# TYPE xfr53_http_connections_refused_total counter",
        "xfr53_http_connections_refused_total 0",
    ] {
        assert!(has_line(&text, line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("# EOF"), "Prometheus text, not OpenMetrics");
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

/// A zone taken out of the configuration takes every series with it.
#[test]
fn a_removed_zone_leaves_no_series() {
    let metrics = Metrics::default();
    for zone in ["gone.test", "kept.test"] {
        let m = metrics.zone(&name(zone));
        m.set_primary_serial(1);
        m.set_route53_serial(1);
        m.record(SyncResult::Applied, Duration::ZERO, (1, 1, 1), 5);
        m.count_plan(true);
        m.skip_notify();
        m.defer_notify();
        m.task_died();
    }
    assert!(metrics.render(6).contains("gone.test."));
    metrics.retain(&[name("kept.test")]);
    let text = metrics.render(6);
    assert!(!text.contains("gone.test."), "{text}");
    assert!(
        has_line(&text, "xfr53_route53_serial{zone=\"kept.test.\"} 1"),
        "{text}"
    );
    // back in a later reload: counted from zero again
    metrics.zone(&name("gone.test"));
    let text = metrics.render(7);
    assert!(
        has_line(
            &text,
            "xfr53_zone_task_restarts_total{zone=\"gone.test.\"} 0"
        ),
        "{text}"
    );
}

/// A label value with a quote, a backslash or a newline cannot end the
/// value or the line early (the text format's three escapes).
#[test]
fn label_values_are_escaped() {
    let families = Families::default();
    let mut registry = Registry::default();
    families.register(&mut registry);
    let series = families.series("q\"b\\s\nn".to_string());
    series.show(Some(3), None, true);
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry).unwrap();
    assert!(
        has_line(&text, r#"primary_serial{zone="q\"b\\s\nn"} 3"#),
        "{text}"
    );
    assert!(
        has_line(&text, r#"syncs_total{zone="q\"b\\s\nn",result="failed"} 0"#),
        "{text}"
    );
    // a zone's own name holds backslashes: Route 53's octal escapes
    let metrics = Metrics::default();
    metrics.zone(&Name::from_labels([b"q\"b\\s\nn".as_slice(), b"test"]));
    let text = metrics.render(0);
    let zone = r#"zone="q\\042b\\134s\\012n.test.""#;
    assert!(
        has_line(&text, &format!("xfr53_ready{{{zone}}} 0")),
        "{text}"
    );
    assert!(
        has_line(
            &text,
            &format!("xfr53_transfer_limit_total{{{zone},limit=\"bytes\"}} 0")
        ),
        "{text}"
    );
}
