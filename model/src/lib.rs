//! The objects Remora hands to users: the [`Item`] (`data` in `onItemCaptured` and
//! `onItemQueried`, one line of `remora replay --output json`, what KFL filters).
//!
//! The JSON view is the contract: field names are the public Kubeshark entry's
//! (camelCase, ports as strings), so scripts written for its documentation run unchanged.
//! Every field is documented here and in `schema/item.schema.json`, which the tests
//! validate each emitted item against.

mod amqp;
mod dns;
mod fields;
mod grpc;
mod http;
mod icmp;
mod item;
mod kafka;
mod mysql;
mod postgres;
mod redis;
mod tls;
mod websocket;

pub mod native_sidecars;
pub mod quantity;
pub mod redact;
pub mod summary;
pub mod tokens;
pub mod wire;

pub use amqp::{AmqpError, AmqpProperties, AmqpRequest, AmqpResponse};
pub use dns::{DnsQuestion, DnsRecord, DnsRequest, DnsResponse};
pub use fields::Fields;
pub use grpc::{GraphqlOperation, GrpcCall, GrpcMessage, GrpcReply, ProtoField, ProtoValue};
pub use icmp::{IcmpMessage, IcmpQuoted};
pub use http::{Body, HttpRequest, HttpResponse};
pub use kafka::{KafkaPartition, KafkaRequest, KafkaResponse, KafkaTopic};
pub use mysql::{MysqlError, MysqlRequest, MysqlResponse};
pub use postgres::{PostgresError, PostgresRequest, PostgresResponse};
pub use redis::{RedisRequest, RedisResponse};
pub use tls::{TlsRequest, TlsResponse};
pub use websocket::WebSocketMessage;
pub use item::{Endpoint, Item, ItemError, ItemErrorKind, Node, Protocol, Request, Response};

/// The protocol names of `remora.dev/protocols` (and `REMORA_PROTOCOLS`, `remora replay
/// --protocols`): the injector validates the annotation against them, the sidecar selects
/// its dissectors by them. Some have no dissector yet and match no flow.
pub const PROTOCOL_NAMES: [&str; 12] = ["http", "http2", "grpc", "dns", "redis", "kafka", "amqp", "tls", "postgres", "mysql", "websocket", "icmp"];

/// The levels of `remora.dev/log-level` (and `REMORA_LOG_LEVEL`): the injector validates
/// the annotation against them, the sidecar logs at one.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
