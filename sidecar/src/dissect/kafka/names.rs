//! Names and version facts from Kafka's protocol guide (kafka.apache.org/protocol) and
//! its message definitions: API keys, error codes, and from which version each API we
//! decode is "flexible" (compact strings and arrays, tagged fields).

/// The API key's name, or `ApiKey<n>` for one the guide does not list.
pub fn api_key_name(key: i16) -> String {
    const NAMES: [&str; 93] = [
        "Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica", "UpdateMetadata", "ControlledShutdown",
        "OffsetCommit", "OffsetFetch", "FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups",
        "ListGroups", "SaslHandshake", "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId",
        "OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "WriteTxnMarkers", "TxnOffsetCommit",
        "DescribeAcls", "CreateAcls", "DeleteAcls", "DescribeConfigs", "AlterConfigs", "AlterReplicaLogDirs", "DescribeLogDirs",
        "SaslAuthenticate", "CreatePartitions", "CreateDelegationToken", "RenewDelegationToken", "ExpireDelegationToken",
        "DescribeDelegationToken", "DeleteGroups", "ElectLeaders", "IncrementalAlterConfigs", "AlterPartitionReassignments",
        "ListPartitionReassignments", "OffsetDelete", "DescribeClientQuotas", "AlterClientQuotas", "DescribeUserScramCredentials",
        "AlterUserScramCredentials", "Vote", "BeginQuorumEpoch", "EndQuorumEpoch", "DescribeQuorum", "AlterPartition",
        "UpdateFeatures", "Envelope", "FetchSnapshot", "DescribeCluster", "DescribeProducers", "BrokerRegistration",
        "BrokerHeartbeat", "UnregisterBroker", "DescribeTransactions", "ListTransactions", "AllocateProducerIds",
        "ConsumerGroupHeartbeat", "ConsumerGroupDescribe", "ControllerRegistration", "GetTelemetrySubscriptions", "PushTelemetry",
        "AssignReplicasToDirs", "ListClientMetricsResources", "DescribeTopicPartitions", "ShareGroupHeartbeat", "ShareGroupDescribe",
        "ShareFetch", "ShareAcknowledge", "AddRaftVoter", "RemoveRaftVoter", "UpdateRaftVoter", "InitializeShareGroupState",
        "ReadShareGroupState", "WriteShareGroupState", "DeleteShareGroupState", "ReadShareGroupStateSummary", "StreamsGroupHeartbeat",
        "StreamsGroupDescribe", "DescribeShareGroupOffsets", "AlterShareGroupOffsets", "DeleteShareGroupOffsets",
    ];
    usize::try_from(key).ok().and_then(|k| NAMES.get(k)).map_or_else(|| format!("ApiKey{key}"), |n| n.to_string())
}

/// The highest API key the guide lists (for detection).
pub const MAX_API_KEY: i16 = 92;

/// The error code's name, or `ERROR_<n>` for one the guide does not list.
pub fn error_name(code: i16) -> String {
    const NAMES: [&str; 117] = [
        "NONE", "OFFSET_OUT_OF_RANGE", "CORRUPT_MESSAGE", "UNKNOWN_TOPIC_OR_PARTITION", "INVALID_FETCH_SIZE", "LEADER_NOT_AVAILABLE",
        "NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "BROKER_NOT_AVAILABLE", "REPLICA_NOT_AVAILABLE", "MESSAGE_TOO_LARGE",
        "STALE_CONTROLLER_EPOCH", "OFFSET_METADATA_TOO_LARGE", "NETWORK_EXCEPTION", "COORDINATOR_LOAD_IN_PROGRESS",
        "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "INVALID_TOPIC_EXCEPTION", "RECORD_LIST_TOO_LARGE", "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "INVALID_REQUIRED_ACKS", "ILLEGAL_GENERATION", "INCONSISTENT_GROUP_PROTOCOL",
        "INVALID_GROUP_ID", "UNKNOWN_MEMBER_ID", "INVALID_SESSION_TIMEOUT", "REBALANCE_IN_PROGRESS", "INVALID_COMMIT_OFFSET_SIZE",
        "TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED", "INVALID_TIMESTAMP",
        "UNSUPPORTED_SASL_MECHANISM", "ILLEGAL_SASL_STATE", "UNSUPPORTED_VERSION", "TOPIC_ALREADY_EXISTS", "INVALID_PARTITIONS",
        "INVALID_REPLICATION_FACTOR", "INVALID_REPLICA_ASSIGNMENT", "INVALID_CONFIG", "NOT_CONTROLLER", "INVALID_REQUEST",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT", "POLICY_VIOLATION", "OUT_OF_ORDER_SEQUENCE_NUMBER", "DUPLICATE_SEQUENCE_NUMBER",
        "INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE", "INVALID_PRODUCER_ID_MAPPING", "INVALID_TRANSACTION_TIMEOUT",
        "CONCURRENT_TRANSACTIONS", "TRANSACTION_COORDINATOR_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "SECURITY_DISABLED",
        "OPERATION_NOT_ATTEMPTED", "KAFKA_STORAGE_ERROR", "LOG_DIR_NOT_FOUND", "SASL_AUTHENTICATION_FAILED", "UNKNOWN_PRODUCER_ID",
        "REASSIGNMENT_IN_PROGRESS", "DELEGATION_TOKEN_AUTH_DISABLED", "DELEGATION_TOKEN_NOT_FOUND", "DELEGATION_TOKEN_OWNER_MISMATCH",
        "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", "DELEGATION_TOKEN_AUTHORIZATION_FAILED", "DELEGATION_TOKEN_EXPIRED",
        "INVALID_PRINCIPAL_TYPE", "NON_EMPTY_GROUP", "GROUP_ID_NOT_FOUND", "FETCH_SESSION_ID_NOT_FOUND", "INVALID_FETCH_SESSION_EPOCH",
        "LISTENER_NOT_FOUND", "TOPIC_DELETION_DISABLED", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH", "UNSUPPORTED_COMPRESSION_TYPE",
        "STALE_BROKER_EPOCH", "OFFSET_NOT_AVAILABLE", "MEMBER_ID_REQUIRED", "PREFERRED_LEADER_NOT_AVAILABLE", "GROUP_MAX_SIZE_REACHED",
        "FENCED_INSTANCE_ID", "ELIGIBLE_LEADERS_NOT_AVAILABLE", "ELECTION_NOT_NEEDED", "NO_REASSIGNMENT_IN_PROGRESS",
        "GROUP_SUBSCRIBED_TO_TOPIC", "INVALID_RECORD", "UNSTABLE_OFFSET_COMMIT", "THROTTLING_QUOTA_EXCEEDED", "PRODUCER_FENCED",
        "RESOURCE_NOT_FOUND", "DUPLICATE_RESOURCE", "UNACCEPTABLE_CREDENTIAL", "INCONSISTENT_VOTER_SET", "INVALID_UPDATE_VERSION",
        "FEATURE_UPDATE_FAILED", "PRINCIPAL_DESERIALIZATION_FAILURE", "SNAPSHOT_NOT_FOUND", "POSITION_OUT_OF_RANGE",
        "UNKNOWN_TOPIC_ID", "DUPLICATE_BROKER_REGISTRATION", "BROKER_ID_NOT_REGISTERED", "INCONSISTENT_TOPIC_ID",
        "INCONSISTENT_CLUSTER_ID", "TRANSACTIONAL_ID_NOT_FOUND", "FETCH_SESSION_TOPIC_ID_ERROR", "INELIGIBLE_REPLICA",
        "NEW_LEADER_ELECTED", "OFFSET_MOVED_TO_TIERED_STORAGE", "FENCED_MEMBER_EPOCH", "UNRELEASED_INSTANCE_ID",
        "UNSUPPORTED_ASSIGNOR", "STALE_MEMBER_EPOCH", "MISMATCHED_ENDPOINT_TYPE", "UNSUPPORTED_ENDPOINT_TYPE",
        "UNKNOWN_CONTROLLER_ID",
    ];
    if code == -1 {
        return "UNKNOWN_SERVER_ERROR".into();
    }
    usize::try_from(code).ok().and_then(|c| NAMES.get(c)).map_or_else(|| format!("ERROR_{code}"), |n| n.to_string())
}

pub const PRODUCE: i16 = 0;
pub const FETCH: i16 = 1;
pub const LIST_OFFSETS: i16 = 2;
pub const METADATA: i16 = 3;
pub const OFFSET_COMMIT: i16 = 8;
pub const OFFSET_FETCH: i16 = 9;
pub const API_VERSIONS: i16 = 18;
pub const CREATE_TOPICS: i16 = 19;
pub const DELETE_TOPICS: i16 = 20;

/// What Remora knows of an API: the versions it decodes and the first flexible one.
#[derive(Debug, Clone, Copy)]
pub struct ApiFacts {
    pub max_decoded: i16,
    /// The first version with compact encodings and tagged fields (`i16::MAX`: none).
    pub flexible_from: i16,
    /// Responses that open with `[throttle_time_ms] error_code`: the first version with
    /// the throttle time (`i16::MAX`: none), so the error is read without a decoder of
    /// their own.
    pub simple_from: Option<i16>,
}

const NONE: i16 = i16::MAX;

/// The facts for the APIs whose bodies are decoded; `None` for the rest.
pub fn api_facts(key: i16) -> Option<ApiFacts> {
    let facts = |max_decoded, flexible_from, simple_from| Some(ApiFacts { max_decoded, flexible_from, simple_from });
    match key {
        PRODUCE => facts(13, 9, None),
        FETCH => facts(17, 12, None),
        LIST_OFFSETS => facts(10, 6, None),
        METADATA => facts(13, 9, None),
        OFFSET_COMMIT => facts(9, 8, None),
        OFFSET_FETCH => facts(9, 6, None),
        API_VERSIONS => facts(4, 3, None),
        CREATE_TOPICS => facts(7, 5, None),
        DELETE_TOPICS => facts(6, 4, None),
        // FindCoordinator: v4 answers per coordinator key instead.
        10 => facts(3, 3, Some(1)),
        // JoinGroup, Heartbeat, LeaveGroup, SyncGroup.
        11 => facts(9, 6, Some(2)),
        12 => facts(4, 4, Some(1)),
        13 => facts(5, 4, Some(1)),
        14 => facts(5, 4, Some(1)),
        // ListGroups, SaslHandshake.
        16 => facts(5, 3, Some(1)),
        17 => facts(1, NONE, Some(NONE)),
        // InitProducerId, AddOffsetsToTxn, EndTxn.
        22 => facts(5, 2, Some(0)),
        25 => facts(4, 3, Some(0)),
        26 => facts(5, 3, Some(0)),
        // SaslAuthenticate.
        36 => facts(2, 2, Some(NONE)),
        _ => None,
    }
}
