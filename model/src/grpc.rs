//! What gRPC adds to an HTTP/2 item: the call's service and method, its status from the
//! trailers, and each length-prefixed message as raw protobuf fields (no schema is known,
//! so fields are numbered, as `protoc --decode_raw` shows them).

use serde::{Deserialize, Serialize};

/// `request.grpc`: the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcCall {
    /// `package.Service` from the path `/package.Service/Method`.
    pub service: String,
    pub method: String,
    /// The `grpc-encoding` of the messages (`identity` when absent).
    pub encoding: String,
    /// Every message the client sent on the stream.
    pub message_count: u64,
    /// The first messages (at most 16), decoded.
    pub messages: Vec<GrpcMessage>,
}

/// `response.grpc`: how the call ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcReply {
    /// `grpc-status` (from the trailers, or the headers of a trailers-only answer); `None`
    /// when the stream ended without one.
    pub status: Option<u32>,
    /// Its name: `OK`, `NOT_FOUND`, `UNAVAILABLE`, ...
    pub status_name: String,
    /// `grpc-message`, percent-decoded.
    pub message: String,
    pub message_count: u64,
    pub messages: Vec<GrpcMessage>,
}

/// One length-prefixed message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcMessage {
    /// Bytes of the message (without its 5-byte prefix).
    pub size: u64,
    pub compressed: bool,
    /// Top-level fields (at most 64), nested messages decoded where the bytes parse as
    /// one; empty when compressed, cut, or not protobuf.
    pub fields: Vec<ProtoField>,
}

/// One protobuf field, decoded without a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtoField {
    /// The field number.
    pub field: u32,
    /// `varint`, `fixed32`, `fixed64`, `string`, `bytes` (base64) or `message`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: ProtoValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProtoValue {
    Number(u64),
    Text(String),
    Message(Vec<ProtoField>),
}

/// GraphQL over HTTP: `request.graphql` names the operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphqlOperation {
    /// `query`, `mutation` or `subscription`.
    pub operation_type: String,
    /// The operation's name; empty for an anonymous one.
    pub operation_name: String,
}
