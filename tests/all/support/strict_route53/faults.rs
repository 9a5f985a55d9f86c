//! Faults played on demand: what Route 53 or the network may answer
//! instead of doing the request.

use std::time::Duration;

use super::super::http::Response;
use super::xml::error;

/// A fault played on the next request of its kind.
#[derive(Clone, Debug)]
pub enum Fault {
    Throttling,
    PriorRequestNotComplete,
    Unavailable,
    Slow(Duration),
    Dropped,
    AccessDenied,
    /// The request is done, then the connection drops before the answer:
    /// the client cannot know it landed.
    AnswerLost,
}

/// Which requests a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Change,
    List,
    Any,
}

/// Plays `fault`: the answer to send instead, or `None` to go on (after a
/// delay, for `Slow`).
pub async fn play(fault: Fault) -> Option<Response> {
    Some(match fault {
        Fault::Throttling => error(400, "Throttling", "Rate exceeded"),
        Fault::PriorRequestNotComplete => error(
            400,
            "PriorRequestNotComplete",
            "The request was rejected because Route 53 was still processing a prior request.",
        ),
        Fault::Unavailable => error(503, "ServiceUnavailable", "Service unavailable"),
        Fault::Dropped => Response::Drop,
        Fault::AccessDenied => error(
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/xfr53 is not authorized to perform this action",
        ),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::AnswerLost => return None,
    })
}
