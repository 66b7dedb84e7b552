//! Redis items: one command and its reply, or one message the server pushed (pub/sub).

use serde::{Deserialize, Serialize};

/// `request` of a Redis item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisRequest {
    /// The command's name, upper-cased (`GET`, `SUBSCRIBE`); for a pushed message, its
    /// kind as the server names it (`message`, `pmessage`, `smessage`).
    pub command: String,
    /// The arguments as text (bytes that are not UTF-8 shown as `\xNN`); for a pushed
    /// message, its pattern and channel. At most 64, each cut to 1 KiB (`truncated`).
    pub args: Vec<String>,
    /// Sent as an inline command (`PING\r\n`), not as a RESP array.
    pub inline: bool,
    /// The server pushed it (pub/sub); no command asked for it.
    pub pushed: bool,
    /// Arguments were left out or cut.
    pub truncated: bool,
}

/// `response` of a Redis item: the reply (for a pushed message, its payload).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisResponse {
    /// The RESP type: `simple`, `error`, `integer`, `bulk`, `array`, `null`, and RESP3's
    /// `double`, `boolean`, `bignum`, `verbatim`, `map`, `set`, `push`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The reply as JSON: text, integers, booleans, null, arrays; a map as an array of
    /// `[key, value]` pairs. At most 64 elements per array, strings cut to 1 KiB.
    pub value: serde_json::Value,
    /// The text of an error reply (`ERR unknown command 'FOO'`), else null.
    pub error: Option<String>,
    /// Elements were left out or cut.
    pub truncated: bool,
}
