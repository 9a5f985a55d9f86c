//! Limits too long for the clock are waits that never end, not panics:
//! `timeout_seconds = 9223372036854775807` overflowed an Instant on the
//! first SOA query (the daemon's zone then never synced).

use std::time::Duration;

use xfr53::core::name::Name;
use xfr53::dns::primary::Primary;
use xfr53::dns::soa::query_soa;
use xfr53::dns::transfer::axfr;

use crate::support::bind::{self, Bind};
use crate::support::zones::generated;

#[tokio::test]
async fn a_primary_timeout_past_the_clock_queries_and_transfers() {
    let Some(bind) = Bind::start(vec![bind::Zone::new(
        "absurd.test",
        generated("absurd.test", 3),
    )]) else {
        return;
    };
    let zone = Name::parse_route53("absurd.test").unwrap();
    for timeout in [Duration::from_secs(i64::MAX as u64), Duration::MAX] {
        let primary = Primary {
            timeout,
            ..Primary::new(bind.addr, None)
        };
        let soa = query_soa(&primary, &zone).await.unwrap();
        assert_eq!(soa.serial(), 1);
        let (held, _) = axfr(&primary, &zone).await.unwrap();
        assert_eq!(held.serial().map(|s| s.0), Some(1));
    }
}
