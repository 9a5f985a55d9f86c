//! A change request that landed but whose answer was lost (the client
//! timed out or the connection dropped) is retried, and the retry is
//! rejected: the sets it creates exist now. That is neither a refusal of
//! the change nor someone changing the zone underneath: xfr53 reads the
//! sets the batch touched, finds the batch's result, and goes on without
//! a re-plan.

use crate::support::bind;
use crate::support::lost_answer::{sync_with_a_lost_answer, LostAnswer};
use crate::support::route53_backend::change_requests;
use crate::support::setup::{assert_synced, show};
use crate::support::zones::generated;

const ZONE: &str = "lost.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_that_had_landed_is_not_a_change_underneath() {
    let zone = bind::Zone::new(ZONE, generated(ZONE, 5));
    let Some(LostAnswer {
        setup,
        run,
        requests,
    }) = sync_with_a_lost_answer(zone).await
    else {
        return;
    };
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("changed underneath"), "{stderr}");
    assert!(
        stderr.contains("an earlier attempt of this change batch had landed"),
        "{stderr}"
    );
    assert_eq!(
        change_requests(&requests).len(),
        2,
        "the lost request and its rejected retry, no re-planned batch"
    );
    let listings = requests
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path().ends_with("/rrset")
                && r.query("maxitems") != Some("1".into())
        })
        .count();
    assert_eq!(listings, 0, "no listing of the whole zone: {requests:#?}");
    assert_synced(&setup, ZONE).await;
}
