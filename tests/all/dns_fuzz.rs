//! Property tests over hostile input to the transfer side: arbitrary record
//! sequences into the AXFR and IXFR answer readers (checked against RFC 5936
//! and RFC 1995's shape of an answer), arbitrary and mutated message bytes
//! into the response checks and readers, arbitrary byte streams into the
//! TCP framing. Nothing may panic; what is accepted must be well formed.

use crate::support::answers::answer_with_question;
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{DNSClass, Name as DnsName, RData, Record, RecordType};
use proptest::prelude::*;
use xfr53::core::name::Name;
use xfr53::core::serial::Serial;
use xfr53::dns::transfer::{read_axfr, read_ixfr};
use xfr53::dns::tsig::TsigKey;
use xfr53::dns::wire::{read_frame, Outgoing};

const ORIGIN: &str = "fz.test.";

fn origin() -> Name {
    Name::parse_route53(ORIGIN).unwrap()
}

fn dns_name(text: &str) -> DnsName {
    DnsName::from_ascii(text).unwrap()
}

fn soa_at(owner: &str, serial: u32) -> Record {
    let mut record = Record::from_rdata(
        dns_name(owner),
        300,
        RData::SOA(SOA::new(
            dns_name(ORIGIN),
            dns_name(ORIGIN),
            serial,
            1,
            1,
            1,
            1,
        )),
    );
    record.set_dns_class(DNSClass::IN);
    record
}

/// A small alphabet of records, so SOAs and names repeat often: the apex
/// SOA at a few serials, an SOA below the apex, records in and out of the
/// zone, and one owner that only ends like the zone.
fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        4 => (1u32..5).prop_map(|serial| soa_at(ORIGIN, serial)),
        1 => (1u32..5).prop_map(|serial| soa_at("sub.fz.test.", serial)),
        4 => (0u8..4, 0u8..3).prop_map(|(host, last)| {
            let owner = ["fz.test.", "a.fz.test.", "b.a.fz.test.", "*.fz.test."][host as usize];
            Record::from_rdata(dns_name(owner), 300, RData::A(A::new(192, 0, 2, last)))
        }),
        1 => prop_oneof![Just("elsewhere.test."), Just("xfz.test."), Just("test.")]
            .prop_map(|owner| Record::from_rdata(dns_name(owner), 300, RData::A(A::new(192, 0, 2, 9)))),
    ]
}

fn apex_serial(record: &Record) -> Option<u32> {
    let soa = record.data().as_soa()?;
    (Name::from_hickory(record.name()) == origin()).then(|| soa.serial())
}

/// RFC 5936 section 2.2: the apex SOA, records in the zone (no other apex
/// SOA), the same SOA again, nothing after it.
fn is_whole_axfr(records: &[Record]) -> bool {
    let zone = origin();
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return false;
    };
    records.len() >= 2
        && records
            .iter()
            .all(|r| Name::from_hickory(r.name()).is_in(&zone))
        && apex_serial(first).is_some()
        && apex_serial(first) == apex_serial(last)
        && records[1..records.len() - 1]
            .iter()
            .all(|r| apex_serial(r).is_none())
}

/// A valid AXFR answer of `records` as one message's bytes, for `query`.
fn answer_bytes(query: &Message, records: &[Record]) -> Vec<u8> {
    answer_with_question(query, records.to_vec())
        .to_vec()
        .unwrap()
}

/// The query `outgoing` sent, as the primary reads it.
fn sent(outgoing: &Outgoing) -> Message {
    Message::from_vec(&outgoing.bytes).unwrap()
}

fn key() -> TsigKey {
    TsigKey::new(
        "fz-key",
        "hmac-sha256",
        "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=",
    )
    .unwrap()
}

/// How bytes are changed: overwritten, inserted, removed, cut short.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            _ => {}
        }
    }
}

/// Feeds one response to both readers the way a transfer would.
fn read_everything(message: &Message) {
    let _ = read_axfr(&origin(), message.answers());
    let _ = read_ixfr(&origin(), Serial(1), message.answers());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_axfr_reader_accepts_exactly_the_whole_answers(
        records in proptest::collection::vec(record(), 0..12)
    ) {
        let result = read_axfr(&origin(), &records);
        prop_assert_eq!(result.is_ok(), is_whole_axfr(&records), "{:?}", result.err());
        if let Ok(zone) = result {
            prop_assert_eq!(zone.serial().map(|s| s.0), apex_serial(&records[0]));
        }
    }

    #[test]
    fn the_ixfr_reader_accepts_only_a_chain_from_the_held_serial_to_the_newest(
        records in proptest::collection::vec(record(), 0..14)
    ) {
        if let Ok(deltas) = read_ixfr(&origin(), Serial(1), &records) {
            let newest = apex_serial(&records[0]).unwrap();
            prop_assert!(!deltas.is_empty());
            prop_assert_eq!(deltas[0].from, Serial(1));
            prop_assert_eq!(deltas.last().unwrap().to, Serial(newest));
            for pair in deltas.windows(2) {
                prop_assert_eq!(pair[0].to, pair[1].from);
            }
            prop_assert_eq!(apex_serial(records.last().unwrap()), Some(newest));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_response_checks_or_readers(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..700),
        signed in any::<bool>(),
        first in any::<bool>(),
    ) {
        let key = key();
        let mut query = Outgoing::new(
            &dns_name(ORIGIN),
            RecordType::AXFR,
            None,
            signed.then_some(&key),
        )
        .unwrap();
        // the right ID, so the checks after it are reached
        let id = sent(&query).id().to_be_bytes();
        bytes.iter_mut().zip(id).for_each(|(b, i)| *b = i);
        if let Ok(message) = query.accept(&bytes, first) {
            read_everything(&message);
        }
        if let Ok(message) = Message::from_vec(&bytes) {
            read_everything(&message);
        }
    }

    #[test]
    fn mutated_answers_never_panic_the_checks_or_readers(
        records in proptest::collection::vec(record(), 0..8),
        mutations in proptest::collection::vec(mutation(), 1..6),
        signed in any::<bool>(),
    ) {
        let key = key();
        let mut query = Outgoing::new(
            &dns_name(ORIGIN),
            RecordType::AXFR,
            None,
            signed.then_some(&key),
        )
        .unwrap();
        let original = answer_bytes(&sent(&query), &records);
        let mut bytes = original.clone();
        mutate(&mut bytes, &mutations);
        if let Ok(message) = query.accept(&bytes, true) {
            read_everything(&message);
        }
        // an unsigned answer never passes a signed query's check
        if signed {
            prop_assert!(query.accept(&original, true).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_streams_are_framed_within_the_limit_or_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        max in 0usize..100,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let mut stream: &[u8] = &bytes;
        let mut taken = 0;
        runtime.block_on(async {
            while let Ok(Some(frame)) = read_frame(&mut stream, max, Duration::from_secs(1)).await {
                assert!(frame.len() <= max);
                taken += frame.len() + 2;
            }
        });
        prop_assert!(taken <= bytes.len());
    }
}

#[test]
fn a_whole_answer_in_one_message_passes_the_checks_and_the_reader() {
    // the properties above are only meaningful if good input gets through
    let mut query = Outgoing::new(&dns_name(ORIGIN), RecordType::AXFR, None, None).unwrap();
    let records = [soa_at(ORIGIN, 3), soa_at(ORIGIN, 3)];
    let bytes = answer_bytes(&sent(&query), &records);
    let message = query.accept(&bytes, true).unwrap();
    assert_eq!(
        read_axfr(&origin(), message.answers()).unwrap().serial(),
        Some(Serial(3))
    );
    assert_eq!(
        sent(&query).queries(),
        [Query::query(dns_name(ORIGIN), RecordType::AXFR)]
    );
}
