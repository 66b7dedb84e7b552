//! The bodies of the requests and responses Remora decodes, version by version after the
//! message definitions of Kafka's protocol guide: the topics (and partitions) named,
//! Produce's record counts, and the error codes and throttle time of the answer.
//!
//! Each decoder reads as far as the bytes go; what it read so far stays (the item says
//! `truncated`). Fields the item does not show are skipped, not kept.

use remora_model::{KafkaPartition, KafkaRequest, KafkaResponse, KafkaTopic};

use super::super::cursor::Cursor;
use super::names::*;
use super::wire::count_records;

/// Topics and partitions kept per message.
const MAX_TOPICS: usize = 64;
const MAX_PARTITIONS: usize = 64;

/// The topics a message names, up to the limits.
#[derive(Default)]
struct Topics {
    list: Vec<KafkaTopic>,
    cut: bool,
    /// The topic being read was over the limit: its partitions are not kept either.
    dropping: bool,
    /// The first non-zero error code seen, else 0 once one was read.
    error: Option<i16>,
}

/// The UUID of "no id" (a topic named, not identified), as [`Cursor::uuid`] shows it.
const ZERO_UUID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

impl Topics {
    fn topic(&mut self, name: String, mut topic_id: String) {
        if topic_id == ZERO_UUID {
            topic_id.clear();
        }
        self.dropping = self.list.len() >= MAX_TOPICS;
        if self.dropping {
            self.cut = true;
        } else {
            self.list.push(KafkaTopic { name, topic_id, ..Default::default() });
        }
    }

    /// A topic by name (`by_id` false) or by UUID.
    fn read_topic(&mut self, c: &mut Cursor, by_id: bool, flexible: bool) -> Option<()> {
        if by_id {
            let id = c.uuid()?;
            self.topic(String::new(), id);
        } else {
            let name = c.kstring(flexible)?;
            self.topic(name, String::new());
        }
        Some(())
    }

    fn partition(&mut self, partition: KafkaPartition) {
        if let Some(error) = partition.error_code {
            self.error_code(error);
        }
        if self.dropping {
            return;
        }
        match self.list.last_mut() {
            Some(topic) if topic.partitions.len() < MAX_PARTITIONS => topic.partitions.push(partition),
            _ => self.cut = true,
        }
    }

    fn topic_error(&mut self, code: i16) {
        self.error_code(code);
        if let Some(topic) = self.list.last_mut().filter(|_| !self.dropping) {
            topic.error_code = Some(code);
        }
    }

    fn error_code(&mut self, code: i16) {
        if self.error.is_none_or(|e| e == 0) {
            self.error = Some(code);
        }
    }
}

/// The common shape of the bodies: an array of topics (by name, or by id when `by_id`),
/// each with an array of partition structures that `partition` reads; each structure
/// ends with tagged fields in flexible versions.
fn each_topic(c: &mut Cursor, fx: bool, by_id: bool, topics: &mut Topics, mut partition: impl FnMut(&mut Cursor, &mut Topics) -> Option<()>) -> Option<()> {
    for _ in 0..c.karray(fx)? {
        topics.read_topic(c, by_id, fx)?;
        for _ in 0..c.karray(fx)? {
            partition(c, topics)?;
            c.tagged_fields(fx)?;
        }
        c.tagged_fields(fx)?;
    }
    Some(())
}

/// A partition's index, then `skip` bytes a request has there.
fn request_partition(c: &mut Cursor, topics: &mut Topics, skip: usize) -> Option<()> {
    let index = c.i32_be()?;
    c.skip(skip)?;
    topics.partition(KafkaPartition { index, ..Default::default() });
    Some(())
}

/// A response partition's index and error code.
fn answered_partition(c: &mut Cursor, topics: &mut Topics) -> Option<()> {
    let index = c.i32_be()?;
    let error = c.i16_be()?;
    topics.partition(KafkaPartition { index, records: None, error_code: Some(error) });
    Some(())
}

/// A topic's outcome (CreateTopics, DeleteTopics): name, id (`with_id`), error code and
/// error message (`with_message`).
fn topic_outcome(c: &mut Cursor, fx: bool, with_id: bool, with_message: bool, topics: &mut Topics) -> Option<()> {
    let name = c.kstring(fx)?;
    let id = if with_id { c.uuid()? } else { String::new() };
    topics.topic(name, id);
    topics.topic_error(c.i16_be()?);
    if with_message {
        c.kstring(fx)?;
    }
    Some(())
}

/// Decodes a request's body into `request` (its header already read); `flexible` from
/// [`api_facts`].
pub fn decode_request(body: &[u8], request: &mut KafkaRequest, flexible: bool) {
    let mut c = Cursor(body);
    let mut topics = Topics::default();
    let v = request.api_version;
    let read = match request.api_key {
        PRODUCE => produce_request(&mut c, v, flexible, &mut topics, &mut request.acks),
        FETCH => fetch_request(&mut c, v, flexible, &mut topics),
        LIST_OFFSETS => list_offsets_request(&mut c, v, flexible, &mut topics),
        METADATA => metadata_request(&mut c, v, flexible, &mut topics),
        OFFSET_COMMIT => offset_commit_request(&mut c, v, flexible, &mut topics),
        OFFSET_FETCH => offset_fetch_request(&mut c, v, flexible, &mut topics),
        CREATE_TOPICS => create_topics_request(&mut c, v, flexible, &mut topics),
        DELETE_TOPICS => delete_topics_request(&mut c, v, flexible, &mut topics),
        _ => Some(()),
    };
    request.truncated = read.is_none() || topics.cut;
    request.topics = topics.list;
}

fn produce_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, acks: &mut Option<i16>) -> Option<()> {
    if v >= 3 {
        c.kstring(fx)?; // transactional_id
    }
    *acks = Some(c.i16_be()?);
    c.skip(4)?; // timeout_ms
    each_topic(c, fx, v >= 13, topics, |c, topics| {
        let index = c.i32_be()?;
        let (records, whole) = c.kbytes_prefix(fx)?;
        topics.partition(KafkaPartition { index, records: Some(count_records(records)), error_code: None });
        whole.then_some(())
    })
}

fn fetch_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    // replica_id (up to v14), max_wait_ms, min_bytes, max_bytes (v3+), isolation_level
    // (v4+), session_id and session_epoch (v7+).
    let fixed = if v <= 14 { 4 } else { 0 } + 8 + if v >= 3 { 4 } else { 0 } + if v >= 4 { 1 } else { 0 } + if v >= 7 { 8 } else { 0 };
    c.skip(fixed)?;
    // current_leader_epoch (v9+), fetch_offset, last_fetched_epoch (v12+),
    // log_start_offset (v5+), partition_max_bytes.
    let skip = if v >= 9 { 4 } else { 0 } + 8 + if v >= 12 { 4 } else { 0 } + if v >= 5 { 8 } else { 0 } + 4;
    each_topic(c, fx, v >= 13, topics, |c, topics| request_partition(c, topics, skip))
}

fn list_offsets_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    c.skip(4 + if v >= 2 { 1 } else { 0 })?; // replica_id, isolation_level
    // current_leader_epoch (v4+), timestamp, max_num_offsets (v0).
    let skip = if v >= 4 { 4 } else { 0 } + 8 + if v == 0 { 4 } else { 0 };
    each_topic(c, fx, false, topics, |c, topics| request_partition(c, topics, skip))
}

fn metadata_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    // A null array (v1+) asks for every topic.
    for _ in 0..c.karray(fx)? {
        if v >= 10 {
            let id = c.uuid()?;
            let name = c.kstring(fx)?;
            // An all-zero id means "by name".
            topics.topic(name, id);
        } else {
            topics.read_topic(c, false, fx)?;
        }
        c.tagged_fields(fx)?;
    }
    Some(())
}

fn offset_commit_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    c.kstring(fx)?; // group_id
    if v >= 1 {
        c.skip(4)?; // generation_id
        c.kstring(fx)?; // member_id
    }
    if v >= 7 {
        c.kstring(fx)?; // group_instance_id
    }
    if (2..=4).contains(&v) {
        c.skip(8)?; // retention_time_ms
    }
    // committed_offset, committed_leader_epoch (v6+), commit_timestamp (v1).
    let skip = 8 + if v >= 6 { 4 } else { 0 } + if v == 1 { 8 } else { 0 };
    each_topic(c, fx, false, topics, |c, topics| {
        request_partition(c, topics, skip)?;
        c.kstring(fx).map(|_| ()) // committed_metadata
    })
}

fn offset_fetch_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    let groups = if v >= 8 { c.karray(fx)? } else { 1 };
    for _ in 0..groups {
        c.kstring(fx)?; // group_id
        if v >= 9 {
            c.kstring(fx)?; // member_id
            c.skip(4)?; // member_epoch
        }
        for _ in 0..c.karray(fx)? {
            topics.read_topic(c, false, fx)?;
            for _ in 0..c.karray(fx)? {
                let index = c.i32_be()?;
                topics.partition(KafkaPartition { index, ..Default::default() });
            }
            c.tagged_fields(fx)?;
        }
        if v >= 8 {
            c.tagged_fields(fx)?;
        }
    }
    Some(())
}

fn create_topics_request(c: &mut Cursor, _v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    for _ in 0..c.karray(fx)? {
        topics.read_topic(c, false, fx)?;
        c.skip(4 + 2)?; // num_partitions, replication_factor
        for _ in 0..c.karray(fx)? {
            c.skip(4)?; // partition_index
            c.skip_array(fx, 4)?; // broker_ids
            c.tagged_fields(fx)?;
        }
        for _ in 0..c.karray(fx)? {
            c.kstring(fx)?; // name
            c.kstring(fx)?; // value
            c.tagged_fields(fx)?;
        }
        c.tagged_fields(fx)?;
    }
    Some(())
}

fn delete_topics_request(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics) -> Option<()> {
    for _ in 0..c.karray(fx)? {
        if v >= 6 {
            let name = c.kstring(fx)?;
            let id = c.uuid()?;
            topics.topic(name, id);
            c.tagged_fields(fx)?;
        } else {
            topics.read_topic(c, false, fx)?;
        }
    }
    Some(())
}

/// Decodes a response's body (after the correlation id and, when flexible, the header's
/// tagged fields) for the request it answers.
pub fn decode_response(body: &[u8], request: &KafkaRequest, flexible: bool, response: &mut KafkaResponse) {
    let mut c = Cursor(body);
    let mut topics = Topics::default();
    let v = request.api_version;
    let throttle = &mut response.throttle_time_ms;
    let read = match request.api_key {
        PRODUCE => produce_response(&mut c, v, flexible, &mut topics, throttle),
        FETCH => fetch_response(&mut c, v, flexible, &mut topics, throttle),
        LIST_OFFSETS => list_offsets_response(&mut c, v, flexible, &mut topics, throttle),
        METADATA => metadata_response(&mut c, v, flexible, &mut topics, throttle),
        OFFSET_COMMIT => offset_commit_response(&mut c, v, flexible, &mut topics, throttle),
        OFFSET_FETCH => offset_fetch_response(&mut c, v, flexible, &mut topics, throttle),
        CREATE_TOPICS => create_topics_response(&mut c, v, flexible, &mut topics, throttle),
        DELETE_TOPICS => delete_topics_response(&mut c, v, flexible, &mut topics, throttle),
        API_VERSIONS => api_versions_response(&mut c, v, flexible, &mut topics, throttle),
        key => match api_facts(key).and_then(|f| f.simple_from) {
            Some(from) => simple_response(&mut c, v >= from, &mut topics, throttle),
            None => Some(()),
        },
    };
    response.truncated = read.is_none() || topics.cut;
    response.error_code = topics.error;
    response.error_name = topics.error.map(error_name).unwrap_or_default();
    response.topics = topics.list;
}

type Throttle<'a> = &'a mut Option<i32>;

fn throttle_time(c: &mut Cursor, present: bool, throttle: Throttle) -> Option<()> {
    if present {
        *throttle = Some(c.i32_be()?);
    }
    Some(())
}

fn simple_response(c: &mut Cursor, throttled: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, throttled, throttle)?;
    topics.error_code(c.i16_be()?);
    Some(())
}

fn produce_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    each_topic(c, fx, v >= 13, topics, |c, topics| {
        answered_partition(c, topics)?;
        // base_offset, log_append_time_ms (v2+), log_start_offset (v5+).
        c.skip(8 + if v >= 2 { 8 } else { 0 } + if v >= 5 { 8 } else { 0 })?;
        if v >= 8 {
            for _ in 0..c.karray(fx)? {
                c.skip(4)?; // batch_index
                c.kstring(fx)?; // batch_index_error_message
                c.tagged_fields(fx)?;
            }
            c.kstring(fx)?; // error_message
        }
        Some(())
    })?;
    throttle_time(c, v >= 1, throttle)
}

fn fetch_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 1, throttle)?;
    if v >= 7 {
        topics.error_code(c.i16_be()?);
        c.skip(4)?; // session_id
    }
    each_topic(c, fx, v >= 13, topics, |c, topics| {
        answered_partition(c, topics)?;
        // high_watermark, last_stable_offset (v4+), log_start_offset (v5+).
        c.skip(8 + if v >= 4 { 8 } else { 0 } + if v >= 5 { 8 } else { 0 })?;
        if v >= 4 {
            // aborted_transactions: producer_id, first_offset (+ tagged fields).
            for _ in 0..c.karray(fx)? {
                c.skip(16)?;
                c.tagged_fields(fx)?;
            }
        }
        if v >= 11 {
            c.skip(4)?; // preferred_read_replica
        }
        c.kbytes(fx).map(|_| ()) // records
    })
}

fn list_offsets_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 2, throttle)?;
    each_topic(c, fx, false, topics, |c, topics| {
        answered_partition(c, topics)?;
        if v == 0 {
            c.skip_array(fx, 8) // old_style_offsets
        } else {
            // timestamp, offset, leader_epoch (v4+).
            c.skip(16 + if v >= 4 { 4 } else { 0 })
        }
    })
}

fn metadata_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 3, throttle)?;
    for _ in 0..c.karray(fx)? {
        c.skip(4)?; // node_id
        c.kstring(fx)?; // host
        c.skip(4)?; // port
        if v >= 1 {
            c.kstring(fx)?; // rack
        }
        c.tagged_fields(fx)?;
    }
    if v >= 2 {
        c.kstring(fx)?; // cluster_id
    }
    if v >= 1 {
        c.skip(4)?; // controller_id
    }
    for _ in 0..c.karray(fx)? {
        let error = c.i16_be()?;
        let name = c.kstring(fx)?;
        let id = if v >= 10 { c.uuid()? } else { String::new() };
        topics.topic(name, id);
        topics.topic_error(error);
        if v >= 1 {
            c.skip(1)?; // is_internal
        }
        for _ in 0..c.karray(fx)? {
            let error = c.i16_be()?;
            let index = c.i32_be()?;
            topics.partition(KafkaPartition { index, records: None, error_code: Some(error) });
            c.skip(4 + if v >= 7 { 4 } else { 0 })?; // leader_id, leader_epoch (v7+)
            c.skip_array(fx, 4)?; // replica_nodes
            c.skip_array(fx, 4)?; // isr_nodes
            if v >= 5 {
                c.skip_array(fx, 4)?; // offline_replicas
            }
            c.tagged_fields(fx)?;
        }
        if v >= 8 {
            c.skip(4)?; // topic_authorized_operations
        }
        c.tagged_fields(fx)?;
    }
    if (8..=10).contains(&v) {
        c.skip(4)?; // cluster_authorized_operations
    }
    if v >= 13 {
        topics.error_code(c.i16_be()?);
    }
    Some(())
}

fn offset_commit_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 3, throttle)?;
    each_topic(c, fx, false, topics, answered_partition)
}

fn offset_fetch_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 3, throttle)?;
    let groups = if v >= 8 { c.karray(fx)? } else { 1 };
    for _ in 0..groups {
        if v >= 8 {
            c.kstring(fx)?; // group_id
        }
        each_topic(c, fx, false, topics, |c, topics| {
            let index = c.i32_be()?;
            // committed_offset, committed_leader_epoch (v5+), metadata.
            c.skip(8 + if v >= 5 { 4 } else { 0 })?;
            c.kstring(fx)?;
            let error = c.i16_be()?;
            topics.partition(KafkaPartition { index, records: None, error_code: Some(error) });
            Some(())
        })?;
        if v >= 2 {
            topics.error_code(c.i16_be()?);
        }
        if v >= 8 {
            c.tagged_fields(fx)?;
        }
    }
    Some(())
}

fn create_topics_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 2, throttle)?;
    for _ in 0..c.karray(fx)? {
        topic_outcome(c, fx, v >= 7, v >= 1, topics)?;
        if v >= 5 {
            c.skip(4 + 2)?; // num_partitions, replication_factor
            for _ in 0..c.karray(fx)? {
                c.kstring(fx)?; // name
                c.kstring(fx)?; // value
                c.skip(3)?; // read_only, config_source, is_sensitive
                c.tagged_fields(fx)?;
            }
        }
        c.tagged_fields(fx)?;
    }
    Some(())
}

fn delete_topics_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    throttle_time(c, v >= 1, throttle)?;
    for _ in 0..c.karray(fx)? {
        topic_outcome(c, fx, v >= 6, v >= 5, topics)?;
        c.tagged_fields(fx)?;
    }
    Some(())
}

fn api_versions_response(c: &mut Cursor, v: i16, fx: bool, topics: &mut Topics, throttle: Throttle) -> Option<()> {
    topics.error_code(c.i16_be()?);
    for _ in 0..c.karray(fx)? {
        c.skip(6)?; // api_key, min_version, max_version
        c.tagged_fields(fx)?;
    }
    throttle_time(c, v >= 1, throttle)
}
