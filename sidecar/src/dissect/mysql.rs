//! MySQL's client/server protocol: the handshake (server version, user, database, the
//! authentication's outcome), then each command with its answer — OK (affected rows, last
//! insert id), error (code, SQLSTATE, message), or a result set (column names, row count),
//! prepared statements remembered so an Execute shows its SQL.
//!
//! Parts: packet framing per direction (3-byte length, sequence id), the packet readers
//! (pure functions over bytes), and the answer's state machine, which knows from the
//! command what the server's next packet means.

use std::collections::VecDeque;

use remora_model::{MysqlError, MysqlRequest, MysqlResponse, Protocol, Request, Response};
use rustc_hash::FxHashMap;

use super::cursor::Cursor;
use super::{CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const MYSQL: Protocol = Protocol::new("mysql", "10", "MYSQL", "MySQL client/server protocol", "tcp");

const MAX_PACKET: usize = 1 << 20;
const MAX_QUERY: usize = 4 << 10;
const MAX_COLUMNS: usize = 64;
const MAX_STATEMENTS: usize = 256;
/// Capability flags that change the framing of answers.
const CLIENT_CONNECT_WITH_DB: u32 = 0x0008;
const CLIENT_PROTOCOL_41: u32 = 0x0200;
const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;
/// MySQL 8.0.23+: a COM_QUERY starts with the query's attributes (count, set count, then
/// their types, names and values) before the SQL.
const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;

const COM_QUIT: u8 = 1;
const COM_INIT_DB: u8 = 2;
const COM_QUERY: u8 = 3;
const COM_FIELD_LIST: u8 = 4;
const COM_STATISTICS: u8 = 9;
const COM_STMT_PREPARE: u8 = 22;
const COM_STMT_EXECUTE: u8 = 23;
const COM_STMT_SEND_LONG_DATA: u8 = 24;
const COM_STMT_CLOSE: u8 = 25;

fn command_name(command: u8) -> String {
    let name = match command {
        0 => "Sleep",
        COM_QUIT => "Quit",
        COM_INIT_DB => "InitDB",
        COM_QUERY => "Query",
        COM_FIELD_LIST => "FieldList",
        5 => "CreateDB",
        6 => "DropDB",
        7 => "Refresh",
        COM_STATISTICS => "Statistics",
        10 => "ProcessInfo",
        12 => "ProcessKill",
        13 => "Debug",
        14 => "Ping",
        17 => "ChangeUser",
        COM_STMT_PREPARE => "Prepare",
        COM_STMT_EXECUTE => "Execute",
        COM_STMT_SEND_LONG_DATA => "SendLongData",
        COM_STMT_CLOSE => "Close",
        26 => "Reset",
        27 => "SetOption",
        28 => "Fetch",
        31 => "ResetConnection",
        other => return format!("Command{other}"),
    };
    name.into()
}

/// A server's initial handshake (protocol 10 and a version string), or a client's Query or
/// Prepare with printable SQL (a connection picked up mid-way).
pub fn detect(first: &[u8]) -> Detection {
    if first.len() < 6 {
        return Detection::NeedMore;
    }
    let len = usize::from(first[0]) | usize::from(first[1]) << 8 | usize::from(first[2]) << 16;
    let (seq, payload) = (first[3], &first[4..]);
    if seq != 0 || !(2..=MAX_PACKET).contains(&len) {
        return Detection::Unknown;
    }
    let mut text = &payload[1..payload.len().min(len)];
    // A MySQL 8 query with no attributes (count 0, one set) before its SQL.
    if payload[0] == COM_QUERY && text.starts_with(&[0, 1]) {
        text = &text[2..];
    }
    let printable = |t: &[u8]| t.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80);
    match payload[0] {
        0x0a => {
            // "5.7.33-log\0": digits and dots up to a NUL.
            let version: Vec<u8> = text.iter().copied().take_while(|b| *b != 0).collect();
            let plausible = !version.is_empty() && version[0].is_ascii_digit() && printable(&version);
            if plausible && text.len() > version.len() { Detection::Mysql } else { Detection::Unknown }
        }
        COM_QUERY | COM_STMT_PREPARE if len > 6 && printable(text) => {
            let word: String = text.iter().take_while(|b| b.is_ascii_alphabetic()).map(|b| b.to_ascii_uppercase() as char).collect();
            if ["SELECT", "INSERT", "UPDATE", "DELETE", "SET", "SHOW", "CREATE", "DROP", "ALTER", "BEGIN", "COMMIT", "ROLLBACK", "USE", "CALL", "REPLACE", "START", "EXPLAIN", "DESCRIBE", "WITH"].contains(&word.as_str()) {
                Detection::Mysql
            } else {
                Detection::Unknown
            }
        }
        _ => Detection::Unknown,
    }
}

/// MySQL's readers: length-encoded integers and strings, NUL-terminated strings.
impl Cursor<'_> {
    /// A length-encoded integer.
    fn lenenc(&mut self) -> Option<u64> {
        match self.u8()? {
            n @ 0..=0xfa => Some(u64::from(n)),
            0xfc => self.take(2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]]))),
            0xfd => self.take(3).map(|b| u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16),
            0xfe => self.take(8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
            _ => None,
        }
    }

    fn lenenc_str(&mut self) -> Option<String> {
        let len = usize::try_from(self.lenenc()?).ok()?;
        self.take(len).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn cstr(&mut self) -> Option<String> {
        let end = self.0.iter().position(|b| *b == 0)?;
        let text = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end + 1..];
        Some(text)
    }
}

/// The bytes a binary-protocol value of `mysql_type` takes at the start of `b`'s rest.
fn skip_binary_value(b: &mut Cursor<'_>, mysql_type: u8) -> Option<()> {
    let fixed = match mysql_type {
        1 => 1,                 // TINY
        2 | 13 => 2,            // SHORT, YEAR
        3 | 4 | 9 => 4,         // LONG, FLOAT, INT24
        5 | 8 => 8,             // DOUBLE, LONGLONG
        6 => 0,                 // NULL
        7 | 10..=12 => {
            // TIMESTAMP, DATE, TIME, DATETIME: a length byte, then that many.
            let len = b.u8()?;
            usize::from(len)
        }
        // DECIMAL, VARCHAR, BIT, JSON, NEWDECIMAL, ENUM, SET, the BLOBs, strings, GEOMETRY.
        0 | 15 | 16 | 245..=255 => {
            let len = usize::try_from(b.lenenc()?).ok()?;
            b.take(len)?;
            return Some(());
        }
        _ => return None,
    };
    b.take(fixed).map(|_| ())
}

/// The SQL of a COM_QUERY payload (after the command byte) that carries query attributes:
/// their count, the set count (1), a null bitmap, the bind flag, each one's type and name,
/// then the values. None when the attributes do not read.
fn after_query_attributes(body: &[u8]) -> Option<&[u8]> {
    let mut b = Cursor(body);
    let count = usize::try_from(b.lenenc()?).ok()?;
    let sets = b.lenenc()?;
    if sets != 1 || count > 1024 {
        return None;
    }
    if count > 0 {
        let nulls = b.take(count.div_ceil(8))?.to_vec();
        let bind = b.u8()?;
        let mut types = Vec::with_capacity(count);
        if bind == 1 {
            for _ in 0..count {
                let type_and_flag = b.u16_le()?;
                types.push(type_and_flag.to_le_bytes()[0]);
                b.lenenc_str()?;
            }
        } else {
            // Without types the values cannot be measured.
            return None;
        }
        for (i, mysql_type) in types.into_iter().enumerate() {
            if nulls[i / 8] & (1 << (i % 8)) == 0 {
                skip_binary_value(&mut b, mysql_type)?;
            }
        }
    }
    Some(b.0)
}

/// An ERR packet's code, SQLSTATE and message.
pub fn error_packet(payload: &[u8]) -> MysqlError {
    let mut b = Cursor(payload.get(1..).unwrap_or_default());
    let code = b.u16_le().unwrap_or(0);
    let sql_state = if b.0.first() == Some(&b'#') { b.take(6).map(|s| String::from_utf8_lossy(&s[1..]).into_owned()).unwrap_or_default() } else { String::new() };
    MysqlError { code, sql_state, message: String::from_utf8_lossy(b.0).into_owned() }
}

/// A column definition's name (the fifth length-encoded string).
fn column_name(payload: &[u8]) -> Option<String> {
    let mut b = Cursor(payload);
    for _ in 0..4 {
        b.lenenc_str()?;
    }
    b.lenenc_str()
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

/// What the server's next packet means for the command answered now.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The first packet of an answer.
    First,
    /// Column definitions still to come, then (classic) an EOF.
    Columns { left: u64, eof: bool },
    /// Rows until EOF/OK or ERR.
    Rows,
    /// Definitions after a Prepare's answer, to skip.
    Skip(u64),
    /// FieldList: definitions until EOF.
    Fields,
}

struct Command {
    request: MysqlRequest,
    code: u8,
    start: Timestamp,
    size: u64,
}

/// One direction's framing.
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
    skip: usize,
}

impl Reader {
    /// Whole packets (sequence id, payload); an over-long one comes with an empty payload.
    fn push(&mut self, mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        while let [a, b, c, seq, ..] = self.buf[at..] {
            let len = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
            if len > MAX_PACKET {
                out.push((seq, Vec::new()));
                self.skip = (4 + len).saturating_sub(self.buf.len() - at);
                at = self.buf.len();
                break;
            }
            if self.buf.len() < at + 4 + len {
                break;
            }
            out.push((seq, self.buf[at + 4..at + 4 + len].to_vec()));
            at += 4 + len;
        }
        self.buf.drain(..at);
        out
    }
}

pub struct MysqlFlow {
    client: Option<Dir>,
    readers: [Reader; 2],
    /// The handshake, until the server's OK or ERR after authentication.
    handshake: Option<(MysqlRequest, MysqlResponse, Timestamp, u64)>,
    waiting: VecDeque<Command>,
    expect: Expect,
    answer: MysqlResponse,
    answer_size: u64,
    deprecate_eof: bool,
    /// Both sides speak query attributes; None: the handshake was not seen.
    query_attributes: Option<bool>,
    server_caps: u32,
    statements: FxHashMap<u32, String>,
    limits: DissectLimits,
    stats: DissectStats,
}

impl MysqlFlow {
    pub fn new(limits: DissectLimits) -> Self {
        MysqlFlow {
            client: None,
            readers: Default::default(),
            handshake: None,
            waiting: VecDeque::new(),
            expect: Expect::First,
            answer: MysqlResponse::default(),
            answer_size: 0,
            deprecate_eof: false,
            query_attributes: None,
            server_caps: 0,
            statements: FxHashMap::default(),
            limits,
            stats: DissectStats::default(),
        }
    }

    fn client_packet(&mut self, seq: u8, payload: &[u8], ts: Timestamp, client: Dir, out: &mut Vec<Exchange>) {
        let size = payload.len() as u64 + 4;
        if let Some((request, _, start, request_size)) = &mut self.handshake {
            // The HandshakeResponse (then authentication data): its user and database.
            if seq == 1 {
                let mut b = Cursor(payload);
                let caps = b.u32_le().unwrap_or(0);
                if caps & CLIENT_PROTOCOL_41 != 0 && b.take(4 + 1 + 23).is_some() {
                    request.user = b.cstr().unwrap_or_default();
                    // Authentication data: length-encoded, or one length byte.
                    let _ = b.lenenc_str();
                    if caps & CLIENT_CONNECT_WITH_DB != 0 {
                        request.database = b.cstr().unwrap_or_default();
                    }
                }
                self.deprecate_eof = caps & self.server_caps & CLIENT_DEPRECATE_EOF != 0;
                self.query_attributes = Some(caps & self.server_caps & CLIENT_QUERY_ATTRIBUTES != 0);
                *start = ts;
            }
            *request_size += size;
            return;
        }
        if seq != 0 {
            return;
        }
        let Some(&code) = payload.first() else { return };
        let text = |bytes: &[u8]| cut(String::from_utf8_lossy(bytes).into_owned());
        let mut request = MysqlRequest { command: command_name(code), ..Default::default() };
        match code {
            COM_QUERY => {
                let body = &payload[1..];
                // Negotiated, or (a connection picked up mid-way) the shape of none: `00 01`.
                let attributes = match self.query_attributes {
                    Some(negotiated) => negotiated,
                    None => body.starts_with(&[0, 1]),
                };
                let sql = if attributes { after_query_attributes(body) } else { None };
                request.query = text(sql.unwrap_or(body));
            }
            COM_STMT_PREPARE | COM_INIT_DB => request.query = text(&payload[1..]),
            COM_STMT_EXECUTE | COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA => {
                request.statement = Cursor(&payload[1..]).u32_le().unwrap_or(0);
                request.query = self.statements.get(&request.statement).cloned().unwrap_or_default();
                if code == COM_STMT_CLOSE {
                    self.statements.remove(&request.statement);
                }
            }
            _ => {}
        }
        let command = Command { request, code, start: ts, size };
        // These get no answer.
        if matches!(code, COM_QUIT | COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA) {
            out.push(exchange(command, None, None, client));
            return;
        }
        if self.waiting.len() >= self.limits.max_pending {
            self.stats.pending_overflows += 1;
            return;
        }
        self.waiting.push_back(command);
    }

    fn server_packet(&mut self, payload: &[u8], ts: Timestamp, client: Dir, out: &mut Vec<Exchange>) {
        self.answer_size += payload.len() as u64 + 4;
        let first = payload.first().copied();
        if let Some((request, response, start, size)) = &mut self.handshake {
            match first {
                Some(0x00) | Some(0xff) => {
                    response.kind = if first == Some(0x00) { "ok" } else { "error" }.into();
                    if first == Some(0xff) {
                        response.error = Some(error_packet(payload));
                    }
                    let command = Command { request: std::mem::take(request), code: 0, start: *start, size: *size };
                    let answer = std::mem::take(response);
                    self.handshake = None;
                    let size = std::mem::take(&mut self.answer_size);
                    out.push(exchange(command, Some((answer, ts, size)), None, client));
                }
                // An authentication switch or more data: the handshake goes on.
                _ => {}
            }
            return;
        }
        if first == Some(0x0a) && self.waiting.is_empty() {
            self.greeting(payload, ts);
            return;
        }
        let Some(command) = self.waiting.front() else { return };
        let short_eof = first == Some(0xfe) && payload.len() < 9;
        let end_of_rows = first == Some(0xfe) && (payload.len() < 9 || self.deprecate_eof);
        match self.expect {
            Expect::First => match first {
                Some(0x00) if command.code == COM_STMT_PREPARE => {
                    let mut b = Cursor(&payload[1..]);
                    let (id, columns, params) = (b.u32_le().unwrap_or(0), b.u16_le().unwrap_or(0), b.u16_le().unwrap_or(0));
                    self.answer.kind = "prepared".into();
                    self.answer.statement = id;
                    self.answer.parameters = u32::from(params);
                    if self.statements.len() < MAX_STATEMENTS {
                        self.statements.insert(id, command.request.query.clone());
                    }
                    let eofs = if self.deprecate_eof { 0 } else { u64::from(params > 0) + u64::from(columns > 0) };
                    let skip = u64::from(params) + u64::from(columns) + eofs;
                    if skip == 0 {
                        self.finish(ts, client, out);
                    } else {
                        self.expect = Expect::Skip(skip);
                    }
                }
                Some(0x00) => {
                    let mut b = Cursor(&payload[1..]);
                    self.answer.kind = "ok".into();
                    self.answer.affected_rows = b.lenenc().unwrap_or(0);
                    self.answer.last_insert_id = b.lenenc().unwrap_or(0);
                    self.finish(ts, client, out);
                }
                Some(0xff) => {
                    self.answer.kind = "error".into();
                    self.answer.error = Some(error_packet(payload));
                    self.finish(ts, client, out);
                }
                _ if command.code == COM_FIELD_LIST => {
                    self.answer.kind = "resultset".into();
                    self.expect = Expect::Fields;
                    self.server_packet_again(payload);
                }
                _ if command.code == COM_STATISTICS || short_eof => {
                    self.answer.kind = "ok".into();
                    self.finish(ts, client, out);
                }
                _ => {
                    self.answer.kind = "resultset".into();
                    let columns = Cursor(payload).lenenc().unwrap_or(0);
                    self.expect = Expect::Columns { left: columns, eof: !self.deprecate_eof };
                }
            },
            Expect::Columns { left, eof } => {
                if left > 0 {
                    if self.answer.columns.len() < MAX_COLUMNS {
                        self.answer.columns.push(column_name(payload).unwrap_or_default());
                    }
                    self.expect = if left == 1 && !eof { Expect::Rows } else { Expect::Columns { left: left - 1, eof } };
                } else {
                    // The EOF after the definitions.
                    self.expect = Expect::Rows;
                }
            }
            Expect::Rows => match first {
                Some(0xff) => {
                    self.answer.error = Some(error_packet(payload));
                    self.finish(ts, client, out);
                }
                _ if end_of_rows => self.finish(ts, client, out),
                _ => self.answer.rows += 1,
            },
            Expect::Fields => {
                if short_eof || first == Some(0xff) {
                    self.finish(ts, client, out);
                } else if self.answer.columns.len() < MAX_COLUMNS {
                    self.answer.columns.push(column_name(payload).unwrap_or_default());
                }
            }
            Expect::Skip(left) => {
                if left <= 1 {
                    self.finish(ts, client, out);
                } else {
                    self.expect = Expect::Skip(left - 1);
                }
            }
        }
    }

    /// FieldList's first packet is already a definition.
    fn server_packet_again(&mut self, payload: &[u8]) {
        if self.answer.columns.len() < MAX_COLUMNS {
            self.answer.columns.push(column_name(payload).unwrap_or_default());
        }
    }

    /// The server's greeting: a handshake begins.
    fn greeting(&mut self, payload: &[u8], ts: Timestamp) {
        let mut b = Cursor(&payload[1..]);
        let version = b.cstr().unwrap_or_default();
        // Connection id, 8 bytes of salt, a filler, the low capability bits; after the
        // charset and status, the high ones.
        let _ = b.take(4 + 8 + 1);
        let low = u32::from(b.u16_le().unwrap_or(0));
        let _ = b.take(1 + 2);
        let high = u32::from(b.u16_le().unwrap_or(0));
        self.server_caps = low | high << 16;
        let request = MysqlRequest { command: "Handshake".into(), ..Default::default() };
        let response = MysqlResponse { server_version: version, ..Default::default() };
        self.handshake = Some((request, response, ts, 0));
    }

    fn finish(&mut self, ts: Timestamp, client: Dir, out: &mut Vec<Exchange>) {
        self.expect = Expect::First;
        let answer = std::mem::take(&mut self.answer);
        let size = std::mem::take(&mut self.answer_size);
        if let Some(command) = self.waiting.pop_front() {
            out.push(exchange(command, Some((answer, ts, size)), None, client));
        }
    }
}

fn exchange(command: Command, answer: Option<(MysqlResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>, client: Dir) -> Exchange {
    let answer = answer.map(|(answer, end, size)| (Response::Mysql(Box::new(answer)), end, size));
    Exchange::new(MYSQL, client, Request::Mysql(Box::new(command.request)), command.start, command.size, answer, error)
}

impl StreamDissector for MysqlFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        // The server speaks first (its greeting); mid-way, the first to speak sent a command.
        let client = *self.client.get_or_insert_with(|| if data.get(4) == Some(&0x0a) && data.get(3) == Some(&0) { dir.flip() } else { dir });
        for (seq, payload) in self.readers[dir.index()].push(data) {
            if dir == client {
                self.client_packet(seq, &payload, ts, client, out);
            } else {
                self.server_packet(&payload, ts, client, out);
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        let reader = &mut self.readers[dir.index()];
        reader.buf.clear();
        reader.skip = 0;
        if Some(dir) != self.client {
            // The answer being read is lost, and with it where the next one starts.
            self.waiting.clear();
            self.expect = Expect::First;
            self.answer = MysqlResponse::default();
        }
        self.stats.parse_errors += 1;
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        let client = self.client.unwrap_or(Dir::Forward);
        for command in self.waiting.drain(..) {
            out.push(exchange(command, None, reason.unanswered(), client));
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "mysql"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
        p.extend_from_slice(payload);
        p
    }

    fn lenenc_str(text: &str) -> Vec<u8> {
        let mut v = vec![text.len() as u8];
        v.extend_from_slice(text.as_bytes());
        v
    }

    fn column(name: &str) -> Vec<u8> {
        let mut c = Vec::new();
        for part in ["def", "shop", "t", "t", name, name] {
            c.extend(lenenc_str(part));
        }
        c.extend_from_slice(&[0x0c, 0x21, 0, 0xff, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0]);
        c
    }

    #[test]
    fn handshake_queries_result_sets_and_prepared_statements() {
        let mut greeting = vec![0x0a];
        greeting.extend_from_slice(b"8.0.36\0");
        greeting.extend_from_slice(&[1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0xff, 0xf7, 0x21, 2, 0, 0xff, 0xc1]);
        let mut login = (CLIENT_PROTOCOL_41 | CLIENT_CONNECT_WITH_DB).to_le_bytes().to_vec();
        login.extend_from_slice(&[0; 4 + 1 + 23]);
        login.extend_from_slice(b"alice\0");
        login.extend_from_slice(&[2, 9, 9]);
        login.extend_from_slice(b"shop\0");
        let mut server = packet(0, &greeting);
        let mut client = packet(1, &login);
        let mut flow = MysqlFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        assert_eq!(detect(&server), Detection::Mysql);
        flow.data(Dir::Reverse, &server, Timestamp(1), &mut out);
        flow.data(Dir::Forward, &client, Timestamp(2), &mut out);
        flow.data(Dir::Reverse, &packet(2, &[0, 0, 0, 2, 0, 0, 0]), Timestamp(3), &mut out);
        // A query with a result set of two columns and two rows, then a failing one.
        client = packet(0, b"\x03SELECT id, name FROM t");
        client.extend(packet(0, b"\x03SELECT * FROM nope"));
        server = packet(1, &[2]);
        server.extend(packet(2, &column("id")));
        server.extend(packet(3, &column("name")));
        server.extend(packet(4, &[0xfe, 0, 0, 2, 0]));
        server.extend(packet(5, &[1, b'1', 3, b'a', b'b', b'c']));
        server.extend(packet(6, &[1, b'2', 0xfb]));
        server.extend(packet(7, &[0xfe, 0, 0, 2, 0]));
        server.extend(packet(1, b"\xff\x7a\x04#42S02Table 'shop.nope' doesn't exist"));
        flow.data(Dir::Forward, &client, Timestamp(4), &mut out);
        flow.data(Dir::Reverse, &server[..10], Timestamp(5), &mut out);
        flow.data(Dir::Reverse, &server[10..], Timestamp(6), &mut out);
        // Prepare (one parameter, one column), Execute with a binary row, Close.
        client = packet(0, b"\x16SELECT name FROM t WHERE id = ?");
        flow.data(Dir::Forward, &client, Timestamp(7), &mut out);
        server = packet(1, &[0, 7, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
        server.extend(packet(2, &column("?")));
        server.extend(packet(3, &[0xfe, 0, 0, 2, 0]));
        server.extend(packet(4, &column("name")));
        server.extend(packet(5, &[0xfe, 0, 0, 2, 0]));
        flow.data(Dir::Reverse, &server, Timestamp(8), &mut out);
        client = packet(0, &[0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0]);
        client.extend(packet(0, &[0x19, 7, 0, 0, 0]));
        flow.data(Dir::Forward, &client, Timestamp(9), &mut out);
        server = packet(1, &[1]);
        server.extend(packet(2, &column("name")));
        server.extend(packet(3, &[0xfe, 0, 0, 2, 0]));
        server.extend(packet(4, &[0, 0, 3, b'a', b'b', b'c']));
        server.extend(packet(5, &[0xfe, 0, 0, 2, 0]));
        flow.data(Dir::Reverse, &server, Timestamp(10), &mut out);
        flow.close(Timestamp(11), CloseReason::Closed, &mut out);

        let requests: Vec<&MysqlRequest> = out.iter().map(|e| match &e.request { Request::Mysql(r) => r.as_ref(), other => panic!("{other:?}") }).collect();
        let answers: Vec<Option<&MysqlResponse>> = out.iter().map(|e| match &e.response { Some(Response::Mysql(r)) => Some(r.as_ref()), _ => None }).collect();
        let commands: Vec<&str> = requests.iter().map(|r| r.command.as_str()).collect();
        assert_eq!(commands, ["Handshake", "Query", "Query", "Prepare", "Close", "Execute"], "Close has no answer, so it comes out first");
        assert_eq!((requests[0].user.as_str(), requests[0].database.as_str()), ("alice", "shop"));
        assert_eq!(answers[0].map(|a| a.server_version.as_str()), Some("8.0.36"));
        let select = answers[1].expect("answered");
        assert_eq!((select.kind.as_str(), select.rows, select.columns.clone()), ("resultset", 2, vec!["id".to_string(), "name".to_string()]));
        let error = answers[2].and_then(|a| a.error.clone()).expect("an error");
        assert_eq!((error.code, error.sql_state.as_str(), error.message.as_str()), (1146, "42S02", "Table 'shop.nope' doesn't exist"));
        assert_eq!(answers[3].map(|a| (a.kind.as_str(), a.statement, a.parameters)), Some(("prepared", 7, 1)));
        assert_eq!((requests[5].statement, requests[5].query.as_str()), (7, "SELECT name FROM t WHERE id = ?"));
        assert_eq!(answers[5].map(|a| a.rows), Some(1), "a binary row starting with 0x00 is a row, not an OK");
        assert!(answers[4].is_none() && out[4].error.is_none());
    }

    #[test]
    fn detection_and_hostile_packets() {
        assert_eq!(detect(&packet(0, b"\x03SELECT 1")), Detection::Mysql);
        assert_eq!(detect(&packet(0, b"\x03hello there")), Detection::Unknown);
        assert_eq!(detect(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
        let mut flow = MysqlFlow::new(DissectLimits::default());
        let mut out = Vec::new();
        flow.data(Dir::Forward, &packet(0, b"\x03SELECT 1"), Timestamp(1), &mut out);
        // A result-set header announcing columns, then a packet past the size cap.
        flow.data(Dir::Reverse, &packet(1, &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Timestamp(2), &mut out);
        flow.data(Dir::Reverse, &[0xff, 0xff, 0xff, 2, 1, 2, 3], Timestamp(3), &mut out);
        flow.close(Timestamp(4), CloseReason::Closed, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(error_packet(b"\xff").code, 0);
    }
}
