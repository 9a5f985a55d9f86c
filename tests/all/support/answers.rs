//! Answers a scripted primary sends: an authoritative response to a query.

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::Record;

/// `records` as the answer to `query`, without the question (RFC 5936
/// lets every message but the first leave it out).
pub fn answer(query: &Message, records: Vec<Record>) -> Message {
    let mut message = Message::new();
    message
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_authoritative(true)
        .add_answers(records);
    message
}

/// `answer` with the question repeated, as the first message of a transfer.
pub fn answer_with_question(query: &Message, records: Vec<Record>) -> Message {
    let mut message = answer(query, records);
    message.add_queries(query.queries().to_vec());
    message
}
