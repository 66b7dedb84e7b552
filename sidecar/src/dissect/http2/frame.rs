//! HTTP/2 framing (RFC 9113 §4): the 9-byte frame header, what a plausible frame looks
//! like (for detection mid-connection and resynchronisation), and a per-direction reader
//! that hands over control frames whole and DATA payloads as they arrive.

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const PRIORITY: u8 = 2;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PUSH_PROMISE: u8 = 5;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WINDOW_UPDATE: u8 = 8;
pub const CONTINUATION: u8 = 9;

pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

pub const HEADER_LEN: usize = 9;
/// The largest frame SETTINGS_MAX_FRAME_SIZE allows.
const MAX_FRAME: u32 = (1 << 24) - 1;
/// Frames larger than the default maximum are rare; detection asks for no more.
const DEFAULT_MAX_FRAME: u32 = 1 << 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl FrameHeader {
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        })
    }

    /// Whether a header this shape is what an HTTP/2 peer sends: a known type on the right
    /// kind of stream, a length its type allows, the reserved bit clear. `strict`
    /// (detection) also wants only the type's defined flags and the default maximum frame
    /// size; a receiver ignores undefined flags (RFC 9113 §4.1), and so does the reader.
    pub fn plausible(bytes: &[u8], strict: bool) -> bool {
        let Some(h) = FrameHeader::parse(bytes) else { return false };
        if bytes[5] & 0x80 != 0 || h.len > if strict { DEFAULT_MAX_FRAME } else { MAX_FRAME } {
            return false;
        }
        let (allowed_flags, on_stream, len_ok) = match h.kind {
            DATA => (END_STREAM | PADDED, Some(true), true),
            HEADERS => (END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG, Some(true), h.len > 0),
            PRIORITY => (0, Some(true), h.len == 5),
            RST_STREAM => (0, Some(true), h.len == 4),
            SETTINGS => (0x1, Some(false), h.len % 6 == 0 && (h.flags & 1 == 0 || h.len == 0)),
            PUSH_PROMISE => (END_HEADERS | PADDED, Some(true), h.len >= 4),
            PING => (0x1, Some(false), h.len == 8),
            GOAWAY => (0, Some(false), h.len >= 8),
            WINDOW_UPDATE => (0, None, h.len == 4),
            CONTINUATION => (END_HEADERS, Some(true), true),
            _ => return false,
        };
        (!strict || h.flags & !allowed_flags == 0) && len_ok && on_stream.is_none_or(|s| s == (h.stream != 0))
    }
}

/// How many whole, plausible frames `bytes` starts with, and whether they end exactly
/// where `bytes` does (`None` when the first header is not plausible).
pub fn plausible_run(bytes: &[u8]) -> Option<(usize, bool)> {
    let mut at = 0;
    let mut frames = 0;
    while at + HEADER_LEN <= bytes.len() {
        if !FrameHeader::plausible(&bytes[at..], true) {
            return if frames == 0 { None } else { Some((frames, false)) };
        }
        let len = FrameHeader::parse(&bytes[at..]).map_or(0, |h| h.len as usize);
        if at + HEADER_LEN + len > bytes.len() {
            return Some((frames, false));
        }
        at += HEADER_LEN + len;
        frames += 1;
    }
    if frames == 0 && !bytes.is_empty() && bytes.len() < HEADER_LEN {
        return Some((0, false));
    }
    Some((frames, at == bytes.len()))
}

/// What the reader hands over.
pub enum Event<'a> {
    /// A whole frame other than DATA; `payload` is empty when it was too large to keep
    /// (`oversized`).
    Frame { header: FrameHeader, payload: &'a [u8], oversized: bool },
    /// Bytes of a DATA frame's content (padding removed), as they arrive.
    Data { header: FrameHeader, data: &'a [u8] },
    /// The DATA frame is complete.
    DataEnd { header: FrameHeader },
}

enum State {
    Header,
    /// Inside a frame: bytes left, and for DATA the padding still to skip at its end.
    /// `oversized`: a control frame longer than the reader keeps.
    Payload { header: FrameHeader, left: u32, pad: Option<u32>, oversized: bool },
}

/// Reads one direction's frames. Control frames are kept whole up to `max_payload`;
/// longer ones are skipped and reported empty.
pub struct FrameReader {
    state: State,
    buf: Vec<u8>,
    max_payload: usize,
}

impl FrameReader {
    pub fn new(max_payload: usize) -> Self {
        FrameReader { state: State::Header, buf: Vec::new(), max_payload }
    }

    /// Starts over at a frame boundary (after a gap was resynchronised).
    pub fn reset(&mut self) {
        self.state = State::Header;
        self.buf.clear();
    }

    /// Feeds bytes; `on` gets each event. Returns false when a header is not HTTP/2 (the
    /// reader then needs `reset` at a new boundary).
    pub fn feed(&mut self, mut data: &[u8], on: &mut impl FnMut(Event<'_>)) -> bool {
        while !data.is_empty() {
            match &mut self.state {
                State::Header => {
                    let take = (HEADER_LEN - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.buf.len() < HEADER_LEN {
                        return true;
                    }
                    if !FrameHeader::plausible(&self.buf, false) {
                        self.buf.clear();
                        return false;
                    }
                    let Some(header) = FrameHeader::parse(&self.buf) else { return false };
                    self.buf.clear();
                    let pad = (header.kind == DATA && header.flags & PADDED != 0).then_some(u32::MAX);
                    self.state = State::Payload { header, left: header.len, pad, oversized: false };
                    if header.len == 0 {
                        self.finish(on);
                    }
                }
                State::Payload { header, left, pad, oversized } => {
                    let header = *header;
                    let take = (*left as usize).min(data.len());
                    let (chunk, rest) = data.split_at(take);
                    data = rest;
                    *left -= take as u32;
                    if header.kind == DATA {
                        let mut chunk = chunk;
                        if *pad == Some(u32::MAX) {
                            // The first byte of a padded DATA frame is the pad length.
                            *pad = Some(chunk.first().copied().map_or(0, u32::from));
                            chunk = chunk.get(1..).unwrap_or_default();
                        }
                        let padding = pad.unwrap_or(0);
                        // Content ends where the padding (the frame's last bytes) begins.
                        let content_left = (*left + chunk.len() as u32).saturating_sub(padding);
                        let content = &chunk[..(content_left as usize).min(chunk.len())];
                        if !content.is_empty() {
                            on(Event::Data { header, data: content });
                        }
                    } else if !*oversized && self.buf.len() + chunk.len() <= self.max_payload {
                        self.buf.extend_from_slice(chunk);
                    } else {
                        *oversized = true;
                        self.buf = Vec::new();
                    }
                    if *left == 0 {
                        self.finish(on);
                    }
                }
            }
        }
        true
    }

    fn finish(&mut self, on: &mut impl FnMut(Event<'_>)) {
        let State::Payload { header, oversized, .. } = std::mem::replace(&mut self.state, State::Header) else { return };
        if header.kind == DATA {
            on(Event::DataEnd { header });
        } else {
            let payload = if oversized { &[][..] } else { &self.buf[..] };
            on(Event::Frame { header, payload, oversized });
        }
        self.buf.clear();
    }
}

/// A frame's payload without its padding and, for HEADERS, its priority fields: the
/// header block fragment (RFC 9113 §6.2).
pub fn header_block<'a>(header: &FrameHeader, payload: &'a [u8]) -> Option<&'a [u8]> {
    let mut p = payload;
    let mut pad = 0;
    if header.flags & PADDED != 0 && (header.kind == HEADERS || header.kind == PUSH_PROMISE) {
        pad = *p.first()? as usize;
        p = &p[1..];
    }
    if header.kind == HEADERS && header.flags & PRIORITY_FLAG != 0 {
        p = p.get(5..)?;
    }
    if header.kind == PUSH_PROMISE {
        p = p.get(4..)?;
    }
    p.get(..p.len().checked_sub(pad)?)
}

/// The promised stream of a PUSH_PROMISE.
pub fn promised_stream(header: &FrameHeader, payload: &[u8]) -> Option<u32> {
    let at = usize::from(header.flags & PADDED != 0);
    let b = payload.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
}

/// The error code of RST_STREAM, or GOAWAY's last stream and error code.
pub fn be_u32(payload: &[u8], at: usize) -> Option<u32> {
    let b = payload.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// RFC 9113 §7.
pub fn error_name(code: u32) -> String {
    let name = match code {
        0 => "NO_ERROR",
        1 => "PROTOCOL_ERROR",
        2 => "INTERNAL_ERROR",
        3 => "FLOW_CONTROL_ERROR",
        4 => "SETTINGS_TIMEOUT",
        5 => "STREAM_CLOSED",
        6 => "FRAME_SIZE_ERROR",
        7 => "REFUSED_STREAM",
        8 => "CANCEL",
        9 => "COMPRESSION_ERROR",
        10 => "CONNECT_ERROR",
        11 => "ENHANCE_YOUR_CALM",
        12 => "INADEQUATE_SECURITY",
        13 => "HTTP_1_1_REQUIRED",
        _ => return format!("error {code}"),
    };
    name.to_string()
}
