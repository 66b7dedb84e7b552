//! PostgreSQL's frontend/backend protocol (version 3): the startup, simple queries and
//! extended-query batches, each answered up to Ready for Query — command tags, row
//! counts, column names, errors and notices. An SSLRequest the server accepts hands the
//! connection to the TLS dissector, so its handshake is an item too.
//!
//! Parts: message framing per direction (a type byte and a length, after the startup
//! packet that has no type), the message readers (pure functions over bytes), and the
//! cycle that pairs the client's messages with the server's.

use std::collections::VecDeque;

use remora_model::{PostgresError, PostgresRequest, PostgresResponse, Protocol, Request, Response};
use rustc_hash::FxHashMap;

use super::tls::TlsFlow;
use super::{CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const POSTGRES: Protocol = Protocol::new("postgres", "3.0", "PG", "PostgreSQL frontend/backend protocol", "tcp");

/// Protocol 3.0's startup code; 3.2 (PostgreSQL 18) is 196_610: any 3.x is read alike.
const PROTOCOL_3: u32 = 196_608;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// A CancelRequest's length: 16 with 3.0's 4-byte key; from 3.2 the key is 4 to 256 bytes.
const CANCEL_LENGTHS: std::ops::RangeInclusive<usize> = 16..=268;

/// A startup packet's code for protocol 3.x, as `3.<minor>`.
fn protocol_3(code: u32) -> Option<String> {
    (code >> 16 == PROTOCOL_3 >> 16).then(|| format!("3.{}", code & 0xffff))
}
/// Largest message read whole; longer ones (a big COPY row, a huge query) are skipped
/// past, their content unread.
const MAX_MESSAGE: usize = 1 << 20;
/// SQL text kept per item.
const MAX_QUERY: usize = 4 << 10;
const MAX_COLUMNS: usize = 64;
/// Prepared statements remembered per connection.
const MAX_STATEMENTS: usize = 256;

/// Types of the messages a client sends after startup.
const CLIENT_TYPES: &[u8] = b"QPBEDSCXHpFdcf";

/// A client's startup packet (or SSL/GSS/cancel request), or a client message picked up
/// mid-connection (a Query or a Parse with a plausible length).
pub fn detect(first: &[u8]) -> Detection {
    if first.len() < 8 {
        return Detection::NeedMore;
    }
    let len = u32::from_be_bytes([first[0], first[1], first[2], first[3]]) as usize;
    let code = u32::from_be_bytes([first[4], first[5], first[6], first[7]]);
    match code {
        SSL_REQUEST | GSSENC_REQUEST if len == 8 => return Detection::Postgres,
        CANCEL_REQUEST if CANCEL_LENGTHS.contains(&len) => return Detection::Postgres,
        code if protocol_3(code).is_some() && (9..10_000).contains(&len) => return Detection::Postgres,
        _ => {}
    }
    let len = u32::from_be_bytes([first[1], first[2], first[3], first[4]]) as usize;
    if matches!(first[0], b'Q' | b'P') && (5..MAX_MESSAGE).contains(&len) {
        // The text of a query: printable up to its NUL.
        let text = &first[5..first.len().min(1 + len)];
        let printable = text.iter().take_while(|&&b| b != 0).all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80);
        if printable {
            return Detection::Postgres;
        }
    }
    Detection::Unknown
}

/// One direction's framing.
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
    /// Bytes of an over-long message still to skip.
    skip: usize,
    /// The next message is the untyped startup packet (the client's first).
    startup: bool,
}

/// A message: its type (0 for the startup packet) and body.
struct Message {
    kind: u8,
    body: Vec<u8>,
}

impl Reader {
    /// Adds `data`; returns the whole messages it completes. An over-long message comes
    /// back with an empty body.
    fn push(&mut self, mut data: &[u8]) -> Result<Vec<Message>, &'static str> {
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let (kind, header) = if self.startup { (0, 4) } else { (*self.buf.get(at).unwrap_or(&0), 5) };
            let Some(len_bytes) = self.buf.get(at + header - 4..at + header) else { break };
            let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
            if len < 4 {
                self.buf.clear();
                return Err("a message length under 4");
            }
            let total = header - 4 + len;
            if total > MAX_MESSAGE {
                out.push(Message { kind, body: Vec::new() });
                let have = self.buf.len() - at;
                self.skip = total - have.min(total);
                at = self.buf.len().min(at + total);
                self.startup = false;
                continue;
            }
            if self.buf.len() < at + total {
                break;
            }
            out.push(Message { kind, body: self.buf[at + header..at + total].to_vec() });
            at += total;
            self.startup = false;
        }
        self.buf.drain(..at);
        Ok(out)
    }
}

/// NUL-terminated strings of a message body.
fn cstrings(body: &[u8]) -> impl Iterator<Item = String> + '_ {
    body.split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned())
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_QUERY {
        let mut end = MAX_QUERY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The fields of an ErrorResponse or NoticeResponse: severity, code, message.
pub fn error_fields(body: &[u8]) -> PostgresError {
    let mut error = PostgresError::default();
    for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let value = String::from_utf8_lossy(&field[1..]).into_owned();
        match field[0] {
            b'S' => error.severity = value,
            b'V' if error.severity.is_empty() => error.severity = value,
            b'C' => error.code = value,
            b'M' => error.message = value,
            _ => {}
        }
    }
    error
}

/// Column names of a RowDescription.
fn columns(body: &[u8]) -> Vec<String> {
    let Some(count) = body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])) else { return Vec::new() };
    let mut out = Vec::new();
    let mut rest = &body[2..];
    for _ in 0..count {
        let Some(end) = rest.iter().position(|b| *b == 0) else { break };
        if out.len() < MAX_COLUMNS {
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        }
        // Name, NUL, then 18 bytes of table, column, type, size, modifier, format.
        rest = rest.get(end + 1 + 18..).unwrap_or_default();
    }
    out
}

/// A request being built from the client's messages, or sent and waiting.
struct Cycle {
    request: PostgresRequest,
    start: Timestamp,
    size: u64,
}

pub struct PostgresFlow {
    client: Option<Dir>,
    readers: [Reader; 2],
    /// The extended batch being gathered (until Sync).
    building: Option<Cycle>,
    /// Sent and waiting for Ready for Query, in order.
    waiting: VecDeque<Cycle>,
    /// What the server said so far for the oldest waiting request.
    answer: PostgresResponse,
    answer_size: u64,
    /// Prepared statements seen: name → SQL.
    statements: FxHashMap<String, String>,
    /// After an accepted SSLRequest, the rest of the connection is TLS.
    tls: Option<TlsFlow>,
    limits: DissectLimits,
    stats: DissectStats,
}

impl PostgresFlow {
    pub fn new(limits: DissectLimits) -> Self {
        PostgresFlow {
            client: None,
            readers: Default::default(),
            building: None,
            waiting: VecDeque::new(),
            answer: PostgresResponse::default(),
            answer_size: 0,
            statements: FxHashMap::default(),
            tls: None,
            limits,
            stats: DissectStats::default(),
        }
    }

    fn send(&mut self, cycle: Cycle) {
        if self.waiting.len() >= self.limits.max_pending {
            self.stats.pending_overflows += 1;
            return;
        }
        self.waiting.push_back(cycle);
    }

    /// The extended batch being gathered, begun by this message if none is.
    fn batch(&mut self, ts: Timestamp) -> &mut Cycle {
        self.building.get_or_insert_with(|| Cycle { request: PostgresRequest { kind: "extended".into(), prepared: true, ..Default::default() }, start: ts, size: 0 })
    }

    fn client_message(&mut self, message: Message, ts: Timestamp) {
        let size = message.body.len() as u64 + 5;
        let body = &message.body;
        match message.kind {
            0 => {
                let code = body.get(..4).map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                let mut request = PostgresRequest::default();
                match code {
                    SSL_REQUEST => request.kind = "ssl".into(),
                    GSSENC_REQUEST => request.kind = "gssenc".into(),
                    CANCEL_REQUEST => request.kind = "cancel".into(),
                    code => {
                        request.kind = "startup".into();
                        request.version = protocol_3(code).unwrap_or_default();
                        let mut words = cstrings(&body[4.min(body.len())..]);
                        while let (Some(key), Some(value)) = (words.next(), words.next()) {
                            match key.as_str() {
                                "user" => request.user = value,
                                "database" => request.database = value,
                                "application_name" => request.application = value,
                                _ => {}
                            }
                        }
                    }
                }
                let cancel = request.kind == "cancel";
                let cycle = Cycle { request, start: ts, size: size - 1 };
                // A cancel request gets no answer: it is an item at once (see `data`).
                if !cancel {
                    self.send(cycle);
                } else {
                    self.building = Some(cycle);
                }
            }
            b'Q' => {
                let query = cut(cstrings(body).next().unwrap_or_default());
                self.send(Cycle { request: PostgresRequest { kind: "simple".into(), query, ..Default::default() }, start: ts, size });
            }
            b'P' => {
                let mut words = cstrings(body);
                let (name, query) = (words.next().unwrap_or_default(), cut(words.next().unwrap_or_default()));
                if self.statements.len() < MAX_STATEMENTS || self.statements.contains_key(&name) {
                    self.statements.insert(name.clone(), query.clone());
                }
                let cycle = self.batch(ts);
                cycle.request.query = query;
                cycle.request.statement = name;
                cycle.request.prepared = false;
                cycle.size += size;
            }
            b'B' => {
                let mut parts = body.splitn(3, |b| *b == 0);
                let _portal = parts.next();
                let statement = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
                // Parameter format codes, then the number of parameters.
                let rest = parts.next().unwrap_or_default();
                let formats = rest.get(..2).map_or(0, |c| usize::from(u16::from_be_bytes([c[0], c[1]])));
                let parameters = rest.get(2 + 2 * formats..4 + 2 * formats).map_or(0, |c| u32::from(u16::from_be_bytes([c[0], c[1]])));
                let known = self.statements.get(&statement).cloned();
                let cycle = self.batch(ts);
                if cycle.request.query.is_empty() {
                    cycle.request.query = known.unwrap_or_default();
                    cycle.request.statement = statement;
                }
                cycle.request.parameters = parameters;
                cycle.size += size;
            }
            b'S' => {
                let cycle = self.batch(ts);
                cycle.size += size;
                if let Some(cycle) = self.building.take() {
                    self.send(cycle);
                }
            }
            b'C' if body.first() == Some(&b'S') => {
                let name = cstrings(&body[1..]).next().unwrap_or_default();
                self.statements.remove(&name);
                self.batch(ts).size += size;
            }
            b'X' => {}
            // Password and SASL messages belong to the startup waiting for its answer.
            b'p' if self.waiting.back().is_some_and(|c| c.request.kind == "startup") => {
                if let Some(startup) = self.waiting.back_mut() {
                    startup.size += size;
                }
            }
            kind if CLIENT_TYPES.contains(&kind) => self.batch(ts).size += size,
            _ => self.stats.parse_errors += 1,
        }
    }

    fn server_message(&mut self, message: Message, ts: Timestamp, client: Dir, out: &mut Vec<Exchange>) {
        self.answer_size += message.body.len() as u64 + 5;
        let body = &message.body;
        match message.kind {
            b'C' => self.answer.tags.push(cstrings(body).next().unwrap_or_default()),
            b'D' => self.answer.rows += 1,
            b'T' => self.answer.columns = columns(body),
            b'E' => self.answer.error = Some(error_fields(body)),
            b'N' => self.answer.notices += 1,
            // NegotiateProtocolVersion: the newest minor version the server speaks, when
            // the client asked for a newer one (or for options it does not know).
            b'v' => self.answer.version = body.get(..4).map(|m| format!("3.{}", u32::from_be_bytes([m[0], m[1], m[2], m[3]]))).unwrap_or_default(),
            b'Z' => {
                self.answer.status = match body.first() {
                    Some(b'T') => "transaction",
                    Some(b'E') => "failed",
                    _ => "idle",
                }
                .into();
                self.finish(ts, client, out);
            }
            _ => {}
        }
    }

    /// The oldest waiting request is answered.
    fn finish(&mut self, ts: Timestamp, client: Dir, out: &mut Vec<Exchange>) {
        let answer = std::mem::take(&mut self.answer);
        let size = std::mem::take(&mut self.answer_size);
        let Some(cycle) = self.waiting.pop_front() else { return };
        out.push(exchange(cycle, Some((answer, ts, size)), None, client));
    }
}

fn exchange(cycle: Cycle, answer: Option<(PostgresResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>, client: Dir) -> Exchange {
    let answer = answer.map(|(answer, end, size)| (Response::Postgres(Box::new(answer)), end, size));
    Exchange::new(POSTGRES, client, Request::Postgres(Box::new(cycle.request)), cycle.start, cycle.size, answer, error)
}

impl StreamDissector for PostgresFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        if let Some(tls) = &mut self.tls {
            return tls.data(dir, data, ts, out);
        }
        let client = match self.client {
            Some(client) => client,
            None => {
                // The client sends first: the startup packet, or (mid-way) a typed message.
                let startup = data.get(4..8).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).is_some_and(|code| matches!(code, SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST) || protocol_3(code).is_some());
                self.readers[dir.index()].startup = startup;
                self.client = Some(dir);
                dir
            }
        };
        // The answer to an SSL or GSS request is one untyped byte.
        let encryption = dir != client && self.waiting.front().is_some_and(|c| matches!(c.request.kind.as_str(), "ssl" | "gssenc"));
        if encryption && !data.is_empty() {
            let accepted = data[0] == b'S' || data[0] == b'G';
            self.answer.status = if accepted { "accepted" } else { "refused" }.into();
            self.answer_size = 1;
            self.finish(ts, client, out);
            if accepted {
                self.tls = Some(TlsFlow::new(self.limits));
                if data.len() > 1 {
                    self.data(dir, &data[1..], ts, out);
                }
                return;
            }
            return self.data(dir, &data[1..], ts, out);
        }
        let messages = match self.readers[dir.index()].push(data) {
            Ok(messages) => messages,
            Err(_) => {
                self.stats.parse_errors += 1;
                return;
            }
        };
        for message in messages {
            if dir == client {
                self.client_message(message, ts);
                if let Some(cancel) = self.building.take_if(|c| c.request.kind == "cancel") {
                    out.push(exchange(cancel, None, None, client));
                }
            } else {
                self.server_message(message, ts, client, out);
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        // Framing is lost in that direction: what is buffered goes, and what waits on it.
        let reader = &mut self.readers[dir.index()];
        reader.buf.clear();
        reader.skip = 0;
        if Some(dir) == self.client {
            self.building = None;
        } else {
            self.answer = PostgresResponse::default();
        }
        self.stats.parse_errors += 1;
    }

    fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        if let Some(tls) = &mut self.tls {
            tls.close(ts, reason, out);
        }
        let client = self.client.unwrap_or(Dir::Forward);
        for cycle in self.waiting.drain(..) {
            out.push(exchange(cycle, None, reason.unanswered(), client));
        }
    }

    fn stats(&self) -> DissectStats {
        let mut stats = self.stats;
        if let Some(tls) = &self.tls {
            stats.parse_errors += tls.stats().parse_errors;
        }
        stats
    }

    fn protocol_name(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn run(chunks: &[(Dir, Vec<u8>)]) -> Vec<Exchange> {
        let mut flow = PostgresFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        for (n, (dir, data)) in chunks.iter().enumerate() {
            flow.data(*dir, data, Timestamp(n as i64), &mut out);
        }
        flow.close(Timestamp(99), CloseReason::EndOfCapture, &mut out);
        out
    }

    fn request(e: &Exchange) -> &PostgresRequest {
        let Request::Postgres(r) = &e.request else { panic!("{:?}", e.request) };
        r
    }

    fn answer(e: &Exchange) -> &PostgresResponse {
        let Some(Response::Postgres(r)) = &e.response else { panic!("{:?}", e.response) };
        r
    }

    #[test]
    fn startup_simple_and_extended_queries() {
        let mut startup = 196_608u32.to_be_bytes().to_vec();
        startup.extend_from_slice(b"user\0alice\0database\0shop\0\0");
        let mut packet = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
        packet.extend_from_slice(&startup);
        assert_eq!(detect(&packet), Detection::Postgres);
        let mut server = message(b'R', &[0, 0, 0, 0]);
        server.extend(message(b'Z', b"I"));
        let mut select = message(b'Q', b"SELECT 1; SELECT 2\0");
        select.extend(message(b'P', b"s1\0SELECT $1\0\0\0"));
        select.extend(message(b'B', b"\0s1\0\0\0\0\x01\0\0\0\x011\0\0"));
        select.extend(message(b'E', b"\0\0\0\0\0"));
        select.extend(message(b'S', b""));
        select.extend(message(b'B', b"\0s1\0\0\0\0\x01\0\0\0\x012\0\0"));
        select.extend(message(b'E', b"\0\0\0\0\0"));
        select.extend(message(b'S', b""));
        let mut rows = message(b'T', b"\0\x01a\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0");
        rows.extend(message(b'D', b"\0\x01\0\0\0\x011"));
        rows.extend(message(b'C', b"SELECT 1\0"));
        rows.extend(message(b'E', b"SERROR\0C42601\0Msyntax error\0\0"));
        rows.extend(message(b'Z', b"I"));
        rows.extend(message(b'1', b""));
        rows.extend(message(b'2', b""));
        rows.extend(message(b'C', b"SELECT 1\0"));
        rows.extend(message(b'Z', b"T"));
        let out = run(&[(Dir::Forward, packet), (Dir::Reverse, server), (Dir::Forward, select[..7].to_vec()), (Dir::Forward, select[7..].to_vec()), (Dir::Reverse, rows)]);
        assert_eq!(out.len(), 4, "{out:#?}");
        assert_eq!((request(&out[0]).kind.as_str(), request(&out[0]).user.as_str(), request(&out[0]).database.as_str()), ("startup", "alice", "shop"));
        assert_eq!(request(&out[1]).query, "SELECT 1; SELECT 2");
        let first = answer(&out[1]);
        assert_eq!((first.tags.clone(), first.rows, first.columns.clone()), (vec!["SELECT 1".to_string()], 1, vec!["a".to_string()]));
        assert_eq!(first.error.as_ref().map(|e| (e.code.as_str(), e.message.as_str())), Some(("42601", "syntax error")));
        assert_eq!((request(&out[2]).kind.as_str(), request(&out[2]).query.as_str(), request(&out[2]).prepared, request(&out[2]).parameters), ("extended", "SELECT $1", false, 1));
        assert_eq!((request(&out[3]).query.as_str(), request(&out[3]).statement.as_str(), request(&out[3]).prepared), ("SELECT $1", "s1", true));
        assert_eq!(out[3].error.as_ref().map(|e| e.kind), Some(remora_model::ItemErrorKind::Timeout), "no Ready for Query for the last batch");
        let _ = answer(&out[2]);
    }

    #[test]
    fn an_accepted_ssl_request_hands_over_to_tls() {
        let mut ssl = 8u32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&80_877_103u32.to_be_bytes());
        let out = run(&[(Dir::Forward, ssl), (Dir::Reverse, b"S".to_vec()), (Dir::Forward, vec![22, 3, 1, 0, 4, 1, 0, 0, 0])]);
        assert_eq!(out.len(), 1, "the TLS hello is cut short: no TLS item, the SSL one stands");
        assert_eq!((request(&out[0]).kind.as_str(), answer(&out[0]).status.as_str()), ("ssl", "accepted"));
        assert_eq!(detect(b"Q\0\0\0\x0dSELECT 1;\0"), Detection::Postgres);
        assert_eq!(detect(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
    }

    /// Protocol 3.2 (PostgreSQL 18): the startup asks for 3.2, BackendKeyData carries a
    /// longer key, a CancelRequest is longer; a server that speaks only 3.0 answers with
    /// NegotiateProtocolVersion.
    #[test]
    fn protocol_3_2_and_its_negotiation() {
        let mut startup = 196_610u32.to_be_bytes().to_vec();
        startup.extend_from_slice(b"user\0alice\0_pq_.x\0y\0\0");
        let mut packet = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
        packet.extend_from_slice(&startup);
        assert_eq!(detect(&packet), Detection::Postgres);
        let mut server = message(b'v', b"\0\0\0\0\0\0\0\x01_pq_.x\0");
        server.extend(message(b'R', &[0, 0, 0, 0]));
        server.extend(message(b'K', &[7; 36]));
        server.extend(message(b'Z', b"I"));
        let out = run(&[(Dir::Forward, packet), (Dir::Reverse, server)]);
        assert_eq!((request(&out[0]).kind.as_str(), request(&out[0]).version.as_str(), request(&out[0]).user.as_str()), ("startup", "3.2", "alice"));
        assert_eq!((answer(&out[0]).version.as_str(), answer(&out[0]).status.as_str()), ("3.0", "idle"));

        let mut cancel = 44u32.to_be_bytes().to_vec();
        cancel.extend_from_slice(&80_877_102u32.to_be_bytes());
        cancel.extend_from_slice(&[1; 36]);
        assert_eq!(detect(&cancel), Detection::Postgres, "a 3.2 cancel request, with a 32-byte key");
        let out = run(&[(Dir::Forward, cancel)]);
        assert_eq!(request(&out[0]).kind, "cancel");
    }
}
