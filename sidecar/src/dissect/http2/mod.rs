//! HTTP/2 (RFC 9113) in clear text: prior knowledge (the client preface), the h2c upgrade
//! (handed over by the HTTP/1 dissector with the request that asked for it), and
//! connections picked up mid-way (detected by the shape of their frames). Each stream is
//! an item; gRPC calls (`content-type: application/grpc`) carry their service, method,
//! status and messages.

mod frame;
pub mod grpc;
mod hpack;

use std::collections::{BTreeMap, VecDeque};

use remora_model::{Fields, GrpcCall, GrpcReply, HttpRequest, HttpResponse, ItemError, ItemErrorKind, Protocol, Request, Response};

use self::frame::{Event, FrameHeader, FrameReader};
use super::http1::body::BodyCapture;
use super::http1::head::{parse_cookie_header, set_cookie_pair, target_fields};
use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const HTTP2: Protocol = Protocol::with_macro("http", "2.0", "HTTP/2", "Hypertext Transfer Protocol Version 2 (HTTP/2)", "http2", "tcp");
const GRPC: Protocol = Protocol::with_macro("http", "2.0", "gRPC", "gRPC Remote Procedure Calls", "grpc", "tcp");
const VERSION: &str = "HTTP/2.0";

/// Whether a flow starts with the client preface (prior knowledge).
pub fn detect(first_bytes: &[u8]) -> Detection {
    let n = first_bytes.len().min(PREFACE.len());
    if first_bytes[..n] != PREFACE[..n] {
        Detection::Unknown
    } else if n == PREFACE.len() {
        Detection::Http2
    } else {
        Detection::NeedMore
    }
}

/// Whether bytes from the middle of a connection are HTTP/2 frames: whole plausible
/// frames that end where the bytes do, or are followed by another plausible header. Ask
/// this last: it knows only the frame layout.
pub fn detect_mid_stream(first_bytes: &[u8]) -> Detection {
    match frame::plausible_run(first_bytes) {
        Some((frames, exact)) if frames >= 2 || (frames == 1 && exact) => Detection::Http2,
        Some(_) => Detection::NeedMore,
        None => Detection::Unknown,
    }
}

/// One direction's half of a stream: a request or a response.
#[derive(Default)]
struct Message {
    /// The head: every field in order, pseudo-header fields included.
    fields: Vec<(String, String)>,
    /// Fields that referred to table entries sent before the capture saw the connection.
    unknown: usize,
    headers_size: u64,
    trailers: Option<Vec<(String, String)>>,
    body: BodyCapture,
    grpc: Option<grpc::MessageReader>,
    /// Frame bytes of the stream in this direction (headers included).
    wire: u64,
    interim: Vec<u16>,
    /// The head was seen.
    seen: bool,
    /// END_STREAM was seen.
    ended: bool,
}

impl Message {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

struct Stream {
    start: Timestamp,
    /// Who sent the first header block (the client, unless it was a server push).
    opener: Dir,
    /// Indexed by direction.
    halves: [Message; 2],
    /// The HTTP/1.1 request that asked for the h2c upgrade (stream 1's request).
    upgrade_request: Option<HttpRequest>,
    error: Option<ItemError>,
}

/// A header block gathered over HEADERS/PUSH_PROMISE and CONTINUATION frames.
struct Block {
    stream: u32,
    end_stream: bool,
    promised: Option<u32>,
    bytes: Vec<u8>,
    wire: u64,
    too_big: bool,
}

struct Side {
    reader: FrameReader,
    hpack: hpack::Decoder,
    /// Preface bytes matched so far; `None` once the direction is past its start.
    preface: Option<usize>,
    block: Option<Block>,
    /// A gap or an unparsable header: frames are sought again in later bytes.
    lost: bool,
}

impl Side {
    fn new(max_payload: usize) -> Self {
        Side { reader: FrameReader::new(max_payload), hpack: hpack::Decoder::new(), preface: Some(0), block: None, lost: false }
    }
}

pub struct Http2Flow {
    limits: DissectLimits,
    client: Option<Dir>,
    sides: [Side; 2],
    streams: BTreeMap<u32, Stream>,
    /// Streams recently reset: frames still in flight for them are not new streams.
    reset: VecDeque<u32>,
    stats: DissectStats,
}

/// Reset streams remembered.
const MAX_RESET: usize = 64;

impl Http2Flow {
    pub fn new(limits: DissectLimits) -> Self {
        let max = limits.max_head_bytes;
        Http2Flow { limits, client: None, sides: [Side::new(max), Side::new(max)], streams: BTreeMap::new(), reset: VecDeque::new(), stats: DissectStats::default() }
    }

    /// A connection picked up mid-way: header tables start unknown.
    pub fn mid_stream(limits: DissectLimits) -> Self {
        let mut flow = Http2Flow::new(limits);
        for side in &mut flow.sides {
            side.hpack.lost_sync();
        }
        flow
    }

    /// The connection an HTTP/1.1 `Upgrade: h2c` switched: `request` is stream 1's.
    pub fn upgraded(limits: DissectLimits, client: Dir, request: HttpRequest, start: Timestamp, request_size: u64) -> Self {
        let mut flow = Http2Flow::new(limits);
        flow.client = Some(client);
        let mut half = Message { seen: true, ended: true, wire: request_size, ..Message::default() };
        half.headers_size = request.headers_size;
        let mut halves = [Message::default(), Message::default()];
        halves[client.index()] = half;
        flow.streams.insert(1, Stream { start, opener: client, halves, upgrade_request: Some(request), error: None });
        flow
    }

    fn on_event(&mut self, dir: Dir, event: Event<'_>, ts: Timestamp, out: &mut Vec<Exchange>) {
        match event {
            Event::Data { header, data } => {
                let limit = self.limits.max_body_bytes;
                if let Some(half) = self.streams.get_mut(&header.stream).map(|s| &mut s.halves[dir.index()]) {
                    half.body.push(data, limit);
                    if let Some(reader) = &mut half.grpc {
                        reader.push(data);
                    }
                }
            }
            Event::DataEnd { header } => {
                if let Some(stream) = self.streams.get_mut(&header.stream) {
                    stream.halves[dir.index()].wire += frame::HEADER_LEN as u64 + u64::from(header.len);
                    if header.flags & frame::END_STREAM != 0 {
                        self.end_half(header.stream, dir, ts, out);
                    }
                }
            }
            Event::Frame { header, payload, oversized } => self.on_frame(dir, header, payload, oversized, ts, out),
        }
    }

    fn on_frame(&mut self, dir: Dir, header: FrameHeader, payload: &[u8], oversized: bool, ts: Timestamp, out: &mut Vec<Exchange>) {
        let wire = frame::HEADER_LEN as u64 + u64::from(header.len);
        match header.kind {
            frame::HEADERS | frame::PUSH_PROMISE => {
                if self.sides[dir.index()].block.take().is_some() {
                    // CONTINUATION was due: the unfinished block is lost, and with it the
                    // table's state.
                    self.stats.parse_errors += 1;
                    self.sides[dir.index()].hpack.lost_sync();
                }
                let fragment = frame::header_block(&header, payload);
                let promised = (header.kind == frame::PUSH_PROMISE).then(|| frame::promised_stream(&header, payload).unwrap_or(0));
                let block = Block {
                    stream: header.stream,
                    end_stream: header.kind == frame::HEADERS && header.flags & frame::END_STREAM != 0,
                    promised,
                    bytes: fragment.unwrap_or_default().to_vec(),
                    wire,
                    too_big: oversized || fragment.is_none(),
                };
                self.continue_block(dir, block, header.flags, ts, out);
            }
            frame::CONTINUATION => match self.sides[dir.index()].block.take() {
                Some(mut block) if block.stream == header.stream => {
                    block.wire += wire;
                    block.too_big |= oversized || block.bytes.len() + payload.len() > self.limits.max_head_bytes;
                    if block.too_big {
                        block.bytes = Vec::new();
                    } else {
                        block.bytes.extend_from_slice(payload);
                    }
                    self.continue_block(dir, block, header.flags, ts, out);
                }
                _ => self.stats.parse_errors += 1,
            },
            frame::RST_STREAM => {
                if self.reset.len() == MAX_RESET {
                    self.reset.pop_front();
                }
                self.reset.push_back(header.stream);
                if let Some(mut stream) = self.streams.remove(&header.stream) {
                    let code = frame::be_u32(payload, 0).unwrap_or(0);
                    let by = if Some(dir) == self.client { "client" } else { "server" };
                    stream.error = item_error(ItemErrorKind::Connection, format!("stream reset by the {by}: {}", frame::error_name(code)));
                    out.push(self.exchange(header.stream, stream, ts));
                }
            }
            _ => {}
        }
    }

    fn continue_block(&mut self, dir: Dir, block: Block, flags: u8, ts: Timestamp, out: &mut Vec<Exchange>) {
        if flags & frame::END_HEADERS != 0 {
            self.finish_block(dir, block, ts, out);
        } else {
            self.sides[dir.index()].block = Some(block);
        }
    }

    fn finish_block(&mut self, dir: Dir, block: Block, ts: Timestamp, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        let mut decoded = Vec::new();
        let complete = if block.too_big {
            side.hpack.lost_sync();
            false
        } else {
            side.hpack.decode(&block.bytes, &mut decoded).is_ok()
        };
        if !complete {
            self.stats.parse_errors += 1;
        }
        let unknown = decoded.iter().filter(|f| f.is_none()).count() + usize::from(!complete);
        let fields: Vec<(String, String)> = decoded.into_iter().flatten().collect();
        let has = |name: &str| fields.iter().any(|(n, _)| n == name);
        if self.client.is_none() {
            if has(":method") {
                self.client = Some(dir);
            } else if has(":status") {
                self.client = Some(dir.flip());
            }
        }
        let headers_size = block.bytes.len() as u64;
        if let Some(promised) = block.promised {
            // A server push: the promised request, answered on the promised stream.
            let mut halves = [Message::default(), Message::default()];
            halves[dir.flip().index()] = Message { fields, unknown, headers_size, seen: true, ended: true, ..Message::default() };
            self.open_stream(promised, Stream { start: ts, opener: dir.flip(), halves, upgrade_request: None, error: None }, ts, out);
            return;
        }
        if !self.streams.contains_key(&block.stream) {
            if self.reset.contains(&block.stream) {
                return;
            }
            let stream = Stream { start: ts, opener: dir, halves: [Message::default(), Message::default()], upgrade_request: None, error: None };
            self.open_stream(block.stream, stream, ts, out);
        }
        let Some(stream) = self.streams.get_mut(&block.stream) else { return };
        let half = &mut stream.halves[dir.index()];
        half.wire += block.wire;
        let status = fields.iter().find(|(n, _)| n == ":status").and_then(|(_, v)| v.parse::<u16>().ok());
        match status {
            Some(code @ 100..=199) if !half.seen => half.interim.push(code),
            _ if !half.seen => {
                if fields.iter().any(|(n, v)| n == "content-type" && v.starts_with("application/grpc")) {
                    half.grpc = Some(grpc::MessageReader::default());
                }
                *half = Message { fields, unknown, headers_size, seen: true, wire: half.wire, grpc: half.grpc.take(), interim: std::mem::take(&mut half.interim), ..Message::default() };
            }
            _ => {
                half.unknown += unknown;
                half.trailers = Some(fields);
            }
        }
        if block.end_stream {
            self.end_half(block.stream, dir, ts, out);
        }
    }

    /// Tracks a new stream; past `max_pending` the oldest goes out unanswered.
    fn open_stream(&mut self, id: u32, stream: Stream, ts: Timestamp, out: &mut Vec<Exchange>) {
        if self.streams.len() >= self.limits.max_pending {
            self.stats.pending_overflows += 1;
            if let Some((oldest, mut evicted)) = self.streams.pop_first() {
                evicted.error = item_error(ItemErrorKind::Timeout, format!("more than {} streams were open at once", self.limits.max_pending));
                out.push(self.exchange(oldest, evicted, ts));
            }
        }
        self.streams.insert(id, stream);
    }

    /// END_STREAM from `dir`: once the response has ended, the stream is an item.
    fn end_half(&mut self, id: u32, dir: Dir, ts: Timestamp, out: &mut Vec<Exchange>) {
        let Some(stream) = self.streams.get_mut(&id) else { return };
        stream.halves[dir.index()].ended = true;
        let client = self.client.unwrap_or(stream.opener);
        if stream.halves[client.flip().index()].ended {
            if let Some(stream) = self.streams.remove(&id) {
                out.push(self.exchange(id, stream, ts));
            }
        }
    }

    fn exchange(&mut self, id: u32, mut stream: Stream, end: Timestamp) -> Exchange {
        let client = self.client.unwrap_or(stream.opener);
        let [forward, reverse] = stream.halves;
        let (asked, answered) = if client == Dir::Forward { (forward, reverse) } else { (reverse, forward) };
        let limit = self.limits.max_body_bytes;
        for half in [&asked, &answered] {
            if half.body.cut() {
                self.stats.truncated_bodies += 1;
            }
        }
        let unknown = asked.unknown + answered.unknown;
        let request_seen = asked.seen;
        let (request_size, response_size) = (asked.wire, answered.wire);
        let mut request = match stream.upgrade_request.take() {
            Some(request) => request,
            None => request_of(asked, limit),
        };
        request.stream_id = Some(id);
        let grpc = request.grpc.is_some() || answered.grpc.is_some();
        let response = answered.seen.then(|| response_of(answered, grpc, limit));
        let error = stream
            .error
            .or_else(|| (!request_seen).then(|| ItemError { kind: ItemErrorKind::PairNotFound, msg: format!("stream {id}: the request's headers were not captured") }))
            .or_else(|| {
                (unknown > 0).then(|| ItemError {
                    kind: ItemErrorKind::Dissection,
                    msg: format!("{unknown} header field(s) refer to table entries sent before the capture saw the connection"),
                })
            });
        let answer = response.map(|r| (Response::Http(Box::new(r)), end, response_size));
        Exchange::new(if grpc { GRPC } else { HTTP2 }, client, Request::Http(Box::new(request)), stream.start, request_size, answer, error)
    }

    /// Bytes after a gap: frames are looked for again, and header tables are unknown.
    fn resync<'a>(&mut self, dir: Dir, data: &'a [u8]) -> Option<&'a [u8]> {
        let side = &mut self.sides[dir.index()];
        let at = (0..data.len().min(1 << 16)).find(|&at| matches!(frame::plausible_run(&data[at..]), Some((n, exact)) if n >= 2 || (n == 1 && exact)))?;
        side.lost = false;
        side.reader.reset();
        side.block = None;
        side.hpack.lost_sync();
        Some(&data[at..])
    }
}

fn fields_of(list: &[(String, String)]) -> Fields {
    let mut fields = Fields::new();
    for (name, value) in list {
        // Cookies may be split into several fields (RFC 9113 §8.2.3).
        fields.append(name.clone(), value, if name == "cookie" { "; " } else { ", " });
    }
    fields
}

fn request_of(half: Message, limit: usize) -> HttpRequest {
    let method = half.field(":method").unwrap_or_default().to_string();
    let url = half.field(":path").unwrap_or_default().to_string();
    let (path, path_segments, query_string) = target_fields(&url);
    let headers = fields_of(&half.fields);
    let cookies = headers.get("cookie").map(parse_cookie_header).unwrap_or_default();
    let grpc = half.grpc.map(|reader| {
        let (service, method) = grpc::service_and_method(&path);
        let encoding = half.fields.iter().find(|(n, _)| n == "grpc-encoding").map_or("identity", |(_, v)| v.as_str()).to_string();
        GrpcCall { service, method, encoding, message_count: reader.count, messages: reader.messages }
    });
    let body_size = half.body.wire_size;
    let post_data = (body_size > 0 || half.body.incomplete).then(|| half.body.into_body(&headers, limit));
    let mut request = HttpRequest {
        method,
        url,
        path,
        path_segments,
        query_string,
        cookies,
        http_version: VERSION.into(),
        headers_size: half.headers_size,
        body_size,
        post_data,
        grpc,
        headers,
        ..HttpRequest::default()
    };
    request.graphql = super::graphql::operation(&request);
    request
}

fn response_of(half: Message, grpc_call: bool, limit: usize) -> HttpResponse {
    let status = half.field(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = fields_of(&half.fields);
    let trailers = half.trailers.as_deref().map(fields_of);
    let cookies = half.fields.iter().filter(|(n, _)| n == "set-cookie").filter_map(|(_, v)| set_cookie_pair(v)).collect();
    let grpc = grpc_call.then(|| {
        // A trailers-only answer carries the status in its headers.
        let from = |name: &str| trailers.as_ref().and_then(|t| t.get(name)).or_else(|| headers.get(name));
        let status = from("grpc-status").and_then(|s| s.trim().parse::<u32>().ok());
        let reader = half.grpc.unwrap_or_default();
        GrpcReply {
            status,
            status_name: status.map(grpc::status_name).unwrap_or_default().to_string(),
            message: from("grpc-message").map(grpc::decode_message).unwrap_or_default(),
            message_count: reader.count,
            messages: reader.messages,
        }
    });
    HttpResponse {
        status,
        status_text: http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or_default().to_string(),
        http_version: VERSION.into(),
        redirect_url: headers.get("location").unwrap_or_default().to_string(),
        cookies,
        headers_size: half.headers_size,
        body_size: half.body.wire_size,
        content: half.body.into_body(&headers, limit),
        interim: half.interim,
        trailers,
        grpc,
        headers,
        ..HttpResponse::default()
    }
}

impl StreamDissector for Http2Flow {
    fn data(&mut self, dir: Dir, mut data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        if let Some(matched) = side.preface {
            let n = (PREFACE.len() - matched).min(data.len());
            if data[..n] == PREFACE[matched..matched + n] {
                data = &data[n..];
                side.preface = (matched + n < PREFACE.len()).then_some(matched + n);
                if side.preface.is_none() {
                    self.client = Some(dir);
                }
            } else {
                side.preface = None;
            }
            if data.is_empty() {
                return;
            }
        }
        if self.sides[dir.index()].lost {
            match self.resync(dir, data) {
                Some(rest) => data = rest,
                None => return,
            }
        }
        let mut reader = std::mem::replace(&mut self.sides[dir.index()].reader, FrameReader::new(0));
        let in_sync = reader.feed(data, &mut |event| self.on_event(dir, event, ts, out));
        self.sides[dir.index()].reader = reader;
        if !in_sync {
            self.stats.parse_errors += 1;
            self.sides[dir.index()].lost = true;
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        side.lost = true;
        side.preface = None;
        for stream in self.streams.values_mut() {
            let half = &mut stream.halves[dir.index()];
            if !half.ended {
                half.body.incomplete = true;
            }
        }
    }

    fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        while let Some((id, mut stream)) = self.streams.pop_first() {
            let client = self.client.unwrap_or(stream.opener);
            if stream.error.is_none() {
                stream.error = if stream.halves[client.flip().index()].seen {
                    reason.unanswered().map(|e| ItemError { msg: "the connection ended before the response did".into(), ..e })
                } else {
                    reason.unanswered()
                };
            }
            out.push(self.exchange(id, stream, ts));
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "http2"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// GET / on http://example.com: static entries, and `:authority` added to the table.
    const GET_EXAMPLE: &[u8] = b"\x82\x86\x84\x41\x0bexample.com";
    /// The same request again, `:authority` from the table (index 62).
    const GET_AGAIN: &[u8] = b"\x82\x86\x84\xbe";
    const STATUS_200: &[u8] = b"\x88";

    fn run(flow: &mut impl StreamDissector, steps: &[(Dir, Vec<u8>)]) -> Vec<Exchange> {
        let mut out = Vec::new();
        for (at, (dir, bytes)) in steps.iter().enumerate() {
            flow.data(*dir, bytes, Timestamp(at as i64), &mut out);
        }
        out
    }

    fn http(exchange: &Exchange) -> (&HttpRequest, Option<&HttpResponse>) {
        let Request::Http(request) = &exchange.request else { panic!("not HTTP") };
        let response = match &exchange.response {
            Some(Response::Http(r)) => Some(&**r),
            _ => None,
        };
        (request, response)
    }

    #[test]
    fn prior_knowledge_streams_pair_and_the_table_carries_over() {
        let mut client = PREFACE.to_vec();
        client.extend(frame(frame::SETTINGS, 0, 0, &[]));
        client.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 1, GET_EXAMPLE));
        client.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 3, GET_AGAIN));
        let mut server = frame(frame::SETTINGS, 0, 0, &[]);
        server.extend(frame(frame::HEADERS, frame::END_HEADERS, 3, STATUS_200));
        server.extend(frame(frame::DATA, frame::PADDED, 3, b"\x02ok\0\0"));
        server.extend(frame(frame::DATA, frame::END_STREAM, 3, b"!"));
        server.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 1, b"\x8d"));
        assert_eq!(detect(&client), Detection::Http2);
        let mut flow = Http2Flow::new(DissectLimits::default());
        let out = run(&mut flow, &[(Dir::Forward, client), (Dir::Reverse, server)]);
        assert_eq!(out.len(), 2);
        let (request, response) = http(&out[0]);
        assert_eq!((request.stream_id, request.method.as_str(), request.headers.get(":authority")), (Some(3), "GET", Some("example.com")));
        let response = response.expect("answered");
        assert_eq!((response.status, response.content.text.as_str(), response.body_size), (200, "ok!", 3));
        assert_eq!(http(&out[1]).1.map(|r| r.status), Some(404));
        assert_eq!(out[1].error, None);
        assert_eq!(out[0].protocol.macro_name, "http2");
    }

    #[test]
    fn mid_stream_references_to_unseen_entries_are_said() {
        let request = frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 7, GET_AGAIN);
        assert_eq!(detect_mid_stream(&request), Detection::Http2);
        let mut flow = Http2Flow::mid_stream(DissectLimits::default());
        let out = run(&mut flow, &[(Dir::Forward, request), (Dir::Reverse, frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 7, STATUS_200))]);
        let (request, response) = http(&out[0]);
        assert_eq!((request.method.as_str(), request.headers.get(":authority")), ("GET", None));
        assert_eq!(response.map(|r| r.status), Some(200));
        let error = out[0].error.as_ref().expect("said");
        assert_eq!(error.kind, ItemErrorKind::Dissection);
        assert!(error.msg.starts_with("1 header field(s) refer to table entries"), "{}", error.msg);
    }

    #[test]
    fn grpc_calls_carry_service_method_status_and_messages() {
        let headers = b"\x83\x86\x44\x0c/pkg.Svc/Get\x5f\x10application/grpc";
        let mut client = PREFACE.to_vec();
        client.extend(frame(frame::HEADERS, frame::END_HEADERS, 1, headers));
        client.extend(frame(frame::DATA, frame::END_STREAM, 1, b"\0\0\0\0\x04\x0a\x02hi"));
        let mut server = frame(frame::HEADERS, frame::END_HEADERS, 1, b"\x88\x5f\x10application/grpc");
        server.extend(frame(frame::DATA, 0, 1, b"\0\0\0\0\x02\x08\x07"));
        server.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 1, b"\x40\x0bgrpc-status\x015\x40\x0cgrpc-message\x0eno%20such%20id"));
        let out = run(&mut Http2Flow::new(DissectLimits::default()), &[(Dir::Forward, client), (Dir::Reverse, server)]);
        assert_eq!(out[0].protocol.abbr, "gRPC");
        let (request, response) = http(&out[0]);
        let call = request.grpc.as_ref().expect("a gRPC call");
        assert_eq!((call.service.as_str(), call.method.as_str(), call.message_count), ("pkg.Svc", "Get", 1));
        let reply = response.and_then(|r| r.grpc.as_ref()).expect("a reply");
        assert_eq!((reply.status, reply.status_name.as_str(), reply.message.as_str(), reply.message_count), (Some(5), "NOT_FOUND", "no such id", 1));
        assert_eq!(response.and_then(|r| r.trailers.as_ref()).and_then(|t| t.get("grpc-status")), Some("5"));
    }

    #[test]
    fn resets_gaps_and_closes_end_streams_with_a_reason() {
        let mut client = PREFACE.to_vec();
        client.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 1, GET_EXAMPLE));
        client.extend(frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 3, GET_AGAIN));
        client.extend(frame(frame::RST_STREAM, 0, 1, &8u32.to_be_bytes()));
        let mut flow = Http2Flow::new(DissectLimits::default());
        let mut out = run(&mut flow, &[(Dir::Forward, client)]);
        assert_eq!(out[0].error.as_ref().map(|e| e.msg.as_str()), Some("stream reset by the client: CANCEL"));
        // A late answer on the reset stream is not a new stream.
        flow.data(Dir::Reverse, &frame(frame::HEADERS, frame::END_HEADERS | frame::END_STREAM, 1, STATUS_200), Timestamp(9), &mut out);
        assert_eq!(out.len(), 1);
        flow.gap(Dir::Reverse, 100, Timestamp(10), &mut out);
        // After the gap: garbage, then frames again (found by their shape).
        let mut after = b"garbage".to_vec();
        after.extend(frame(frame::PING, 0, 0, &[0; 8]));
        after.extend(frame(frame::HEADERS, frame::END_HEADERS, 3, STATUS_200));
        flow.data(Dir::Reverse, &after, Timestamp(11), &mut out);
        flow.close(Timestamp(12), CloseReason::EndOfCapture, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(http(&out[1]).1.map(|r| r.status), Some(200));
        assert_eq!(out[1].error.as_ref().map(|e| e.msg.as_str()), Some("the connection ended before the response did"));
    }

    #[test]
    fn hostile_input_neither_panics_nor_grows() {
        let mut flow = Http2Flow::mid_stream(DissectLimits::default());
        let mut out = Vec::new();
        // A 16 MiB DATA frame is streamed, not buffered; a huge HEADERS is skipped.
        let mut big = frame(frame::HEADERS, frame::END_HEADERS, 1, GET_EXAMPLE);
        big.extend([0xff, 0xff, 0xff, frame::DATA, 0, 0, 0, 0, 1]);
        big.extend(vec![7u8; 1 << 20]);
        flow.data(Dir::Forward, &big, Timestamp(0), &mut out);
        let huge_headers = frame(frame::HEADERS, frame::END_HEADERS, 3, &vec![0x40; 200 << 10]);
        flow.data(Dir::Forward, &huge_headers, Timestamp(1), &mut out);
        for seed in 0..200u32 {
            let noise: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed * 97) >> 13) as u8).collect();
            flow.data(Dir::Reverse, &noise, Timestamp(2), &mut out);
        }
        flow.close(Timestamp(3), CloseReason::Closed, &mut out);
        assert!(flow.sides.iter().all(|s| s.block.as_ref().is_none_or(|b| b.bytes.len() <= DissectLimits::default().max_head_bytes)));
        let body = out.iter().find_map(|e| http(e).0.post_data.as_ref().map(|b| b.size));
        assert_eq!(body, Some(DissectLimits::default().max_body_bytes as u64), "kept up to the limit");
    }
}
