//! What the double answered to each ChangeResourceRecordSets request: who
//! signed it, whether the batch was accepted, and what it meant for one
//! watched record set. Lets a test with several writers tell them apart
//! (each signs with its own access key ID) and check the order in which
//! their batches landed.

use super::super::http::Request;
use super::model::{Data, Key, Sets};
use super::names::Name;
use super::xml;

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
    /// The values the batch would CREATE or UPSERT at the watched set.
    pub proposed: Option<Vec<String>>,
    /// The watched set's values once the request was answered (after an
    /// accepted batch, or as they stood when one was refused); empty when
    /// the set is absent, `None` when nothing is watched.
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

/// The request's answer, for the history; `sets` is the zone once it was
/// answered.
pub fn answered(
    request: &Request,
    zone_id: &str,
    answer: &Result<String, Refused>,
    watch: Option<&Key>,
    sets: Option<&Sets>,
) -> Answered {
    let watched = watch.map(|key| match sets.and_then(|s| s.get(key)).map(|h| &h.data) {
        Some(Data::Records { values, .. }) => values.clone(),
        Some(Data::Alias(alias)) => vec![format!("alias {}", alias.dns_name)],
        None => Vec::new(),
    });
    Answered {
        access_key: access_key(request),
        zone_id: zone_id.to_string(),
        refused: answer.as_ref().err().map(|r| r.code),
        proposed: watch.and_then(|key| proposed(request, key)),
        watched,
    }
}

/// The values a batch would CREATE or UPSERT at `key`.
fn proposed(request: &Request, key: &Key) -> Option<Vec<String>> {
    let changes = xml::changes(&String::from_utf8_lossy(&request.body)).ok()?;
    changes
        .into_iter()
        .filter(|c| c.action == "CREATE" || c.action == "UPSERT")
        .find(|c| {
            c.rtype == key.rtype
                && c.identifier == key.identifier
                && Name::parse(&c.name).ok().as_ref() == Some(&key.name)
        })
        .map(|c| c.values)
}
