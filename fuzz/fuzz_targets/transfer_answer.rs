//! A transfer's TCP stream as bytes: length-prefixed messages, each decoded
//! and its answer records fed to the AXFR and IXFR answer readers.
#![no_main]

use hickory_proto::op::Message;
use hickory_proto::rr::Record;
use libfuzzer_sys::fuzz_target;
use xfr53::core::name::Name;
use xfr53::core::serial::Serial;
use xfr53::dns::transfer::{read_axfr, read_ixfr};

fuzz_target!(|data: &[u8]| {
    let origin = Name::parse_route53("fuzz.test").unwrap();
    let mut records: Vec<Record> = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        if let Ok(message) = Message::from_vec(&rest[2..2 + len]) {
            records.extend(message.answers().iter().cloned());
        }
        rest = &rest[2 + len..];
    }
    let _ = read_axfr(&origin, &records);
    let _ = read_ixfr(&origin, Serial(1), &records);
});
