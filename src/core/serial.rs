//! RFC 1982 serial number arithmetic for SOA serials.

use std::cmp::Ordering;

/// An SOA serial, compared in RFC 1982 sequence space: `1 > 4294967295`, and
/// two serials exactly 2^31 apart have no defined order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Serial(pub u32);

impl PartialOrd for Serial {
    /// RFC 1982 §3.2; `None` is the undefined case.
    fn partial_cmp(&self, other: &Serial) -> Option<Ordering> {
        const HALF: u32 = 1 << 31;
        let (i1, i2) = (self.0, other.0);
        if i1 == i2 {
            Some(Ordering::Equal)
        } else if (i1 < i2 && i2 - i1 < HALF) || (i1 > i2 && i1 - i2 > HALF) {
            Some(Ordering::Less)
        } else if (i1 < i2 && i2 - i1 > HALF) || (i1 > i2 && i1 - i2 < HALF) {
            Some(Ordering::Greater)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around() {
        assert!(Serial(1) > Serial(u32::MAX));
        assert!(Serial(u32::MAX) < Serial(0));
        assert!(Serial(2_147_483_647) > Serial(0));
        assert_eq!(Serial(2_147_483_648).partial_cmp(&Serial(0)), None);
        assert_eq!(Serial(7).partial_cmp(&Serial(7)), Some(Ordering::Equal));
    }
}
