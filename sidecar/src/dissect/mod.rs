//! Dissectors: reassembled bytes of one flow in, [`Exchange`]s (request + response) out.
//!
//! Each protocol lives in its own module and splits into the wire parser (pure functions
//! over bytes), the per-flow state machine, and the conversion into the item model.
//! A flow is bound to a dissector by content ([`detect_tcp`], [`detect_udp`]), not by port.

pub mod amqp;
mod cursor;
pub mod dns;
mod framing;
mod graphql;
pub mod http1;
pub mod http2;
pub mod icmp;
pub mod kafka;
pub mod mysql;
pub mod postgres;
pub mod protocols;
pub mod redis;
pub mod tls;
pub mod websocket;

use remora_model::{ItemError, ItemErrorKind, Protocol, Request, Response};

use crate::flow::{Dir, Timestamp};

/// A request paired with its response (or with none), before the pipeline adds where and
/// which stream it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub protocol: Protocol,
    /// The direction the request travelled in.
    pub request_dir: Dir,
    pub request: Request,
    pub response: Option<Response>,
    pub request_start: Timestamp,
    /// When the last byte of the response arrived.
    pub response_end: Option<Timestamp>,
    pub request_size: u64,
    pub response_size: u64,
    pub error: Option<ItemError>,
}

impl Exchange {
    /// An exchange from its parts; `answer` is the response, when its last byte came, and
    /// its size.
    pub(crate) fn new(protocol: Protocol, request_dir: Dir, request: Request, start: Timestamp, request_size: u64, answer: Option<(Response, Timestamp, u64)>, error: Option<ItemError>) -> Exchange {
        let (response, response_end, response_size) = match answer {
            Some((response, end, size)) => (Some(response), Some(end), size),
            None => (None, None, 0),
        };
        Exchange { protocol, request_dir, request, response, request_start: start, response_end, request_size, response_size, error }
    }
}

pub(crate) fn item_error(kind: ItemErrorKind, msg: impl Into<String>) -> Option<ItemError> {
    Some(ItemError { kind, msg: msg.into() })
}

/// Limits that keep a dissector's memory bounded whatever the peer sends.
#[derive(Debug, Clone, Copy)]
pub struct DissectLimits {
    /// Largest HTTP start line plus headers; a longer one is a parse error.
    pub max_head_bytes: usize,
    /// Body bytes kept per message; the item says `truncated` past it.
    pub max_body_bytes: usize,
    /// Requests (HTTP) or queries (DNS over TCP) awaiting a response per flow.
    pub max_pending: usize,
    /// A DNS query or ICMP echo with no answer after this long becomes an unanswered item.
    pub dns_timeout_ns: i64,
    /// The protocols dissected; a flow of another is left undissected.
    pub protocols: protocols::ProtocolSet,
}

impl Default for DissectLimits {
    fn default() -> Self {
        DissectLimits {
            max_head_bytes: 64 << 10,
            max_body_bytes: 64 << 10,
            max_pending: 128,
            dns_timeout_ns: 5 * Timestamp::SECOND,
            protocols: protocols::ProtocolSet::ALL,
        }
    }
}

/// Counters a dissector keeps, summed over flows by the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DissectStats {
    /// Messages that did not parse (the flow resynchronised after each).
    pub parse_errors: u64,
    /// Bodies longer than `max_body_bytes`, cut in the item.
    pub truncated_bodies: u64,
    /// Requests dropped because `max_pending` were already waiting.
    pub pending_overflows: u64,
}

impl std::ops::AddAssign for DissectStats {
    fn add_assign(&mut self, more: DissectStats) {
        self.parse_errors += more.parse_errors;
        self.truncated_bodies += more.truncated_bodies;
        self.pending_overflows += more.pending_overflows;
    }
}

/// The per-flow state of one protocol.
pub trait StreamDissector {
    /// Reassembled bytes (TCP) or one datagram (UDP) in direction `dir`.
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>);
    /// `len` bytes of direction `dir` were never captured.
    fn gap(&mut self, dir: Dir, len: u64, ts: Timestamp, out: &mut Vec<Exchange>);
    /// Capture time moved on: emit what has timed out.
    fn tick(&mut self, _now: Timestamp, _out: &mut Vec<Exchange>) {}
    /// Whether something waits on a timeout (so `tick` has work to do).
    fn has_timers(&self) -> bool {
        false
    }
    /// The flow ended (FIN, RST, idle timeout, end of capture): emit everything pending.
    fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>);
    fn stats(&self) -> DissectStats;
    /// The protocol name, for per-protocol counts (`http`, `dns`).
    fn protocol_name(&self) -> &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// FIN or RST.
    Closed,
    /// No packet for the idle timeout.
    Idle,
    /// The capture ended with the flow still open.
    EndOfCapture,
}

impl CloseReason {
    pub fn unanswered(self) -> Option<ItemError> {
        match self {
            CloseReason::Closed => item_error(ItemErrorKind::Connection, "connection closed before a response"),
            CloseReason::Idle => item_error(ItemErrorKind::Timeout, "no response before the flow went idle"),
            CloseReason::EndOfCapture => item_error(ItemErrorKind::Timeout, "capture ended before a response"),
        }
    }
}

/// What the first bytes of a flow say about its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    Http1,
    /// HTTP/2 from the client preface (prior knowledge).
    Http2,
    /// HTTP/2 frames from the middle of a connection.
    Http2MidStream,
    /// Only after an HTTP/1.1 upgrade (never detected on its own).
    WebSocket,
    /// ICMP and ICMPv6, known from the IP header.
    Icmp,
    Dns,
    Redis,
    Tls,
    Postgres,
    Mysql,
    Kafka,
    Amqp,
    /// Too few bytes to tell yet.
    NeedMore,
    /// No dissector recognises it.
    Unknown,
}

/// Recognises a TCP flow's protocol from the first bytes seen in either direction: the
/// first detector (in order TLS, HTTP/2's preface, HTTP/1, DNS, Redis, PostgreSQL, MySQL,
/// Kafka, AMQP, then HTTP/2 frames from mid-connection) that is sure wins; while none is and
/// one still needs more bytes, so does the flow. The binary protocols recognised by
/// plausible lengths, ids and layouts (Kafka, mid-stream AMQP and HTTP/2) come last, so that
/// they never take a flow that a detector with a stronger signature recognises.
pub fn detect_tcp(first_bytes: &[u8]) -> Detection {
    let mut need_more = false;
    for detect in [tls::detect, http2::detect, http1::detect, dns::detect_tcp, redis::detect, postgres::detect, mysql::detect, kafka::detect, amqp::detect, http2::detect_mid_stream] {
        match detect(first_bytes) {
            Detection::Unknown => {}
            Detection::NeedMore => need_more = true,
            sure => return sure,
        }
    }
    if need_more { Detection::NeedMore } else { Detection::Unknown }
}

/// Recognises a UDP flow's protocol from its first datagram.
pub fn detect_udp(datagram: &[u8]) -> Detection {
    dns::detect_udp(datagram)
}

/// Makes the flow state for a detected protocol.
pub fn new_dissector(detection: Detection, layer4_tcp: bool, limits: DissectLimits) -> Option<Box<dyn StreamDissector>> {
    match detection {
        Detection::Http1 => Some(Box::new(http1::Http1Flow::new(limits))),
        Detection::Http2 => Some(Box::new(http2::Http2Flow::new(limits))),
        Detection::Http2MidStream => Some(Box::new(http2::Http2Flow::mid_stream(limits))),
        Detection::Dns => Some(Box::new(dns::DnsFlow::new(layer4_tcp, limits))),
        Detection::Redis => Some(Box::new(redis::RedisFlow::new(limits))),
        Detection::Tls => Some(Box::new(tls::TlsFlow::new(limits))),
        Detection::Postgres => Some(Box::new(postgres::PostgresFlow::new(limits))),
        Detection::Mysql => Some(Box::new(mysql::MysqlFlow::new(limits))),
        Detection::WebSocket => Some(Box::new(websocket::WebSocketFlow::new(limits))),
        Detection::Icmp => Some(Box::new(icmp::IcmpFlow::new(false, limits))),
        Detection::Kafka => Some(Box::new(kafka::KafkaFlow::new(limits))),
        Detection::Amqp => Some(Box::new(amqp::AmqpFlow::new(limits))),
        Detection::NeedMore | Detection::Unknown => None,
    }
}
