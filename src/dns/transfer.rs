//! Zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, checked
//! message by message (ID, question, TSIG) and record by record (opening and
//! closing SOA with one serial, every owner inside the zone). Records go into
//! a new zone as they arrive; IXFR deltas are applied only once the whole
//! answer has been read and checked. On any error the held zone is unchanged.
//! Every exchange is bounded in records, bytes and time (`TransferLimits`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};
use tokio::net::TcpStream;

use super::primary::Primary;
use super::wire::{read_frame, write_frame, Outgoing, ResponseError};
use crate::core::name::Name;
use crate::core::rules::TransferLimits;
use crate::core::serial::Serial;
use crate::core::zone::{Delta, Zone};

/// What a refresh did.
#[derive(Debug, PartialEq, Eq)]
pub enum Transferred {
    /// The primary has nothing newer than the serial held.
    UpToDate,
    /// These IXFR deltas were applied.
    Incremental(Vec<Delta>),
    /// The whole zone was transferred; `reason` says why when IXFR was tried.
    Full { reason: Option<String> },
}

/// How much came over the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub messages: usize,
    pub records: usize,
    pub bytes: usize,
}

/// A transfer stopped at one of its limits; what was read is dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitExceeded {
    #[error("the answer goes past {0} records (max_transfer_records): is the primary sending an endless transfer? If the zone really is this big, raise max_transfer_records for it")]
    Records(usize),
    #[error("the answer goes past {0} bytes (max_transfer_bytes): is the primary sending an endless transfer? If the zone really is this big, raise max_transfer_bytes for it")]
    Bytes(usize),
    #[error("not finished within {}s (transfer_timeout_seconds): the primary sends too slowly or never ends; raise transfer_timeout_seconds if the zone needs longer", .0.as_secs())]
    Deadline(Duration),
}

/// How often transfers stopped at each limit: a counter the caller hands
/// in with the primary (the daemon's per-zone metrics), so nothing global
/// outlives a zone or is shared between callers.
#[derive(Debug, Default)]
pub struct LimitHits([AtomicU64; 3]);

impl LimitHits {
    pub fn count(&self, limit: &LimitExceeded) {
        let i = match limit {
            LimitExceeded::Records(_) => 0,
            LimitExceeded::Bytes(_) => 1,
            LimitExceeded::Deadline(_) => 2,
        };
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Each limit's name in metrics and its count.
    pub fn counts(&self) -> [(&'static str, u64); 3] {
        let n = |i: usize| self.0[i].load(Ordering::Relaxed);
        [("records", n(0)), ("bytes", n(1)), ("deadline", n(2))]
    }
}

/// Runs one exchange under the primary's deadline, counting any limit it
/// hits in the primary's counter.
async fn bounded<T>(
    primary: &Primary,
    exchange: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let deadline = primary.limits.deadline;
    let result = match tokio::time::timeout(deadline, exchange).await {
        Ok(result) => result,
        Err(_) => Err(LimitExceeded::Deadline(deadline).into()),
    };
    if let (Err(error), Some(hits)) = (&result, &primary.limit_hits) {
        if let Some(limit) = error.downcast_ref::<LimitExceeded>() {
            hits.count(limit);
        }
    }
    result
}

/// Brings `zone` up to the primary's serial: IXFR from the serial held,
/// falling back to AXFR when the primary refuses IXFR, answers with the
/// whole zone, or has no journal that fits; AXFR when nothing is held.
pub async fn refresh(primary: &Primary, zone: &mut Zone) -> Result<(Transferred, Stats)> {
    let Some(held) = zone.soa().cloned() else {
        let (full, stats) = axfr(primary, zone.origin()).await?;
        *zone = full;
        return Ok((Transferred::Full { reason: None }, stats));
    };
    let origin = zone.origin().clone();
    let context = || {
        format!(
            "zone {origin}: IXFR from serial {} from primary {}",
            held.serial(),
            primary.addr
        )
    };
    let (answer, stats) = match ixfr(primary, &origin, held.serial()).await {
        Err(e) if matches!(e.downcast_ref(), Some(ResponseError::Rcode { .. })) => {
            (Ixfr::Fallback(format!("{e}")), Stats::default())
        }
        other => other.with_context(context)?,
    };
    let reason = match answer {
        Ixfr::UpToDate => return Ok((Transferred::UpToDate, stats)),
        Ixfr::Full(full) => {
            *zone = *full;
            return Ok((
                Transferred::Full {
                    reason: Some("the primary sent the whole zone".into()),
                },
                stats,
            ));
        }
        Ixfr::Deltas(deltas) => match zone.apply(&deltas) {
            Ok(()) => return Ok((Transferred::Incremental(deltas), stats)),
            Err(e) => e.to_string(),
        },
        Ixfr::Fallback(reason) => reason,
    };
    tracing::info!(zone = %origin, primary = %primary.addr, %reason, "IXFR not usable; falling back to AXFR");
    let (full, stats) = axfr(primary, &origin).await?;
    *zone = full;
    Ok((
        Transferred::Full {
            reason: Some(reason),
        },
        stats,
    ))
}

/// Transfers the whole zone.
pub async fn axfr(primary: &Primary, origin: &Name) -> Result<(Zone, Stats)> {
    let transfer = async {
        let mut exchange = Exchange::start(primary, origin, RecordType::AXFR, None).await?;
        let mut reader = FullZone::new(origin.clone());
        let first = exchange.next().await?;
        exchange.read_answer(vec![first], &mut reader).await?;
        Ok::<_, anyhow::Error>((reader.zone, exchange.stats))
    };
    bounded(primary, transfer)
        .await
        .with_context(|| format!("zone {origin}: AXFR from primary {}", primary.addr))
}

enum Ixfr {
    UpToDate,
    Deltas(Vec<Delta>),
    Full(Box<Zone>),
    Fallback(String),
}

async fn ixfr(primary: &Primary, origin: &Name, held: u32) -> Result<(Ixfr, Stats)> {
    bounded(primary, ixfr_exchange(primary, origin, held)).await
}

/// Header-only messages borne between a newer SOA and the record that
/// tells an incremental answer from a whole zone.
const MAX_EMPTY_MESSAGES: usize = 16;

async fn ixfr_exchange(primary: &Primary, origin: &Name, held: u32) -> Result<(Ixfr, Stats)> {
    let mut held_soa = Record::from_rdata(
        origin.to_hickory(),
        0,
        hickory_proto::rr::RData::SOA(hickory_proto::rr::rdata::SOA::new(
            origin.to_hickory(),
            origin.to_hickory(),
            held,
            0,
            0,
            0,
            0,
        )),
    );
    held_soa.set_dns_class(hickory_proto::rr::DNSClass::IN);
    let mut exchange = Exchange::start(primary, origin, RecordType::IXFR, Some(held_soa)).await?;
    let first = exchange.next().await?;
    let newest = match first.answers().first().and_then(|r| apex_soa(r, origin)) {
        Some(serial) => serial,
        None => bail!("the answer does not start with the zone's SOA"),
    };
    // RFC 1995 section 4: a lone SOA no newer than ours means up to date.
    let newer = newest > Serial(held);
    if first.answers().len() == 1 && !newer {
        return Ok((Ixfr::UpToDate, exchange.stats));
    }
    // A newer lone SOA may be only the first message of the answer (PowerDNS
    // sends the opening SOA alone): read on before deciding. Only an answer
    // that ends there means "no IXFR on offer". Header-only messages say
    // nothing: none is kept and only a few are borne, so a hostile primary
    // cannot fill memory with them below the byte cap.
    let mut read = vec![first];
    let mut empty = 0;
    while records(&read).nth(1).is_none() {
        match exchange.next_or_end().await {
            Ok(Some(message)) if message.answers().is_empty() => {
                empty += 1;
                if empty == MAX_EMPTY_MESSAGES {
                    bail!("the primary offers serial {newest}, then sends {empty} messages without records: it is not sending a transfer");
                }
            }
            Ok(Some(message)) => read.push(message),
            Err(e) if e.downcast_ref::<LimitExceeded>().is_some() => return Err(e),
            Ok(None) => {
                let reason = format!("the primary offers serial {newest} but no IXFR");
                return Ok((Ixfr::Fallback(reason), exchange.stats));
            }
            Err(e) => {
                let reason = format!("the primary offers serial {newest}, then: {e:#}");
                return Ok((Ixfr::Fallback(reason), exchange.stats));
            }
        }
    }
    let second = records(&read).nth(1).and_then(|r| apex_soa(r, origin));
    if second != Some(Serial(held)) {
        let mut reader = FullZone::new(origin.clone());
        exchange.read_answer(read, &mut reader).await?;
        return Ok((Ixfr::Full(Box::new(reader.zone)), exchange.stats));
    }
    let mut reader = Deltas::new(origin.clone(), newest, Serial(held));
    exchange.read_answer(read, &mut reader).await?;
    Ok((Ixfr::Deltas(reader.deltas), exchange.stats))
}

/// A whole AXFR answer, from records already received, read as `axfr`
/// reads them (the exchange adds the per-message checks). For tests and
/// fuzzing.
pub fn read_axfr<'a>(origin: &Name, records: impl IntoIterator<Item = &'a Record>) -> Result<Zone> {
    let mut reader = FullZone::new(origin.clone());
    feed(&mut reader, records)?;
    Ok(reader.zone)
}

/// A whole incremental IXFR answer from serial `held`, as `refresh` reads
/// it once it knows the answer is incremental. For tests and fuzzing.
pub fn read_ixfr<'a>(
    origin: &Name,
    held: Serial,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<Vec<Delta>> {
    let mut records = records.into_iter().peekable();
    let newest = records
        .peek()
        .and_then(|r| apex_soa(r, origin))
        .context("the answer does not start with the zone's SOA")?;
    let mut reader = Deltas::new(origin.clone(), newest, held);
    feed(&mut reader, records)?;
    Ok(reader.deltas)
}

fn feed<'a>(reader: &mut impl Answer, records: impl IntoIterator<Item = &'a Record>) -> Result<()> {
    for record in records {
        reader.push(record)?;
    }
    if !reader.is_complete() {
        bail!("the answer ends before the closing SOA");
    }
    Ok(())
}

/// The answer records of `messages`, in order.
fn records(messages: &[Message]) -> impl Iterator<Item = &Record> {
    messages.iter().flat_map(|m| m.answers())
}

/// Reads a transfer answer record by record.
trait Answer {
    fn push(&mut self, record: &Record) -> Result<()>;
    fn is_complete(&self) -> bool;
}

/// One query on a TCP connection and its stream of answer messages.
struct Exchange {
    stream: TcpStream,
    query: Outgoing,
    primary_timeout: Duration,
    limits: TransferLimits,
    stats: Stats,
}

impl Exchange {
    async fn start(
        primary: &Primary,
        origin: &Name,
        qtype: RecordType,
        authority: Option<Record>,
    ) -> Result<Exchange> {
        let query = Outgoing::new(&origin.to_hickory(), qtype, authority, primary.key.as_ref())?;
        let mut stream = primary.connect().await?;
        write_frame(&mut stream, &query.bytes).await?;
        Ok(Exchange {
            stream,
            query,
            primary_timeout: primary.timeout,
            limits: primary.limits,
            stats: Stats::default(),
        })
    }

    /// Feeds the messages already `read` and those after them to `reader`
    /// until it is complete.
    async fn read_answer(&mut self, read: Vec<Message>, reader: &mut impl Answer) -> Result<()> {
        for message in &read {
            for record in message.answers() {
                reader.push(record)?;
            }
        }
        while !reader.is_complete() {
            let message = self.next().await?;
            for record in message.answers() {
                reader.push(record)?;
            }
        }
        Ok(())
    }

    /// The next message; the end of the stream here means the transfer was cut.
    async fn next(&mut self) -> Result<Message> {
        let messages = self.stats.messages;
        self.next_or_end().await?.with_context(|| {
            format!(
                "the primary closed the connection after {messages} messages, before the closing SOA"
            )
        })
    }

    /// The next message, or `None` when the primary ended the stream.
    async fn next_or_end(&mut self) -> Result<Option<Message>> {
        let Some(bytes) = read_frame(&mut self.stream, u16::MAX as usize, self.primary_timeout)
            .await
            .context("reading the transfer")?
        else {
            return Ok(None);
        };
        self.stats.bytes += bytes.len();
        if self.stats.bytes > self.limits.max_bytes {
            return Err(LimitExceeded::Bytes(self.limits.max_bytes).into());
        }
        let message = self.query.accept(&bytes, self.stats.messages == 0)?;
        self.stats.messages += 1;
        self.stats.records += message.answers().len();
        if self.stats.records > self.limits.max_records {
            return Err(LimitExceeded::Records(self.limits.max_records).into());
        }
        Ok(Some(message))
    }
}

/// The serial of `record` when it is the zone's apex SOA.
fn apex_soa(record: &Record, origin: &Name) -> Option<Serial> {
    let soa = record.data().as_soa()?;
    (Name::from_hickory(record.name()) == *origin).then_some(Serial(soa.serial()))
}

fn in_zone(record: &Record, origin: &Name) -> Result<()> {
    let name = Name::from_hickory(record.name());
    if !name.is_in(origin) {
        bail!("record {name} {} is outside the zone", record.record_type());
    }
    Ok(())
}

/// An AXFR-style answer: SOA, the records, the same SOA again.
struct FullZone {
    zone: Zone,
    opening: Option<Serial>,
    complete: bool,
}

impl FullZone {
    fn new(origin: Name) -> FullZone {
        FullZone {
            zone: Zone::new(origin),
            opening: None,
            complete: false,
        }
    }
}

impl Answer for FullZone {
    fn is_complete(&self) -> bool {
        self.complete
    }

    fn push(&mut self, record: &Record) -> Result<()> {
        let origin = self.zone.origin();
        in_zone(record, origin)?;
        if self.complete {
            bail!("records follow the closing SOA");
        }
        let soa = apex_soa(record, origin);
        match (self.opening, soa) {
            (None, Some(serial)) => {
                self.opening = Some(serial);
                self.zone.insert(record)?;
            }
            (None, None) => bail!("the transfer does not start with the zone's SOA"),
            (Some(opening), Some(closing)) if opening == closing => self.complete = true,
            (Some(opening), Some(closing)) => {
                bail!("the closing SOA has serial {closing}, the opening one {opening}")
            }
            (Some(_), None) => self.zone.insert(record)?,
        }
        Ok(())
    }
}

/// An incremental answer (RFC 1995 section 4): the newest SOA, then for each
/// step the old SOA, removed records, the new SOA, added records; then the
/// newest SOA again.
struct Deltas {
    origin: Name,
    newest: Serial,
    held: Serial,
    deltas: Vec<Delta>,
    step: Step,
}

enum Step {
    /// Next: the newest SOA.
    Opening,
    /// Next: the SOA a difference sequence starts from.
    Start {
        from: Serial,
    },
    Removing {
        from: Serial,
        removed: Vec<Record>,
    },
    Adding(Box<Delta>),
    Complete,
}

impl Deltas {
    fn new(origin: Name, newest: Serial, held: Serial) -> Deltas {
        Deltas {
            origin,
            newest,
            held,
            deltas: Vec::new(),
            step: Step::Opening,
        }
    }
}

impl Answer for Deltas {
    fn is_complete(&self) -> bool {
        matches!(self.step, Step::Complete)
    }

    fn push(&mut self, record: &Record) -> Result<()> {
        in_zone(record, &self.origin)?;
        let soa = apex_soa(record, &self.origin);
        let step = std::mem::replace(&mut self.step, Step::Complete);
        self.step = match (step, soa) {
            (Step::Opening, Some(serial)) if serial == self.newest => {
                Step::Start { from: self.held }
            }
            (Step::Opening, _) => bail!("the answer does not start with the newest SOA"),
            (Step::Start { from }, Some(serial)) if serial == from => Step::Removing {
                from,
                removed: Vec::new(),
            },
            (Step::Start { from }, _) => {
                bail!("a difference sequence should start with the SOA of serial {from}")
            }
            (Step::Removing { from, removed }, Some(to)) => Step::Adding(Box::new(Delta {
                from,
                to,
                soa: record.clone(),
                removed,
                added: Vec::new(),
            })),
            (Step::Removing { from, mut removed }, None) => {
                removed.push(record.clone());
                Step::Removing { from, removed }
            }
            (Step::Adding(delta), Some(serial)) => {
                let to = delta.to;
                self.deltas.push(*delta);
                match (to == self.newest, serial == to) {
                    // the closing SOA: the same serial as the opening one
                    (true, true) => Step::Complete,
                    (false, true) => Step::Removing {
                        from: serial,
                        removed: Vec::new(),
                    },
                    _ => bail!(
                        "a difference sequence starts at serial {serial}, not at {to} where the last one ended"
                    ),
                }
            }
            (Step::Adding(mut delta), None) => {
                delta.added.push(record.clone());
                Step::Adding(delta)
            }
            (Step::Complete, _) => bail!("records follow the closing SOA"),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{DNSClass, Name as DnsName, RData};

    use super::*;

    fn origin() -> Name {
        Name::parse_route53("r.test").unwrap()
    }

    fn soa(serial: u32) -> Record {
        let apex = DnsName::from_ascii("r.test.").unwrap();
        let mut record = Record::from_rdata(
            apex.clone(),
            300,
            RData::SOA(SOA::new(apex.clone(), apex, serial, 1, 1, 1, 1)),
        );
        record.set_dns_class(DNSClass::IN);
        record
    }

    fn a(owner: &str, last: u8) -> Record {
        let name = DnsName::from_ascii(owner).unwrap();
        Record::from_rdata(name, 300, RData::A(A::new(192, 0, 2, last)))
    }

    fn axfr_error(records: &[Record]) -> String {
        format!("{:#}", read_axfr(&origin(), records).unwrap_err())
    }

    fn ixfr_error(records: &[Record]) -> String {
        format!(
            "{:#}",
            read_ixfr(&origin(), Serial(1), records).unwrap_err()
        )
    }

    #[test]
    fn a_whole_axfr_is_the_zone_at_its_serial() {
        let records = [soa(7), a("www.r.test.", 1), a("r.test.", 2), soa(7)];
        let zone = read_axfr(&origin(), &records).unwrap();
        assert_eq!(zone.serial(), Some(Serial(7)));
        assert_eq!(zone, Zone::from_records(origin(), &records[..3]).unwrap());
    }

    #[test]
    fn axfr_answers_a_primary_must_not_send_are_errors() {
        let cases: [(Vec<Record>, &str); 7] = [
            (vec![], "the answer ends before the closing SOA"),
            (
                vec![soa(7), a("www.r.test.", 1)],
                "the answer ends before the closing SOA",
            ),
            (
                vec![a("www.r.test.", 1), soa(7)],
                "does not start with the zone's SOA",
            ),
            (
                vec![soa(7), soa(8)],
                "the closing SOA has serial 8, the opening one 7",
            ),
            (
                vec![soa(7), soa(7), a("www.r.test.", 1)],
                "records follow the closing SOA",
            ),
            (
                vec![soa(7), a("www.other.test.", 1), soa(7)],
                "record www.other.test. A is outside the zone",
            ),
            // a name that only ends like the zone is outside it
            (
                vec![soa(7), a("xr.test.", 1), soa(7)],
                "record xr.test. A is outside the zone",
            ),
        ];
        for (records, expected) in cases {
            let error = axfr_error(&records);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    #[test]
    fn an_incremental_answer_is_its_difference_sequences_in_order() {
        let records = [
            soa(3),
            soa(1),
            a("old.r.test.", 1),
            soa(2),
            a("mid.r.test.", 2),
            soa(2),
            a("mid.r.test.", 2),
            soa(3),
            a("new.r.test.", 3),
            soa(3),
        ];
        let deltas = read_ixfr(&origin(), Serial(1), &records).unwrap();
        let steps: Vec<_> = deltas.iter().map(|d| (d.from, d.to)).collect();
        assert_eq!(steps, [(Serial(1), Serial(2)), (Serial(2), Serial(3))]);
        assert_eq!(deltas[0].removed, [a("old.r.test.", 1)]);
        assert_eq!(deltas[0].added, [a("mid.r.test.", 2)]);
        assert_eq!(deltas[1].removed, [a("mid.r.test.", 2)]);
        assert_eq!(deltas[1].added, [a("new.r.test.", 3)]);
        assert_eq!(deltas[1].soa, soa(3));
    }

    #[test]
    fn ixfr_answers_a_primary_must_not_send_are_errors() {
        let cases: [(Vec<Record>, &str); 7] = [
            (vec![], "does not start with the zone's SOA"),
            (
                vec![a("x.r.test.", 1), soa(1)],
                "does not start with the zone's SOA",
            ),
            (
                vec![soa(3), soa(2), soa(3), soa(3)],
                "a difference sequence should start with the SOA of serial 1",
            ),
            (
                vec![soa(3), soa(1), soa(2), soa(4), soa(3), soa(3)],
                "a difference sequence starts at serial 4, not at 2 where the last one ended",
            ),
            (
                vec![soa(3), soa(1), soa(3)],
                "the answer ends before the closing SOA",
            ),
            (
                vec![soa(3), soa(1), soa(3), soa(3), a("x.r.test.", 1)],
                "records follow the closing SOA",
            ),
            (
                vec![soa(3), soa(1), a("x.elsewhere.", 1), soa(3), soa(3)],
                "record x.elsewhere. A is outside the zone",
            ),
        ];
        for (records, expected) in cases {
            let error = ixfr_error(&records);
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    #[test]
    fn limits_are_counted_by_kind() {
        let hits = LimitHits::default();
        hits.count(&LimitExceeded::Bytes(10));
        hits.count(&LimitExceeded::Bytes(10));
        hits.count(&LimitExceeded::Deadline(Duration::from_secs(1)));
        assert_eq!(
            hits.counts(),
            [("records", 0), ("bytes", 2), ("deadline", 1)]
        );
    }
}
