//! AMQP 0-9-1 items: one method (with the content it carries) and, for a synchronous
//! method, the peer's reply.

use serde::{Deserialize, Serialize};

use crate::{Body, Fields};

/// `request` of an AMQP item: a method frame, from either side (the server opens
/// Connection.Start and may close a channel).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmqpRequest {
    /// `Class.Method` as the specification names them: `Basic.Publish`, `Queue.Declare`.
    pub method: String,
    pub channel: u16,
    /// The exchange (Exchange.*, Queue.Bind, Basic.Publish/Deliver/Return; the source of
    /// Exchange.Bind), else empty.
    pub exchange: String,
    /// Exchange.Bind and Unbind (RabbitMQ's exchange-to-exchange bindings): the exchange
    /// bound to the source.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    pub routing_key: String,
    pub queue: String,
    pub consumer_tag: String,
    /// Basic.Deliver, Ack, Nack, Reject.
    pub delivery_tag: Option<u64>,
    /// Connection.Open.
    pub virtual_host: String,
    /// Channel.Close, Connection.Close, Basic.Return.
    pub reply_code: Option<u16>,
    pub reply_text: String,
    /// Basic.Publish, Deliver, Return: the content header's properties and the body.
    pub properties: Option<AmqpProperties>,
    pub body: Option<Body>,
}

/// The Basic content header's properties that were sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmqpProperties {
    pub content_type: String,
    pub content_encoding: String,
    /// The headers table: scalar values as text, a nested table or array as `(table)`
    /// or `(array)`.
    pub headers: Fields,
    /// 1 transient, 2 persistent.
    pub delivery_mode: Option<u8>,
    pub priority: Option<u8>,
    pub correlation_id: String,
    pub reply_to: String,
    pub expiration: String,
    pub message_id: String,
    /// Seconds since the UNIX epoch.
    pub timestamp: Option<u64>,
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: String,
    pub app_id: String,
}

/// `response` of an AMQP item: the reply to a synchronous method (`Queue.Declare-Ok`), or
/// the Channel.Close / Connection.Close that refused it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmqpResponse {
    pub method: String,
    /// Queue.Declare-Ok.
    pub queue: String,
    /// Queue.Declare-Ok, Purge-Ok, Delete-Ok, Basic.Get-Ok.
    pub message_count: Option<u32>,
    /// Queue.Declare-Ok.
    pub consumer_count: Option<u32>,
    /// Basic.Consume-Ok, Cancel-Ok.
    pub consumer_tag: String,
    /// Basic.Get-Ok: the message.
    pub delivery_tag: Option<u64>,
    pub exchange: String,
    pub routing_key: String,
    pub properties: Option<AmqpProperties>,
    pub body: Option<Body>,
    /// The close that answered instead of the reply.
    pub error: Option<AmqpError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmqpError {
    /// The reply code (404 NOT_FOUND, 406 PRECONDITION_FAILED, 530 NOT_ALLOWED, ...).
    pub code: u16,
    pub text: String,
    /// The method that caused it, as the close names it (`Exchange.Declare`), if any.
    pub method: String,
}
