//! One response message through the checks every answer passes (ID,
//! question, rcode, TSIG), then into the readers. The first byte chooses a
//! signed or unsigned query and whether this is the first message.
#![no_main]

use hickory_proto::op::Message;
use hickory_proto::rr::{Name as DnsName, RecordType};
use libfuzzer_sys::fuzz_target;
use xfr53::core::name::Name;
use xfr53::core::serial::Serial;
use xfr53::dns::transfer::{read_axfr, read_ixfr};
use xfr53::dns::tsig::TsigKey;
use xfr53::dns::wire::Outgoing;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let key = TsigKey::new(
        "fuzz-key",
        "hmac-sha256",
        "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=",
    )
    .unwrap();
    let zone = DnsName::from_ascii("fuzz.test.").unwrap();
    let signed = flags & 1 == 1;
    let mut query = Outgoing::new(&zone, RecordType::AXFR, None, signed.then_some(&key)).unwrap();
    // the query's own ID, so the checks after it are reached
    let id = Message::from_vec(&query.bytes).unwrap().id().to_be_bytes();
    let mut bytes = rest.to_vec();
    bytes.iter_mut().zip(id).for_each(|(b, i)| *b = i);
    if let Ok(message) = query.accept(&bytes, flags & 2 == 2) {
        let origin = Name::parse_route53("fuzz.test").unwrap();
        let _ = read_axfr(&origin, message.answers());
        let _ = read_ixfr(&origin, Serial(1), message.answers());
    }
});
