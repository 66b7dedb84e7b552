use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{AmqpRequest, AmqpResponse, KafkaRequest, KafkaResponse, MysqlRequest, MysqlResponse, PostgresRequest, PostgresResponse, DnsRequest, DnsResponse, HttpRequest, HttpResponse, RedisRequest, RedisResponse, TlsRequest, TlsResponse};

/// One protocol-level exchange: a request with its response (or `response: null` when
/// none came), plus where it travelled and when.
///
/// What items of one flow or one worker share (stream, endpoints, worker, node,
/// namespace) is reference-counted: making an item copies pointers, not strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// `<worker>/<stream>-<index>`: unique in the cluster.
    pub id: String,
    /// The n-th item of its stream, from 0.
    pub index: u64,
    /// Base name of the stream's PCAP file (`000000000001.pcap`, `..._udp.pcap`):
    /// `pcap.path(data.stream)` and the file `--pcap-dir` writes.
    pub stream: Arc<str>,
    /// Name of the sidecar (or `replay`) that produced the item.
    pub worker: Arc<str>,
    /// The node the worker runs on.
    pub node: Arc<Node>,
    pub protocol: Protocol,
    /// Whether the stream was TLS (always false for cleartext dissectors).
    pub tls: bool,
    /// The side that sent the request (the client).
    pub src: Arc<Endpoint>,
    /// The side that answered (the server).
    pub dst: Arc<Endpoint>,
    /// Namespace of the pod the worker serves (empty offline).
    pub namespace: Arc<str>,
    /// True when the request came from the worker's own pod (offline: from an address
    /// given with `--local-ip`).
    pub outgoing: bool,
    /// Milliseconds since the UNIX epoch at the first byte of the request.
    pub timestamp: i64,
    /// Milliseconds from the request's first byte to the response's last (0 when
    /// unanswered).
    pub elapsed_time: i64,
    pub request: Request,
    /// `null` when no response was seen.
    pub response: Option<Response>,
    /// RFC 3339 time (nanoseconds, UTC) of the first request byte.
    pub start_time: String,
    /// Bytes of the request on the wire at layer 7 (head and body).
    pub request_size: u64,
    /// Bytes of the response on the wire at layer 7 (0 when unanswered).
    pub response_size: u64,
    /// Set by `test.pass(data)`.
    pub passed: bool,
    /// Set by `test.fail(data)`.
    pub failed: bool,
    /// Why the item is incomplete, when it is.
    pub error: Option<ItemError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub ip: String,
}

/// Which protocol an item is. `name` is what KFL uses as a boolean (`http`, `dns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    pub name: Cow<'static, str>,
    pub version: Cow<'static, str>,
    pub abbr: Cow<'static, str>,
    pub long_name: Cow<'static, str>,
    /// Same as `name`; kept because the public entry has it.
    #[serde(rename = "macro")]
    pub macro_name: Cow<'static, str>,
    /// `tcp` or `udp`.
    pub layer4: Cow<'static, str>,
}

impl Protocol {
    /// A protocol described by constants: building it allocates nothing.
    pub const fn new(name: &'static str, version: &'static str, abbr: &'static str, long_name: &'static str, layer4: &'static str) -> Self {
        Protocol {
            name: Cow::Borrowed(name),
            version: Cow::Borrowed(version),
            abbr: Cow::Borrowed(abbr),
            long_name: Cow::Borrowed(long_name),
            macro_name: Cow::Borrowed(name),
            layer4: Cow::Borrowed(layer4),
        }
    }

    /// A protocol whose KFL macro differs from its name (HTTP/2 and gRPC are `http`
    /// items that `http2` and `grpc` also select).
    pub const fn with_macro(name: &'static str, version: &'static str, abbr: &'static str, long_name: &'static str, macro_name: &'static str, layer4: &'static str) -> Self {
        Protocol {
            name: Cow::Borrowed(name),
            version: Cow::Borrowed(version),
            abbr: Cow::Borrowed(abbr),
            long_name: Cow::Borrowed(long_name),
            macro_name: Cow::Borrowed(macro_name),
            layer4: Cow::Borrowed(layer4),
        }
    }
}

/// One end of the exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: String,
    /// A string, as in the public entry, so `data.dst.port === "80"` keeps working.
    pub port: String,
    /// Pod or service name from name resolution (empty when unknown, always offline).
    pub name: String,
    pub namespace: String,
}

/// The protocol-specific request; its shape follows `protocol.name`. Boxed, so that
/// moving an item through the pipeline's queues copies pointers, not the messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Request {
    Http(Box<HttpRequest>),
    Dns(Box<DnsRequest>),
    Redis(Box<RedisRequest>),
    Tls(Box<TlsRequest>),
    Postgres(Box<PostgresRequest>),
    Mysql(Box<MysqlRequest>),
    WebSocket(Box<crate::WebSocketMessage>),
    Icmp(Box<crate::IcmpMessage>),
    Kafka(Box<KafkaRequest>),
    Amqp(Box<AmqpRequest>),
}

/// The protocol-specific response; its shape follows `protocol.name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Http(Box<HttpResponse>),
    Dns(Box<DnsResponse>),
    Redis(Box<RedisResponse>),
    Tls(Box<TlsResponse>),
    Postgres(Box<PostgresResponse>),
    Mysql(Box<MysqlResponse>),
    WebSocket(Box<crate::WebSocketMessage>),
    Icmp(Box<crate::IcmpMessage>),
    Kafka(Box<KafkaResponse>),
    Amqp(Box<AmqpResponse>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemErrorKind {
    /// The bytes did not parse as the protocol (or broke a limit).
    Dissection,
    /// The connection ended (FIN/RST/idle) before the exchange completed.
    Connection,
    /// No response came within the protocol's timeout.
    Timeout,
    /// A response with no request to pair it with.
    PairNotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    #[serde(rename = "type")]
    pub kind: ItemErrorKind,
    pub msg: String,
}
