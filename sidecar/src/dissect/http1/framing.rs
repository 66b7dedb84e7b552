//! Message framing for one direction of an HTTP/1 connection: where each head ends and
//! how long its body is (Content-Length, chunked, until close). It reports heads, body
//! bytes and message ends to a [`MessageSink`]; what they mean is the sink's business.

use std::borrow::Cow;

use crate::flow::Timestamp;

use super::head::{find_start_line, head_may_be_complete, start_line_at};

/// How the body after a head is delimited; the sink decides from the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes (a response with neither length nor chunking).
    UntilClose,
    /// The connection stops speaking HTTP after this message (upgrade, CONNECT).
    Switch,
}

pub trait MessageSink {
    /// A complete head of `len` bytes; returns how its body is framed, or an error.
    fn head(&mut self, head: &[u8], ts: Timestamp) -> Result<BodyFraming, String>;
    /// Body bytes, de-chunked.
    fn body(&mut self, data: &[u8]);
    /// The message ended; `complete` is false when bytes of it were lost or cut off.
    fn end(&mut self, ts: Timestamp, wire_bytes: u64, complete: bool);
    /// Bytes that are not HTTP where a message should start, or a broken message.
    fn error(&mut self, msg: String, ts: Timestamp);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the chunk-size line.
    Size,
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// Trailer lines up to the empty line.
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages.
    Idle,
    /// Collecting a head.
    Head,
    Body(u64),
    Chunked(Chunk),
    UntilClose,
    /// After a gap or an error: skipping to the next start line.
    Resync,
    /// Not HTTP any more.
    Opaque,
}

/// A chunk-size or trailer line longer than this is an error.
const MAX_LINE: usize = 8 << 10;

pub struct MessageFramer {
    is_request: bool,
    state: State,
    /// Head or line bytes carried over between calls.
    pending: Vec<u8>,
    max_head: usize,
    /// Wire bytes of the message so far.
    wire: u64,
    /// Whether bytes of the current message were lost.
    lost: bool,
}

impl MessageFramer {
    pub fn new(is_request: bool, max_head: usize) -> Self {
        MessageFramer { is_request, state: State::Idle, pending: Vec::new(), max_head, wire: 0, lost: false }
    }

    /// Leaves the opaque state: the connection did not switch after all.
    pub fn resume(&mut self) {
        if self.state == State::Opaque {
            self.state = State::Resync;
        }
    }

    pub fn make_opaque(&mut self) {
        self.state = State::Opaque;
        self.pending = Vec::new();
    }

    /// Frames `data`; once the connection stopped speaking HTTP, the bytes left over are
    /// returned (they belong to the protocol it switched to).
    pub fn feed<'a>(&mut self, mut data: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        while !data.is_empty() {
            match self.state {
                State::Opaque => return data,
                State::Resync => match find_start_line(data, self.is_request) {
                    Some(at) => {
                        data = &data[at..];
                        self.state = State::Idle;
                    }
                    None => return &[],
                },
                State::Idle => {
                    let skip = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                    data = &data[skip..];
                    if data.is_empty() {
                        return &[];
                    }
                    if start_line_at(data, self.is_request) == Some(false) {
                        sink.error(format!("not an HTTP {} start line", if self.is_request { "request" } else { "response" }), ts);
                        self.state = State::Resync;
                        data = &data[1..];
                        continue;
                    }
                    self.state = State::Head;
                    self.wire = 0;
                    self.lost = false;
                }
                State::Head => data = self.head(data, ts, sink),
                State::Body(remaining) => {
                    let n = remaining.min(data.len() as u64) as usize;
                    sink.body(&data[..n]);
                    self.wire += n as u64;
                    data = &data[n..];
                    if n as u64 == remaining {
                        self.finish(ts, sink);
                    } else {
                        self.state = State::Body(remaining - n as u64);
                    }
                }
                State::Chunked(chunk) => data = self.chunked(chunk, data, ts, sink),
                State::UntilClose => {
                    sink.body(data);
                    self.wire += data.len() as u64;
                    return &[];
                }
            }
        }
        &[]
    }

    fn head<'a>(&mut self, data: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        let (head_len, consumed_from_data) = if self.pending.is_empty() {
            match head_end(data) {
                Some(len) => (len, len),
                None => return self.carry_head(data, ts, sink),
            }
        } else {
            let before = self.pending.len();
            let take = data.len().min((self.max_head + 4).saturating_sub(before));
            self.pending.extend_from_slice(&data[..take]);
            if !head_may_be_complete(&self.pending, before) {
                if self.pending.len() > self.max_head {
                    return self.head_too_large(&data[take..], ts, sink);
                }
                return &data[take..];
            }
            match head_end(&self.pending) {
                Some(len) => (len, len - before),
                None => {
                    if self.pending.len() > self.max_head {
                        return self.head_too_large(&data[take..], ts, sink);
                    }
                    return &data[take..];
                }
            }
        };
        if head_len > self.max_head {
            return self.head_too_large(&data[consumed_from_data..], ts, sink);
        }
        let framing = if self.pending.is_empty() {
            sink.head(&data[..head_len], ts)
        } else {
            let head = std::mem::take(&mut self.pending);
            sink.head(&head[..head_len], ts)
        };
        self.wire = head_len as u64;
        let rest = &data[consumed_from_data..];
        match framing {
            Ok(BodyFraming::None) | Ok(BodyFraming::Length(0)) => self.finish(ts, sink),
            Ok(BodyFraming::Length(n)) => self.state = State::Body(n),
            Ok(BodyFraming::Chunked) => self.state = State::Chunked(Chunk::Size),
            Ok(BodyFraming::UntilClose) => self.state = State::UntilClose,
            Ok(BodyFraming::Switch) => {
                self.finish(ts, sink);
                self.make_opaque();
            }
            Err(msg) => {
                sink.error(msg, ts);
                self.state = State::Resync;
            }
        }
        rest
    }

    fn carry_head<'a>(&mut self, data: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        if data.len() > self.max_head {
            return self.head_too_large(&data[data.len()..], ts, sink);
        }
        self.pending.extend_from_slice(data);
        &[]
    }

    fn head_too_large<'a>(&mut self, rest: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        sink.error(format!("head longer than {} bytes", self.max_head), ts);
        self.pending = Vec::new();
        self.state = State::Resync;
        rest
    }

    fn chunked<'a>(&mut self, chunk: Chunk, data: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        match chunk {
            Chunk::Size | Chunk::Trailer => {
                let Some((line, rest)) = self.line(data) else { return self.line_overflow(data, ts, sink) };
                let line = line.trim_ascii();
                if chunk == Chunk::Trailer {
                    if line.is_empty() {
                        self.finish(ts, sink);
                    }
                    return rest;
                }
                let size_text = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
                let size = std::str::from_utf8(size_text).ok().and_then(|s| u64::from_str_radix(s, 16).ok());
                match size {
                    Some(0) => self.state = State::Chunked(Chunk::Trailer),
                    Some(n) => self.state = State::Chunked(Chunk::Data(n)),
                    None => {
                        sink.error("bad chunk size".into(), ts);
                        self.abort(ts, sink);
                    }
                }
                rest
            }
            Chunk::Data(remaining) => {
                let n = remaining.min(data.len() as u64) as usize;
                sink.body(&data[..n]);
                self.wire += n as u64;
                self.state = State::Chunked(if n as u64 == remaining { Chunk::DataEnd } else { Chunk::Data(remaining - n as u64) });
                &data[n..]
            }
            Chunk::DataEnd => {
                // CRLF, tolerating a bare LF.
                let n = data.iter().take(2).take_while(|&&b| b == b'\r' || b == b'\n').count();
                self.wire += n as u64;
                if n == 0 || data[n - 1] == b'\n' {
                    self.state = State::Chunked(Chunk::Size);
                }
                &data[n..]
            }
        }
    }

    /// One line (without its LF) if complete, joined with bytes carried over from
    /// earlier calls; otherwise the bytes are carried over.
    fn line<'a>(&mut self, data: &'a [u8]) -> Option<(Cow<'a, [u8]>, &'a [u8])> {
        let Some(at) = data.iter().position(|&b| b == b'\n') else {
            self.wire += data.len() as u64;
            self.pending.extend_from_slice(data);
            return None;
        };
        self.wire += at as u64 + 1;
        let line = if self.pending.is_empty() {
            Cow::Borrowed(&data[..at])
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(&data[..at]);
            Cow::Owned(joined)
        };
        Some((line, &data[at + 1..]))
    }

    fn line_overflow<'a>(&mut self, _data: &'a [u8], ts: Timestamp, sink: &mut impl MessageSink) -> &'a [u8] {
        if self.pending.len() > MAX_LINE {
            sink.error(format!("chunk line longer than {MAX_LINE} bytes"), ts);
            self.abort(ts, sink);
        }
        &[]
    }

    fn finish(&mut self, ts: Timestamp, sink: &mut impl MessageSink) {
        sink.end(ts, self.wire, !self.lost);
        self.pending.clear();
        self.state = State::Idle;
    }

    /// Ends the current message as incomplete and looks for the next one.
    fn abort(&mut self, ts: Timestamp, sink: &mut impl MessageSink) {
        self.lost = true;
        sink.end(ts, self.wire, false);
        self.pending = Vec::new();
        self.state = State::Resync;
    }

    /// `len` bytes of this direction were not captured.
    pub fn gap(&mut self, len: u64, ts: Timestamp, sink: &mut impl MessageSink) {
        match self.state {
            // A hole inside a body of known length loses body bytes, not the framing.
            State::Body(remaining) if len < remaining => {
                self.lost = true;
                self.wire += len;
                self.state = State::Body(remaining - len);
            }
            State::Body(remaining) if len == remaining => {
                self.lost = true;
                self.wire += len;
                self.finish(ts, sink);
            }
            State::UntilClose => {
                self.lost = true;
                self.wire += len;
            }
            State::Opaque | State::Resync => {}
            State::Idle => {
                self.pending.clear();
                self.state = State::Resync;
            }
            State::Head | State::Body(_) | State::Chunked(_) => {
                if self.state == State::Head {
                    self.pending.clear();
                    sink.error("head lost to a capture gap".into(), ts);
                    self.state = State::Resync;
                } else {
                    self.abort(ts, sink);
                }
            }
        }
    }

    /// The connection ended: a body that runs until close is complete now.
    pub fn close(&mut self, ts: Timestamp, sink: &mut impl MessageSink) {
        match self.state {
            State::UntilClose => self.finish(ts, sink),
            State::Body(_) | State::Chunked(_) => {
                self.lost = true;
                sink.end(ts, self.wire, false);
                self.state = State::Idle;
            }
            _ => {}
        }
        self.pending = Vec::new();
    }
}

/// Length of the head (through its empty line) at the start of `data`, if complete.
fn head_end(data: &[u8]) -> Option<usize> {
    // A line is empty when a newline follows the previous newline, with an optional CR.
    memchr::memchr_iter(b'\n', data).find_map(|at| match data.get(at + 1) {
        Some(b'\n') => Some(at + 2),
        Some(b'\r') if data.get(at + 2) == Some(&b'\n') => Some(at + 3),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the framer reports, as text.
    #[derive(Default)]
    struct Log {
        events: Vec<String>,
        framing: Vec<BodyFraming>,
    }

    impl MessageSink for Log {
        fn head(&mut self, head: &[u8], _ts: Timestamp) -> Result<BodyFraming, String> {
            self.events.push(format!("head {}", head.len()));
            Ok(if self.framing.is_empty() { BodyFraming::None } else { self.framing.remove(0) })
        }
        fn body(&mut self, data: &[u8]) {
            self.events.push(format!("body {}", String::from_utf8_lossy(data)));
        }
        fn end(&mut self, _ts: Timestamp, wire: u64, complete: bool) {
            self.events.push(format!("end {wire} {complete}"));
        }
        fn error(&mut self, msg: String, _ts: Timestamp) {
            self.events.push(format!("error {msg}"));
        }
    }

    fn feed_bytewise(framer: &mut MessageFramer, data: &[u8], log: &mut Log) {
        for b in data {
            framer.feed(std::slice::from_ref(b), Timestamp(0), log);
        }
    }

    #[test]
    fn chunked_body_split_byte_by_byte() {
        let msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        let mut log = Log { framing: vec![BodyFraming::Chunked], ..Default::default() };
        let mut framer = MessageFramer::new(false, 1024);
        feed_bytewise(&mut framer, msg, &mut log);
        let body: String = log.events.iter().filter_map(|e| e.strip_prefix("body ")).collect();
        assert_eq!(body, "hello world");
        assert_eq!(log.events.first().map(String::as_str), Some("head 47"));
        assert_eq!(log.events.last().map(String::as_str), Some(format!("end {} true", msg.len()).as_str()));
    }

    #[test]
    fn gap_inside_a_sized_body_keeps_the_next_message() {
        let mut log = Log { framing: vec![BodyFraming::Length(10), BodyFraming::None], ..Default::default() };
        let mut framer = MessageFramer::new(true, 1024);
        framer.feed(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", Timestamp(0), &mut log);
        framer.gap(4, Timestamp(0), &mut log);
        framer.feed(b"xyzGET /next HTTP/1.1\r\n\r\n", Timestamp(0), &mut log);
        assert_eq!(log.events, ["head 39", "body abc", "body xyz", "end 49 false", "head 22", "end 22 true"]);
    }

    #[test]
    fn garbage_then_resync_at_next_request_line() {
        let mut log = Log::default();
        let mut framer = MessageFramer::new(true, 1024);
        framer.gap(100, Timestamp(0), &mut log);
        framer.feed(b"tail of a body\r\nGET /a HTTP/1.1\r\n\r\n", Timestamp(0), &mut log);
        assert_eq!(log.events, ["head 19", "end 19 true"]);
    }

    #[test]
    fn oversized_head_is_an_error_and_bounded() {
        let mut log = Log::default();
        let mut framer = MessageFramer::new(true, 64);
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', 10_000));
        for piece in big.chunks(7) {
            framer.feed(piece, Timestamp(0), &mut log);
            assert!(framer.pending.len() <= 64 + 4 + 7);
        }
        assert_eq!(log.events, ["error head longer than 64 bytes"]);
    }
}
