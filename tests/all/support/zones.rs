//! Fixture zones under tests/data.

use std::path::{Path, PathBuf};

use xfr53::core::convert::Converted;
use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::core::zonefile;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The `$ORIGIN` a fixture declares on its first directive line.
pub fn origin_of(text: &str) -> Name {
    let line = text
        .lines()
        .find(|l| l.starts_with("$ORIGIN"))
        .expect("fixture zones start with $ORIGIN");
    Name::parse_route53(line.split_whitespace().nth(1).unwrap()).unwrap()
}

/// Reads and converts a fixture zone.
pub fn load(file: &str) -> Converted {
    let path = data_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let origin = origin_of(&text);
    let records = zonefile::parse(file, &text, &origin).unwrap();
    Zone::from_records(origin, &records)
        .unwrap()
        .convert()
        .unwrap()
}

/// A generated zone `origin` (no trailing dot) with `names` hosts of two A
/// records each (`h0` to `h{names-1}`), plus its SOA, NS and the NS's A.
pub fn generated(origin: &str, names: usize) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "$ORIGIN {origin}.\n$TTL 300\n@ SOA ns.{origin}. admin.{origin}. 1 3600 600 86400 60\n@ NS ns.{origin}.\nns A 192.0.2.1\n"
    );
    for i in 0..names {
        let (high, low) = (i / 256, i % 256);
        writeln!(text, "h{i} A 10.0.{high}.{low}\nh{i} A 10.1.{high}.{low}").unwrap();
    }
    text
}

/// The apex SOA record of `origin` at `serial`, as IXFR deltas carry it.
pub fn soa_record(origin: &str, serial: u32) -> hickory_proto::rr::Record {
    use hickory_proto::rr::{rdata::SOA, Name as DnsName, RData, Record};
    let name = |n: &str| DnsName::from_ascii(n).unwrap();
    let soa = SOA::new(
        name("ns.example."),
        name("admin.example."),
        serial,
        3600,
        600,
        86400,
        300,
    );
    Record::from_rdata(name(origin), 300, RData::SOA(soa))
}
