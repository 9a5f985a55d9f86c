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

use super::tsig::TsigKey;

/// Why a response was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("message ID {got} does not match the query's {expected}")]
    WrongId { expected: u16, got: u16 },
    #[error("not a response to our query: {0}")]
    NotOurs(&'static str),
    #[error("the primary answered {}", rcode_hint(*.0))]
    Rcode(ResponseCode),
    #[error("the response is truncated")]
    Truncated,
    #[error("the response's question does not match the query")]
    WrongQuestion,
    #[error("TSIG verification failed: {0}")]
    Tsig(String),
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

/// A query on its way out, and what its responses are checked against.
pub struct Outgoing {
    pub bytes: Vec<u8>,
    id: u16,
    question: Query,
    verifier: Option<MessageVerifier>,
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
        let verifier = match key {
            Some(key) => message
                .finalize(&key.signer(), unix_now())
                .map_err(|e| ResponseError::Tsig(e.to_string()))?,
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
            return Err(ResponseError::Rcode(header.response_code()));
        }
        if header.truncated() {
            return Err(ResponseError::Truncated);
        }
        let message = match &mut self.verifier {
            Some(verify) => verify(bytes)
                .map_err(|e| ResponseError::Tsig(e.to_string()))?
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
