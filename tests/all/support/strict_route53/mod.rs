//! A strict Route 53 for the tests: the REST/XML API the aws-sdk client
//! speaks, written from the Route 53 API reference and developer guide and
//! the RFCs, sharing nothing with xfr53. It canonicalizes names itself,
//! parses every value by type, enforces the documented limits and change
//! rules (model.rs), keeps a value's first spelling, lists values in
//! another order than written, holds alias and weighted sets and pages like
//! Route 53, answers PENDING before INSYNC, and plays faults on demand. For
//! tests with several writers it records who signed each change batch and
//! what the batch did to a watched set (history.rs), and holds one
//! writer's requests on demand.

mod faults;
pub mod history;
pub mod limits;
mod listing;
pub mod model;
pub mod names;
mod svcb;
mod text;
mod values;
mod xml;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{serve, Request, Response, Server};
pub use faults::{Fault, Op};
use history::{Answered, Refused};
pub use model::Sets;
use model::{Key, Zone};
use names::Name;
use xml::{error, ok, NS};

type Tamper = Box<dyn FnOnce(&mut Sets) + Send>;

struct State {
    zones: Vec<Zone>,
    next_id: u64,
    /// change ID -> GetChange calls left answering PENDING
    changes: BTreeMap<String, u32>,
    pending_polls: u32,
    /// record sets a hosted zone may hold
    quota: usize,
    faults: VecDeque<(Op, Fault)>,
    /// Run on the zone just before the next change batch: another writer.
    tamper: Option<Tamper>,
    /// Reject every change batch with this reason.
    reject_all: Option<String>,
    requests: Vec<Request>,
    /// Every ChangeResourceRecordSets request answered, in order.
    answered: Vec<Answered>,
    /// The set whose values `answered` records after each accepted batch.
    watch: Option<Key>,
    /// Requests signed with this access key ID are held this long before
    /// they are served: a writer farther from Route 53 than the others.
    hold: Option<(String, Duration)>,
}

pub struct StrictRoute53 {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl StrictRoute53 {
    pub async fn start() -> StrictRoute53 {
        let state = Arc::new(Mutex::new(State {
            zones: Vec::new(),
            next_id: 0,
            changes: BTreeMap::new(),
            pending_polls: 1,
            quota: limits::DEFAULT_QUOTA,
            faults: VecDeque::new(),
            tamper: None,
            reject_all: None,
            requests: Vec::new(),
            answered: Vec::new(),
            watch: None,
            hold: None,
        }));
        let shared = state.clone();
        let server = serve(move |request| {
            let state = shared.clone();
            async move { handle(&state, request).await }
        })
        .await;
        StrictRoute53 { state, server }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn inject(&self, op: Op, fault: Fault) {
        self.state.lock().unwrap().faults.push_back((op, fault));
    }

    pub fn tamper_before_next_change(&self, tamper: impl FnOnce(&mut Sets) + Send + 'static) {
        self.state.lock().unwrap().tamper = Some(Box::new(tamper));
    }

    pub fn reject_every_change(&self, reason: &str) {
        self.state.lock().unwrap().reject_all = Some(reason.to_string());
    }

    /// Sets the record-set quota of every hosted zone (AWS's default is
    /// 10,000 and raised on request).
    pub fn set_record_set_quota(&self, quota: usize) {
        self.state.lock().unwrap().quota = quota;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Records, for every change batch from now on, the values of the
    /// simple set `name` `rtype` it proposed and those held once it was
    /// answered (see `answered`).
    pub fn watch(&self, name: &str, rtype: &str) {
        let name = names::Name::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.state.lock().unwrap().watch = Some(Key {
            name,
            rtype: rtype.to_string(),
            identifier: None,
        });
    }

    /// Holds every request signed with `access_key` for `delay` before
    /// serving it (each is served as Route 53 stands after the delay).
    pub fn hold_requests_from(&self, access_key: &str, delay: Duration) {
        self.state.lock().unwrap().hold = Some((access_key.to_string(), delay));
    }

    /// Every ChangeResourceRecordSets request answered so far, in order.
    pub fn answered(&self) -> Vec<Answered> {
        self.state.lock().unwrap().answered.clone()
    }
}

async fn handle(state: &Mutex<State>, request: Request) -> Response {
    let op = match (request.method.as_str(), request.path()) {
        ("POST", p) if p.contains("/rrset") => Op::Change,
        ("GET", p) if p.contains("/rrset") => Op::List,
        _ => Op::Any,
    };
    let (fault, hold) = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.clone());
        let hold = (state.hold.clone())
            .filter(|(key, _)| history::access_key(&request).as_ref() == Some(key))
            .map(|(_, delay)| delay);
        let at = state
            .faults
            .iter()
            .position(|(o, _)| *o == op || *o == Op::Any);
        (
            at.and_then(|i| state.faults.remove(i)).map(|(_, f)| f),
            hold,
        )
    };
    if let Some(delay) = hold {
        tokio::time::sleep(delay).await;
    }
    let lost = matches!(fault, Some(Fault::AnswerLost));
    if let Some(fault) = fault {
        if let Some(response) = faults::play(fault).await {
            return response;
        }
    }
    let mut state = state.lock().unwrap();
    let response = route(&mut state, &request);
    match lost {
        true => Response::Drop,
        false => response,
    }
}

fn route(state: &mut State, request: &Request) -> Response {
    let path = request.path().trim_start_matches("/2013-04-01");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["hostedzone"]) => create_zone(state, request),
        ("GET", ["hostedzonesbyname"]) => list_zones(state, request),
        ("GET", ["hostedzonecount"]) => ok(format!(
            "<GetHostedZoneCountResponse xmlns=\"{NS}\"><HostedZoneCount>{}</HostedZoneCount></GetHostedZoneCountResponse>",
            state.zones.len()
        )),
        ("GET", ["hostedzone", id]) => match state.zones.iter().find(|z| z.id == *id) {
            Some(zone) => ok(format!(
                "<GetHostedZoneResponse xmlns=\"{NS}\">{}<DelegationSet><NameServers><NameServer>ns-1.strict.test</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>",
                xml::zone(zone)
            )),
            None => error(404, "NoSuchHostedZone", "No hosted zone found with ID"),
        },
        ("GET", ["hostedzone", id, "rrset"]) => listing::list_sets(state, id, request),
        ("POST", ["hostedzone", id, "rrset"]) => {
            let answer = change(state, id, request);
            let sets = state.zones.iter().find(|z| z.id == *id).map(Zone::sets);
            let answered = history::answered(request, id, &answer, state.watch.as_ref(), sets);
            state.answered.push(answered);
            match answer {
                Ok(body) => ok(body),
                Err(refused) => error(refused.status, refused.code, &refused.message),
            }
        }
        ("GET", ["change", id]) => {
            let left = state.changes.get_mut(*id);
            let status = match left {
                Some(0) => "INSYNC",
                Some(n) => {
                    *n -= 1;
                    "PENDING"
                }
                None => return error(404, "NoSuchChange", "No such change"),
            };
            ok(format!(
                "<GetChangeResponse xmlns=\"{NS}\"><ChangeInfo><Id>/change/{id}</Id><Status>{status}</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>"
            ))
        }
        _ => error(400, "InvalidInput", &format!("the strict double does not serve {} {}", request.method, request.target)),
    }
}

fn create_zone(state: &mut State, request: &Request) -> Response {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let Ok(doc) = roxmltree::Document::parse(&body) else {
        return error(400, "MalformedInput", "not XML");
    };
    let text = |tag: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string()
    };
    let name = match Name::parse(&text("Name")) {
        Ok(name) => name,
        Err(reason) => return error(400, "InvalidDomainName", &reason),
    };
    state.next_id += 1;
    let apex = name.render();
    let mut sets = Sets::default();
    sets.insert(
        (apex.clone(), "SOA".into()),
        (
            900,
            vec![format!(
                "ns-1.strict.test. hostmaster.{apex} 1 7200 900 1209600 86400"
            )],
        ),
    );
    sets.insert(
        (apex, "NS".into()),
        (172800, vec!["ns-1.strict.test.".into()]),
    );
    let zone = Zone::new(
        format!("ZSTRICT{:06}", state.next_id),
        name,
        text("PrivateZone") == "true",
        sets,
    );
    let body = format!(
        "<CreateHostedZoneResponse xmlns=\"{NS}\">{}<ChangeInfo><Id>/change/CZ{}</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo><DelegationSet><NameServers><NameServer>ns-1.strict.test</NameServer></NameServers></DelegationSet></CreateHostedZoneResponse>",
        xml::zone(&zone),
        state.next_id
    );
    state.zones.push(zone);
    Response::Reply { status: 201, body }
}

/// ListHostedZonesByName as the API reference has it: zones in order of
/// their names with labels reversed (then by ID), from `dnsname` (and
/// `hostedzoneid`) on, at most `maxitems` (default and most 100) a page,
/// with the next zone's name and ID when truncated.
fn list_zones(state: &State, request: &Request) -> Response {
    let from = match request
        .query("dnsname")
        .map(|n| Name::parse(&n))
        .transpose()
    {
        Ok(from) => from.map(|n| n.order_key()),
        Err(reason) => return error(400, "InvalidDomainName", &reason),
    };
    let from_id = request.query("hostedzoneid");
    if from_id.is_some() && from.is_none() {
        return error(400, "InvalidInput", "hostedzoneid needs dnsname");
    }
    let max = match request.query("maxitems").map(|m| m.parse::<usize>()) {
        None => 100,
        Some(Ok(m)) if (1..=100).contains(&m) => m,
        Some(_) => return error(400, "InvalidInput", "maxitems must be 1 to 100"),
    };
    let mut zones: Vec<&Zone> = state.zones.iter().collect();
    zones.sort_by_key(|z| (z.name.order_key(), z.id.clone()));
    let mut after: Vec<&Zone> = zones
        .into_iter()
        .filter(|z| match (&from, &from_id) {
            (None, _) => true,
            (Some(f), None) => z.name.order_key() >= *f,
            (Some(f), Some(id)) => (z.name.order_key(), z.id.clone()) >= (f.clone(), id.clone()),
        })
        .collect();
    let next = after.get(max).map(|z| {
        format!(
            "<NextDNSName>{}</NextDNSName><NextHostedZoneId>{}</NextHostedZoneId>",
            z.name.render(),
            z.id
        )
    });
    after.truncate(max);
    let listed: String = after.iter().map(|z| xml::zone(z)).collect();
    ok(format!(
        "<ListHostedZonesByNameResponse xmlns=\"{NS}\"><HostedZones>{listed}</HostedZones><IsTruncated>{}</IsTruncated>{}<MaxItems>{max}</MaxItems></ListHostedZonesByNameResponse>",
        next.is_some(),
        next.unwrap_or_default()
    ))
}

fn change(state: &mut State, id: &str, request: &Request) -> Result<String, Refused> {
    let refuse = |status, code, message: String| {
        Err(Refused {
            status,
            code,
            message,
        })
    };
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let changes = match xml::changes(&body) {
        Ok(changes) => changes,
        Err(reason) => return refuse(400, "MalformedInput", reason),
    };
    if let Some(tamper) = state.tamper.take() {
        if let Some(zone) = state.zones.iter_mut().find(|z| z.id == id) {
            let mut sets = zone.sets().clone();
            tamper(&mut sets);
            zone.replace_sets(sets);
        }
    }
    if let Some(reason) = &state.reject_all {
        return refuse(400, "InvalidChangeBatch", format!("[{reason}]"));
    }
    let quota = state.quota;
    let Some(zone) = state.zones.iter_mut().find(|z| z.id == id) else {
        return refuse(
            404,
            "NoSuchHostedZone",
            "No hosted zone found with ID".into(),
        );
    };
    match zone.apply(&changes, quota) {
        Ok(sets) => zone.replace_sets(sets),
        Err(refused) => {
            return refuse(
                400,
                refused.code,
                format!("[{}]", refused.reasons.join(", ")),
            )
        }
    }
    state.next_id += 1;
    let change_id = format!("CSTRICT{:06}", state.next_id);
    state.changes.insert(change_id.clone(), state.pending_polls);
    Ok(format!(
        "<ChangeResourceRecordSetsResponse xmlns=\"{NS}\"><ChangeInfo><Id>/change/{change_id}</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"
    ))
}
