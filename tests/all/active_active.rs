//! Two `xfr53 daemon`s on one hosted zone at once (active-active): one BIND
//! NOTIFYing both, the strict Route 53 double, separate state directories.
//! 200 updates land while one daemon is killed with -9 and restarted; the
//! end state is exact, `_serial` never went back in the double's history,
//! no alert fired and no sync failed.
//!
//! No failure is allowed, transient or not: alerts have no grace, so any
//! failed, refused or timed-out sync alerts. Nothing here is faulty but the
//! other writer and the kill, which the pair is meant to absorb; a failure
//! is the engine taking the other writer's work for a problem.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::bind;
use crate::support::daemon::{eventually, metric, Daemon};
use crate::support::moto::Moto;
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::{expected, managed, Setup};
use crate::support::sns::{published, topic};
use crate::support::strict_route53::history::Answered;
use crate::support::zones::generated;

const ZONE: &str = "pair.test";
const SERIAL: &str = "_serial._dyn.pair.test.";
const UPDATES: u32 = 200;
/// 200 updates over about 20 s.
const PACE: Duration = Duration::from_millis(100);
/// How long the double holds each of the second daemon's requests.
const HOLD: Duration = Duration::from_millis(150);

/// One daemon of the pair: its ports, configuration and access key ID.
struct Instance {
    key: &'static str,
    dns: u16,
    http: u16,
    config: PathBuf,
}

impl Instance {
    fn new(key: &'static str, setup: &Setup) -> Instance {
        Instance {
            key,
            dns: free_port(),
            http: free_port(),
            config: setup.dir.path().join(format!("{key}.toml")),
        }
    }

    /// The pair's one configuration but for the ports and state directory;
    /// any failed sync alerts at once (grace 0).
    fn write_config(&self, setup: &Setup, topic: &str, sns: &str) {
        let config = format!(
            r#"state_dir = "{dir}/state-{key}"

[route53]
endpoint = "{route53}"
requests_per_second = 50
insync_timeout_seconds = 30

[listen]
dns = ["127.0.0.1:{dns}"]
http = "127.0.0.1:{http}"

[alerts]
sns_topic_arn = "{topic}"
grace_seconds = 0
endpoint = "{sns}"

[[zone]]
name = "{ZONE}"
primaries = ["{primary}"]
"#,
            dir = setup.dir.path().display(),
            key = self.key,
            route53 = setup.backend.endpoint(),
            dns = self.dns,
            http = self.http,
            primary = setup.bind.addr,
        );
        std::fs::write(&self.config, config).unwrap();
    }

    fn start(&self, setup: &Setup) -> Daemon {
        Daemon::start_as(setup, &self.config, self.key, self.http)
    }

    /// Waits until the daemon answers on its HTTP endpoint.
    async fn wait_alive(&self, daemon: &Daemon) {
        let alive = eventually(Duration::from_secs(20), || async {
            daemon.get("/healthz").await.map(|r| r.0) == Some(200)
        })
        .await;
        assert!(
            alive,
            "daemon {} did not answer /healthz\n{}",
            self.key,
            daemon.log()
        );
    }

    /// Syncs that would alert, per this daemon's /metrics: failed, refused
    /// by a safety rule, or abandoned at their deadline.
    async fn failures(&self) -> f64 {
        let mut sum = 0.0;
        for result in ["failed", "refused", "timeout"] {
            let series = format!(r#"xfr53_syncs_total{{zone="{ZONE}.",result="{result}"}}"#);
            sum += metric(self.http, &series).await.unwrap_or(0.0);
        }
        sum
    }
}

/// The `nsupdate` commands of update `i`: adds, deletes and changes of
/// A and TXT sets, and TTL changes. Each one changes the zone, so each
/// moves the primary's serial by one.
fn update(i: u32) -> String {
    let host = i % 24;
    let (high, low) = (i / 256, i % 256);
    match i % 4 {
        0 => format!("update add n{i}.{ZONE}. 300 A 10.9.{high}.{low}"),
        1 => format!(
            "update delete h{host}.{ZONE}. A\nupdate add h{host}.{ZONE}. {} A 10.8.{high}.{low}",
            if i % 8 == 1 { 600 } else { 300 }
        ),
        // the name added four updates ago
        2 if i >= 6 => format!("update delete n{}.{ZONE}.", i - 6),
        2 => format!("update add n{i}.{ZONE}. 300 A 10.9.{high}.{low}"),
        _ => format!(
            "update delete t{}.{ZONE}. TXT\nupdate add t{}.{ZONE}. 300 TXT \"v{i}\" \"w {i}\"",
            i % 7,
            i % 7
        ),
    }
}

/// Sends update `i` to the primary. Tried a second time when nsupdate
/// gets no answer (on a loaded machine a UDP update is sometimes lost);
/// an update that had landed changes nothing the second time.
fn send(primary: &bind::Bind, i: u32) {
    if let Err(first) = primary.try_nsupdate(ZONE, &update(i)) {
        let again = primary.try_nsupdate(ZONE, &update(i));
        assert!(again.is_ok(), "update {i}, tried twice: {first}");
    }
}

/// The serial Route 53 held in full after a batch, per the `_serial`
/// value the batch left: `"N"` is N; a multi-batch apply's mark
/// `"applying N from M"` still holds M in full; `"applying N"` none.
fn held_serial(values: &[String]) -> Option<u32> {
    let value = values.first()?.trim_matches('"');
    let words: Vec<&str> = value.split_whitespace().collect();
    match words.as_slice() {
        [serial] => serial.parse().ok(),
        ["applying", _, "from", from] => from.parse().ok(),
        _ => None,
    }
}

/// RFC 1982: whether serial `a` is older than `b`.
fn older(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 1 << 31
}

/// The serial a batch proposed for `_serial`: `"N"`, or the `"applying N…"`
/// mark of a multi-batch apply's first batches.
fn target_serial(values: &[String]) -> Option<u32> {
    let value = values.first()?.trim_matches('"');
    value
        .trim_start_matches("applying ")
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The refused batches of the writer signing with `key` that were
/// overtaken: they proposed a `_serial` older than one Route 53 held
/// before that writer's next change request (what it read in between, to
/// re-plan, was ahead of the primary's answer its plan was made on).
fn overtaken(answered: &[Answered], key: &str) -> usize {
    let mine = |a: &Answered| a.access_key.as_deref() == Some(key);
    let held = |a: &Answered| a.watched.as_deref().and_then(held_serial);
    (0..answered.len())
        .filter(|&i| mine(&answered[i]) && answered[i].refused.is_some())
        .filter(|&i| {
            let Some(proposed) = answered[i].proposed.as_deref().and_then(target_serial) else {
                return false;
            };
            let until_next = answered[i + 1..].iter().take_while(|a| !mine(a));
            (std::iter::once(&answered[i]).chain(until_next))
                .filter_map(held)
                .any(|h| older(proposed, h))
        })
        .count()
}

/// (change requests, refused, refused and overtaken) of the writer
/// signing with `key`.
fn sent_by(answered: &[Answered], key: &str) -> (usize, usize, usize) {
    let mine: Vec<&Answered> = answered
        .iter()
        .filter(|a| a.access_key.as_deref() == Some(key))
        .collect();
    let refused = mine.iter().filter(|a| a.refused.is_some()).count();
    (mine.len(), refused, overtaken(answered, key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_one_zone_converge_and_serial_never_goes_back() {
    let begun = Instant::now();
    let (dns_a, dns_b) = (free_port(), free_port());
    let mut zone = bind::Zone::new(ZONE, generated(ZONE, 24));
    zone.also_notify = Some(dns_a);
    zone.more_notify = vec![dns_b];
    let Some(setup) = Setup::start(Kind::Strict, vec![zone]).await else {
        return;
    };
    let Some(moto) = Moto::start().await else {
        return;
    };
    let strict = setup.backend.strict();
    strict.watch(SERIAL, "TXT");
    let topic = topic(&moto.endpoint(), "xfr53-pair").await;
    let a = Instance {
        dns: dns_a,
        ..Instance::new("AKIAPAIRFIRST", &setup)
    };
    let b = Instance {
        dns: dns_b,
        ..Instance::new("AKIAPAIRSECOND", &setup)
    };
    for instance in [&a, &b] {
        instance.write_config(&setup, &topic, &moto.endpoint());
    }
    // the second daemon is farther from Route 53: its plans are often made
    // on a primary's answer the first one has already passed
    strict.hold_requests_from(b.key, HOLD);
    let first = a.start(&setup);
    let mut second = b.start(&setup);
    a.wait_alive(&first).await;
    b.wait_alive(&second).await;

    let updates_began = Instant::now();
    let mut killed = None;
    let mut failures_before_kill = 0.0;
    for i in 0..UPDATES {
        tokio::time::sleep_until((updates_began + PACE * i).into()).await;
        tokio::task::block_in_place(|| send(&setup.bind, i));
        if i == UPDATES / 2 {
            failures_before_kill = b.failures().await;
            second.signal("KILL");
            second.wait(Duration::from_secs(5)).await;
            killed = Some(std::mem::replace(&mut second, b.start(&setup)));
            b.wait_alive(&second).await;
        }
    }
    let updates_took = updates_began.elapsed();
    let killed = killed.expect("the second daemon was killed midway");
    let logs = || {
        format!(
            "--- first daemon\n{}\n--- second daemon, killed\n{}\n--- second daemon, restarted\n{}",
            first.log(),
            killed.log(),
            second.log()
        )
    };

    let want = expected(&setup.bind, ZONE).await;
    let final_serial = held_serial(&want[&(SERIAL.to_string(), "TXT".to_string())].1)
        .expect("the primary's serial");
    let converged = eventually(Duration::from_secs(30), || async {
        managed(setup.contents(ZONE).await, ZONE) == want
    })
    .await;
    assert_eq!(
        managed(setup.contents(ZONE).await, ZONE),
        want,
        "{ZONE}: Route 53 differs from the primary at serial {final_serial} (converged: {converged})\n{}",
        logs()
    );
    let took = begun.elapsed();
    // each daemon synced to the end itself (none is left stuck behind)
    let at_final = |instance: &Instance| {
        let (http, serial) = (
            instance.http,
            format!(r#"xfr53_route53_serial{{zone="{ZONE}."}}"#),
        );
        async move {
            eventually(Duration::from_secs(15), || async {
                metric(http, &serial).await == Some(f64::from(final_serial))
            })
            .await
        }
    };
    let finished = [at_final(&a).await, at_final(&b).await];

    // the double's history: no older serial ever replaced a newer one
    let answered: Vec<Answered> = strict
        .answered()
        .into_iter()
        .filter(|x| x.zone_id == setup.zone_id(ZONE))
        .collect();
    let history: Vec<u32> = answered
        .iter()
        .filter(|x| x.refused.is_none())
        .filter_map(|x| held_serial(x.watched.as_deref()?))
        .collect();
    for pair in history.windows(2) {
        assert!(
            !older(pair[1], pair[0]),
            "_serial went back from {} to {} in Route 53; the whole history: {history:?}\n{}",
            pair[0],
            pair[1],
            logs()
        );
    }
    assert_eq!(history.last(), Some(&final_serial), "{history:?}");
    assert_eq!(
        answered
            .iter()
            .filter_map(|x| x.refused)
            .find(|c| *c != "InvalidChangeBatch"),
        None,
        "a batch was refused for another reason than a lost compare-and-swap"
    );

    let [(sent_a, refused_a, overtaken_a), (sent_b, refused_b, overtaken_b)] =
        [a.key, b.key].map(|key| sent_by(&answered, key));
    eprintln!(
        "active-active: {UPDATES} updates in {updates_took:?}, final serial {final_serial}; change requests (refused; of those, overtaken by a newer serial): first daemon {sent_a} ({refused_a}; {overtaken_a}), second daemon {sent_b} ({refused_b}; {overtaken_b}; its requests held {HOLD:?}, killed -9 and restarted after update {}); {} accepted in all; total {took:?}",
        UPDATES / 2,
        history.len()
    );
    assert!(
        sent_a > 0 && sent_b > 0,
        "both daemons wrote to Route 53: first {sent_a}, second {sent_b}"
    );
    // the race the pair must survive happened: a plan made on a primary's
    // answer the other writer then passed reached Route 53
    assert!(
        overtaken_a + overtaken_b > 0,
        "no refused plan was overtaken by a newer serial: the test did not exercise the race"
    );

    // no sync failed, on either daemon, in either life of the second, so
    // no alert was sent
    for (instance, before) in [(&a, 0.0), (&b, failures_before_kill)] {
        let failures = instance.failures().await + before;
        assert_eq!(
            failures,
            0.0,
            "daemon {}: syncs failed, were refused or timed out\n{}",
            instance.key,
            logs()
        );
    }
    let alerts = published(moto.requests());
    assert!(
        alerts.is_empty(),
        "alerts were sent: {alerts:?}\n{}",
        logs()
    );
    assert_eq!(
        finished,
        [true, true],
        "each daemon's xfr53_route53_serial reaches the final serial {final_serial}\n{}",
        logs()
    );
}
