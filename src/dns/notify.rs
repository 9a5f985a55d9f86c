//! What the NOTIFY listener answers to one message, decided without I/O.
//!
//! Only a well-formed NOTIFY (opcode NOTIFY, one SOA question) for a
//! configured zone, from an allowed source, is accepted (RFC 1996: same ID,
//! QR and AA set, question echoed). A signed one must verify with the zone's
//! key; an unsigned one is accepted unless the zone requires TSIG, as BIND
//! does for its primaries: many providers sign transfers, not NOTIFY, and a
//! NOTIFY only makes xfr53 send a signed SOA query to the configured
//! primary. Well-formed queries otherwise get REFUSED (strangers and
//! unknown zones alike, so no one learns which zones are served), FORMERR
//! or NOTAUTH, and never data; garbage and responses get silence. No reply
//! is larger than the message it answers. Replayed signatures are caught by
//! the listener, which keeps the MACs this decision reports.

use std::collections::HashMap;
use std::net::SocketAddr;

use hickory_proto::dnssec::rdata::tsig::{make_tsig_record, message_tbs, TSIG};
use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use ipnet::IpNet;

use super::tsig::{TsigKey, FUDGE_SECONDS};
use crate::core::name::Name;
use crate::core::serial::Serial;

/// Who may NOTIFY a zone.
#[derive(Clone, Debug)]
pub struct NotifyZone {
    pub zone: Name,
    pub notify_from: Vec<IpNet>,
    pub key: Option<TsigKey>,
    pub tsig: NotifyTsig,
}

/// Whether a zone takes an unsigned NOTIFY from `notify_from`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotifyTsig {
    #[default]
    Optional,
    /// Unsigned NOTIFY is refused (the configuration gives the zone a key).
    Required,
}

/// The zones the listener knows.
#[derive(Clone, Debug, Default)]
pub struct NotifyPolicy {
    zones: HashMap<Name, NotifyZone>,
}

impl NotifyPolicy {
    pub fn new(zones: impl IntoIterator<Item = NotifyZone>) -> NotifyPolicy {
        NotifyPolicy {
            zones: zones.into_iter().map(|z| (z.zone.clone(), z)).collect(),
        }
    }

    /// Whether `source` may NOTIFY some zone: such sources get the
    /// listener's reserved TCP slots.
    pub fn trusts(&self, source: std::net::IpAddr) -> bool {
        self.zones
            .values()
            .any(|z| z.notify_from.iter().any(|net| net.contains(&source)))
    }
}

/// What became of one message; the listener counts these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accepted,
    /// Not a DNS message: silence.
    Garbage,
    /// A response, not a query: silence (never answer answers).
    Response,
    /// A signed NOTIFY whose MAC was already accepted inside its time
    /// window (RFC 8945 section 5.2.3): answered, since a sender
    /// retransmits the same signed message when a reply is lost, but it
    /// starts no sync.
    Replayed,
    /// Not opcode NOTIFY: REFUSED.
    NotNotify,
    /// NOTIFY without exactly one IN SOA question: FORMERR.
    BadQuestion,
    /// A zone not configured here: REFUSED, as for a stranger.
    UnknownZone,
    /// A source outside the zone's `notify_from`: REFUSED.
    SourceRefused,
    /// A TSIG that does not verify with the zone's key: NOTAUTH.
    BadTsig,
    /// Unsigned where the zone sets `notify_tsig = "required"`: NOTAUTH.
    UnsignedRefused,
}

impl Verdict {
    pub const ALL: [Verdict; 10] = [
        Verdict::Accepted,
        Verdict::Garbage,
        Verdict::Response,
        Verdict::Replayed,
        Verdict::NotNotify,
        Verdict::BadQuestion,
        Verdict::UnknownZone,
        Verdict::SourceRefused,
        Verdict::BadTsig,
        Verdict::UnsignedRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Garbage => "garbage",
            Verdict::Response => "response",
            Verdict::Replayed => "replayed",
            Verdict::NotNotify => "not_notify",
            Verdict::BadQuestion => "bad_question",
            Verdict::UnknownZone => "unknown_zone",
            Verdict::SourceRefused => "source_refused",
            Verdict::BadTsig => "bad_tsig",
            Verdict::UnsignedRefused => "unsigned_refused",
        }
    }
}

/// An accepted NOTIFY: a hint that `zone` may have changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyEvent {
    pub zone: Name,
    /// The serial the NOTIFY carried, if any: only a hint.
    pub serial: Option<Serial>,
    pub source: SocketAddr,
}

/// The decision about one message.
#[derive(Debug)]
pub struct Handled {
    pub verdict: Verdict,
    /// For a NOTIFY whose signature was looked at: what it was.
    pub tsig: Option<TsigCase>,
    pub reply: Option<Vec<u8>>,
    pub event: Option<NotifyEvent>,
    /// For an accepted signed NOTIFY: its MAC, for the replay check.
    pub signature: Option<Signature>,
}

/// The MAC of a verified request and the Unix time after which it can no
/// longer verify, so need no longer be remembered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub key: String,
    pub mac: Vec<u8>,
    pub expires: u64,
}

/// The signature of a NOTIFY from an allowed source, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigCase {
    /// Signed and verified: accepted.
    Signed,
    /// Unsigned, the zone does not require TSIG: accepted.
    Unsigned,
    /// Signed, but not verified with the zone's key: refused.
    BadSignature,
    /// Unsigned, the zone requires TSIG: refused.
    UnsignedRefused,
}

impl TsigCase {
    pub const ALL: [TsigCase; 4] = [
        TsigCase::Signed,
        TsigCase::Unsigned,
        TsigCase::BadSignature,
        TsigCase::UnsignedRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TsigCase::Signed => "signed",
            TsigCase::Unsigned => "unsigned",
            TsigCase::BadSignature => "bad_signature",
            TsigCase::UnsignedRefused => "unsigned_refused",
        }
    }
}

/// Decides what to do with `query` from `source`; `now` is Unix time, for
/// TSIG.
pub fn handle(policy: &NotifyPolicy, query: &[u8], source: SocketAddr, now: u64) -> Handled {
    let silent = |verdict| Handled {
        verdict,
        tsig: None,
        reply: None,
        event: None,
        signature: None,
    };
    let Ok(header) = Header::read(&mut BinDecoder::new(query)) else {
        return silent(Verdict::Garbage);
    };
    if header.message_type() != MessageType::Query {
        return silent(Verdict::Response);
    }
    let Ok(message) = Message::from_vec(query) else {
        return silent(Verdict::Garbage);
    };
    let refuse = |verdict, rcode| Handled {
        verdict,
        tsig: None,
        reply: reply(&message, rcode, None).filter(|r| r.len() <= query.len()),
        event: None,
        signature: None,
    };
    if message.op_code() != OpCode::Notify {
        return refuse(Verdict::NotNotify, ResponseCode::Refused);
    }
    let question = match message.queries() {
        [q] if q.query_type() == RecordType::SOA && q.query_class() == DNSClass::IN => q,
        _ => return refuse(Verdict::BadQuestion, ResponseCode::FormErr),
    };
    let zone_name = Name::from_hickory(question.name());
    let Some(zone) = policy.zones.get(&zone_name) else {
        return refuse(Verdict::UnknownZone, ResponseCode::Refused);
    };
    if !zone
        .notify_from
        .iter()
        .any(|net| net.contains(&source.ip()))
    {
        return refuse(Verdict::SourceRefused, ResponseCode::Refused);
    }
    let refuse_tsig = |verdict, case| Handled {
        tsig: Some(case),
        ..refuse(verdict, ResponseCode::NotAuth)
    };
    let signed_with = match signed_with(zone, &message, query, now) {
        Ok(signed_with) => signed_with,
        Err((verdict, case)) => return refuse_tsig(verdict, case),
    };
    let case = match signed_with {
        Some(_) => TsigCase::Signed,
        None => TsigCase::Unsigned,
    };
    let serial = message
        .answers()
        .iter()
        .filter(|r| Name::from_hickory(r.name()) == zone_name)
        .find_map(|r| r.data().as_soa())
        .map(|soa| Serial(soa.serial()));
    let signer = signed_with
        .as_ref()
        .map(|(key, (mac, _))| (*key, mac.clone(), now));
    match reply(&message, ResponseCode::NoError, signer).filter(|r| r.len() <= query.len()) {
        Some(bytes) => Handled {
            verdict: Verdict::Accepted,
            tsig: Some(case),
            reply: Some(bytes),
            event: Some(NotifyEvent {
                zone: zone_name,
                serial,
                source,
            }),
            signature: signed_with.map(|(key, (mac, expires))| Signature {
                key: key.name().to_ascii().to_ascii_lowercase(),
                mac,
                expires,
            }),
        },
        None => silent(Verdict::Garbage),
    }
}

/// A verified request's MAC and the end of its time window.
type Verified = (Vec<u8>, u64);

/// The zone's key and the verified MAC and expiry of a signed NOTIFY,
/// `None` for an unsigned one the zone takes, or why it is refused.
fn signed_with<'a>(
    zone: &'a NotifyZone,
    message: &Message,
    query: &[u8],
    now: u64,
) -> Result<Option<(&'a TsigKey, Verified)>, (Verdict, TsigCase)> {
    match (&zone.key, message.signature().is_empty()) {
        (_, true) if zone.tsig == NotifyTsig::Required => {
            Err((Verdict::UnsignedRefused, TsigCase::UnsignedRefused))
        }
        (_, true) => Ok(None),
        (Some(key), false) => match verify(key, query, now) {
            Some(verified) => Ok(Some((key, verified))),
            None => Err((Verdict::BadTsig, TsigCase::BadSignature)),
        },
        // signed, but the zone has no key to verify it with
        (None, false) => Err((Verdict::BadTsig, TsigCase::BadSignature)),
    }
}

/// The request's MAC and the end of its time window, when its TSIG is
/// valid and timely. The window is the signer's fudge, at most ours: a
/// signature claiming a day's fudge must not be replayable for a day.
fn verify(key: &TsigKey, query: &[u8], now: u64) -> Option<Verified> {
    let (mac, valid_times, signed) = key.signer().verify_message_byte(None, query, true).ok()?;
    let fudge = (signed - valid_times.start).min(u64::from(FUDGE_SECONDS));
    (signed.saturating_sub(fudge) <= now && now <= signed + fudge).then_some((mac, signed + fudge))
}

/// A reply echoing `query`'s ID, opcode and question; signed when the
/// request was, chaining the request's MAC (RFC 8945 section 5.3).
fn reply(
    query: &Message,
    rcode: ResponseCode,
    signer: Option<(&TsigKey, Vec<u8>, u64)>,
) -> Option<Vec<u8>> {
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_authoritative(rcode == ResponseCode::NoError)
        .set_response_code(rcode)
        .add_queries(query.queries().iter().cloned());
    if let Some((key, request_mac, now)) = signer {
        let pre_tsig = TSIG::new(
            key.algorithm().clone(),
            now,
            FUDGE_SECONDS,
            Vec::new(),
            query.id(),
            0,
            Vec::new(),
        );
        let tbs = message_tbs(Some(&request_mac), &reply, &pre_tsig, key.name()).ok()?;
        let mac = key.signer().sign(&tbs).ok()?;
        reply.add_tsig(make_tsig_record(key.name().clone(), pre_tsig.set_mac(mac)));
    }
    reply.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
    use hickory_proto::dnssec::tsig::TSigner;
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name as DnsName;

    const SECRET: &str = "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=";

    fn key() -> TsigKey {
        TsigKey::new("k", "hmac-sha256", SECRET).unwrap()
    }

    /// A NOTIFY for a.test signed at `signed` claiming `fudge`.
    fn signed_notify(signed: u64, fudge: u16) -> Vec<u8> {
        let signer = TSigner::new(
            data_encoding::BASE64.decode(SECRET.as_bytes()).unwrap(),
            TsigAlgorithm::HmacSha256,
            DnsName::from_ascii("k").unwrap(),
            fudge,
        )
        .unwrap();
        let mut message = Message::new();
        message
            .set_id(9)
            .set_op_code(OpCode::Notify)
            .add_query(Query::query(
                DnsName::from_ascii("a.test.").unwrap(),
                RecordType::SOA,
            ));
        message.finalize(&signer, signed as u32).unwrap();
        message.to_vec().unwrap()
    }

    fn policy() -> NotifyPolicy {
        NotifyPolicy::new([NotifyZone {
            zone: Name::parse_route53("a.test").unwrap(),
            notify_from: vec!["127.0.0.1/32".parse().unwrap()],
            key: Some(key()),
            tsig: NotifyTsig::Optional,
        }])
    }

    #[test]
    fn a_signature_is_timely_within_our_fudge_at_most_and_says_when_it_expires() {
        let source = "127.0.0.1:53".parse().unwrap();
        let now = 1_800_000_000;
        let handled = handle(&policy(), &signed_notify(now - 10, 300), source, now);
        assert_eq!(handled.verdict, Verdict::Accepted);
        let signature = handled.signature.unwrap();
        assert_eq!(signature.key, "k");
        assert_eq!(signature.expires, now - 10 + 300);
        // a day's fudge claimed by the signer: still only ours
        let late = handle(&policy(), &signed_notify(now - 1000, 65535), source, now);
        assert_eq!(late.verdict, Verdict::BadTsig);
        let early = handle(&policy(), &signed_notify(now + 301, 300), source, now);
        assert_eq!(early.verdict, Verdict::BadTsig);
    }

    #[test]
    fn strangers_and_unknown_zones_get_the_same_refusal() {
        let now = 1_800_000_000;
        let query = signed_notify(now, 300);
        let stranger = handle(&policy(), &query, "192.0.2.1:53".parse().unwrap(), now);
        let empty = NotifyPolicy::default();
        let unknown = handle(&empty, &query, "127.0.0.1:53".parse().unwrap(), now);
        assert_eq!(stranger.verdict, Verdict::SourceRefused);
        assert_eq!(unknown.verdict, Verdict::UnknownZone);
        assert_eq!(stranger.reply, unknown.reply);
        let reply = Message::from_vec(&stranger.reply.unwrap()).unwrap();
        assert_eq!(reply.response_code(), ResponseCode::Refused);
    }
}
