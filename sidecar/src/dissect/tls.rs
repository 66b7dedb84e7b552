//! TLS handshakes: the ClientHello (server name, ALPN, versions and cipher suites offered,
//! ECH) paired with the ServerHello (version, cipher suite and ALPN chosen). Nothing is
//! decrypted: once both hellos are read (or the handshake turns encrypted) the flow's
//! bytes are skipped.
//!
//! Parts: record and handshake framing per direction (handshake messages may span
//! records and records span segments), the hello parsers (pure functions over bytes), and
//! the names of versions and cipher suites.

use remora_model::{Protocol, Request, Response, TlsRequest, TlsResponse};

use super::cursor::Cursor;
use super::{CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const TLS_1_2: Protocol = Protocol::new("tls", "1.2", "TLS", "Transport Layer Security", "tcp");
const TLS_1_3: Protocol = Protocol::new("tls", "1.3", "TLS", "Transport Layer Security", "tcp");
const TLS: Protocol = Protocol::new("tls", "", "TLS", "Transport Layer Security", "tcp");

const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
/// Longest handshake message read (a ClientHello with a post-quantum key share is ~1.8 KiB).
const MAX_MESSAGE: usize = 64 << 10;
/// The random of a ServerHello that is a HelloRetryRequest (RFC 8446, 4.1.3).
const HELLO_RETRY: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09,
    0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A TLS record carrying a ClientHello: content type 22, a 3.x version, a handshake of
/// type 1.
pub fn detect(first: &[u8]) -> Detection {
    match first {
        [HANDSHAKE, 3, 0..=4, _, _, CLIENT_HELLO, ..] => Detection::Tls,
        [HANDSHAKE, 3, 0..=4, ..] | [HANDSHAKE, 3] | [HANDSHAKE] => Detection::NeedMore,
        _ => Detection::Unknown,
    }
}

/// `TLS 1.2`, `SSL 3.0`, `TLS 1.3 draft 28`, or the number.
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft {}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// GREASE values (RFC 8701): `0x?a?a`, sent to keep servers honest, meaning nothing.
pub fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

/// The IANA name of a cipher suite, or `0x....`.
pub fn cipher_suite_name(suite: u16) -> String {
    // IANA's registry as rustls lists it (its TLS 1.3 suites are spelt TLS13_); the
    // fallback signal is not a suite rustls knows.
    if suite == 0x5600 {
        return "TLS_FALLBACK_SCSV".into();
    }
    match rustls::CipherSuite::from(suite).as_str() {
        Some(name) => name.strip_prefix("TLS13_").map_or_else(|| name.to_string(), |rest| format!("TLS_{rest}")),
        None => format!("0x{suite:04x}"),
    }
}

/// TLS's readers: length-prefixed vectors and extension lists.
impl<'a> Cursor<'a> {
    /// A vector with a length prefix of `width` bytes (1 or 2).
    fn vector(&mut self, width: usize) -> Option<Cursor<'a>> {
        let len = match width {
            1 => usize::from(self.u8()?),
            _ => usize::from(self.u16_be()?),
        };
        self.take(len).map(Cursor)
    }

    /// `(type, body)` of each extension.
    fn extensions(&mut self) -> Vec<(u16, Cursor<'a>)> {
        let Some(mut all) = self.vector(2) else { return Vec::new() };
        let mut out = Vec::new();
        while let (Some(kind), Some(body)) = (all.u16_be(), all.vector(2)) {
            out.push((kind, body));
        }
        out
    }
}

const SERVER_NAME: u16 = 0;
const ALPN: u16 = 16;
const SUPPORTED_VERSIONS: u16 = 43;
const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

/// A ClientHello's body (after the 4-byte handshake header).
pub fn client_hello(body: &[u8]) -> Option<TlsRequest> {
    let mut b = Cursor(body);
    let version = b.u16_be()?;
    b.take(32)?;
    b.vector(1)?;
    let mut suites = b.vector(2)?;
    let mut cipher_suites = Vec::new();
    while let Some(suite) = suites.u16_be() {
        if !is_grease(suite) {
            cipher_suites.push(cipher_suite_name(suite));
        }
    }
    b.vector(1)?;
    let mut hello = TlsRequest { version: version_name(version), cipher_suites, ..TlsRequest::default() };
    for (kind, mut ext) in b.extensions() {
        match kind {
            SERVER_NAME => {
                let mut names = ext.vector(2)?;
                while let (Some(name_type), Some(name)) = (names.u8(), names.vector(2)) {
                    if name_type == 0 {
                        hello.server_name = String::from_utf8_lossy(name.0).into_owned();
                    }
                }
            }
            ALPN => hello.alpn = protocols(&mut ext),
            SUPPORTED_VERSIONS => {
                let mut versions = ext.vector(1)?;
                while let Some(v) = versions.u16_be() {
                    if !is_grease(v) {
                        hello.supported_versions.push(version_name(v));
                    }
                }
            }
            ENCRYPTED_CLIENT_HELLO => hello.ech = true,
            _ => {}
        }
    }
    Some(hello)
}

fn protocols(ext: &mut Cursor<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(mut list) = ext.vector(2) {
        while let Some(name) = list.vector(1) {
            out.push(String::from_utf8_lossy(name.0).into_owned());
        }
    }
    out
}

/// A ServerHello's body; the number of the version negotiated besides.
pub fn server_hello(body: &[u8]) -> Option<(TlsResponse, u16)> {
    let mut b = Cursor(body);
    let mut version = b.u16_be()?;
    let random = b.take(32)?;
    b.vector(1)?;
    let suite = b.u16_be()?;
    b.u8()?;
    let mut alpn = String::new();
    for (kind, mut ext) in b.extensions() {
        match kind {
            SUPPORTED_VERSIONS => version = ext.u16_be()?,
            ALPN => alpn = protocols(&mut ext).into_iter().next().unwrap_or_default(),
            _ => {}
        }
    }
    let hello = TlsResponse { version: version_name(version), cipher_suite: cipher_suite_name(suite), alpn, hello_retry_request: random == HELLO_RETRY };
    Some((hello, version))
}

/// One direction: the handshake bytes gathered from its records, until its hello is read.
#[derive(Default)]
struct Side {
    /// Bytes of records not yet whole.
    records: Vec<u8>,
    /// Handshake bytes out of whole records.
    handshake: Vec<u8>,
    /// Done with this direction: its hello is read, or it stopped being a handshake.
    done: bool,
    bytes: u64,
}

impl Side {
    /// Adds `data`; returns the first handshake message of `wanted` type once whole.
    fn push(&mut self, data: &[u8], wanted: u8) -> Result<Option<Vec<u8>>, &'static str> {
        if self.done {
            return Ok(None);
        }
        self.bytes += data.len() as u64;
        self.records.extend_from_slice(data);
        // Whole records: their handshake bytes move on, up to the first record of another
        // kind (ChangeCipherSpec, an alert, encrypted data), after which none is read.
        let mut at = 0;
        let mut other = false;
        while let [kind, 3, _, hi, lo, ..] = self.records[at..] {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if self.records.len() < at + 5 + len {
                break;
            }
            if kind != HANDSHAKE {
                other = true;
                break;
            }
            self.handshake.extend_from_slice(&self.records[at + 5..at + 5 + len]);
            at += 5 + len;
        }
        self.records.drain(..at);
        if let [kind, a, b, c, ..] = self.handshake[..] {
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if self.handshake.len() >= 4 + len {
                self.done = true;
                if kind != wanted {
                    return Err("the first handshake message is not the hello expected");
                }
                return Ok(Some(self.handshake[4..4 + len].to_vec()));
            }
        }
        if other {
            self.done = true;
            return Ok(None);
        }
        if self.records.len() >= 2 && self.records[1] != 3 {
            self.done = true;
            return Err("not a TLS record");
        }
        if self.records.len() + self.handshake.len() > MAX_MESSAGE {
            self.done = true;
            return Err("a hello longer than 64 KiB");
        }
        Ok(None)
    }
}

pub struct TlsFlow {
    client: Option<Dir>,
    sides: [Side; 2],
    hello: Option<(TlsRequest, Timestamp, u64)>,
    /// The exchange was emitted (or cannot be): later bytes are skipped.
    finished: bool,
    stats: DissectStats,
}

impl TlsFlow {
    pub fn new(_limits: DissectLimits) -> Self {
        TlsFlow { client: None, sides: Default::default(), hello: None, finished: false, stats: DissectStats::default() }
    }

    fn fail(&mut self) {
        self.stats.parse_errors += 1;
        self.finished = self.hello.is_none() || self.finished;
    }
}

impl StreamDissector for TlsFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        if self.finished {
            return;
        }
        // The client speaks first with its ClientHello.
        let client = *self.client.get_or_insert(dir);
        let wanted = if dir == client { CLIENT_HELLO } else { SERVER_HELLO };
        let side = &mut self.sides[dir.index()];
        let message = match side.push(data, wanted) {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(_) => return self.fail(),
        };
        if dir == client {
            match client_hello(&message) {
                Some(hello) => self.hello = Some((hello, ts, self.sides[dir.index()].bytes)),
                None => self.fail(),
            }
            return;
        }
        let Some((request, start, request_size)) = self.hello.take() else { return };
        self.finished = true;
        let (response, protocol) = match server_hello(&message) {
            Some((hello, 0x0304)) => (Some(hello), TLS_1_3),
            Some((hello, _)) => (Some(hello), TLS_1_2),
            None => {
                self.stats.parse_errors += 1;
                (None, TLS)
            }
        };
        out.push(Exchange {
            protocol,
            request_dir: client,
            request: Request::Tls(Box::new(request)),
            response: response.map(|r| Response::Tls(Box::new(r))),
            request_start: start,
            response_end: Some(ts),
            request_size,
            response_size: self.sides[dir.index()].bytes,
            error: None,
        });
    }

    fn gap(&mut self, _dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        // A hello with a hole cannot be read; the rest of the connection is encrypted.
        if self.hello.is_none() {
            self.finished = true;
        }
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        if let Some((request, start, size)) = self.hello.take() {
            out.push(Exchange {
                protocol: TLS,
                request_dir: self.client.unwrap_or(Dir::Forward),
                request: Request::Tls(Box::new(request)),
                response: None,
                request_start: start,
                response_end: None,
                request_size: size,
                response_size: 0,
                error: reason.unanswered(),
            });
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "tls"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record: SNI, ALPN, supported_versions with GREASE, two suites.
    fn client_hello_record() -> Vec<u8> {
        let mut ext = Vec::new();
        let name = b"example.com";
        ext.extend_from_slice(&[0, 0, 0, (name.len() + 5) as u8, 0, (name.len() + 3) as u8, 0, 0, name.len() as u8]);
        ext.extend_from_slice(name);
        ext.extend_from_slice(&[0, 16, 0, 14, 0, 12, 2, b'h', b'2', 8]);
        ext.extend_from_slice(b"http/1.1");
        ext.extend_from_slice(&[0, 43, 0, 7, 6, 0x8a, 0x8a, 3, 4, 3, 3]);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0, 6, 0x2a, 0x2a, 0x13, 0x01, 0xc0, 0x2f, 1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![CLIENT_HELLO, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        record.extend_from_slice(&hs);
        record
    }

    fn server_hello_record(retry: bool) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&if retry { HELLO_RETRY } else { [9; 32] });
        body.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
        let mut hs = vec![SERVER_HELLO, 0, 0, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE, 3, 3, 0, hs.len() as u8];
        record.extend_from_slice(&hs);
        record
    }

    #[test]
    fn hellos_in_pieces_make_one_item() {
        let ch = client_hello_record();
        let mut flow = TlsFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        assert_eq!(detect(&ch), Detection::Tls);
        // Split mid-record and mid-handshake-header.
        flow.data(Dir::Forward, &ch[..3], Timestamp(1), &mut out);
        flow.data(Dir::Forward, &ch[3..40], Timestamp(2), &mut out);
        flow.data(Dir::Forward, &ch[40..], Timestamp(3), &mut out);
        // TLS 1.3's first flight: the ServerHello, ChangeCipherSpec, encrypted records.
        let mut flight = server_hello_record(false);
        flight.extend_from_slice(&[20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 3, 9, 9, 9]);
        flow.data(Dir::Reverse, &flight, Timestamp(4), &mut out);
        flow.data(Dir::Forward, &[23, 3, 3, 0, 2, 1, 2], Timestamp(5), &mut out);
        flow.close(Timestamp(6), CloseReason::Closed, &mut out);
        assert_eq!(out.len(), 1);
        let Request::Tls(hello) = &out[0].request else { panic!() };
        assert_eq!(hello.server_name, "example.com");
        assert_eq!(hello.alpn, ["h2", "http/1.1"]);
        assert_eq!(hello.supported_versions, ["TLS 1.3", "TLS 1.2"]);
        assert_eq!(hello.cipher_suites, ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]);
        let Some(Response::Tls(chosen)) = &out[0].response else { panic!() };
        assert_eq!((chosen.version.as_str(), chosen.cipher_suite.as_str(), chosen.hello_retry_request), ("TLS 1.3", "TLS_AES_128_GCM_SHA256", false));
        assert_eq!(out[0].protocol.version, "1.3");
        assert_eq!(server_hello(&server_hello_record(true)[9..]).map(|(h, _)| h.hello_retry_request), Some(true));
    }

    #[test]
    fn broken_hellos_are_counted_not_trusted() {
        let record = client_hello_record();
        let body = &record[9..];
        // Extensions whose length points past the message: the hello reads without them.
        assert!(client_hello(&body[..body.len() - 3]).is_some_and(|h| h.server_name.is_empty() && h.cipher_suites.len() == 2));
        assert_eq!(client_hello(&body[..10]), None, "cut inside the random");
        let mut flow = TlsFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        flow.data(Dir::Forward, &[22, 9, 9, 0, 1, 1], Timestamp(1), &mut out);
        flow.close(Timestamp(2), CloseReason::Closed, &mut out);
        assert!(out.is_empty());
        assert_eq!(flow.stats().parse_errors, 1);
        assert!(is_grease(0x8a8a) && !is_grease(0x1301));
        assert_eq!(detect(b"GET /"), Detection::Unknown);
    }
}
