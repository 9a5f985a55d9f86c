//! A strict Route 53 for the tests: the REST/XML API the aws-sdk client
//! speaks, enforcing what AWS documents and moto does not: a DELETE must
//! match the current set exactly, a CREATE must not find one, batches are
//! atomic, 1,000 values and 32,000 characters per request (UPSERT counted
//! twice), 255 bytes per TXT string, names stored canonically (lowercase,
//! `*` as `\052`), the apex SOA and NS undeletable, PENDING before INSYNC;
//! and faults on demand.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{serve, xml_escape, Request, Response, Server};

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// A fault played on the next request of its kind.
#[derive(Clone, Debug)]
pub enum Fault {
    Throttling,
    PriorRequestNotComplete,
    Unavailable,
    Slow(Duration),
    Dropped,
    AccessDenied,
}

/// Which requests a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Change,
    List,
    Any,
}

pub type Sets = BTreeMap<(String, String), (u32, Vec<String>)>;
type Tamper = Box<dyn FnOnce(&mut Sets) + Send>;

struct Zone {
    id: String,
    name: String,
    private: bool,
    sets: Sets,
}

#[derive(Default)]
struct State {
    zones: Vec<Zone>,
    next_id: u64,
    /// change ID -> GetChange calls left answering PENDING
    changes: BTreeMap<String, u32>,
    pending_polls: u32,
    faults: VecDeque<(Op, Fault)>,
    /// Run on the zone just before the next change batch: another writer.
    tamper: Option<Tamper>,
    /// Reject every change batch with this reason.
    reject_all: Option<String>,
    /// Answer every request 503, as an outage.
    down: bool,
    requests: Vec<Request>,
}

pub struct StrictRoute53 {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl StrictRoute53 {
    pub async fn start() -> StrictRoute53 {
        let state = Arc::new(Mutex::new(State {
            pending_polls: 1,
            ..State::default()
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

    /// Starts or ends an outage: every request answered 503.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub fn reject_every_change(&self, reason: &str) {
        self.state.lock().unwrap().reject_all = Some(reason.to_string());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// How Route 53 stores a name: lowercase, absolute, a leading `*` as `\052`.
pub fn canonical(name: &str) -> String {
    let mut name = name.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    match name.strip_prefix("*.") {
        Some(rest) => format!("\\052.{rest}"),
        None => name,
    }
}

async fn handle(state: &Mutex<State>, request: Request) -> Response {
    let op = match (request.method.as_str(), request.path()) {
        ("POST", p) if p.contains("/rrset") => Op::Change,
        ("GET", p) if p.contains("/rrset") => Op::List,
        _ => Op::Any,
    };
    let fault = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.clone());
        if state.down {
            return error(503, "ServiceUnavailable", "Service unavailable");
        }
        let at = state
            .faults
            .iter()
            .position(|(o, _)| *o == op || *o == Op::Any);
        at.and_then(|i| state.faults.remove(i)).map(|(_, f)| f)
    };
    match fault {
        Some(Fault::Throttling) => return error(400, "Throttling", "Rate exceeded"),
        Some(Fault::PriorRequestNotComplete) => {
            return error(
                400,
                "PriorRequestNotComplete",
                "The request was rejected because Route 53 was still processing a prior request.",
            )
        }
        Some(Fault::Unavailable) => return error(503, "ServiceUnavailable", "Service unavailable"),
        Some(Fault::Dropped) => return Response::Drop,
        Some(Fault::AccessDenied) => return error(
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/xfr53 is not authorized to perform this action",
        ),
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let mut state = state.lock().unwrap();
    route(&mut state, &request)
}

fn route(state: &mut State, request: &Request) -> Response {
    let path = request.path().trim_start_matches("/2013-04-01");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["hostedzone"]) => create_zone(state, request),
        ("GET", ["hostedzonesbyname"]) => list_zones(state, request),
        ("GET", ["hostedzone", id]) => match state.zones.iter().find(|z| z.id == *id) {
            Some(zone) => ok(format!(
                "<GetHostedZoneResponse xmlns=\"{NS}\">{}<DelegationSet><NameServers><NameServer>ns-1.strict.test</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>",
                zone_xml(zone)
            )),
            None => error(404, "NoSuchHostedZone", "No hosted zone found with ID"),
        },
        ("GET", ["hostedzone", id, "rrset"]) => list_sets(state, id, request),
        ("POST", ["hostedzone", id, "rrset"]) => change(state, id, request),
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
    let doc = roxmltree::Document::parse(&body).unwrap();
    let text = |tag: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string()
    };
    state.next_id += 1;
    let name = canonical(&text("Name"));
    let mut sets = Sets::new();
    sets.insert(
        (name.clone(), "SOA".into()),
        (
            900,
            vec![format!(
                "ns-1.strict.test. hostmaster.{name} 1 7200 900 1209600 86400"
            )],
        ),
    );
    sets.insert(
        (name.clone(), "NS".into()),
        (172800, vec!["ns-1.strict.test.".into()]),
    );
    let zone = Zone {
        id: format!("ZSTRICT{:06}", state.next_id),
        name,
        private: text("PrivateZone") == "true",
        sets,
    };
    let body = format!(
        "<CreateHostedZoneResponse xmlns=\"{NS}\">{}<ChangeInfo><Id>/change/CZ{}</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo><DelegationSet><NameServers><NameServer>ns-1.strict.test</NameServer></NameServers></DelegationSet></CreateHostedZoneResponse>",
        zone_xml(&zone),
        state.next_id
    );
    state.zones.push(zone);
    Response::Reply { status: 201, body }
}

fn zone_xml(zone: &Zone) -> String {
    format!(
        "<HostedZone><Id>/hostedzone/{}</Id><Name>{}</Name><CallerReference>test</CallerReference><Config><PrivateZone>{}</PrivateZone></Config><ResourceRecordSetCount>{}</ResourceRecordSetCount></HostedZone>",
        zone.id,
        xml_escape(&zone.name),
        zone.private,
        zone.sets.len()
    )
}

fn list_zones(state: &State, request: &Request) -> Response {
    let from = request.query("dnsname").map(|n| canonical(&n));
    let mut zones: Vec<&Zone> = state.zones.iter().collect();
    zones.sort_by_key(|z| reversed(&z.name));
    let listed: String = zones
        .iter()
        .filter(|z| {
            from.as_ref()
                .is_none_or(|f| reversed(&z.name) >= reversed(f))
        })
        .map(|z| zone_xml(z))
        .collect();
    ok(format!(
        "<ListHostedZonesByNameResponse xmlns=\"{NS}\"><HostedZones>{listed}</HostedZones><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesByNameResponse>"
    ))
}

/// Route 53 lists names by their labels reversed.
fn reversed(name: &str) -> String {
    name.trim_end_matches('.')
        .rsplit('.')
        .collect::<Vec<_>>()
        .join(".")
}

fn list_sets(state: &State, id: &str, request: &Request) -> Response {
    let Some(zone) = state.zones.iter().find(|z| z.id == id) else {
        return error(404, "NoSuchHostedZone", "No hosted zone found with ID");
    };
    let max: usize = request
        .query("maxitems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(300)
        .min(300);
    let start = request.query("name").map(|n| {
        (
            reversed(&canonical(&n)),
            request.query("type").unwrap_or_default(),
        )
    });
    let mut sets: Vec<_> = zone
        .sets
        .iter()
        .map(|((n, t), v)| ((reversed(n), t.clone()), (n, t, v)))
        .collect();
    sets.sort_by(|a, b| a.0.cmp(&b.0));
    let from: Vec<_> = sets
        .into_iter()
        .filter(|(key, _)| start.as_ref().is_none_or(|s| key >= s))
        .collect();
    let page: String = from
        .iter()
        .take(max)
        .map(|(_, (name, rtype, (ttl, values)))| {
            let records: String = values
                .iter()
                .map(|v| format!("<ResourceRecord><Value>{}</Value></ResourceRecord>", xml_escape(v)))
                .collect();
            format!(
                "<ResourceRecordSet><Name>{}</Name><Type>{rtype}</Type><TTL>{ttl}</TTL><ResourceRecords>{records}</ResourceRecords></ResourceRecordSet>",
                xml_escape(name)
            )
        })
        .collect();
    let next = match from.get(max) {
        Some((_, (name, rtype, _))) => format!(
            "<IsTruncated>true</IsTruncated><NextRecordName>{}</NextRecordName><NextRecordType>{rtype}</NextRecordType>",
            xml_escape(name)
        ),
        None => "<IsTruncated>false</IsTruncated>".into(),
    };
    ok(format!(
        "<ListResourceRecordSetsResponse xmlns=\"{NS}\"><ResourceRecordSets>{page}</ResourceRecordSets>{next}<MaxItems>{max}</MaxItems></ListResourceRecordSetsResponse>"
    ))
}

struct Change {
    action: String,
    name: String,
    rtype: String,
    ttl: u32,
    values: Vec<String>,
}

fn change(state: &mut State, id: &str, request: &Request) -> Response {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let Ok(doc) = roxmltree::Document::parse(&body) else {
        return error(400, "MalformedInput", "not XML");
    };
    let changes: Vec<Change> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Change"))
        .map(|c| {
            let text = |tag: &str| {
                c.descendants()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .to_string()
            };
            Change {
                action: text("Action"),
                name: canonical(&text("Name")),
                rtype: text("Type"),
                ttl: text("TTL").parse().unwrap_or(0),
                values: c
                    .descendants()
                    .filter(|n| n.has_tag_name("Value"))
                    .map(|n| n.text().unwrap_or("").to_string())
                    .collect(),
            }
        })
        .collect();
    if let Some(tamper) = state.tamper.take() {
        if let Some(zone) = state.zones.iter_mut().find(|z| z.id == id) {
            tamper(&mut zone.sets);
        }
    }
    if let Some(reason) = &state.reject_all {
        return error(400, "InvalidChangeBatch", &format!("[{reason}]"));
    }
    let Some(zone) = state.zones.iter_mut().find(|z| z.id == id) else {
        return error(404, "NoSuchHostedZone", "No hosted zone found with ID");
    };
    match apply(zone, &changes) {
        Ok(sets) => zone.sets = sets,
        Err(reasons) => {
            return error(
                400,
                "InvalidChangeBatch",
                &format!("[{}]", reasons.join(", ")),
            )
        }
    }
    state.next_id += 1;
    let change_id = format!("CSTRICT{:06}", state.next_id);
    state.changes.insert(change_id.clone(), state.pending_polls);
    ok(format!(
        "<ChangeResourceRecordSetsResponse xmlns=\"{NS}\"><ChangeInfo><Id>/change/{change_id}</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"
    ))
}

/// The zone after `changes`, or every reason the batch fails.
fn apply(zone: &Zone, changes: &[Change]) -> Result<Sets, Vec<String>> {
    let mut sets = zone.sets.clone();
    let mut reasons = Vec::new();
    let (mut values, mut chars) = (0, 0);
    for change in changes {
        let weight = if change.action == "UPSERT" { 2 } else { 1 };
        values += weight * change.values.len();
        chars += weight * change.values.iter().map(String::len).sum::<usize>();
        let key = (change.name.clone(), change.rtype.clone());
        let described = format!("[name='{}', type='{}']", change.name, change.rtype);
        if !(change.name == zone.name || change.name.ends_with(&format!(".{}", zone.name))) {
            reasons.push(format!(
                "RRSet with DNS name {} is not permitted in zone {}",
                change.name, zone.name
            ));
            continue;
        }
        if change.name == zone.name
            && (change.rtype == "SOA" || change.rtype == "NS")
            && change.action != "UPSERT"
        {
            reasons.push(format!("A HostedZone must contain at least one NS record and one SOA record for the zone itself: {described}"));
            continue;
        }
        if let Some(problem) = change
            .values
            .iter()
            .find_map(|v| value_problem(&change.rtype, v))
        {
            reasons.push(format!("{problem} {described}"));
            continue;
        }
        let mut sorted = change.values.clone();
        sorted.sort();
        match change.action.as_str() {
            "DELETE" => match sets.get(&key) {
                None => reasons.push(format!(
                    "Tried to delete resource record set {described} but it was not found"
                )),
                Some((ttl, current)) => {
                    let mut current = current.clone();
                    current.sort();
                    if *ttl != change.ttl || current != sorted {
                        reasons.push(format!("Tried to delete resource record set {described} but the values provided do not match the current values"));
                    } else {
                        sets.remove(&key);
                    }
                }
            },
            "CREATE" | "UPSERT" => {
                if change.action == "CREATE" && sets.contains_key(&key) {
                    reasons.push(format!(
                        "Tried to create resource record set {described} but it already exists"
                    ));
                    continue;
                }
                let conflict = sets.keys().find(|(n, t)| {
                    *n == change.name
                        && *t != change.rtype
                        && (t == "CNAME" || change.rtype == "CNAME")
                });
                if let Some((_, other)) = conflict {
                    reasons.push(format!("RRSet of type {} with DNS name {} is not permitted because a conflicting RRSet of type {other} with the same DNS name already exists", change.rtype, change.name));
                    continue;
                }
                sets.insert(key, (change.ttl, change.values.clone()));
            }
            other => reasons.push(format!("unknown action {other}")),
        }
    }
    if values > 1000 {
        reasons.push(format!(
            "Number of records limit of 1000 exceeded: {values}"
        ));
    }
    if chars > 32_000 {
        reasons.push(format!("RDATA character limit of 32000 exceeded: {chars}"));
    }
    match reasons.is_empty() {
        true => Ok(sets),
        false => Err(reasons),
    }
}

/// What Route 53 says about a bad value, if anything.
fn value_problem(rtype: &str, value: &str) -> Option<String> {
    if value.len() > 4000 {
        return Some(format!("Value of {} characters is over 4000", value.len()));
    }
    if rtype != "TXT" && rtype != "SPF" {
        return None;
    }
    // a sequence of quoted strings: \" \\ and \ooo escapes; each <= 255 bytes
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ').is_some() {}
        match chars.next() {
            None => return None,
            Some('"') => {}
            Some(_) => return Some("Invalid Resource Record: TXT value is not quoted".into()),
        }
        let mut bytes = 0;
        loop {
            match chars.next() {
                None => return Some("Invalid Resource Record: unterminated quoted string".into()),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some(d) if d.is_ascii_digit() => {
                        chars.next();
                        chars.next();
                        bytes += 1;
                    }
                    Some(_) => bytes += 1,
                    None => return Some("Invalid Resource Record: dangling escape".into()),
                },
                Some(c) => bytes += c.len_utf8(),
            }
        }
        if bytes > 255 {
            return Some(
                "Invalid Resource Record: CharacterStringTooLong (Value is too long)".into(),
            );
        }
    }
}

fn ok(body: String) -> Response {
    Response::Reply {
        status: 200,
        body: format!("<?xml version=\"1.0\"?>\n{body}"),
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response::Reply {
        status,
        body: format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>strict</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    }
}
