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
    Zone::from_records(origin, &records).convert().unwrap()
}
