//! A change request Route 53 applies but whose answer is lost.

use std::process::Output;

use super::bind;
use super::http::Request;
use super::route53_backend::Kind;
use super::setup::Setup;
use super::strict_route53::{Fault, Op};

/// What `sync_with_a_lost_answer` leaves.
pub struct LostAnswer {
    pub setup: Setup,
    /// The second `xfr53 sync`.
    pub run: Output,
    /// The Route 53 requests of the second sync.
    pub requests: Vec<Request>,
}

/// `zone` synced to the strict Route 53 double; then a name added on the
/// primary and synced again while the double applies the first change
/// request but loses its answer. `None` where `Setup::start` gives none.
pub async fn sync_with_a_lost_answer(zone: bind::Zone) -> Option<LostAnswer> {
    let name = zone.name.clone();
    let setup = Setup::start(Kind::Strict, vec![zone]).await?;
    assert_eq!(setup.run(&["sync", &name]).await.status.code(), Some(0));
    setup
        .bind
        .nsupdate(&name, &format!("update add new.{name}. 300 A 192.0.2.77"));
    let strict = setup.backend.strict();
    let before = strict.requests().len();
    strict.inject(Op::Change, Fault::AnswerLost);
    let run = setup.run(&["sync", &name]).await;
    let requests = setup.backend.strict().requests().split_off(before);
    Some(LostAnswer {
        setup,
        run,
        requests,
    })
}
