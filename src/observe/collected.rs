//! The zones' figures, and the counters the DNS side keeps itself (the
//! NOTIFY listener's, the transfers' limits), read at each scrape.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;

use super::metrics::ZoneMetrics;
use crate::core::name::Name;
use crate::dns::listener::{Counters, LimitHit};
use crate::dns::notify::{TsigCase, Verdict};
use crate::dns::rate_limit::NoSlot;

#[derive(Debug, Default)]
pub(super) struct Collected {
    pub(super) zones: RwLock<BTreeMap<Name, Arc<ZoneMetrics>>>,
    pub(super) listener: RwLock<Option<Arc<Counters>>>,
}

/// One counter family: its name (no `_total`: the encoder adds it), help,
/// and each labelled series' value.
fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, n) in series {
        ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// An unlabelled counter.
fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, n: u64) -> fmt::Result {
    let counter = ConstCounter::new(n);
    counter.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

impl Collector for Collected {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let zones = self.zones.read().expect("never poisoned");
        counters(
            &mut encoder,
            "transfer_limit",
            "Transfers stopped at a limit: records, bytes or deadline.",
            zones.iter().flat_map(|(zone, m)| {
                let zone = zone.to_string();
                m.transfer_limits()
                    .counts()
                    .map(|(limit, n)| ([("zone", zone.clone()), ("limit", limit.to_string())], n))
            }),
        )?;
        drop(zones);
        match self.listener.read().expect("never poisoned").as_ref() {
            Some(listener) => encode_listener(&mut encoder, listener),
            None => Ok(()),
        }
    }
}

/// The NOTIFY listener's counters.
fn encode_listener(encoder: &mut DescriptorEncoder, c: &Counters) -> fmt::Result {
    counter(
        encoder,
        "notify_replies_limited",
        "UDP replies withheld by the per-source reply rate (the message itself was still handled).",
        c.replies_limited(),
    )?;
    counters(
        encoder,
        "notify_tcp_refused",
        "NOTIFY listener TCP connections closed at once: per_source (the source holds its share) or full.",
        [(NoSlot::PerSource, "per_source"), (NoSlot::Full, "full")]
            .map(|(why, reason)| ([("reason", reason)], c.tcp_refused(why))),
    )?;
    counter(
        encoder,
        "notify_tcp_deadline",
        "NOTIFY listener TCP connections closed at the per-connection deadline.",
        c.tcp_deadline(),
    )?;
    counters(
        encoder,
        "notify_limit",
        "NOTIFY listener bounds reached: reply_sources (busy sources forgotten at notify_reply_sources), replay_cache (unexpired MACs dropped at notify_replay_cache: replayable again), tcp_messages, tcp_idle (connections closed), queue (accepted NOTIFYs dropped: the zones' queue was full), message_size (messages over notify_max_message_bytes dropped).",
        LimitHit::ALL.map(|limit| ([("limit", limit.as_str())], c.limit_hit(limit))),
    )?;
    counters(
        encoder,
        "notify",
        "NOTIFY listener messages by result.",
        Verdict::ALL.map(|v| ([("result", v.as_str())], c.get(v))),
    )?;
    counters(
        encoder,
        "notify_tsig",
        "NOTIFYs from allowed sources by signature: signed and unsigned were accepted, bad_signature and unsigned_refused (notify_tsig = \"required\") refused.",
        TsigCase::ALL.map(|case| ([("result", case.as_str())], c.tsig(case))),
    )
}
