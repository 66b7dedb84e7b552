//! AMQP 0-9-1: the protocol header, then frames (method, content header, content body,
//! heartbeat) on numbered channels. Each method is an item: a synchronous one with the
//! peer's reply on its channel (Queue.Declare → Queue.Declare-Ok), or with the
//! Channel.Close / Connection.Close that refused it; an asynchronous one on its own
//! (Basic.Ack), and Basic.Publish/Deliver/Return once their content (properties and
//! body) has come. A Close is also an item of its own, answered by its Close-Ok.
//!
//! Parts: frames from the shared [`FrameReader`], the methods' table and arguments
//! ([`methods`]), and the per-channel pairing here.

mod methods;

use remora_model::{AmqpError, AmqpProperties, AmqpRequest, AmqpResponse, Fields, ItemErrorKind, Protocol, Request, Response};
use rustc_hash::FxHashMap;

use self::methods::{Kind, CHANNEL_CLOSE, CLOSE, GET_OK};
use super::framing::{Frame, FrameReader, Start};
use super::http1::body::BodyCapture;
use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};
pub use methods::method;

const AMQP: Protocol = Protocol::new("amqp", "0-9-1", "AMQP", "Advanced Message Queuing Protocol 0-9-1", "tcp");

const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";
const METHOD: u8 = 1;
const HEADER: u8 = 2;
const BODY: u8 = 3;
const HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xce;
/// The largest frame taken as plausible (brokers negotiate 128 KiB to 1 MiB).
const MAX_FRAME: u64 = 64 << 20;
/// Bytes kept of a frame: methods are small; of a body frame, what the item shows.
const KEPT_FRAME_BYTES: usize = 64 << 10;
/// Detection waits for a method frame's end up to this many bytes.
const DETECT_BYTES: u64 = 4096;

/// The 0-9-1 protocol header, or (a capture started mid-way) a method frame of a known
/// class and method ending in the frame-end octet, or a heartbeat.
pub fn detect(first: &[u8]) -> Detection {
    if first.starts_with(b"AMQP") || (first.len() < 4 && b"AMQP".starts_with(first)) {
        return match first.get(..8) {
            Some(header) if header == PROTOCOL_HEADER => Detection::Amqp,
            None if PROTOCOL_HEADER.starts_with(first) => Detection::NeedMore,
            // AMQP 1.0 and 0-10 start alike: other protocols.
            _ => Detection::Unknown,
        };
    }
    match frame_start(first) {
        Start::Yes => Detection::Amqp,
        Start::NeedMore => Detection::NeedMore,
        Start::No => Detection::Unknown,
    }
}

/// Whether a frame plausibly starts at `b[0]` (detection, and finding frames again).
fn frame_start(b: &[u8]) -> Start {
    let Some(&kind) = b.first() else { return Start::NeedMore };
    if !matches!(kind, METHOD | HEARTBEAT) {
        return Start::No;
    }
    let Some(size) = b.get(3..7).map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))) else { return Start::NeedMore };
    if kind == HEARTBEAT && size != 0 || size > MAX_FRAME {
        return Start::No;
    }
    if kind == METHOD {
        let Some(ids) = b.get(7..11) else { return if size >= 4 { Start::NeedMore } else { Start::No } };
        let (class, id) = (u16::from_be_bytes([ids[0], ids[1]]), u16::from_be_bytes([ids[2], ids[3]]));
        if size < 4 || method(class, id).is_none() {
            return Start::No;
        }
    }
    match b.get(7 + size as usize) {
        Some(&FRAME_END) => Start::Yes,
        Some(_) => Start::No,
        None if 8 + size <= DETECT_BYTES => Start::NeedMore,
        // Too long to see its end: a known method is enough.
        None => Start::Yes,
    }
}

fn frame_len(header: &[u8]) -> Option<u64> {
    let size = u64::from(u32::from_be_bytes([header[3], header[4], header[5], header[6]]));
    (matches!(header[0], METHOD | HEADER | BODY | HEARTBEAT) && size <= MAX_FRAME).then_some(8 + size)
}

/// A method sent, not yet answered or not yet with all its content.
struct Pending {
    request: AmqpRequest,
    dir: Dir,
    start: Timestamp,
    size: u64,
}

/// Content (header and body frames) being gathered for the method it follows.
struct Content {
    /// The method that carries it; for Basic.Get-Ok, the Get it answers and the reply.
    owner: Pending,
    reply: Option<(AmqpResponse, u64)>,
    body_size: Option<u64>,
    properties: AmqpProperties,
    body: BodyCapture,
    received: u64,
    /// Bytes of the header and body frames.
    size: u64,
    end: Timestamp,
}

/// A channel in one direction: the key of what waits there.
type Lane = (u16, usize);

pub struct AmqpFlow {
    readers: [FrameReader; 2],
    /// Bytes of a protocol header still to skip, per direction; `None` before the first byte.
    header_left: [Option<usize>; 2],
    /// Synchronous methods awaiting a reply, by channel and the direction they came from.
    pending: FxHashMap<Lane, Pending>,
    content: FxHashMap<Lane, Content>,
    limits: DissectLimits,
    stats: DissectStats,
}

impl AmqpFlow {
    pub fn new(limits: DissectLimits) -> Self {
        let reader = || FrameReader::new(7, frame_len, KEPT_FRAME_BYTES);
        AmqpFlow { readers: [reader(), reader()], header_left: [None; 2], pending: FxHashMap::default(), content: FxHashMap::default(), limits, stats: DissectStats::default() }
    }

    fn frame(&mut self, dir: Dir, frame: Frame, out: &mut Vec<Exchange>) -> Result<(), ()> {
        let b = &frame.bytes;
        let (Some(&kind), Some(channel), Some(size)) = (b.first(), b.get(1..3), b.get(3..7)) else { return Err(()) };
        let channel = u16::from_be_bytes([channel[0], channel[1]]);
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
        if !frame.cut && b.last() != Some(&FRAME_END) {
            return Err(());
        }
        let payload = &b[7..b.len().min(7 + size)];
        match kind {
            METHOD => self.method(dir, channel, payload, &frame, out),
            HEADER => self.content_header(dir, channel, payload, &frame, out),
            BODY => self.content_body(dir, channel, payload, size as u64, &frame, out),
            _ => {}
        }
        Ok(())
    }

    fn method(&mut self, dir: Dir, channel: u16, payload: &[u8], frame: &Frame, out: &mut Vec<Exchange>) {
        let (Some(class), Some(id)) = (payload.get(0..2), payload.get(2..4)) else {
            self.stats.parse_errors += 1;
            return;
        };
        let (class, id) = (u16::from_be_bytes([class[0], class[1]]), u16::from_be_bytes([id[0], id[1]]));
        let Some((name, kind)) = method(class, id) else {
            self.stats.parse_errors += 1;
            return;
        };
        let args = &payload[4..];
        if kind == Kind::Reply {
            self.reply(dir, channel, (class, id), name, args, frame, out);
            return;
        }
        let mut request = AmqpRequest { method: name, channel, ..Default::default() };
        let no_wait = methods::request_arguments(class, id, args, &mut request).unwrap_or(false);
        if (class, id) == CLOSE || (class, id) == CHANNEL_CLOSE {
            self.refuse(dir, channel, (class, id) == CLOSE, &request, args, frame, out);
        }
        let pending = Pending { request, dir, start: frame.start, size: frame.wire_len };
        let lane = (channel, dir.index());
        match kind {
            Kind::Synchronous if !no_wait => self.await_reply(lane, pending, out),
            Kind::Content => {
                if self.content.len() >= self.limits.max_pending && !self.content.contains_key(&lane) {
                    self.stats.pending_overflows += 1;
                    out.push(exchange(pending, None, item_error(ItemErrorKind::Timeout, "too many messages awaiting their content")));
                    return;
                }
                let content = Content { owner: pending, reply: None, body_size: None, properties: AmqpProperties::default(), body: BodyCapture::default(), received: 0, size: 0, end: frame.end };
                if let Some(unfinished) = self.content.insert(lane, content) {
                    self.finish(unfinished, out);
                }
            }
            _ => out.push(exchange(pending, None, None)),
        }
    }

    fn await_reply(&mut self, lane: Lane, pending: Pending, out: &mut Vec<Exchange>) {
        if self.pending.len() >= self.limits.max_pending && !self.pending.contains_key(&lane) {
            self.stats.pending_overflows += 1;
            let oldest = self.pending.iter().min_by_key(|(_, p)| p.start).map(|(lane, _)| *lane);
            if let Some(old) = oldest.and_then(|lane| self.pending.remove(&lane)) {
                out.push(exchange(old, None, item_error(ItemErrorKind::Timeout, format!("more than {} methods awaited a reply", self.limits.max_pending))));
            }
        }
        if let Some(old) = self.pending.insert(lane, pending) {
            out.push(exchange(old, None, item_error(ItemErrorKind::Timeout, "another synchronous method on the channel before a reply")));
        }
    }

    /// A reply: it answers the peer's method waiting on the channel.
    #[allow(clippy::too_many_arguments)]
    fn reply(&mut self, dir: Dir, channel: u16, ids: (u16, u16), name: String, args: &[u8], frame: &Frame, out: &mut Vec<Exchange>) {
        let mut response = AmqpResponse { method: name, ..Default::default() };
        let _ = methods::reply_arguments(ids.0, ids.1, args, &mut response);
        let Some(pending) = self.pending.remove(&(channel, dir.flip().index())) else {
            let request = AmqpRequest { channel, ..Default::default() };
            let orphan = Pending { request, dir: dir.flip(), start: frame.start, size: 0 };
            out.push(exchange(orphan, Some((response, frame.end, frame.wire_len)), item_error(ItemErrorKind::PairNotFound, "a reply with no captured method before it")));
            return;
        };
        if ids == GET_OK {
            // The message follows as content.
            let content = Content { owner: pending, reply: Some((response, frame.wire_len)), body_size: None, properties: AmqpProperties::default(), body: BodyCapture::default(), received: 0, size: 0, end: frame.end };
            if let Some(unfinished) = self.content.insert((channel, dir.index()), content) {
                self.finish(unfinished, out);
            }
            return;
        }
        out.push(exchange(pending, Some((response, frame.end, frame.wire_len)), None));
    }

    /// A Close from `dir`: the peer's methods waiting on the channel (on every channel for
    /// Connection.Close) are answered by it.
    #[allow(clippy::too_many_arguments)]
    fn refuse(&mut self, dir: Dir, channel: u16, connection: bool, close: &AmqpRequest, args: &[u8], frame: &Frame, out: &mut Vec<Exchange>) {
        let peer = dir.flip().index();
        let mut refused: Vec<Lane> = self.pending.keys().filter(|(c, d)| *d == peer && (connection || *c == channel)).copied().collect();
        refused.sort_by_key(|lane| self.pending.get(lane).map(|p| p.start));
        let (code, text, method) = methods::close_arguments(args).unwrap_or_default();
        for lane in refused {
            let Some(pending) = self.pending.remove(&lane) else { continue };
            let error = AmqpError { code, text: text.clone(), method: method.clone() };
            let response = AmqpResponse { method: close.method.clone(), error: Some(error), ..Default::default() };
            out.push(exchange(pending, Some((response, frame.end, frame.wire_len)), None));
        }
    }

    fn content_header(&mut self, dir: Dir, channel: u16, payload: &[u8], frame: &Frame, out: &mut Vec<Exchange>) {
        let lane = (channel, dir.index());
        let Some(content) = self.content.get_mut(&lane) else { return };
        let Some((size, properties)) = methods::content_header(payload) else {
            self.stats.parse_errors += 1;
            return;
        };
        content.body_size = Some(size);
        content.properties = properties;
        content.end = frame.end;
        content.size += frame.wire_len;
        if size == 0 {
            self.finish_lane(lane, out);
        }
    }

    fn content_body(&mut self, dir: Dir, channel: u16, payload: &[u8], size: u64, frame: &Frame, out: &mut Vec<Exchange>) {
        let lane = (channel, dir.index());
        let Some(content) = self.content.get_mut(&lane) else { return };
        let Some(body_size) = content.body_size else { return };
        content.body.push(payload, self.limits.max_body_bytes);
        // What the frame held, including bytes not kept or lost.
        content.body.wire_size += size - payload.len() as u64;
        content.body.incomplete |= frame.cut && (payload.len() as u64) < size && content.body.bytes.len() < self.limits.max_body_bytes;
        content.received += size;
        content.end = frame.end;
        content.size += frame.wire_len;
        if content.received >= body_size {
            self.finish_lane(lane, out);
        }
    }

    fn finish_lane(&mut self, lane: Lane, out: &mut Vec<Exchange>) {
        if let Some(content) = self.content.remove(&lane) {
            self.finish(content, out);
        }
    }

    /// The item of a message whose content is complete (or ends here).
    fn finish(&mut self, content: Content, out: &mut Vec<Exchange>) {
        let Content { mut owner, reply, body_size, properties, mut body, received, size, end } = content;
        let seen = body_size.is_some();
        if body_size.is_some_and(|size| received < size) {
            body.incomplete = true;
        }
        let mut headers = Fields::new();
        headers.insert("content-type", properties.content_type.clone());
        if !properties.content_encoding.is_empty() {
            headers.insert("content-encoding", properties.content_encoding.clone());
        }
        let body = seen.then(|| body.into_body(&headers, self.limits.max_body_bytes));
        if body.as_ref().is_some_and(|b| b.truncated) {
            self.stats.truncated_bodies += 1;
        }
        let properties = seen.then_some(properties);
        match reply {
            Some((mut response, reply_size)) => {
                response.properties = properties;
                response.body = body;
                out.push(exchange(owner, Some((response, end, reply_size + size)), None));
            }
            None => {
                owner.size += size;
                owner.request.properties = properties;
                owner.request.body = body;
                out.push(exchange(owner, None, None));
            }
        }
    }
}

fn exchange(pending: Pending, answer: Option<(AmqpResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>) -> Exchange {
    let answer = answer.map(|(response, end, size)| (Response::Amqp(Box::new(response)), end, size));
    Exchange::new(AMQP, pending.dir, Request::Amqp(Box::new(pending.request)), pending.start, pending.size, answer, error)
}

impl StreamDissector for AmqpFlow {
    fn data(&mut self, dir: Dir, mut data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let left = self.header_left[dir.index()].get_or_insert(if data.starts_with(b"AMQP") { PROTOCOL_HEADER.len() } else { 0 });
        let skip = (*left).min(data.len());
        *left -= skip;
        data = &data[skip..];
        for frame in self.readers[dir.index()].push(data, ts, &frame_start) {
            // A frame that does not end in the frame-end octet is dropped; if the framing
            // was wrong, the next header is no frame's and the reader scans for one.
            if self.frame(dir, frame, out).is_err() {
                self.stats.parse_errors += 1;
            }
        }
    }

    fn gap(&mut self, dir: Dir, len: u64, ts: Timestamp, out: &mut Vec<Exchange>) {
        if let Some(frame) = self.readers[dir.index()].gap(len, ts) {
            let _ = self.frame(dir, frame, out);
        }
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        let mut content: Vec<Content> = self.content.drain().map(|(_, c)| c).collect();
        content.sort_by_key(|c| c.owner.start);
        for c in content {
            self.finish(c, out);
        }
        let mut pending: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        pending.sort_by_key(|p| p.start);
        for p in pending {
            out.push(exchange(p, None, reason.unanswered()));
        }
    }

    fn stats(&self) -> DissectStats {
        let losses: u64 = self.readers.iter().map(|r| r.losses).sum();
        DissectStats { parse_errors: self.stats.parse_errors + losses, ..self.stats }
    }

    fn protocol_name(&self) -> &'static str {
        "amqp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![kind];
        f.extend_from_slice(&channel.to_be_bytes());
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f.push(FRAME_END);
        f
    }

    fn short(text: &str) -> Vec<u8> {
        let mut s = vec![text.len() as u8];
        s.extend_from_slice(text.as_bytes());
        s
    }

    /// A method frame: class, method, then arguments.
    fn method_frame(channel: u16, class: u16, id: u16, args: &[&[u8]]) -> Vec<u8> {
        let mut p = [class.to_be_bytes(), id.to_be_bytes()].concat();
        for a in args {
            p.extend_from_slice(a);
        }
        frame(METHOD, channel, &p)
    }

    /// A Basic content header: body size, flags for content type, headers, delivery mode.
    fn content_header(channel: u16, size: u64) -> Vec<u8> {
        let mut p = vec![0, 60, 0, 0];
        p.extend_from_slice(&size.to_be_bytes());
        p.extend_from_slice(&0b1011_0000_0000_0000u16.to_be_bytes());
        p.extend(short("text/plain"));
        let mut table = short("retries");
        table.extend_from_slice(b"I\x00\x00\x00\x03");
        table.extend(short("trace"));
        table.extend_from_slice(b"F\x00\x00\x00\x00");
        p.extend_from_slice(&(table.len() as u32).to_be_bytes());
        p.extend(table);
        p.push(2);
        frame(HEADER, channel, &p)
    }

    fn amqp(e: &Exchange) -> (&AmqpRequest, Option<&AmqpResponse>) {
        let Request::Amqp(request) = &e.request else { panic!("{e:?}") };
        let response = match &e.response {
            Some(Response::Amqp(r)) => Some(r.as_ref()),
            _ => None,
        };
        (request, response)
    }

    #[test]
    fn methods_pair_with_replies_and_messages_carry_their_content() {
        let mut flow = AmqpFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        let mut client = PROTOCOL_HEADER.to_vec();
        assert_eq!(detect(&client[..5]), Detection::NeedMore);
        assert_eq!(detect(&client), Detection::Amqp);
        client.extend(method_frame(1, 50, 10, &[&[0, 0], &short("orders"), &[0], &[0, 0, 0, 0]]));
        client.extend(method_frame(1, 50, 10, &[&[0, 0], &short("fire"), &[0b1_0000], &[0, 0, 0, 0]]));
        client.extend(method_frame(1, 60, 40, &[&[0, 0], &short("shop"), &short("order.created"), &[0]]));
        client.extend(content_header(1, 11));
        client.extend(frame(BODY, 1, b"hello "));
        flow.data(Dir::Forward, &client, Timestamp(1), &mut out);
        assert_eq!(out.len(), 1, "the no-wait Declare is an item at once; the Publish waits for its body");
        flow.data(Dir::Forward, &frame(BODY, 1, b"world"), Timestamp(2), &mut out);
        let mut server = method_frame(1, 50, 11, &[&short("orders"), &7u32.to_be_bytes(), &2u32.to_be_bytes()]);
        server.extend(method_frame(1, 60, 60, &[&short("ctag"), &9u64.to_be_bytes(), &[0], &short("shop"), &short("order.created")]));
        server.extend(content_header(1, 0));
        flow.data(Dir::Reverse, &server, Timestamp(3), &mut out);
        flow.data(Dir::Forward, &method_frame(1, 60, 80, &[&9u64.to_be_bytes(), &[0]]), Timestamp(4), &mut out);

        let methods: Vec<&str> = out.iter().map(|e| amqp(e).0.method.as_str()).collect();
        assert_eq!(methods, ["Queue.Declare", "Basic.Publish", "Queue.Declare", "Basic.Deliver", "Basic.Ack"]);
        assert!(amqp(&out[0]).1.is_none() && out[0].error.is_none());
        let (publish, _) = amqp(&out[1]);
        let properties = publish.properties.as_ref().expect("content header");
        assert_eq!((properties.content_type.as_str(), properties.delivery_mode, properties.headers.get("retries"), properties.headers.get("trace")), ("text/plain", Some(2), Some("3"), Some("(table)")));
        let body = publish.body.as_ref().expect("body");
        assert_eq!((body.text.as_str(), body.mime_type.as_str(), body.truncated), ("hello world", "text/plain", false));
        assert_eq!((publish.exchange.as_str(), publish.routing_key.as_str()), ("shop", "order.created"));
        // The method (34 bytes), content header (62) and body frames (14, 13).
        assert_eq!(out[1].request_size, 34 + 62 + 14 + 13);
        let (declare, ok) = amqp(&out[2]);
        let ok = ok.expect("Declare-Ok");
        assert_eq!((declare.queue.as_str(), ok.method.as_str(), ok.message_count, ok.consumer_count), ("orders", "Queue.Declare-Ok", Some(7), Some(2)));
        let (deliver, _) = amqp(&out[3]);
        assert_eq!((deliver.delivery_tag, deliver.consumer_tag.as_str(), out[3].request_dir, deliver.body.as_ref().map(|b| b.size)), (Some(9), "ctag", Dir::Reverse, Some(0)));
        assert_eq!(amqp(&out[4]).0.delivery_tag, Some(9));
    }

    #[test]
    fn a_close_refuses_what_waits_and_is_answered_itself() {
        let mut flow = AmqpFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        let declare = method_frame(1, 40, 10, &[&[0, 0], &short("ex"), &short("topic"), &[0], &[0, 0, 0, 0]]);
        let get = method_frame(2, 60, 70, &[&[0, 0], &short("jobs"), &[0]]);
        flow.data(Dir::Forward, &[declare, get].concat(), Timestamp(1), &mut out);
        let mut server = method_frame(1, 20, 40, &[&406u16.to_be_bytes(), &short("PRECONDITION_FAILED - inequivalent arg 'type'"), &40u16.to_be_bytes(), &10u16.to_be_bytes()]);
        server.extend(method_frame(2, 60, 71, &[&5u64.to_be_bytes(), &[0], &short(""), &short("jobs"), &0u32.to_be_bytes()]));
        server.extend(content_header(2, 2));
        server.extend(frame(BODY, 2, &[0xff, 0xfe]));
        flow.data(Dir::Reverse, &server, Timestamp(2), &mut out);
        flow.data(Dir::Forward, &method_frame(1, 20, 41, &[]), Timestamp(3), &mut out);
        // A Basic.Qos left waiting when the connection ends.
        flow.data(Dir::Forward, &method_frame(3, 60, 10, &[&[0; 7]]), Timestamp(4), &mut out);
        flow.close(Timestamp(5), CloseReason::Closed, &mut out);

        let (refused, close) = amqp(&out[0]);
        let error = close.and_then(|c| c.error.as_ref()).expect("refused");
        assert_eq!((refused.method.as_str(), error.code, error.method.as_str()), ("Exchange.Declare", 406, "Exchange.Declare"));
        let (get, ok) = amqp(&out[1]);
        let ok = ok.expect("Get-Ok");
        assert_eq!((get.queue.as_str(), ok.delivery_tag, ok.body.as_ref().map(|b| (b.text.as_str(), b.encoding.is_some()))), ("jobs", Some(5), Some(("//4=", true))));
        let (close, close_ok) = amqp(&out[2]);
        assert_eq!((close.method.as_str(), close.reply_code, close_ok.map(|r| r.method.as_str()), out[2].request_dir), ("Channel.Close", Some(406), Some("Channel.Close-Ok"), Dir::Reverse));
        assert_eq!((amqp(&out[3]).0.method.as_str(), out[3].error.as_ref().map(|e| e.kind)), ("Basic.Qos", Some(ItemErrorKind::Connection)));
    }

    #[test]
    fn broken_frames_gaps_and_hostile_sizes() {
        let mut flow = AmqpFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        // A frame whose end is not 0xCE: the rest is scanned for the next frame.
        let mut bad = method_frame(1, 60, 80, &[&1u64.to_be_bytes(), &[0]]);
        let last = bad.len() - 1;
        bad[last] = 0;
        bad.extend_from_slice(b"noise");
        bad.extend(method_frame(1, 60, 80, &[&2u64.to_be_bytes(), &[0]]));
        flow.data(Dir::Forward, &bad, Timestamp(1), &mut out);
        assert_eq!(out.iter().map(|e| amqp(e).0.delivery_tag).collect::<Vec<_>>(), [Some(2)]);
        // A body frame announcing 4 GiB: counted and skipped, never held.
        flow.data(Dir::Forward, &method_frame(1, 60, 40, &[&[0, 0], &short("x"), &short("k"), &[0]]), Timestamp(2), &mut out);
        flow.data(Dir::Forward, &content_header(1, 1 << 40), Timestamp(2), &mut out);
        flow.data(Dir::Forward, &[BODY, 0, 1, 0x03, 0xff, 0xff, 0xff, b'a', b'b'], Timestamp(3), &mut out);
        // The rest of that frame is lost: the message comes out cut when the flow ends.
        flow.gap(Dir::Forward, 1 << 20, Timestamp(4), &mut out);
        flow.gap(Dir::Forward, u64::from(0x03ff_ffffu32) + 8 - 9 - (1 << 20), Timestamp(4), &mut out);
        flow.data(Dir::Forward, &method_frame(0, 10, 50, &[&200u16.to_be_bytes(), &short("bye"), &[0; 4]]), Timestamp(5), &mut out);
        flow.data(Dir::Reverse, &method_frame(0, 10, 51, &[]), Timestamp(6), &mut out);
        // A reply nobody asked for, and an unknown method.
        flow.data(Dir::Reverse, &method_frame(4, 60, 21, &[&short("t")]), Timestamp(7), &mut out);
        flow.data(Dir::Reverse, &method_frame(4, 60, 99, &[]), Timestamp(8), &mut out);
        flow.close(Timestamp(9), CloseReason::EndOfCapture, &mut out);
        let methods: Vec<&str> = out.iter().map(|e| amqp(e).0.method.as_str()).collect();
        assert_eq!(methods, ["Basic.Ack", "Connection.Close", "", "Basic.Publish"]);
        assert_eq!(out[2].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::PairNotFound));
        let body = amqp(&out[3]).0.body.as_ref().expect("body");
        assert!(body.truncated && body.text == "ab");
        assert!(flow.stats().parse_errors >= 2);

        assert_eq!(detect(b"AMQP\x00\x01\x00\x00"), Detection::Unknown, "AMQP 1.0 is another protocol");
        assert_eq!(detect(&method_frame(1, 60, 80, &[&[0; 9]])), Detection::Amqp);
        assert_eq!(detect(&method_frame(1, 61, 80, &[&[0; 9]])), Detection::Unknown);
        assert_eq!(detect(b"\x01\x00\x01"), Detection::NeedMore);
        assert_eq!(detect(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
        // Arguments that end early still make an item.
        let mut r = AmqpRequest::default();
        assert_eq!(methods::request_arguments(60, 60, b"\x05ab", &mut r), None);
        assert!(methods::content_header(b"\x00\x3c").is_none());
        assert_eq!(methods::content_header(b"\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\xff\xff\x09").map(|(size, _)| size), Some(5));
    }
}
