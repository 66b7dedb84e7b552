//! Kafka's wire protocol: each request paired with the response that carries its
//! correlation id (a broker may answer pipelined requests in any order), with the API
//! key and version, the client id, the topics named, and the answer's error codes and
//! throttle time for the common APIs (see [`names::api_facts`]). Any other API key or
//! version still makes an item from the request header alone.
//!
//! Parts: the frames (a 4-byte length, then the message) from the shared
//! [`FrameReader`], the headers and bodies ([`wire`], [`body`]), and the pairing here.

mod body;
mod names;
mod wire;

use std::collections::VecDeque;

use remora_model::{ItemErrorKind, KafkaRequest, KafkaResponse, Protocol, Request, Response};

use super::cursor::Cursor;
use super::framing::{Frame, FrameReader, Start};
use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};
pub use names::{api_key_name, error_name};

const KAFKA: Protocol = Protocol::new("kafka", "", "KAFKA", "Apache Kafka", "tcp");

/// The largest request a broker accepts by default (`socket.request.max.bytes`); a longer
/// length is not Kafka.
const MAX_FRAME: u64 = 100 << 20;
/// Bytes kept of each frame: the header and what a body names come first, record data
/// after; a topic past them is not shown (the item says `truncated`).
const KEPT_FRAME_BYTES: usize = 128 << 10;
/// Longest client id taken as plausible when detecting.
const MAX_CLIENT_ID: usize = 1024;
/// Highest API version taken as plausible when detecting (Fetch is at 17).
const MAX_API_VERSION: i16 = 24;

/// A client's request: length, API key and version, correlation id, and a printable client
/// id. Clients set one (`producer-1`, `rdkafka`); a null or empty one is too weak a sign on
/// a flow's first bytes (an HTTP/2 SETTINGS frame reads as Produce v0 with an empty one).
pub fn detect(first: &[u8]) -> Detection {
    if first.get(12..14).is_some_and(|id| i16::from_be_bytes([id[0], id[1]]) <= 0) {
        return Detection::Unknown;
    }
    match request_start(first) {
        Start::Yes => Detection::Kafka,
        Start::NeedMore => Detection::NeedMore,
        Start::No => Detection::Unknown,
    }
}

/// Whether a request header starts at `b[0]` (request header v1/v2: the client id is
/// always a classic nullable string).
fn request_start(b: &[u8]) -> Start {
    let Some(len) = b.get(..4).map(|l| u64::from(u32::from_be_bytes([l[0], l[1], l[2], l[3]]))) else { return Start::NeedMore };
    if !(10..=MAX_FRAME).contains(&len) {
        return Start::No;
    }
    let Some(h) = b.get(4..8) else { return Start::NeedMore };
    let (key, version) = (i16::from_be_bytes([h[0], h[1]]), i16::from_be_bytes([h[2], h[3]]));
    if !(0..=names::MAX_API_KEY).contains(&key) || !(0..=MAX_API_VERSION).contains(&version) {
        return Start::No;
    }
    let Some(id) = b.get(12..14).map(|l| i16::from_be_bytes([l[0], l[1]])) else { return Start::NeedMore };
    if id == -1 {
        return Start::Yes;
    }
    let Ok(id_len) = usize::try_from(id) else { return Start::No };
    if id_len > MAX_CLIENT_ID || 10 + id_len as u64 > len {
        return Start::No;
    }
    let Some(text) = b.get(14..14 + id_len) else { return Start::NeedMore };
    if text.iter().all(|c| c.is_ascii_graphic() || *c == b' ') { Start::Yes } else { Start::No }
}

fn frame_len(header: &[u8]) -> Option<u64> {
    let len = u64::from(u32::from_be_bytes([header[0], header[1], header[2], header[3]]));
    // Responses are at least a correlation id; lengths with the top bit set are negative.
    (4..=MAX_FRAME).contains(&len).then_some(4 + len)
}

struct Pending {
    request: KafkaRequest,
    start: Timestamp,
    size: u64,
}

pub struct KafkaFlow {
    client: Option<Dir>,
    readers: [FrameReader; 2],
    /// Requests awaiting their response, oldest first.
    pending: VecDeque<Pending>,
    limits: DissectLimits,
    stats: DissectStats,
}

impl KafkaFlow {
    pub fn new(limits: DissectLimits) -> Self {
        let reader = || FrameReader::new(4, frame_len, KEPT_FRAME_BYTES);
        KafkaFlow { client: None, readers: [reader(), reader()], pending: VecDeque::new(), limits, stats: DissectStats::default() }
    }

    fn request(&mut self, frame: Frame, client: Dir, out: &mut Vec<Exchange>) {
        let Some((mut request, body)) = request_header(&frame.bytes) else {
            self.stats.parse_errors += 1;
            return;
        };
        if let Some(facts) = names::api_facts(request.api_key).filter(|f| request.api_version <= f.max_decoded) {
            if matches!(request.api_key, names::PRODUCE | names::FETCH | names::LIST_OFFSETS | names::METADATA | names::OFFSET_COMMIT | names::OFFSET_FETCH | names::CREATE_TOPICS | names::DELETE_TOPICS) {
                let flexible = request.api_version >= facts.flexible_from;
                body::decode_request(body, &mut request, flexible);
            }
            request.decoded = true;
        }
        request.truncated |= frame.cut;
        let pending = Pending { request, start: frame.start, size: frame.wire_len };
        // Produce with acks=0: the broker sends nothing back.
        if pending.request.acks == Some(0) {
            out.push(exchange(pending, None, None, client));
            return;
        }
        if self.pending.len() >= self.limits.max_pending {
            self.stats.pending_overflows += 1;
            if let Some(oldest) = self.pending.pop_front() {
                let error = item_error(ItemErrorKind::Timeout, format!("more than {} requests awaited a response", self.limits.max_pending));
                out.push(exchange(oldest, None, error, client));
            }
        }
        self.pending.push_back(pending);
    }

    fn response(&mut self, frame: Frame, client: Dir, out: &mut Vec<Exchange>) {
        let mut c = Cursor(&frame.bytes);
        let Some(correlation_id) = c.skip(4).and_then(|_| c.i32_be()) else {
            self.stats.parse_errors += 1;
            return;
        };
        let mut response = KafkaResponse { correlation_id, truncated: frame.cut, ..Default::default() };
        let Some(at) = self.pending.iter().position(|p| p.request.correlation_id == correlation_id) else {
            let request = KafkaRequest { api_key: -1, correlation_id, ..Default::default() };
            let orphan = Pending { request, start: frame.start, size: 0 };
            let error = item_error(ItemErrorKind::PairNotFound, "a response with no captured request");
            out.push(exchange(orphan, Some((response, frame.end, frame.wire_len)), error, client));
            return;
        };
        let Some(pending) = self.pending.remove(at) else { return };
        let request = &pending.request;
        if request.decoded {
            if let Some(facts) = names::api_facts(request.api_key) {
                // ApiVersions answers with header v0 whatever the version, so that a client
                // can read it before it knows which versions the broker speaks.
                let flexible = request.api_version >= facts.flexible_from && request.api_key != names::API_VERSIONS;
                let body = if flexible { c.tagged_fields(true).map(|_| c.0) } else { Some(c.0) };
                match body {
                    Some(body) => body::decode_response(body, request, request.api_version >= facts.flexible_from, &mut response),
                    None => response.truncated = true,
                }
                response.truncated |= frame.cut;
                response.decoded = true;
            }
        }
        out.push(exchange(pending, Some((response, frame.end, frame.wire_len)), None, client));
    }

    /// Where a response starts after a loss of sync: a length and a correlation id that a
    /// request awaits.
    fn response_start(pending: &VecDeque<Pending>, b: &[u8]) -> Start {
        let Some(h) = b.get(..8) else { return Start::NeedMore };
        let correlation_id = i32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let plausible = frame_len(h).is_some() && pending.iter().any(|p| p.request.correlation_id == correlation_id);
        if plausible { Start::Yes } else { Start::No }
    }
}

/// The request header (API key, version, correlation id, client id) and the body after it.
fn request_header(frame: &[u8]) -> Option<(KafkaRequest, &[u8])> {
    let mut c = Cursor(frame.get(4..)?);
    let api_key = c.i16_be()?;
    let api_version = c.i16_be()?;
    let correlation_id = c.i32_be()?;
    let client_id = c.kstring(false)?;
    let request = KafkaRequest { api_key, api_key_name: api_key_name(api_key), api_version, correlation_id, client_id, ..Default::default() };
    // Request header v2 (flexible versions) ends with tagged fields.
    let flexible = names::api_facts(api_key).is_some_and(|f| api_version >= f.flexible_from);
    c.tagged_fields(flexible)?;
    Some((request, c.0))
}

fn exchange(pending: Pending, answer: Option<(KafkaResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>, client: Dir) -> Exchange {
    let answer = answer.map(|(response, end, size)| (Response::Kafka(Box::new(response)), end, size));
    Exchange::new(KAFKA, client, Request::Kafka(Box::new(pending.request)), pending.start, pending.size, answer, error)
}

impl StreamDissector for KafkaFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        // The client is the side whose first bytes are a request.
        let client = *self.client.get_or_insert_with(|| if request_start(data) == Start::No { dir.flip() } else { dir });
        if dir == client {
            for frame in self.readers[dir.index()].push(data, ts, &request_start) {
                self.request(frame, client, out);
            }
        } else {
            let pending = &self.pending;
            let frames = self.readers[dir.index()].push(data, ts, &|b| Self::response_start(pending, b));
            for frame in frames {
                self.response(frame, client, out);
            }
        }
    }

    fn gap(&mut self, dir: Dir, len: u64, ts: Timestamp, out: &mut Vec<Exchange>) {
        let frame = self.readers[dir.index()].gap(len, ts);
        let client = self.client.unwrap_or(dir);
        if let Some(frame) = frame {
            if dir == client {
                self.request(frame, client, out);
            } else {
                self.response(frame, client, out);
            }
        }
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        let client = self.client.unwrap_or(Dir::Forward);
        for pending in self.pending.drain(..) {
            out.push(exchange(pending, None, reason.unanswered(), client));
        }
    }

    fn stats(&self) -> DissectStats {
        let losses: u64 = self.readers.iter().map(|r| r.losses).sum();
        DissectStats { parse_errors: self.stats.parse_errors + losses, ..self.stats }
    }

    fn protocol_name(&self) -> &'static str {
        "kafka"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request frame; `flexible` adds the header's (empty) tagged fields.
    fn request(key: i16, version: i16, correlation_id: i32, flexible: bool, body: &[u8]) -> Vec<u8> {
        let mut m = [key.to_be_bytes(), version.to_be_bytes()].concat();
        m.extend_from_slice(&correlation_id.to_be_bytes());
        m.extend_from_slice(b"\x00\x07app-one");
        if flexible {
            m.push(0);
        }
        m.extend_from_slice(body);
        framed(m)
    }

    fn response(correlation_id: i32, flexible: bool, body: &[u8]) -> Vec<u8> {
        let mut m = correlation_id.to_be_bytes().to_vec();
        if flexible {
            m.push(0);
        }
        m.extend_from_slice(body);
        framed(m)
    }

    fn framed(message: Vec<u8>) -> Vec<u8> {
        let mut f = (message.len() as u32).to_be_bytes().to_vec();
        f.extend(message);
        f
    }

    fn string(text: &str) -> Vec<u8> {
        let mut s = (text.len() as u16).to_be_bytes().to_vec();
        s.extend_from_slice(text.as_bytes());
        s
    }

    fn compact(text: &str) -> Vec<u8> {
        let mut s = vec![text.len() as u8 + 1];
        s.extend_from_slice(text.as_bytes());
        s
    }

    /// A magic-2 record batch header announcing `records` records (no record bodies).
    fn batch(records: u32) -> Vec<u8> {
        let mut b = vec![0; 61];
        b[8..12].copy_from_slice(&49u32.to_be_bytes());
        b[16] = 2;
        b[57..61].copy_from_slice(&records.to_be_bytes());
        b
    }

    /// Produce v3 to `topic` partition 0 with one batch of `records`.
    fn produce_v3(correlation_id: i32, acks: i16, topic: &str, records: u32) -> Vec<u8> {
        let mut body = vec![0xff, 0xff];
        body.extend_from_slice(&acks.to_be_bytes());
        body.extend_from_slice(&1000i32.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend(string(topic));
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        let records = batch(records);
        body.extend_from_slice(&(records.len() as u32).to_be_bytes());
        body.extend(records);
        request(0, 3, correlation_id, false, &body)
    }

    fn produce_v3_response(correlation_id: i32, topic: &str, error: i16) -> Vec<u8> {
        let mut body = 1i32.to_be_bytes().to_vec();
        body.extend(string(topic));
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        body.extend_from_slice(&error.to_be_bytes());
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(&7i32.to_be_bytes());
        response(correlation_id, false, &body)
    }

    fn kafka(e: &Exchange) -> (&KafkaRequest, Option<&KafkaResponse>) {
        let Request::Kafka(request) = &e.request else { panic!("{e:?}") };
        let response = match &e.response {
            Some(Response::Kafka(r)) => Some(r.as_ref()),
            _ => None,
        };
        (request, response)
    }

    #[test]
    fn pipelined_requests_pair_by_correlation_id_in_any_order() {
        let mut flow = KafkaFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        let mut client = produce_v3(1, -1, "orders", 3);
        client.extend(produce_v3(2, 0, "audit", 1));
        // Metadata v12 (flexible): topics by id and compact name, tagged fields.
        let mut metadata = vec![3];
        for name in ["orders", "payments"] {
            metadata.extend_from_slice(&[0; 16]);
            metadata.extend(compact(name));
            metadata.push(0);
        }
        metadata.extend_from_slice(&[1, 0, 0]);
        client.extend(request(3, 12, 3, true, &metadata));
        // An API key with no decoder of the body.
        client.extend(request(32, 4, 4, true, b"\x01\x02"));
        assert_eq!(detect(&client), Detection::Kafka);
        flow.data(Dir::Forward, &client[..20], Timestamp(1), &mut out);
        flow.data(Dir::Forward, &client[20..], Timestamp(2), &mut out);
        assert_eq!(out.len(), 1, "acks=0: no response comes, the item is out at once");
        let (produce, answer) = kafka(&out[0]);
        assert_eq!((produce.acks, produce.topics[0].name.as_str(), produce.topics[0].partitions[0].records, answer), (Some(0), "audit", Some(1), None));
        assert!(out[0].error.is_none());

        // The Metadata answer (v12: topics with error, name, id, is_internal, partitions).
        let mut body = 0i32.to_be_bytes().to_vec();
        body.extend_from_slice(&[2, 0, 0, 0, 1]);
        body.extend(compact("broker"));
        body.extend_from_slice(&[0, 0, 0x23, 0x84, 0, 0]);
        body.extend(compact("cluster"));
        body.extend_from_slice(&1i32.to_be_bytes());
        body.push(2);
        body.extend_from_slice(&3i16.to_be_bytes());
        body.extend(compact("payments"));
        body.extend_from_slice(&[7; 16]);
        body.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        let mut server = response(3, true, &body);
        server.extend(produce_v3_response(1, "orders", 0));
        server.extend(response(4, true, &[0, 0, 0, 0, 0, 0]));
        flow.data(Dir::Reverse, &server, Timestamp(3), &mut out);
        let (metadata, answer) = kafka(&out[1]);
        let answer = answer.expect("answered");
        let names: Vec<&str> = metadata.topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!((metadata.api_key_name.as_str(), metadata.client_id.as_str(), names), ("Metadata", "app-one", vec!["orders", "payments"]));
        assert_eq!((answer.error_code, answer.error_name.as_str(), answer.throttle_time_ms), (Some(3), "UNKNOWN_TOPIC_OR_PARTITION", Some(0)));
        assert_eq!((answer.topics[0].topic_id.as_str(), answer.truncated), ("BwcHBwcHBwcHBwcHBwcHBw", false));
        let (produce, answer) = kafka(&out[2]);
        assert_eq!((produce.correlation_id, produce.topics[0].partitions[0].records), (1, Some(3)));
        assert_eq!(answer.map(|a| (a.error_code, a.throttle_time_ms)), Some((Some(0), Some(7))));
        let (describe, answer) = kafka(&out[3]);
        assert_eq!((describe.api_key_name.as_str(), describe.decoded, answer.map(|a| (a.decoded, a.error_code))), ("DescribeConfigs", false, Some((false, None))));
        assert_eq!(out[3].response_size, 15);
    }

    #[test]
    fn unanswered_orphaned_and_overflowing_requests() {
        let limits = DissectLimits { max_pending: 2, ..DissectLimits::default() };
        let mut flow = KafkaFlow::new(limits);
        let mut out = Vec::new();
        for id in 1..=3 {
            flow.data(Dir::Forward, &request(12, 4, id, true, b"\x00"), Timestamp(i64::from(id)), &mut out);
        }
        assert_eq!(flow.stats().pending_overflows, 1);
        assert_eq!(out[0].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::Timeout));
        // A response nobody asked for, then the rest are left waiting.
        flow.data(Dir::Reverse, &response(99, false, b"\x00\x00"), Timestamp(5), &mut out);
        let (orphan, answer) = kafka(&out[1]);
        assert_eq!((orphan.api_key, orphan.correlation_id, answer.map(|a| a.decoded)), (-1, 99, Some(false)));
        assert_eq!(out[1].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::PairNotFound));
        flow.close(Timestamp(6), CloseReason::Closed, &mut out);
        let ids: Vec<i32> = out[2..].iter().map(|e| kafka(e).0.correlation_id).collect();
        assert_eq!(ids, [2, 3]);
        assert!(out[2..].iter().all(|e| e.error.as_ref().map(|e| e.kind) == Some(ItemErrorKind::Connection)));
    }

    #[test]
    fn huge_lengths_truncated_bodies_and_gaps() {
        let mut flow = KafkaFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        // A Produce whose record data is 50 MB: the header and topic are read, the rest
        // skipped as it comes, nothing of that size is held.
        let mut big = produce_v3(1, 1, "logs", 5);
        let size = 50_000_000u32;
        let at = big.len() - 61 - 4;
        big[at..at + 4].copy_from_slice(&size.to_be_bytes());
        let total = (big.len() - 4 - 61) as u32 + size;
        big[..4].copy_from_slice(&total.to_be_bytes());
        flow.data(Dir::Forward, &big, Timestamp(1), &mut out);
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..48 {
            flow.data(Dir::Forward, &chunk, Timestamp(2), &mut out);
        }
        assert!(out.is_empty(), "the request is still coming");
        // The rest of the frame is lost in a gap: the request comes out cut.
        flow.gap(Dir::Forward, u64::from(size), Timestamp(3), &mut out);
        flow.data(Dir::Forward, &produce_v3(2, 1, "logs", 1), Timestamp(4), &mut out);
        flow.data(Dir::Reverse, &produce_v3_response(2, "logs", 0), Timestamp(5), &mut out);
        flow.data(Dir::Reverse, &produce_v3_response(1, "logs", 6), Timestamp(5), &mut out);
        let answered: Vec<(i32, bool, Option<i16>)> = out.iter().map(|e| kafka(e)).map(|(r, a)| (r.correlation_id, r.truncated, a.and_then(|a| a.error_code))).collect();
        assert_eq!(answered, [(2, false, Some(0)), (1, true, Some(6))]);
        let (big, _) = kafka(&out[1]);
        assert_eq!((big.topics[0].name.as_str(), big.topics[0].partitions[0].records), ("logs", Some(5)));

        // A length no frame has: the reader scans for the next request header.
        flow.data(Dir::Forward, b"\xff\xff\xff\xffjunk", Timestamp(6), &mut out);
        flow.data(Dir::Forward, &request(18, 0, 7, false, b""), Timestamp(7), &mut out);
        // A gap between responses: the next one is found again by its correlation id.
        flow.gap(Dir::Reverse, 10, Timestamp(8), &mut out);
        let mut server = b"tail of a lost response".to_vec();
        server.extend(response(7, false, &[0, 35, 0, 0, 0, 0]));
        flow.data(Dir::Reverse, &server, Timestamp(9), &mut out);
        let (versions, answer) = kafka(&out[2]);
        assert_eq!((versions.api_key_name.as_str(), answer.map(|a| a.error_name.as_str())), ("ApiVersions", Some("UNSUPPORTED_VERSION")));
        assert!(flow.stats().parse_errors >= 2);
    }

    #[test]
    fn detection_and_hostile_bodies() {
        let frame = request(18, 3, 1, true, b"\x00");
        assert_eq!(detect(&frame), Detection::Kafka);
        assert_eq!(detect(&frame[..9]), Detection::NeedMore);
        assert_eq!(detect(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
        assert_eq!(detect(b"\x00\x00\x00\x20\x00\x12\x00\x03\x00\x00\x00\x01\x00\x03a\x01b"), Detection::Unknown, "a client id that is not text");
        assert_eq!(detect(b"\x00\x00\x00\x20\x07\x00\x00\x03"), Detection::Unknown, "an API key past the guide's");
        // An HTTP/2 SETTINGS frame (and WINDOW_UPDATE) from a server: Produce v0 with an
        // empty client id, not Kafka.
        let settings = b"\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64\x00\x04\x00\x01\x00\x00";
        assert_eq!(detect(settings), Detection::Unknown);
        // Kafka is tried last: a Metadata v0 request reads as a PostgreSQL startup first.
        assert_eq!(super::super::detect_tcp(&request(3, 0, 1, false, b"\x00\x00\x00\x00")), Detection::Postgres);
        assert_eq!(super::super::detect_tcp(&frame), Detection::Kafka);
        // Bodies that end early or claim huge arrays: what was read stays, nothing panics.
        let mut request = KafkaRequest { api_key: 0, api_version: 9, ..Default::default() };
        body::decode_request(b"\x00\x00\x01\x00\x00\x00\x00\xff\xff\xff\xff\x0f", &mut request, true);
        assert!(request.truncated && request.topics.is_empty());
        for key in 0..40 {
            for version in 0..15 {
                let request = KafkaRequest { api_key: key, api_version: version, ..Default::default() };
                let mut response = KafkaResponse::default();
                body::decode_response(b"\x7f\xff\xff\xff\x00\x01\x02", &request, version > 8, &mut response);
                let mut decoded = request.clone();
                body::decode_request(b"\x00\x00\x00\x05\xff\xff\x00\x02ab", &mut decoded, version > 8);
            }
        }
        assert_eq!(wire::count_records(&[0; 16]), 0);
        assert_eq!(api_key_name(1000), "ApiKey1000");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
    }
}
