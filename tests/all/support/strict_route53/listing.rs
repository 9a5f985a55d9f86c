//! ListResourceRecordSets as the API reference describes it: sets sorted
//! by name with its labels reversed, then by type; a page starts at
//! StartRecordName / Type / Identifier and ends with NextRecordName / Type
//! / Identifier when truncated.

use std::cmp::Reverse;

use super::super::http::{xml_escape, Request, Response};
use super::model::{Key, Sets};
use super::names::Name;
use super::xml::{self, error, ok, NS};
use super::State;

/// Where a set stands in a listing: name with its labels reversed, then
/// type, then SetIdentifier (routed sets in reverse order of identifier:
/// the API leaves that order open).
pub type Position = (String, String, Option<Reverse<String>>);

fn position(key: &Key) -> Position {
    (
        key.name.order_key(),
        key.rtype.clone(),
        key.identifier.clone().map(Reverse),
    )
}

/// The keys of `sets` in listing order.
pub fn listing_order(sets: &Sets) -> Vec<(Position, Key)> {
    let mut order: Vec<(Position, Key)> =
        sets.iter().map(|(k, _)| (position(k), k.clone())).collect();
    order.sort();
    order
}

/// ListResourceRecordSets: from (name, type, identifier) on, at most
/// `maxitems` (default and ceiling 300), with NextRecordName / Type /
/// Identifier when truncated.
pub fn list_sets(state: &State, id: &str, request: &Request) -> Response {
    let Some(zone) = state.zones.iter().find(|z| z.id == id) else {
        return error(404, "NoSuchHostedZone", "No hosted zone found with ID");
    };
    let max: usize = match request.query("maxitems").map(|m| m.parse::<usize>()) {
        None => 300,
        Some(Ok(m)) if m > 0 => m.min(300),
        Some(_) => return error(400, "InvalidInput", "maxitems must be a positive number"),
    };
    let (name, rtype, identifier) = (
        request.query("name"),
        request.query("type"),
        request.query("identifier"),
    );
    if (rtype.is_some() && name.is_none()) || (identifier.is_some() && rtype.is_none()) {
        return error(400, "InvalidInput", "The input is not valid");
    }
    let start = match name.map(|n| Name::parse(&n)).transpose() {
        Ok(start) => start.map(|n| {
            (
                n.order_key(),
                rtype.unwrap_or_default(),
                identifier.map(Reverse),
            )
        }),
        Err(reason) => return error(400, "InvalidInput", &reason),
    };
    let order = zone.order();
    let first = start
        .as_ref()
        .map_or(0, |s| order.partition_point(|(p, _)| p < s));
    let from = &order[first..];
    let page: String = from
        .iter()
        .take(max)
        .filter_map(|(_, key)| Some(xml::set(key, zone.sets().get(key)?)))
        .collect();
    let next = match from.get(max) {
        Some((_, key)) => {
            let identifier = key
                .identifier
                .as_ref()
                .map(|i| {
                    format!(
                        "<NextRecordIdentifier>{}</NextRecordIdentifier>",
                        xml_escape(i)
                    )
                })
                .unwrap_or_default();
            format!(
                "<IsTruncated>true</IsTruncated><NextRecordName>{}</NextRecordName><NextRecordType>{}</NextRecordType>{identifier}",
                xml_escape(&key.name.render()),
                key.rtype
            )
        }
        None => "<IsTruncated>false</IsTruncated>".into(),
    };
    ok(format!(
        "<ListResourceRecordSetsResponse xmlns=\"{NS}\"><ResourceRecordSets>{page}</ResourceRecordSets>{next}<MaxItems>{max}</MaxItems></ListResourceRecordSetsResponse>"
    ))
}
