//! WebSocket (RFC 6455) after an HTTP/1.1 `101` with `upgrade: websocket`: frames per
//! direction, fragments joined into messages, each message an item from its sender; a ping
//! is answered by the peer's pong, a close by the peer's close.

use remora_model::{ItemErrorKind, Protocol, Request, Response, WebSocketMessage};

use super::http1::body::BodyCapture;
use super::{item_error, CloseReason, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const WEBSOCKET: Protocol = Protocol::new("websocket", "13", "WS", "WebSocket", "tcp");

const CONTINUATION: u8 = 0;
const CLOSE: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;

fn opcode_name(opcode: u8) -> String {
    match opcode {
        1 => "text".into(),
        2 => "binary".into(),
        CLOSE => "close".into(),
        PING => "ping".into(),
        PONG => "pong".into(),
        other => format!("opcode {other}"),
    }
}

/// A message being gathered from its frames.
struct Gathering {
    opcode: u8,
    start: Timestamp,
    fragments: u32,
    masked: bool,
    compressed: bool,
    payload: BodyCapture,
    wire: u64,
}

enum State {
    Header,
    /// Inside a payload: bytes left, the mask and where in it the next byte falls.
    Payload { left: u64, mask: Option<[u8; 4]>, offset: usize, control: bool, fin: bool },
}

/// One direction's frames.
struct Side {
    state: State,
    header: Vec<u8>,
    /// The data message in progress (control frames may come between its fragments).
    data: Option<Gathering>,
    control: Option<Gathering>,
    /// A ping or close waiting for the peer's answer.
    awaiting: Option<(WebSocketMessage, Timestamp, u64)>,
    /// A gap: the position of frame headers is unknown from here on.
    lost: bool,
}

impl Side {
    fn new() -> Self {
        Side { state: State::Header, header: Vec::new(), data: None, control: None, awaiting: None, lost: false }
    }
}

pub struct WebSocketFlow {
    limits: DissectLimits,
    sides: [Side; 2],
    stats: DissectStats,
}

impl WebSocketFlow {
    pub fn new(limits: DissectLimits) -> Self {
        WebSocketFlow { limits, sides: [Side::new(), Side::new()], stats: DissectStats::default() }
    }

    fn message(&mut self, dir: Dir, done: Gathering, end: Timestamp, out: &mut Vec<Exchange>) {
        let limit = self.limits.max_body_bytes;
        if done.payload.cut() {
            self.stats.truncated_bodies += 1;
        }
        let (close_code, close_reason) = if done.opcode == CLOSE && done.payload.bytes.len() >= 2 {
            let code = u16::from_be_bytes([done.payload.bytes[0], done.payload.bytes[1]]);
            (Some(code), Some(String::from_utf8_lossy(&done.payload.bytes[2..]).into_owned()))
        } else {
            (None, None)
        };
        let mime = if done.opcode == 1 { "text/plain" } else { "" };
        let mut headers = remora_model::Fields::new();
        headers.append("content-type".to_string(), mime, ", ");
        let message = WebSocketMessage {
            opcode: opcode_name(done.opcode),
            size: done.payload.wire_size,
            fragments: done.fragments,
            masked: done.masked,
            compressed: done.compressed,
            payload: done.payload.into_body(&headers, limit),
            close_code,
            close_reason,
        };
        let wire = done.wire;
        // A pong or close answering the peer's ping or close completes that item.
        let peer = &mut self.sides[dir.flip().index()];
        let answers = matches!((peer.awaiting.as_ref().map(|(m, ..)| m.opcode.as_str()), done.opcode), (Some("ping"), PONG) | (Some("close"), CLOSE));
        if answers {
            if let Some((asked, start, asked_wire)) = peer.awaiting.take() {
                out.push(Exchange::new(WEBSOCKET, dir.flip(), Request::WebSocket(Box::new(asked)), start, asked_wire, Some((Response::WebSocket(Box::new(message)), end, wire)), None));
            }
            return;
        }
        if matches!(done.opcode, PING | CLOSE) {
            let side = &mut self.sides[dir.index()];
            if let Some((earlier, start, earlier_wire)) = side.awaiting.replace((message, done.start, wire)) {
                out.push(Exchange::new(WEBSOCKET, dir, Request::WebSocket(Box::new(earlier)), start, earlier_wire, None, None));
            }
            return;
        }
        out.push(Exchange::new(WEBSOCKET, dir, Request::WebSocket(Box::new(message)), done.start, wire, None, None));
    }

    /// Reads a frame header, all of it there (`header_len`).
    fn header(&mut self, dir: Dir, ts: Timestamp, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        let h = &side.header;
        let (b0, b1) = (h[0], h[1]);
        let (len_bytes, masked) = (match b1 & 0x7f { 126 => 2, 127 => 8, _ => 0 }, b1 & 0x80 != 0);
        let need = header_len(h);
        let len = match len_bytes {
            0 => u64::from(b1 & 0x7f),
            n => h[2..2 + n].iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)),
        };
        let mask = masked.then(|| [h[need - 4], h[need - 3], h[need - 2], h[need - 1]]);
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        let control = opcode >= 8;
        let wire = (need as u64).saturating_add(len);
        side.header.clear();
        let gathering = if control { &mut side.control } else { &mut side.data };
        match (opcode, gathering.as_mut()) {
            (CONTINUATION, Some(message)) => {
                // Lengths are the peer's to choose: up to 2^64 - 1 each.
                message.fragments = message.fragments.saturating_add(1);
                message.wire = message.wire.saturating_add(wire);
            }
            (CONTINUATION, None) => {
                // The start of this message was not seen: its pieces are not an item.
                self.stats.parse_errors += 1;
                side.state = State::Payload { left: len, mask, offset: 0, control: false, fin: false };
                side.data = None;
                return;
            }
            (_, previous) => {
                if previous.is_some() && !control {
                    self.stats.parse_errors += 1;
                }
                *gathering = Some(Gathering { opcode, start: ts, fragments: 1, masked, compressed: b0 & 0x40 != 0, payload: BodyCapture::default(), wire });
            }
        }
        side.state = State::Payload { left: len, mask, offset: 0, control, fin };
        if len == 0 {
            self.payload_end(dir, ts, out);
        }
    }

    fn payload_end(&mut self, dir: Dir, ts: Timestamp, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        let State::Payload { control, fin, .. } = std::mem::replace(&mut side.state, State::Header) else { return };
        let done = if control { side.control.take() } else if fin { side.data.take() } else { None };
        if let Some(done) = done {
            self.message(dir, done, ts, out);
        }
    }
}

impl StreamDissector for WebSocketFlow {
    fn data(&mut self, dir: Dir, mut data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let limit = self.limits.max_body_bytes;
        if self.sides[dir.index()].lost {
            // Without a length to follow, frame boundaries cannot be found again.
            return;
        }
        while !data.is_empty() {
            let side = &mut self.sides[dir.index()];
            match &mut side.state {
                State::Header => {
                    // A header's size is known from its first two bytes.
                    let take = (header_len(&side.header) - side.header.len()).min(data.len());
                    side.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if side.header.len() == header_len(&side.header) {
                        self.header(dir, ts, out);
                    }
                }
                State::Payload { left, mask, offset, control, .. } => {
                    let take = (*left).min(data.len() as u64) as usize;
                    let (chunk, rest) = data.split_at(take);
                    data = rest;
                    *left -= take as u64;
                    let target = if *control { side.control.as_mut() } else { side.data.as_mut() };
                    if let Some(message) = target {
                        match mask {
                            Some(key) => {
                                let room = limit.saturating_sub(message.payload.bytes.len()).min(chunk.len());
                                let unmasked: Vec<u8> = chunk[..room].iter().enumerate().map(|(i, b)| b ^ key[(*offset + i) % 4]).collect();
                                message.payload.bytes.extend_from_slice(&unmasked);
                                message.payload.wire_size += chunk.len() as u64;
                            }
                            None => message.payload.push(chunk, limit),
                        }
                    }
                    *offset = (*offset + take) % 4;
                    if *left == 0 {
                        self.payload_end(dir, ts, out);
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        if let State::Payload { .. } = side.state {
            for message in [&mut side.data, &mut side.control].into_iter().flatten() {
                message.payload.incomplete = true;
            }
        }
        side.lost = true;
        self.stats.parse_errors += 1;
    }

    fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        for dir in [Dir::Forward, Dir::Reverse] {
            let side = &mut self.sides[dir.index()];
            let unfinished = side.data.take().into_iter().chain(side.control.take()).collect::<Vec<_>>();
            let awaiting = side.awaiting.take();
            for mut message in unfinished {
                message.payload.incomplete = true;
                let before = out.len();
                self.message(dir, message, ts, out);
                if let Some(item) = out.get_mut(before) {
                    item.error = item_error(ItemErrorKind::Connection, "the connection ended inside this message");
                }
            }
            if let Some((asked, start, wire)) = awaiting {
                out.push(Exchange::new(WEBSOCKET, dir, Request::WebSocket(Box::new(asked)), start, wire, None, reason.unanswered()));
            }
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "websocket"
    }
}

/// The size of the frame header that starts with `header` (2 until its second byte is in).
fn header_len(header: &[u8]) -> usize {
    match header.get(1) {
        None => 2,
        Some(b1) => 2 + match b1 & 0x7f { 126 => 2, 127 => 8, _ => 0 } + if b1 & 0x80 != 0 { 4 } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(m | n as u8),
            n @ 126..=65535 => {
                out.push(m | 126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend(key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    fn message(e: &Exchange) -> &WebSocketMessage {
        let Request::WebSocket(m) = &e.request else { panic!("not WebSocket") };
        m
    }

    #[test]
    fn fragments_join_pings_pair_and_masks_come_off_byte_by_byte() {
        let key = Some([1, 2, 3, 4]);
        let mut client = frame(false, 1, key, b"Hello, ");
        client.extend(frame(true, PING, key, b"?"));
        client.extend(frame(true, CONTINUATION, key, b"world"));
        let mut flow = WebSocketFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        for byte in &client {
            flow.data(Dir::Forward, std::slice::from_ref(byte), Timestamp(1), &mut out);
        }
        flow.data(Dir::Reverse, &frame(true, PONG, None, b"?"), Timestamp(2), &mut out);
        assert_eq!(out.len(), 2);
        let text = message(&out[0]);
        assert_eq!((text.opcode.as_str(), text.payload.text.as_str(), text.fragments, text.masked), ("text", "Hello, world", 2, true));
        assert_eq!(message(&out[1]).opcode, "ping");
        assert!(matches!(&out[1].response, Some(Response::WebSocket(pong)) if pong.opcode == "pong"));
    }

    #[test]
    fn long_messages_are_cut_closes_pair_and_gaps_stop_the_direction() {
        let limits = DissectLimits { max_body_bytes: 10, ..DissectLimits::default() };
        let mut flow = WebSocketFlow::new(limits);
        let mut out = Vec::new();
        flow.data(Dir::Reverse, &frame(true, 2, None, &[7u8; 70_000]), Timestamp(1), &mut out);
        let big = message(&out[0]);
        assert_eq!((big.size, big.payload.size, big.payload.truncated), (70_000, 10, true));
        flow.data(Dir::Forward, &frame(true, CLOSE, Some([9; 4]), b"\x03\xe8bye"), Timestamp(2), &mut out);
        flow.data(Dir::Reverse, &frame(true, CLOSE, None, b"\x03\xe8"), Timestamp(3), &mut out);
        assert_eq!((message(&out[1]).close_code, message(&out[1]).close_reason.as_deref()), (Some(1000), Some("bye")));
        assert!(out[1].response.is_some());
        flow.gap(Dir::Forward, 5, Timestamp(4), &mut out);
        flow.data(Dir::Forward, &frame(true, 1, None, b"lost"), Timestamp(5), &mut out);
        flow.data(Dir::Reverse, &[0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3], Timestamp(6), &mut out);
        flow.close(Timestamp(7), CloseReason::Closed, &mut out);
        assert_eq!(out.len(), 3, "nothing after the gap; the endless frame ends at close");
        assert_eq!(out[2].error.as_ref().map(|e| e.msg.as_str()), Some("the connection ended inside this message"));
    }

    /// Found by the fuzzer: a continuation frame claiming 2^64 - 1 bytes after a first
    /// fragment overflowed the message's wire size.
    #[test]
    fn a_continuation_of_the_largest_length_is_counted_not_overflowed() {
        let mut flow = WebSocketFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        flow.data(Dir::Forward, &[0x01, 0x00], Timestamp(1), &mut out);
        let mut huge = vec![0x00, 0xff];
        huge.extend([0xff; 8]);
        huge.extend([0, 0, 0, 1, 0, 0x79]);
        flow.data(Dir::Forward, &huge, Timestamp(2), &mut out);
        flow.close(Timestamp(3), CloseReason::Closed, &mut out);
        let Request::WebSocket(message) = &out[0].request else { panic!("WebSocket") };
        assert_eq!((message.fragments, out[0].request_size), (2, u64::MAX));
    }
}
