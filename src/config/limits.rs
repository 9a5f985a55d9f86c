//! `[limits]`: how much the NOTIFY listener and the HTTP endpoint give any
//! one sender. Every setting has a default and a range; they take effect
//! when the daemon starts.

use std::time::Duration;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::dns::listener::Limits as ListenerLimits;
use crate::http::Limits as HttpLimits;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    notify_replies_per_second: Option<f64>,
    notify_reply_burst: Option<u32>,
    notify_tcp_connections: Option<u32>,
    notify_tcp_reserved: Option<u32>,
    notify_tcp_per_source: Option<u32>,
    notify_tcp_deadline_seconds: Option<u64>,
    http_connections: Option<u32>,
    http_deadline_seconds: Option<u64>,
}

/// The checked `[limits]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    pub notify: ListenerLimits,
    pub http: HttpLimits,
}

/// `value` (or `default`) when within `min..=max`, else an error naming
/// the key and the range.
fn ranged<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: Option<T>,
    default: T,
    min: T,
    max: T,
) -> Result<T> {
    let value = value.unwrap_or(default);
    // written so that NaN fails too
    if !(value >= min && value <= max) {
        bail!("limits.{key} = {value}: use {min} to {max} (default {default})");
    }
    Ok(value)
}

impl RawLimits {
    pub(super) fn check(&self) -> Result<Limits> {
        let (notify, http) = (ListenerLimits::default(), HttpLimits::default());
        let count = |n: usize| n as u32;
        let tcp_connections = ranged(
            "notify_tcp_connections",
            self.notify_tcp_connections,
            count(notify.tcp_connections),
            1,
            4096,
        )?;
        let seconds = |d: Duration| d.as_secs();
        Ok(Limits {
            notify: ListenerLimits {
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
                ..notify
            },
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
        })
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
        let set = parse("notify_tcp_connections = 10\nnotify_tcp_reserved = 3\nnotify_tcp_per_source = 2\nnotify_tcp_deadline_seconds = 7\nnotify_replies_per_second = 2.5\nnotify_reply_burst = 9\nhttp_connections = 4\nhttp_deadline_seconds = 2\n").unwrap();
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
                "limits.notify_replies_per_second = 0: use 0.1 to 10000",
            ),
            (
                "notify_replies_per_second = nan",
                "limits.notify_replies_per_second = NaN",
            ),
            (
                "notify_tcp_connections = 0",
                "limits.notify_tcp_connections = 0: use 1 to 4096",
            ),
            (
                "notify_tcp_connections = 8\nnotify_tcp_reserved = 9",
                "limits.notify_tcp_reserved = 9: use 0 to 8",
            ),
            (
                "notify_tcp_per_source = 0",
                "limits.notify_tcp_per_source = 0: use 1 to 64",
            ),
            (
                "notify_tcp_deadline_seconds = 9223372036854775807",
                "limits.notify_tcp_deadline_seconds = 9223372036854775807: use 1 to 3600",
            ),
            (
                "http_connections = 0",
                "limits.http_connections = 0: use 1 to 1024",
            ),
            (
                "http_deadline_seconds = 0",
                "limits.http_deadline_seconds = 0: use 1 to 300",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(message), "{text}: {err}");
        }
        assert!(parse("notify_tcp = 1").is_err(), "unknown keys are refused");
    }
}
