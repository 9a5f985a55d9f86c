//! Record type mnemonics, including the many types hickory only knows by
//! number, so zone files may hold them and reports name them properly.

use std::str::FromStr;

use hickory_proto::rr::RecordType;

/// Types hickory has no name for: (mnemonic, code), from the IANA registry.
const EXTRA: &[(&str, u16)] = &[
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("WKS", 11),
    ("MINFO", 14),
    ("RP", 17),
    ("AFSDB", 18),
    ("X25", 19),
    ("ISDN", 20),
    ("RT", 21),
    ("NSAP", 22),
    ("PX", 26),
    ("GPOS", 27),
    ("LOC", 29),
    ("KX", 36),
    ("A6", 38),
    ("DNAME", 39),
    ("APL", 42),
    ("IPSECKEY", 45),
    ("DHCID", 49),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("NINFO", 56),
    ("ZONEMD", 63),
    ("SPF", 99),
    ("NID", 104),
    ("L32", 105),
    ("L64", 106),
    ("LP", 107),
    ("EUI48", 108),
    ("EUI64", 109),
    ("URI", 256),
    ("AMTRELAY", 260),
    ("RESINFO", 261),
    ("TA", 32768),
    ("DLV", 32769),
];

/// The type a zone file names: a mnemonic or RFC 3597's `TYPEnnn`.
pub fn parse(text: &str) -> Option<RecordType> {
    let upper = text.to_ascii_uppercase();
    if let Some(code) = upper.strip_prefix("TYPE") {
        return code.parse::<u16>().ok().map(RecordType::from);
    }
    if let Some((_, code)) = EXTRA.iter().find(|(m, _)| *m == upper) {
        return Some(RecordType::from(*code));
    }
    RecordType::from_str(&upper)
        .ok()
        .filter(|t| !matches!(t, RecordType::Unknown(_)))
}

/// The mnemonic of a type, or `TYPEnnn` when it has none.
pub fn name(rtype: RecordType) -> String {
    match rtype {
        RecordType::Unknown(code) => EXTRA
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(m, _)| m.to_string())
            .unwrap_or_else(|| format!("TYPE{code}")),
        known => known.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["A", "loc", "SPF", "TYPE65534", "HINFO", "ZONEMD", "NSEC3"] {
            let rtype = parse(text).unwrap();
            let expected = match text {
                "loc" => "LOC",
                other => other,
            };
            assert_eq!(name(rtype), expected);
        }
        assert_eq!(parse("BOGUS"), None);
    }
}
