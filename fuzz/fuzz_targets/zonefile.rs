//! The zone-file reader, then the conversion to Route 53 record sets, on
//! arbitrary text: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xfr53::core::name::Name;
use xfr53::core::zone::Zone;
use xfr53::core::zonefile;

fuzz_target!(|text: &str| {
    let origin = Name::parse_route53("fuzz.test").unwrap();
    if let Ok(records) = zonefile::parse("fuzz.zone", text, &origin) {
        if let Ok(zone) = Zone::from_records(origin, &records) {
            let _ = zone.convert();
        }
    }
});
