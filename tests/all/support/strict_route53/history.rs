//! What the double answered to each ChangeResourceRecordSets request: who
//! signed it, whether the batch was accepted, and the values one watched
//! record set held after each accepted batch. Lets a test with several
//! writers tell them apart (each signs with its own access key ID) and
//! check the order in which their batches landed.

use super::super::http::Request;
use super::model::{Data, Key, Sets};

/// One ChangeResourceRecordSets request as the double answered it.
#[derive(Clone, Debug)]
pub struct Answered {
    /// The access key ID in the request's Signature Version 4
    /// `Authorization` header (`Credential=<AKID>/<date>/…`).
    pub access_key: Option<String>,
    pub zone_id: String,
    /// `None` when the batch was accepted, else the error code answered
    /// (`InvalidChangeBatch` when Route 53 refuses the changes).
    pub refused: Option<&'static str>,
    /// After an accepted batch, the watched set's values (empty when the
    /// set is absent); `None` when refused or nothing is watched.
    pub watched: Option<Vec<String>>,
}

/// A ChangeResourceRecordSets request the double refuses.
pub struct Refused {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// The access key ID of a request signed with Signature Version 4.
pub fn access_key(request: &Request) -> Option<String> {
    let (_, authorization) = request
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")?;
    let credential = authorization.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// The request's answer, for the history; `sets` is the zone after the
/// request (unchanged when refused).
pub fn answered(
    request: &Request,
    zone_id: &str,
    answer: &Result<String, Refused>,
    watch: Option<&Key>,
    sets: Option<&Sets>,
) -> Answered {
    let watched = match (answer, watch, sets) {
        (Ok(_), Some(key), Some(sets)) => Some(match sets.get(key).map(|h| &h.data) {
            Some(Data::Records { values, .. }) => values.clone(),
            Some(Data::Alias(alias)) => vec![format!("alias {}", alias.dns_name)],
            None => Vec::new(),
        }),
        _ => None,
    };
    Answered {
        access_key: access_key(request),
        zone_id: zone_id.to_string(),
        refused: answer.as_ref().err().map(|r| r.code),
        watched,
    }
}
