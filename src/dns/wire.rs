//! DNS messages on the wire: queries (TSIG-signed when a key is given), TCP
//! framing with size limits and timeouts, and the checks every response
//! passes before anything in it is used.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{
    Header, Message, MessageType, MessageVerifier, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::{Name as DnsName, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::tsig::{answer_error, TsigError, TsigKey};

/// Why a response was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("message ID {got} does not match the query's {expected}")]
    WrongId { expected: u16, got: u16 },
    #[error("not a response to our query: {0}")]
    NotOurs(&'static str),
    #[error("the primary answered {}{}", rcode_hint(*.rcode), signed_with(.key))]
    Rcode {
        rcode: ResponseCode,
        /// The key the query was signed with, as `describe` tells it.
        key: Option<String>,
    },
    /// The primary's TSIG record says why it refused the query's key.
    #[error("the primary rejected TSIG key {key}: {error}")]
    KeyRejected { key: String, error: TsigError },
    #[error("the response is truncated")]
    Truncated,
    #[error("the response's question does not match the query")]
    WrongQuestion,
    #[error("TSIG with key {key}: {reason}")]
    Tsig { key: String, reason: String },
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// An rcode as operators know it, with what to check.
fn rcode_hint(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::Refused => "REFUSED: does the primary allow transfers (and queries) from this host, and does it want a TSIG key?".into(),
        ResponseCode::NotAuth => "NOTAUTH: the primary does not serve the zone, or rejected the TSIG key (check its name, algorithm, secret and the clocks)".into(),
        ResponseCode::NotImp => "NOTIMP: the primary does not implement this query".into(),
        ResponseCode::ServFail => "SERVFAIL: the primary cannot serve the zone now".into(),
        ResponseCode::FormErr => "FORMERR: the primary could not parse the query".into(),
        other => format!("rcode {other}"),
    }
}

fn signed_with(key: &Option<String>) -> String {
    key.as_ref().map_or(String::new(), |key| {
        format!(" (the query was signed with TSIG key {key})")
    })
}

/// A query on its way out, and what its responses are checked against.
pub struct Outgoing {
    pub bytes: Vec<u8>,
    id: u16,
    question: Query,
    verifier: Option<MessageVerifier>,
    /// The key the query is signed with, as `describe` tells it.
    key: Option<String>,
}

impl Outgoing {
    /// A query for `qtype` at `zone`, with `authority` records (IXFR's SOA),
    /// signed with `key` when given.
    pub fn new(
        zone: &DnsName,
        qtype: RecordType,
        authority: Option<Record>,
        key: Option<&TsigKey>,
    ) -> Result<Outgoing, ResponseError> {
        let id: u16 = rand::random();
        let question = Query::query(zone.clone(), qtype);
        let mut message = Message::new();
        message
            .set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(false)
            .add_query(question.clone());
        if let Some(record) = authority {
            message.add_name_server(record);
        }
        let described = key.map(TsigKey::describe);
        let verifier =
            match key {
                Some(key) => message.finalize(&key.signer(), unix_now()).map_err(|e| {
                    ResponseError::Tsig {
                        key: key.describe(),
                        reason: format!("cannot sign the query: {e}"),
                    }
                })?,
                None => None,
            };
        let bytes = message
            .to_vec()
            .map_err(|e| ResponseError::Malformed(e.to_string()))?;
        Ok(Outgoing {
            bytes,
            id,
            question,
            verifier,
            key: described,
        })
    }

    /// Checks one response message and decodes it. `first` is true for the
    /// first message of a (possibly multi-message) answer, which must echo
    /// the question; later ones may leave it out. With a key, every message
    /// must carry a valid TSIG chained to the previous one.
    pub fn accept(&mut self, bytes: &[u8], first: bool) -> Result<Message, ResponseError> {
        let header = Header::read(&mut BinDecoder::new(bytes))
            .map_err(|e| ResponseError::Malformed(e.to_string()))?;
        if header.id() != self.id {
            return Err(ResponseError::WrongId {
                expected: self.id,
                got: header.id(),
            });
        }
        if header.message_type() != MessageType::Response {
            return Err(ResponseError::NotOurs("QR is not set"));
        }
        if header.op_code() != OpCode::Query {
            return Err(ResponseError::NotOurs("opcode is not QUERY"));
        }
        if header.response_code() != ResponseCode::NoError {
            return Err(self.refusal(bytes, header.response_code()));
        }
        if header.truncated() {
            return Err(ResponseError::Truncated);
        }
        let message = match &mut self.verifier {
            Some(verify) => verify(bytes)
                .map_err(|e| ResponseError::Tsig {
                    key: self.key.clone().unwrap_or_default(),
                    reason: format!("the answer does not verify: {e}"),
                })?
                .into_message(),
            None => {
                Message::from_vec(bytes).map_err(|e| ResponseError::Malformed(e.to_string()))?
            }
        };
        match message.queries() {
            [] if !first => {}
            [q] if *q == self.question => {}
            _ => return Err(ResponseError::WrongQuestion),
        }
        Ok(message)
    }

    /// Why the primary refused: the TSIG error it gives for the query's
    /// key (RFC 8945 section 5.2), else the rcode. The refusal is not
    /// verified (a BADKEY or BADSIG answer cannot be signed); it only
    /// explains an answer that is refused anyway.
    fn refusal(&self, bytes: &[u8], rcode: ResponseCode) -> ResponseError {
        let tsig_error = Message::from_vec(bytes).ok().and_then(|m| answer_error(&m));
        match (&self.key, tsig_error) {
            (Some(key), Some(error)) => ResponseError::KeyRejected {
                key: key.clone(),
                error,
            },
            (key, _) => ResponseError::Rcode {
                rcode,
                key: key.clone(),
            },
        }
    }
}

/// Seconds since the epoch, as TSIG wants them.
pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Reads one length-prefixed message; `None` at a clean end of stream.
/// A message longer than `max` is an error before anything is allocated.
pub async fn read_frame<R: AsyncRead + Unpin>(
    stream: &mut R,
    max: usize,
    idle: Duration,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut prefix = [0u8; 2];
    let read_prefix = async {
        match stream.read(&mut prefix[..1]).await? {
            0 => Ok(false),
            _ => stream.read_exact(&mut prefix[1..]).await.map(|_| true),
        }
    };
    if !timeout(idle, read_prefix).await?? {
        return Ok(None);
    }
    let len = u16::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a {len}-byte message is over the {max}-byte limit"),
        ));
    }
    let mut message = vec![0u8; len];
    timeout(idle, stream.read_exact(&mut message)).await??;
    Ok(Some(message))
}

/// Writes one length-prefixed message.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    stream: &mut W,
    message: &[u8],
) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "message over 65535 bytes")
    })?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await?;
    stream.flush().await
}

async fn timeout<T>(
    limit: Duration,
    f: impl std::future::Future<Output = T>,
) -> std::io::Result<T> {
    tokio::time::timeout(limit, f).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no data for {limit:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::RData;

    use super::*;

    fn zone() -> DnsName {
        DnsName::from_ascii("w.test.").unwrap()
    }

    fn query() -> Outgoing {
        Outgoing::new(&zone(), RecordType::AXFR, None, None).unwrap()
    }

    /// A response to `query` as a primary would send it.
    fn response(query: &Outgoing, with_question: bool) -> Message {
        let mut message = Message::new();
        message
            .set_id(query.id)
            .set_message_type(MessageType::Response)
            .set_authoritative(true);
        if with_question {
            message.add_query(query.question.clone());
        }
        message.add_answer(Record::from_rdata(
            zone(),
            300,
            RData::SOA(SOA::new(zone(), zone(), 1, 1, 1, 1, 1)),
        ));
        message
    }

    fn accept(
        query: &mut Outgoing,
        message: &Message,
        first: bool,
    ) -> Result<Message, ResponseError> {
        query.accept(&message.to_vec().unwrap(), first)
    }

    #[test]
    fn a_response_to_the_query_is_accepted_and_later_ones_may_omit_the_question() {
        let mut q = query();
        let (with, without) = (response(&q, true), response(&q, false));
        let first = accept(&mut q, &with, true).unwrap();
        assert_eq!(first.answers().len(), 1);
        assert!(accept(&mut q, &without, false).is_ok());
        assert!(matches!(
            accept(&mut q, &without, true),
            Err(ResponseError::WrongQuestion)
        ));
    }

    #[test]
    fn responses_that_are_not_the_answer_are_refused() {
        let mut q = query();
        let mut wrong_id = response(&q, true);
        wrong_id.set_id(q.id.wrapping_add(1));
        assert!(matches!(
            accept(&mut q, &wrong_id, true),
            Err(ResponseError::WrongId { .. })
        ));
        let mut not_response = response(&q, true);
        not_response.set_message_type(MessageType::Query);
        assert!(matches!(
            accept(&mut q, &not_response, true),
            Err(ResponseError::NotOurs(_))
        ));
        let mut notify = response(&q, true);
        notify.set_op_code(OpCode::Notify);
        assert!(matches!(
            accept(&mut q, &notify, true),
            Err(ResponseError::NotOurs(_))
        ));
        let mut refused = response(&q, true);
        refused.set_response_code(ResponseCode::Refused);
        let error = accept(&mut q, &refused, true).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("the primary answered REFUSED: does the primary allow transfers"));
        let mut truncated = response(&q, true);
        truncated.set_truncated(true);
        assert!(matches!(
            accept(&mut q, &truncated, true),
            Err(ResponseError::Truncated)
        ));
        let mut other_question = response(&q, false);
        other_question.add_query(Query::query(
            DnsName::from_ascii("x.test.").unwrap(),
            RecordType::AXFR,
        ));
        assert!(matches!(
            accept(&mut q, &other_question, true),
            Err(ResponseError::WrongQuestion)
        ));
        // a header alone, then bytes that are no message
        assert!(matches!(
            q.accept(&[0u8; 5], true),
            Err(ResponseError::Malformed(_))
        ));
        let mut header_only = response(&q, true).to_vec().unwrap();
        header_only.truncate(14);
        assert!(matches!(
            q.accept(&header_only, true),
            Err(ResponseError::Malformed(_))
        ));
    }

    #[test]
    fn with_a_key_an_unsigned_response_is_refused() {
        let key = TsigKey::new(
            "k",
            "hmac-sha256",
            "qm9KDXOG6h5hQx6Bp2pM2D0fZnT2I9EmcXMY2hr5fNw=",
        )
        .unwrap();
        let mut q = Outgoing::new(&zone(), RecordType::AXFR, None, Some(&key)).unwrap();
        let unsigned = response(&q, true);
        assert!(matches!(
            accept(&mut q, &unsigned, true),
            Err(ResponseError::Tsig { .. })
        ));
    }

    #[tokio::test]
    async fn frames_are_read_whole_within_their_limit() {
        let idle = Duration::from_secs(1);
        let mut stream: &[u8] = &[0, 3, b'a', b'b', b'c', 0, 0];
        assert_eq!(
            read_frame(&mut stream, 10, idle).await.unwrap(),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            read_frame(&mut stream, 10, idle).await.unwrap(),
            Some(Vec::new())
        );
        assert_eq!(read_frame(&mut stream, 10, idle).await.unwrap(), None);
        let mut over: &[u8] = &[0, 11];
        let error = read_frame(&mut over, 10, idle).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "a 11-byte message is over the 10-byte limit"
        );
        for cut in [&[0u8][..], &[0, 3, b'a'][..]] {
            let mut cut = cut;
            let error = read_frame(&mut cut, 10, idle).await.unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_times_out() {
        let (mut silent, _writer) = tokio::io::duplex(16);
        let error = read_frame(&mut silent, 10, Duration::from_secs(3))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    }
}
