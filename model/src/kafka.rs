//! Kafka items: one request of the Kafka wire protocol and the response with the same
//! correlation id.

use serde::{Deserialize, Serialize};

/// `request` of a Kafka item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRequest {
    /// The API key's number (`0` for Produce); -1 for a response whose request was not
    /// captured.
    pub api_key: i16,
    /// The API key's name in the protocol guide (`Produce`, `Fetch`, `Metadata`, ...), or
    /// `ApiKey<n>` for a number the guide does not list.
    pub api_key_name: String,
    pub api_version: i16,
    pub correlation_id: i32,
    /// The client id of the request header (empty when null).
    pub client_id: String,
    /// The topics the request names (Produce, Fetch, ListOffsets, Metadata, OffsetCommit,
    /// OffsetFetch, CreateTopics, DeleteTopics); at most 64, each with at most 64 partitions.
    pub topics: Vec<KafkaTopic>,
    /// Produce only: the acknowledgements asked for (0: the broker sends no response).
    pub acks: Option<i16>,
    /// The body was decoded (a known API key and version): `topics` is what it names.
    pub decoded: bool,
    /// Topics or partitions were left out (over the limits, or past the bytes kept).
    pub truncated: bool,
}

/// A topic of a request or response, by name or (newer versions) by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopic {
    /// Empty when the version names topics by id only.
    pub name: String,
    /// The topic's UUID (Fetch v13+, Produce v13+, Metadata v10+, ...), else empty.
    pub topic_id: String,
    pub partitions: Vec<KafkaPartition>,
    /// The topic-level error code of a response (Metadata, CreateTopics, DeleteTopics).
    pub error_code: Option<i16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaPartition {
    pub index: i32,
    /// Produce requests: the records sent to the partition (counted from the record
    /// batch headers).
    pub records: Option<u64>,
    /// Responses: the partition's error code.
    pub error_code: Option<i16>,
}

/// `response` of a Kafka item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaResponse {
    pub correlation_id: i32,
    /// The first non-zero error code of the response (top level, topic or partition), or 0;
    /// null when the body was not decoded.
    pub error_code: Option<i16>,
    /// Its name in the protocol guide (`NONE`, `UNKNOWN_TOPIC_OR_PARTITION`, ...).
    pub error_name: String,
    pub throttle_time_ms: Option<i32>,
    pub topics: Vec<KafkaTopic>,
    pub decoded: bool,
    pub truncated: bool,
}
