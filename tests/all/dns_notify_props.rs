//! The NOTIFY decision fuzzed in the normal suite: arbitrary bytes, and
//! real NOTIFYs (signed with hickory's own signer, not xfr53's key type)
//! with bytes changed, cut or added, from any source. Whatever comes in,
//! the decision never panics, never answers with more bytes than it got,
//! never answers garbage, and raises an event only for a configured zone
//! from an allowed source.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::rr::{Name as DnsName, RecordType};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use xfr53::core::name::Name;
use xfr53::dns::notify::{handle, Handled, NotifyPolicy, NotifyTsig, NotifyZone, Verdict};
use xfr53::dns::wire::unix_now;

use crate::support::bind::KEY_SHA256;

/// Cases per property; each runs in well under a second per thousand.
const CASES: u32 = 10_000;

fn policy() -> NotifyPolicy {
    NotifyPolicy::new([NotifyZone {
        zone: Name::parse_route53("parent.test").unwrap(),
        notify_from: vec!["127.0.0.1/32".parse().unwrap()],
        key: Some(KEY_SHA256.tsig()),
        tsig: NotifyTsig::Optional,
    }])
}

/// A NOTIFY as a primary sends it, signed by hickory's TSIG signer when asked.
fn seed(zone: &str, qtype: RecordType, signed: bool, id: u16) -> Vec<u8> {
    let mut message = crate::support::listener::notify_message(zone, qtype, id);
    if signed {
        let secret = data_encoding::BASE64
            .decode(KEY_SHA256.secret.as_bytes())
            .unwrap();
        let signer = TSigner::new(
            secret,
            TsigAlgorithm::HmacSha256,
            DnsName::from_ascii(KEY_SHA256.name).unwrap(),
            300,
        )
        .unwrap();
        message.finalize(&signer, unix_now()).unwrap();
    }
    message.to_vec().unwrap()
}

/// What must hold for any input.
fn check(query: &[u8], source: SocketAddr, handled: &Handled) -> Result<(), TestCaseError> {
    if let Some(reply) = &handled.reply {
        prop_assert!(
            reply.len() <= query.len(),
            "{} byte reply to {} bytes",
            reply.len(),
            query.len()
        );
        prop_assert!(
            !matches!(handled.verdict, Verdict::Garbage | Verdict::Response),
            "{:?} answered",
            handled.verdict
        );
        // a reply is a response echoing the ID
        prop_assert_eq!(&reply[..2], &query[..2]);
        prop_assert!(reply[2] & 0x80 != 0);
    }
    prop_assert_eq!(
        handled.event.is_some(),
        handled.verdict == Verdict::Accepted
    );
    prop_assert!(handled.signature.is_none() || handled.verdict == Verdict::Accepted);
    if let Some(event) = &handled.event {
        prop_assert_eq!(event.zone.to_string(), "parent.test.");
        prop_assert_eq!(source.ip(), IpAddr::from([127, 0, 0, 1]));
    }
    Ok(())
}

/// A source: mostly the allowed one, sometimes a stranger.
fn source() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        3 => any::<u16>().prop_map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
        1 => (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
        1 => (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
    ]
}

/// A real NOTIFY with up to 4 bytes changed, then cut short or extended.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = prop_oneof![
        Just(("parent.test.", RecordType::SOA, false)),
        Just(("parent.test.", RecordType::SOA, true)),
        Just(("other.test.", RecordType::SOA, false)),
        Just(("parent.test.", RecordType::MX, true)),
    ];
    (
        seeds,
        any::<u16>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..32),
    )
        .prop_map(|((zone, qtype, signed), id, flips, cut, tail)| {
            let mut bytes = seed(zone, qtype, signed, id);
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            bytes.extend(tail);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_amplify_or_raise_an_event(
        query in prop::collection::vec(any::<u8>(), 0..600),
        from in source(),
    ) {
        let handled = handle(&policy(), &query, from, u64::from(unix_now()));
        check(&query, from, &handled)?;
        // random bytes are never a NOTIFY from the primary
        prop_assert!(handled.event.is_none());
    }

    #[test]
    fn damaged_notifies_never_panic_amplify_or_reach_a_stranger(
        query in mutated(),
        from in source(),
    ) {
        let handled = handle(&policy(), &query, from, u64::from(unix_now()));
        check(&query, from, &handled)?;
    }
}

/// The mix reaches the decision's every exit, so the properties above are
/// not all about garbage.
#[test]
fn the_damaged_notifies_reach_every_verdict() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (mutated(), source());
    let mut seen = std::collections::HashMap::new();
    for _ in 0..5_000 {
        let (query, from) = strategy.new_tree(&mut runner).unwrap().current();
        let verdict = handle(&policy(), &query, from, u64::from(unix_now())).verdict;
        *seen.entry(verdict).or_insert(0u32) += 1;
    }
    eprintln!("verdicts of 5,000 damaged NOTIFYs: {seen:?}");
    for verdict in [
        Verdict::Accepted,
        Verdict::Garbage,
        Verdict::Response,
        Verdict::NotNotify,
        Verdict::BadQuestion,
        Verdict::UnknownZone,
        Verdict::SourceRefused,
        Verdict::BadTsig,
    ] {
        assert!(
            seen.get(&verdict).copied().unwrap_or(0) > 0,
            "{verdict:?} never reached: {seen:?}"
        );
    }
}
