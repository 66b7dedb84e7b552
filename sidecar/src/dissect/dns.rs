//! DNS over UDP and TCP: each query paired with its answer by message ID; a query left
//! unanswered becomes an item after a timeout. The wire format is decoded by
//! `hickory-proto`; this module frames, pairs and maps into the item model.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use remora_model::{DnsQuestion, DnsRecord, DnsRequest, DnsResponse, ItemErrorKind, Protocol, Request, Response};
use rustc_hash::FxHashMap;

use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const HEADER_LEN: usize = 12;

/// A cheap look at a header before the full parse: sane opcode and section counts.
fn plausible_header(h: &[u8]) -> bool {
    if h.len() < HEADER_LEN {
        return false;
    }
    let opcode = (h[2] >> 3) & 0x0f;
    let count = |at: usize| u16::from_be_bytes([h[at], h[at + 1]]);
    matches!(opcode, 0 | 1 | 2 | 4 | 5) && (1..=4).contains(&count(4)) && count(6) <= 512 && count(8) <= 512 && count(10) <= 512
}

pub fn detect_udp(datagram: &[u8]) -> Detection {
    if plausible_header(datagram) && Message::from_vec(datagram).is_ok() {
        Detection::Dns
    } else {
        Detection::Unknown
    }
}

pub fn detect_tcp(first_bytes: &[u8]) -> Detection {
    if first_bytes.len() < 2 + HEADER_LEN {
        return Detection::NeedMore;
    }
    let length = usize::from(u16::from_be_bytes([first_bytes[0], first_bytes[1]]));
    if length >= HEADER_LEN && plausible_header(&first_bytes[2..]) {
        Detection::Dns
    } else {
        Detection::Unknown
    }
}

struct PendingQuery {
    request: DnsRequest,
    dir: Dir,
    start: Timestamp,
    size: u64,
}

pub struct DnsFlow {
    tcp: bool,
    limits: DissectLimits,
    /// TCP only: bytes of a length-prefixed message split across segments, per direction.
    partial: [Vec<u8>; 2],
    pending: FxHashMap<u16, PendingQuery>,
    stats: DissectStats,
}

impl DnsFlow {
    pub fn new(tcp: bool, limits: DissectLimits) -> Self {
        DnsFlow { tcp, limits, partial: [Vec::new(), Vec::new()], pending: FxHashMap::default(), stats: DissectStats::default() }
    }

    fn protocol(&self) -> Protocol {
        if self.tcp {
            Protocol::new("dns", "0", "DNS", "Domain Name System", "tcp")
        } else {
            Protocol::new("dns", "0", "DNS", "Domain Name System", "udp")
        }
    }

    fn message(&mut self, dir: Dir, wire: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let message = match Message::from_vec(wire) {
            Ok(message) => message,
            Err(_) => {
                self.stats.parse_errors += 1;
                return;
            }
        };
        let request = request_of(&message);
        match message.metadata.message_type {
            MessageType::Query => {
                let query = PendingQuery { request, dir, start: ts, size: wire.len() as u64 };
                // A reused ID or a full table: the older query will not be answered now.
                if let Some(old) = self.pending.insert(query.request.id, query) {
                    out.push(self.exchange(old, None, item_error(ItemErrorKind::Timeout, "query ID reused before an answer")));
                }
                if self.pending.len() > self.limits.max_pending {
                    self.stats.pending_overflows += 1;
                    if let Some(oldest) = self.pending.values().min_by_key(|q| q.start).map(|q| q.request.id) {
                        if let Some(old) = self.pending.remove(&oldest) {
                            out.push(self.exchange(old, None, item_error(ItemErrorKind::Timeout, "too many queries awaiting an answer")));
                        }
                    }
                }
            }
            MessageType::Response => {
                let answer = (response_of(&message), ts, wire.len() as u64);
                match self.pending.remove(&message.metadata.id) {
                    Some(query) => out.push(self.exchange(query, Some(answer), None)),
                    None => {
                        let query = PendingQuery { request, dir: dir.flip(), start: ts, size: 0 };
                        out.push(self.exchange(query, Some(answer), item_error(ItemErrorKind::PairNotFound, "answer without a captured query")));
                    }
                }
            }
        }
    }

    fn exchange(&self, query: PendingQuery, answer: Option<(DnsResponse, Timestamp, u64)>, error: Option<remora_model::ItemError>) -> Exchange {
        let (response, response_end, response_size) = match answer {
            Some((response, end, size)) => (Some(Response::Dns(Box::new(response))), Some(end), size),
            None => (None, None, 0),
        };
        Exchange {
            protocol: self.protocol(),
            request_dir: query.dir,
            request: Request::Dns(Box::new(query.request)),
            response,
            request_start: query.start,
            response_end,
            request_size: query.size,
            response_size,
            error,
        }
    }

    /// Splits a TCP direction's bytes into length-prefixed messages.
    fn tcp_data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let mut buffer = std::mem::take(&mut self.partial[dir.index()]);
        let mut input: &[u8] = if buffer.is_empty() {
            data
        } else {
            buffer.extend_from_slice(data);
            &buffer
        };
        let mut rest = Vec::new();
        while input.len() >= 2 {
            let length = usize::from(u16::from_be_bytes([input[0], input[1]]));
            if input.len() < 2 + length {
                break;
            }
            self.message(dir, &input[2..2 + length], ts, out);
            input = &input[2 + length..];
        }
        rest.extend_from_slice(input);
        self.partial[dir.index()] = rest;
    }
}

impl StreamDissector for DnsFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        if self.tcp {
            self.tcp_data(dir, data, ts, out);
        } else {
            self.message(dir, data, ts, out);
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {
        // The framing is lost with the bytes: assume the next segment starts a message.
        self.partial[dir.index()].clear();
        self.stats.parse_errors += 1;
    }

    fn has_timers(&self) -> bool {
        !self.pending.is_empty()
    }

    fn tick(&mut self, now: Timestamp, out: &mut Vec<Exchange>) {
        if self.pending.is_empty() {
            return;
        }
        let deadline = now.0 - self.limits.dns_timeout_ns;
        let mut expired: Vec<u16> = self.pending.values().filter(|q| q.start.0 <= deadline).map(|q| q.request.id).collect();
        expired.sort_by_key(|id| self.pending.get(id).map(|q| q.start));
        for id in expired {
            if let Some(query) = self.pending.remove(&id) {
                out.push(self.exchange(query, None, item_error(ItemErrorKind::Timeout, "no answer within the DNS timeout")));
            }
        }
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        let mut left: Vec<PendingQuery> = self.pending.drain().map(|(_, q)| q).collect();
        left.sort_by_key(|q| q.start);
        for query in left {
            out.push(self.exchange(query, None, reason.unanswered()));
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        "dns"
    }
}

fn request_of(message: &Message) -> DnsRequest {
    DnsRequest {
        id: message.metadata.id,
        op_code: op_code_name(message.metadata.op_code),
        recursion_desired: message.metadata.recursion_desired,
        questions: message
            .queries
            .iter()
            .map(|q| DnsQuestion { name: name_text(&q.name().to_ascii()), qtype: type_name(q.query_type()), class: class_name(q.query_class()) })
            .collect(),
    }
}

fn response_of(message: &Message) -> DnsResponse {
    let code = message.metadata.response_code;
    DnsResponse {
        code: code.to_str().to_string(),
        rcode_name: rcode_name(code),
        rcode: u16::from(code),
        authoritative: message.metadata.authoritative,
        truncated: message.metadata.truncation,
        recursion_available: message.metadata.recursion_available,
        answers: message.answers.iter().map(record).collect(),
        authorities: message.authorities.iter().map(record).collect(),
        additionals: message.additionals.iter().map(record).collect(),
    }
}

fn record(r: &Record) -> DnsRecord {
    let rtype = r.record_type();
    let (data, ip, cname) = match &r.data {
        RData::A(a) => (a.to_string(), Some(a.to_string()), None),
        RData::AAAA(a) => (a.to_string(), Some(a.to_string()), None),
        RData::CNAME(c) => {
            let target = name_text(&c.0.to_ascii());
            (target.clone(), None, Some(target))
        }
        RData::NS(n) => (name_text(&n.0.to_ascii()), None, None),
        RData::PTR(p) => (name_text(&p.0.to_ascii()), None, None),
        RData::MX(mx) => (format!("{} {}", mx.preference, name_text(&mx.exchange.to_ascii())), None, None),
        RData::SRV(srv) => (format!("{} {} {} {}", srv.priority, srv.weight, srv.port, name_text(&srv.target.to_ascii())), None, None),
        RData::SOA(soa) => (
            format!(
                "{} {} {} {} {} {} {}",
                name_text(&soa.mname.to_ascii()),
                name_text(&soa.rname.to_ascii()),
                soa.serial,
                soa.refresh,
                soa.retry,
                soa.expire,
                soa.minimum
            ),
            None,
            None,
        ),
        other => (other.to_string(), None, None),
    };
    DnsRecord { name: name_text(&r.name.to_ascii()), rtype: type_name(rtype), class: class_name(r.dns_class), ttl: r.ttl, data, ip, cname }
}

/// Names without the trailing dot, as tshark and the public entry print them.
fn name_text(fqdn: &str) -> String {
    if fqdn == "." {
        return fqdn.to_string();
    }
    fqdn.strip_suffix('.').unwrap_or(fqdn).to_string()
}

/// The mnemonic of a record type number (`A`, `MX`, `TYPE29` for unknown ones).
pub fn type_name_of(number: u16) -> String {
    type_name(RecordType::from(number))
}

fn type_name(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => iana_type_name(n).map_or_else(|| format!("TYPE{n}"), str::to_string),
        other => other.to_string(),
    }
}

/// IANA's names of the registered types hickory's RecordType does not know (tshark
/// names them so); any other number is `TYPEn`, RFC 3597's form.
fn iana_type_name(number: u16) -> Option<&'static str> {
    Some(match number {
        3 => "MD",
        4 => "MF",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        11 => "WKS",
        14 => "MINFO",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        29 => "LOC",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        42 => "APL",
        45 => "IPSECKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        99 => "SPF",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        256 => "URI",
        _ => return None,
    })
}

fn class_name(c: DNSClass) -> String {
    match c {
        DNSClass::IN => "IN".into(),
        DNSClass::CH => "CH".into(),
        DNSClass::HS => "HS".into(),
        DNSClass::NONE => "NONE".into(),
        DNSClass::ANY => "ANY".into(),
        other => format!("CLASS{}", u16::from(other)),
    }
}

/// The public entry's op code words (`Query`, ...).
fn op_code_name(op: OpCode) -> String {
    match op {
        OpCode::Query => "Query".into(),
        OpCode::Status => "Status".into(),
        OpCode::Notify => "Notify".into(),
        OpCode::Update => "Update".into(),
        OpCode::Unknown(1) => "IQuery".into(),
        OpCode::Unknown(n) => format!("OPCODE{n}"),
    }
}

fn rcode_name(code: ResponseCode) -> String {
    const NAMES: [&str; 11] = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"];
    let n = u16::from(code);
    NAMES.get(usize::from(n)).map_or_else(|| format!("RCODE{n}"), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `example.com A` with the given ID, and its answer.
    fn query(id: u16) -> Vec<u8> {
        let mut m = vec![(id >> 8) as u8, id as u8, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        m
    }

    fn answer(id: u16) -> Vec<u8> {
        let mut m = query(id);
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 1;
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34]);
        m
    }

    #[test]
    fn udp_query_pairs_with_answer() {
        let mut flow = DnsFlow::new(false, DissectLimits::default());
        let mut out = Vec::new();
        flow.data(Dir::Forward, &query(7), Timestamp(1), &mut out);
        flow.data(Dir::Reverse, &answer(7), Timestamp(2), &mut out);
        assert_eq!(out.len(), 1);
        let Some(Response::Dns(r)) = &out[0].response else { panic!("answered") };
        assert_eq!((r.code.as_str(), r.rcode_name.as_str()), ("No Error", "NOERROR"));
        assert_eq!(r.answers[0].data, "93.184.216.34");
        assert_eq!(r.answers[0].name, "example.com");
        assert_eq!(out[0].request_dir, Dir::Forward);
    }

    #[test]
    fn tcp_messages_split_and_joined_across_segments() {
        let mut flow = DnsFlow::new(true, DissectLimits::default());
        let mut out = Vec::new();
        let mut stream = Vec::new();
        for id in [1u16, 2] {
            let q = query(id);
            stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
            stream.extend_from_slice(&q);
        }
        for piece in stream.chunks(5) {
            flow.data(Dir::Forward, piece, Timestamp(0), &mut out);
        }
        let a = answer(2);
        let mut framed = (a.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&a);
        flow.data(Dir::Reverse, &framed, Timestamp(1), &mut out);
        assert_eq!(out.len(), 1);
        flow.tick(Timestamp(10 * Timestamp::SECOND), &mut out);
        assert_eq!(out.len(), 2, "query 1 timed out");
        assert_eq!(out[1].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::Timeout));
    }

    #[test]
    fn garbage_is_counted_not_paired() {
        let mut flow = DnsFlow::new(false, DissectLimits::default());
        let mut out = Vec::new();
        let mut bad = query(3);
        bad.truncate(15);
        flow.data(Dir::Forward, &bad, Timestamp(0), &mut out);
        assert!(out.is_empty());
        assert_eq!(flow.stats().parse_errors, 1);
        assert_eq!(detect_udp(b"\x00\x01hello world, not dns"), Detection::Unknown);
        assert_eq!(detect_udp(&query(9)), Detection::Dns);
    }
}
