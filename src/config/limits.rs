//! `[limits]`: how much the NOTIFY listener and the HTTP endpoint give any
//! one sender. Every setting has a default and a range; they take effect
//! when the daemon starts.

use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    notify_replies_per_second: Option<f64>,
    notify_reply_burst: Option<u32>,
    notify_tcp_connections: Option<u32>,
    notify_tcp_reserved: Option<u32>,
    notify_tcp_per_source: Option<u32>,
    notify_tcp_deadline_seconds: Option<u64>,
    notify_tcp_messages: Option<u32>,
    notify_tcp_idle_seconds: Option<u64>,
    notify_reply_sources: Option<u32>,
    notify_replay_cache: Option<u32>,
    notify_queue: Option<u32>,
    notify_max_message_bytes: Option<u32>,
    http_connections: Option<u32>,
    http_deadline_seconds: Option<u64>,
    notify_sync_interval_seconds: Option<u64>,
}

/// The checked `[limits]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub notify: NotifyLimits,
    pub http: HttpLimits,
    /// Least time between two syncs a zone's NOTIFYs start.
    pub notify_sync_interval: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            notify: NotifyLimits::default(),
            http: HttpLimits::default(),
            notify_sync_interval: Duration::from_secs(1),
        }
    }
}

/// `value` (or `default`) when within `min..=max`: the check of every
/// numeric setting, for a key of `[limits]`.
fn ranged<T: PartialOrd + std::fmt::Debug>(
    key: &str,
    value: Option<T>,
    default: T,
    min: T,
    max: T,
) -> Result<T> {
    super::ranged_or(&format!("limits.{key}"), value, default, min..=max)
}

/// A default count as the raw setting's type.
fn count(n: usize) -> u32 {
    n as u32
}

/// A default duration as the raw setting's seconds.
fn seconds(d: Duration) -> u64 {
    d.as_secs()
}

impl RawLimits {
    pub(super) fn check(&self) -> Result<Limits> {
        let defaults = Limits::default();
        let http = defaults.http;
        Ok(Limits {
            notify: self.notify()?,
            http: HttpLimits {
                connections: ranged(
                    "http_connections",
                    self.http_connections,
                    count(http.connections),
                    1,
                    1024,
                )? as usize,
                deadline: Duration::from_secs(ranged(
                    "http_deadline_seconds",
                    self.http_deadline_seconds,
                    seconds(http.deadline),
                    1,
                    300,
                )?),
            },
            notify_sync_interval: Duration::from_secs(ranged(
                "notify_sync_interval_seconds",
                self.notify_sync_interval_seconds,
                seconds(defaults.notify_sync_interval),
                0,
                60,
            )?),
        })
    }

    /// The NOTIFY listener's limits.
    fn notify(&self) -> Result<NotifyLimits> {
        let notify = NotifyLimits::default();
        let tcp_connections = ranged(
            "notify_tcp_connections",
            self.notify_tcp_connections,
            count(notify.tcp_connections),
            1,
            4096,
        )?;
        Ok(NotifyLimits {
            per_second: ranged(
                "notify_replies_per_second",
                self.notify_replies_per_second,
                notify.per_second,
                0.1,
                10_000.0,
            )?,
            burst: f64::from(ranged(
                "notify_reply_burst",
                self.notify_reply_burst,
                notify.burst as u32,
                1,
                100_000,
            )?),
            tcp_connections: tcp_connections as usize,
            tcp_reserved: ranged(
                "notify_tcp_reserved",
                self.notify_tcp_reserved,
                count(notify.tcp_reserved).min(tcp_connections),
                0,
                tcp_connections,
            )? as usize,
            tcp_per_source: ranged(
                "notify_tcp_per_source",
                self.notify_tcp_per_source,
                count(notify.tcp_per_source).min(tcp_connections),
                1,
                tcp_connections,
            )? as usize,
            tcp_deadline: Duration::from_secs(ranged(
                "notify_tcp_deadline_seconds",
                self.notify_tcp_deadline_seconds,
                seconds(notify.tcp_deadline),
                1,
                3600,
            )?),
            tcp_messages: ranged(
                "notify_tcp_messages",
                self.notify_tcp_messages,
                count(notify.tcp_messages),
                1,
                1000,
            )? as usize,
            tcp_idle: Duration::from_secs(ranged(
                "notify_tcp_idle_seconds",
                self.notify_tcp_idle_seconds,
                seconds(notify.tcp_idle),
                1,
                300,
            )?),
            max_sources: ranged(
                "notify_reply_sources",
                self.notify_reply_sources,
                count(notify.max_sources),
                100,
                1_000_000,
            )? as usize,
            replay_cache: ranged(
                "notify_replay_cache",
                self.notify_replay_cache,
                count(notify.replay_cache),
                100,
                1_000_000,
            )? as usize,
            queue: ranged(
                "notify_queue",
                self.notify_queue,
                count(notify.queue),
                16,
                65_536,
            )? as usize,
            max_message: ranged(
                "notify_max_message_bytes",
                self.notify_max_message_bytes,
                count(notify.max_message),
                512,
                65_535,
            )? as usize,
        })
    }
}

/// Limits of the NOTIFY listener.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NotifyLimits {
    /// UDP replies per second per source (IPv6: per /64), and the burst;
    /// accepted NOTIFYs and refusals each have a budget of this size.
    pub per_second: f64,
    pub burst: f64,
    /// Sources remembered at once by each reply budget.
    pub max_sources: usize,
    /// TCP connections open at once, of which `tcp_reserved` only for
    /// `notify_from` sources; at most `tcp_per_source` for any other.
    pub tcp_connections: usize,
    pub tcp_reserved: usize,
    pub tcp_per_source: usize,
    /// How long one TCP connection may stay open in all (slowloris).
    pub tcp_deadline: Duration,
    /// Messages one TCP connection may carry, and how long it may wait for
    /// each (or for its reply to be read).
    pub tcp_messages: usize,
    pub tcp_idle: Duration,
    /// Signatures of accepted NOTIFYs remembered for the replay check.
    pub replay_cache: usize,
    /// Accepted NOTIFYs waiting for the zones; more are dropped.
    pub queue: usize,
    /// The largest message read, in bytes: a NOTIFY is small.
    pub max_message: usize,
}

impl Default for NotifyLimits {
    fn default() -> NotifyLimits {
        NotifyLimits {
            per_second: 20.0,
            burst: 40.0,
            max_sources: 10_000,
            tcp_connections: 64,
            tcp_reserved: 16,
            tcp_per_source: 4,
            tcp_deadline: Duration::from_secs(20),
            tcp_messages: 16,
            tcp_idle: Duration::from_secs(10),
            replay_cache: 10_000,
            queue: 1024,
            max_message: 4096,
        }
    }
}

/// Limits of the HTTP endpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HttpLimits {
    /// Connections served at once; a scraper and a health check need few.
    pub connections: usize,
    /// How long one connection may take in all, request and answer.
    pub deadline: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            connections: 32,
            deadline: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Limits> {
        toml::from_str::<RawLimits>(text)?.check()
    }

    #[test]
    fn defaults_and_settings() {
        assert_eq!(parse("").unwrap(), Limits::default());
        let set = parse("notify_tcp_connections = 10\nnotify_tcp_reserved = 3\nnotify_tcp_per_source = 2\nnotify_tcp_deadline_seconds = 7\nnotify_replies_per_second = 2.5\nnotify_reply_burst = 9\nhttp_connections = 4\nhttp_deadline_seconds = 2\nnotify_tcp_messages = 5\nnotify_tcp_idle_seconds = 3\nnotify_reply_sources = 200\nnotify_replay_cache = 300\nnotify_queue = 64\nnotify_max_message_bytes = 1232\n").unwrap();
        assert_eq!(set.notify.max_message, 1232);
        assert_eq!(
            (
                set.notify.tcp_messages,
                set.notify.tcp_idle,
                set.notify.max_sources,
                set.notify.replay_cache,
                set.notify.queue
            ),
            (5, Duration::from_secs(3), 200, 300, 64)
        );
        assert_eq!(
            (
                set.notify.tcp_connections,
                set.notify.tcp_reserved,
                set.notify.tcp_per_source
            ),
            (10, 3, 2)
        );
        assert_eq!(set.notify.tcp_deadline, Duration::from_secs(7));
        assert_eq!((set.notify.per_second, set.notify.burst), (2.5, 9.0));
        assert_eq!(set.http.connections, 4);
        assert_eq!(set.http.deadline, Duration::from_secs(2));
        // a small connection cap pulls the defaults below it
        let small = parse("notify_tcp_connections = 2").unwrap();
        assert_eq!(
            (small.notify.tcp_reserved, small.notify.tcp_per_source),
            (2, 2)
        );
    }

    #[test]
    fn out_of_range_names_the_key_and_the_range() {
        for (text, message) in [
            (
                "notify_replies_per_second = 0.0",
                "limits.notify_replies_per_second = 0.0 is outside the allowed range 0.1 to 10000.0",
            ),
            (
                "notify_replies_per_second = nan",
                "limits.notify_replies_per_second = NaN is outside",
            ),
            (
                "notify_tcp_connections = 0",
                "limits.notify_tcp_connections = 0 is outside the allowed range 1 to 4096",
            ),
            (
                "notify_tcp_connections = 8\nnotify_tcp_reserved = 9",
                "limits.notify_tcp_reserved = 9 is outside the allowed range 0 to 8",
            ),
            (
                "notify_tcp_per_source = 0",
                "limits.notify_tcp_per_source = 0 is outside the allowed range 1 to 64",
            ),
            (
                "notify_tcp_deadline_seconds = 9223372036854775807",
                "limits.notify_tcp_deadline_seconds = 9223372036854775807 is outside the allowed range 1 to 3600",
            ),
            (
                "notify_tcp_messages = 0",
                "limits.notify_tcp_messages = 0 is outside the allowed range 1 to 1000",
            ),
            (
                "notify_tcp_idle_seconds = 301",
                "limits.notify_tcp_idle_seconds = 301 is outside the allowed range 1 to 300",
            ),
            (
                "notify_reply_sources = 99",
                "limits.notify_reply_sources = 99 is outside the allowed range 100 to 1000000",
            ),
            (
                "notify_replay_cache = 0",
                "limits.notify_replay_cache = 0 is outside the allowed range 100 to 1000000",
            ),
            (
                "notify_queue = 70000",
                "limits.notify_queue = 70000 is outside the allowed range 16 to 65536",
            ),
            (
                "notify_max_message_bytes = 511",
                "limits.notify_max_message_bytes = 511 is outside the allowed range 512 to 65535",
            ),
            (
                "http_connections = 0",
                "limits.http_connections = 0 is outside the allowed range 1 to 1024",
            ),
            (
                "http_deadline_seconds = 0",
                "limits.http_deadline_seconds = 0 is outside the allowed range 1 to 300",
            ),
            (
                "notify_sync_interval_seconds = 61",
                "limits.notify_sync_interval_seconds = 61 is outside the allowed range 0 to 60",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(message), "{text}: {err}");
        }
        assert!(parse("notify_tcp = 1").is_err(), "unknown keys are refused");
    }
}
