//! Redis (RESP2 and RESP3): commands paired with replies in order (pipelining is the
//! protocol's normal case), inline commands, and pub/sub: a `SUBSCRIBE` of N channels
//! takes N confirmations, messages the server pushes become items of their own.
//!
//! Parts: `resp.rs` reads values off the wire; this file keeps each direction's buffer,
//! pairs, and turns values into the item model.

pub mod resp;

use std::collections::VecDeque;

use remora_model::{ItemErrorKind, Protocol, RedisRequest, RedisResponse, Request, Response};
use serde_json::{json, Value as Json};

use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};
use resp::{Parse, Value};

const REDIS: Protocol = Protocol::new("redis", "3", "REDIS", "Redis Serialization Protocol", "tcp");

/// Most bytes one message may take before it is given up on (values are kept cut, but
/// framing needs the whole message in the buffer).
const MAX_MESSAGE: usize = 4 << 20;

/// Commands a client sends inline (a first line of one of these words and CRLF).
const INLINE_COMMANDS: [&str; 12] = ["PING", "ECHO", "AUTH", "GET", "SET", "DEL", "INFO", "PUBLISH", "SUBSCRIBE", "KEYS", "QUIT", "SELECT"];

/// Recognises Redis from a flow's first bytes: a client's RESP array of bulk strings or an
/// inline command, or (picked up mid-way) a server's simple reply.
pub fn detect(first: &[u8]) -> Detection {
    let Some(line_end) = memchr::memchr(b'\n', first) else {
        return if first.len() < 64 { Detection::NeedMore } else { Detection::Unknown };
    };
    let line = first[..line_end].strip_suffix(b"\r").unwrap_or(&first[..line_end]);
    match line.first() {
        Some(b'*') if line.len() > 1 && line[1..].iter().all(u8::is_ascii_digit) => match first.get(line_end + 1) {
            Some(b'$') => Detection::Redis,
            Some(_) => Detection::Unknown,
            None => Detection::NeedMore,
        },
        Some(b'+') if matches!(line, b"+OK" | b"+PONG" | b"+QUEUED") => Detection::Redis,
        Some(b'-') if line.starts_with(b"-ERR ") || line.starts_with(b"-NOAUTH ") || line.starts_with(b"-WRONGTYPE ") => Detection::Redis,
        _ => {
            if memchr::memmem::find(line, b" HTTP/").is_some() {
                return Detection::Unknown;
            }
            let word = line.split(|b| *b == b' ').next().unwrap_or_default();
            let word = String::from_utf8_lossy(word).to_ascii_uppercase();
            if INLINE_COMMANDS.contains(&word.as_str()) {
                Detection::Redis
            } else {
                Detection::Unknown
            }
        }
    }
}

/// A command waiting for its replies.
struct Pending {
    request: RedisRequest,
    start: Timestamp,
    size: u64,
    /// Replies it takes: one, or one per channel for (P|S)SUBSCRIBE.
    replies: usize,
    /// The first of several replies: the item shows it.
    first: Option<(RedisResponse, Timestamp, u64)>,
}

/// One direction's bytes not yet parsed.
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
    /// Parse again once the buffer holds this many bytes.
    need: usize,
    /// Bytes are skipped until one looks like the start of a message (after a gap or a
    /// message that did not parse).
    lost: bool,
    /// When the message at the front began arriving.
    started: Option<Timestamp>,
}

impl Reader {
    fn push(&mut self, data: &[u8], ts: Timestamp) {
        if self.lost {
            match data.first() {
                Some(b'*' | b'+' | b'-' | b':' | b'$' | b'_' | b'%' | b'>' | b'~' | b'#' | b',') => self.lost = false,
                _ => return,
            }
        }
        if self.buf.is_empty() {
            self.started = Some(ts);
        }
        self.buf.extend_from_slice(data);
    }

    /// Drops what is buffered and waits for a message start.
    fn lose(&mut self) {
        self.buf.clear();
        self.need = 0;
        self.lost = true;
        self.started = None;
    }
}

pub struct RedisFlow {
    client: Option<Dir>,
    readers: [Reader; 2],
    pending: VecDeque<Pending>,
    limits: DissectLimits,
    stats: DissectStats,
}

impl RedisFlow {
    pub fn new(limits: DissectLimits) -> Self {
        RedisFlow { client: None, readers: Default::default(), pending: VecDeque::new(), limits, stats: DissectStats::default() }
    }

    /// The client is the side that sends commands: the first to send, unless what it sent
    /// is a reply (a flow picked up mid-way).
    fn client_for(&mut self, dir: Dir, data: &[u8]) -> Dir {
        *self.client.get_or_insert_with(|| match data.first() {
            Some(b'+' | b'-' | b':' | b'$' | b'_' | b',' | b'#' | b'%' | b'>') => dir.flip(),
            _ => dir,
        })
    }

    /// Parses what `dir`'s buffer holds, message by message.
    fn drain(&mut self, dir: Dir, client: bool, ts: Timestamp, out: &mut Vec<Exchange>) {
        loop {
            let reader = &mut self.readers[dir.index()];
            if reader.buf.is_empty() || reader.buf.len() < reader.need {
                return;
            }
            let parsed = match (client, reader.buf[0]) {
                (true, b) if b.is_ascii_alphabetic() => resp::inline(&reader.buf),
                _ => resp::parse(&reader.buf),
            };
            match parsed {
                Parse::Value { value, used, truncated } => {
                    let inline = client && reader.buf[0].is_ascii_alphabetic();
                    let started = reader.started.unwrap_or(ts);
                    reader.buf.drain(..used);
                    reader.need = 0;
                    reader.started = if reader.buf.is_empty() { None } else { Some(ts) };
                    if client {
                        self.command(value, inline, truncated, started, used as u64);
                    } else {
                        self.reply(value, truncated, started, ts, used as u64, out);
                    }
                }
                Parse::NeedAtLeast(n) if n > MAX_MESSAGE => {
                    reader.lose();
                    self.stats.parse_errors += 1;
                    return;
                }
                Parse::NeedAtLeast(n) => {
                    reader.need = n;
                    return;
                }
                Parse::Invalid(_) => {
                    reader.lose();
                    self.stats.parse_errors += 1;
                    return;
                }
            }
        }
    }

    fn command(&mut self, value: Value, inline: bool, truncated: bool, start: Timestamp, size: u64) {
        let words = match value {
            Value::Array(Some(words)) => words,
            _ => {
                // Clients send arrays of bulk strings only.
                self.stats.parse_errors += 1;
                return;
            }
        };
        let mut words = words.iter().map(word);
        let command = words.next().unwrap_or_default().to_ascii_uppercase();
        let args: Vec<String> = words.collect();
        let replies = match command.as_str() {
            "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" => args.len().max(1),
            _ => 1,
        };
        let request = RedisRequest { command, args, inline, pushed: false, truncated };
        if self.pending.len() >= self.limits.max_pending {
            self.stats.pending_overflows += 1;
            return;
        }
        self.pending.push_back(Pending { request, start, size, replies, first: None });
    }

    fn reply(&mut self, value: Value, truncated: bool, start: Timestamp, end: Timestamp, size: u64, out: &mut Vec<Exchange>) {
        if let Some(push) = pushed_message(&value) {
            out.push(Exchange {
                protocol: REDIS,
                request_dir: self.client.map(Dir::flip).unwrap_or(Dir::Reverse),
                request: Request::Redis(Box::new(push.0)),
                response: Some(Response::Redis(Box::new(push.1))),
                request_start: start,
                response_end: Some(end),
                request_size: size,
                response_size: 0,
                error: None,
            });
            return;
        }
        let Some(pending) = self.pending.front_mut() else {
            // A confirmation of an UNSUBSCRIBE of every channel comes once per channel,
            // as many as the client had; the rest with no command is a flow picked up
            // mid-way.
            if !is_confirmation(&value) {
                out.push(Exchange {
                    protocol: REDIS,
                    request_dir: self.client.unwrap_or(Dir::Forward),
                    request: Request::Redis(Box::default()),
                    response: Some(Response::Redis(Box::new(response(value, truncated)))),
                    request_start: start,
                    response_end: Some(end),
                    request_size: 0,
                    response_size: size,
                    error: item_error(ItemErrorKind::PairNotFound, "a reply with no command before it in the capture"),
                });
            }
            return;
        };
        pending.first.get_or_insert_with(|| (response(value, truncated), end, size));
        pending.replies -= 1;
        if pending.replies > 0 {
            return;
        }
        let Some(mut pending) = self.pending.pop_front() else { return };
        let reply = pending.first.take();
        out.push(exchange(pending, reply, None, self.client.unwrap_or(Dir::Forward)));
    }
}

/// A bulk string (or simple string) of a command, as text.
fn word(value: &Value) -> String {
    match value {
        Value::Bulk(Some(text)) | Value::Verbatim(text) => text.show(),
        Value::Simple(text) => text.clone(),
        Value::Integer(n) => n.to_string(),
        _ => String::new(),
    }
}

/// A subscription's confirmation (`["subscribe", channel, count]`).
fn is_confirmation(value: &Value) -> bool {
    let items = match value {
        Value::Array(Some(items)) | Value::Push(items) => items,
        _ => return false,
    };
    matches!(items.first().map(word).as_deref(), Some("subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe" | "sunsubscribe"))
}

/// A message the server pushed: `["message", channel, payload]` or `["pmessage",
/// pattern, channel, payload]` (an array in RESP2, a push in RESP3).
fn pushed_message(value: &Value) -> Option<(RedisRequest, RedisResponse)> {
    let items = match value {
        Value::Array(Some(items)) | Value::Push(items) => items,
        _ => return None,
    };
    let kind = items.first().map(word)?;
    let from = match kind.as_str() {
        "message" | "smessage" if items.len() == 3 => 1..2,
        "pmessage" if items.len() == 4 => 1..3,
        _ => return None,
    };
    let payload = items.last()?.clone();
    let request = RedisRequest { command: kind, args: items[from].iter().map(word).collect(), inline: false, pushed: true, truncated: false };
    Some((request, response(payload, false)))
}

fn response(value: Value, truncated: bool) -> RedisResponse {
    let kind = match &value {
        Value::Simple(_) => "simple",
        Value::Error(_) => "error",
        Value::Integer(_) => "integer",
        Value::Bulk(Some(_)) => "bulk",
        Value::Array(Some(_)) => "array",
        Value::Bulk(None) | Value::Array(None) | Value::Null => "null",
        Value::Double(_) => "double",
        Value::Boolean(_) => "boolean",
        Value::BigNumber(_) => "bignum",
        Value::Verbatim(_) => "verbatim",
        Value::Map(_) => "map",
        Value::Set(_) => "set",
        Value::Push(_) => "push",
    };
    let error = match &value {
        Value::Error(text) => Some(text.clone()),
        _ => None,
    };
    RedisResponse { kind: kind.into(), value: to_json(&value), error, truncated }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Simple(s) | Value::Error(s) | Value::BigNumber(s) => json!(s),
        Value::Double(s) => s.parse::<f64>().ok().filter(|f| f.is_finite()).map_or_else(|| json!(s), |f| json!(f)),
        Value::Integer(n) => json!(n),
        Value::Bulk(Some(text)) | Value::Verbatim(text) => json!(text.show()),
        Value::Bulk(None) | Value::Array(None) | Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Array(Some(items)) | Value::Set(items) | Value::Push(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(pairs) => Json::Array(pairs.iter().map(|(k, v)| json!([to_json(k), to_json(v)])).collect()),
    }
}

fn exchange(pending: Pending, reply: Option<(RedisResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>, request_dir: Dir) -> Exchange {
    let reply = reply.map(|(reply, end, size)| (Response::Redis(Box::new(reply)), end, size));
    Exchange::new(REDIS, request_dir, Request::Redis(Box::new(pending.request)), pending.start, pending.size, reply, error)
}

impl StreamDissector for RedisFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let client = self.client_for(dir, data);
        self.readers[dir.index()].push(data, ts);
        self.drain(dir, dir == client, ts, out);
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        self.readers[dir.index()].lose();
        if Some(dir) != self.client {
            // Replies were lost: the commands waiting for them will not be answered in order.
            self.pending.clear();
        }
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        let client = self.client.unwrap_or(Dir::Forward);
        for pending in self.pending.drain(..) {
            out.push(exchange(pending, None, reason.unanswered(), client));
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[(Dir, &[u8])]) -> Vec<Exchange> {
        let mut flow = RedisFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        for (n, (dir, data)) in chunks.iter().enumerate() {
            flow.data(*dir, data, Timestamp(n as i64), &mut out);
        }
        flow.close(Timestamp(99), CloseReason::EndOfCapture, &mut out);
        out
    }

    fn request(e: &Exchange) -> &RedisRequest {
        match &e.request {
            Request::Redis(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn reply(e: &Exchange) -> &RedisResponse {
        match &e.response {
            Some(Response::Redis(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pipelined_commands_pair_in_order_across_segments() {
        let out = run(&[
            (Dir::Forward, b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPI"),
            (Dir::Forward, b"NG\r\nPING\r\n"),
            (Dir::Reverse, b"$5\r\nhel"),
            (Dir::Reverse, b"lo\r\n+PONG\r\n-ERR wrong\r\n"),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!((request(&out[0]).command.as_str(), request(&out[0]).args.clone()), ("GET", vec!["a".to_string()]));
        assert_eq!((reply(&out[0]).kind.as_str(), reply(&out[0]).value.clone()), ("bulk", json!("hello")));
        assert_eq!(request(&out[1]).command, "PING");
        assert!(!request(&out[1]).inline && request(&out[2]).inline);
        assert_eq!(reply(&out[2]).error.as_deref(), Some("ERR wrong"));
        assert_eq!(out[0].request_dir, Dir::Forward);
    }

    #[test]
    fn subscriptions_and_pushed_messages() {
        let out = run(&[
            (Dir::Forward, b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n"),
            (Dir::Reverse, b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"),
            (Dir::Reverse, b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\nb*\r\n$2\r\nbc\r\n$3\r\nyo!\r\n"),
        ]);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert_eq!(request(&out[0]).command, "SUBSCRIBE");
        assert_eq!(reply(&out[0]).value, json!(["subscribe", "a", 1]));
        assert!(request(&out[1]).pushed);
        assert_eq!((request(&out[1]).command.as_str(), request(&out[1]).args.clone(), reply(&out[1]).value.clone()), ("message", vec!["a".to_string()], json!("hi")));
        assert_eq!(request(&out[2]).args, ["b*", "bc"]);
        assert_eq!(out[1].request_dir, Dir::Reverse, "the server sent it");
    }

    #[test]
    fn bad_bytes_resynchronise_and_unanswered_commands_are_reported() {
        let out = run(&[(Dir::Forward, b"*1\r\n$4\r\nINFO\r\n"), (Dir::Reverse, b"?garbage\r\n"), (Dir::Reverse, b"more garbage"), (Dir::Reverse, b"+OK\r\n")]);
        assert_eq!(out.len(), 1);
        assert_eq!(reply(&out[0]).value, json!("OK"), "the reply after the garbage pairs");
        let out = run(&[(Dir::Forward, b"*1\r\n$4\r\nINFO\r\n")]);
        assert_eq!(out[0].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::Timeout));
        assert_eq!(detect(b"*1\r\n$4\r\nPING\r\n"), Detection::Redis);
        assert_eq!(detect(b"PING\r\n"), Detection::Redis);
        assert_eq!(detect(b"*1\r\n"), Detection::NeedMore);
        assert_eq!(detect(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
    }
}
