//! WebSocket items (RFC 6455): after an HTTP upgrade, each message is an item; a ping is
//! answered by its pong and a close by the peer's close.

use serde::{Deserialize, Serialize};

use crate::Body;

/// `request` (and, for ping and close, `response`) of a WebSocket item: one message, its
/// fragments joined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketMessage {
    /// `text`, `binary`, `close`, `ping`, `pong`, or `opcode N` for a reserved one.
    pub opcode: String,
    /// Payload bytes of the whole message.
    pub size: u64,
    /// Frames it came in (1 unless fragmented).
    pub fragments: u32,
    /// Sent masked (every client frame is).
    pub masked: bool,
    /// RSV1 set: compressed by an extension such as permessage-deflate (payload shown as
    /// sent).
    pub compressed: bool,
    /// The payload (unmasked), cut at the body limit.
    pub payload: Body,
    /// A close's status code and reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
}
