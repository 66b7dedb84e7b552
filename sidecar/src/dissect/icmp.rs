//! ICMP (RFC 792) and ICMPv6 (RFC 4443): echo requests paired with their replies by
//! sequence number (the flow is keyed by the identifier), and error messages as items of
//! their own that name the packet they quote.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};

use remora_model::{IcmpMessage, IcmpQuoted, ItemErrorKind, Protocol, Request, Response};

use super::{item_error, CloseReason, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

const ICMP: Protocol = Protocol::new("icmp", "4", "ICMP", "Internet Control Message Protocol", "icmp");
const ICMPV6: Protocol = Protocol::with_macro("icmp", "6", "ICMPv6", "Internet Control Message Protocol for IPv6", "icmpv6", "icmp");

/// The echo identifier of a message (what keys its flow), or 0.
pub fn echo_identifier(v6: bool, message: &[u8]) -> u16 {
    match (is_echo(v6, message.first().copied().unwrap_or(0)), message.get(4..6)) {
        (Some(_), Some(id)) => u16::from_be_bytes([id[0], id[1]]),
        _ => 0,
    }
}

/// `Some(true)` for an echo request, `Some(false)` for a reply.
fn is_echo(v6: bool, kind: u8) -> Option<bool> {
    match (v6, kind) {
        (false, 8) | (true, 128) => Some(true),
        (false, 0) | (true, 129) => Some(false),
        _ => None,
    }
}

fn is_error(v6: bool, kind: u8) -> bool {
    if v6 {
        (1..=4).contains(&kind)
    } else {
        matches!(kind, 3 | 4 | 5 | 11 | 12)
    }
}

fn type_name(v6: bool, kind: u8) -> &'static str {
    match (v6, kind) {
        (false, 0) | (true, 129) => "echo reply",
        (false, 8) | (true, 128) => "echo request",
        (false, 3) | (true, 1) => "destination unreachable",
        (false, 11) | (true, 3) => "time exceeded",
        (false, 12) | (true, 4) => "parameter problem",
        (false, 4) => "source quench",
        (false, 5) => "redirect",
        (false, 13) => "timestamp",
        (false, 14) => "timestamp reply",
        (true, 2) => "packet too big",
        (true, 133) => "router solicitation",
        (true, 134) => "router advertisement",
        (true, 135) => "neighbor solicitation",
        (true, 136) => "neighbor advertisement",
        (true, 137) => "redirect",
        (true, 143) => "multicast listener report",
        _ => "",
    }
}

fn code_name(v6: bool, kind: u8, code: u8) -> &'static str {
    match (v6, kind, code) {
        (false, 3, 0) => "network unreachable",
        (false, 3, 1) | (true, 1, 3) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) | (true, 1, 4) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 5) => "source route failed",
        (false, 3, 6) => "network unknown",
        (false, 3, 7) => "host unknown",
        (false, 3, 9 | 10 | 13) | (true, 1, 1) => "administratively prohibited",
        (true, 1, 0) => "no route",
        (true, 1, 2) => "beyond scope",
        (true, 1, 5) => "source address failed policy",
        (true, 1, 6) => "reject route",
        (false, 11, 0) | (true, 3, 0) => "hop limit exceeded in transit",
        (false, 11, 1) | (true, 3, 1) => "fragment reassembly time exceeded",
        _ => "",
    }
}

/// The IP header and first transport bytes an error message carries.
fn quoted(packet: &[u8]) -> Option<IcmpQuoted> {
    let (protocol, src, dst, transport) = match packet.first()? >> 4 {
        4 => {
            let header_len = usize::from(packet[0] & 0x0f) * 4;
            let h = packet.get(..20)?;
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]).to_string();
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]).to_string();
            (h[9], src, dst, packet.get(header_len..).unwrap_or_default())
        }
        6 => {
            let h = packet.get(..40)?;
            let address = |at: usize| <[u8; 16]>::try_from(&h[at..at + 16]).map(|a| Ipv6Addr::from(a).to_string()).unwrap_or_default();
            (h[6], address(8), address(24), &packet[40..])
        }
        _ => return None,
    };
    let ports = match (protocol, transport.get(..4)) {
        (6 | 17, Some(p)) => (u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]])),
        _ => (0, 0),
    };
    let name = match protocol {
        1 => "icmp".to_string(),
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        58 => "icmpv6".to_string(),
        other => other.to_string(),
    };
    Some(IcmpQuoted { protocol: name, src, dst, src_port: ports.0, dst_port: ports.1 })
}

/// One ICMP message as an item sees it; `None` when shorter than its header.
fn parse(v6: bool, message: &[u8]) -> Option<IcmpMessage> {
    let header = message.get(..8)?;
    let (kind, code) = (header[0], header[1]);
    let echo = is_echo(v6, kind).is_some();
    Some(IcmpMessage {
        kind,
        code,
        type_name: type_name(v6, kind).to_string(),
        code_name: code_name(v6, kind, code).to_string(),
        identifier: if echo { u16::from_be_bytes([header[4], header[5]]) } else { 0 },
        sequence: if echo { u16::from_be_bytes([header[6], header[7]]) } else { 0 },
        size: (message.len() - 8) as u64,
        quoted: if is_error(v6, kind) { quoted(&message[8..]) } else { None },
    })
}

/// The messages of one echo identifier between two hosts (or one error sender).
pub struct IcmpFlow {
    v6: bool,
    limits: DissectLimits,
    /// Echo requests awaiting their reply: sequence, message, when, which way.
    pending: VecDeque<(IcmpMessage, Timestamp, Dir, u64)>,
    stats: DissectStats,
}

impl IcmpFlow {
    pub fn new(v6: bool, limits: DissectLimits) -> Self {
        IcmpFlow { v6, limits, pending: VecDeque::new(), stats: DissectStats::default() }
    }

    fn protocol(&self) -> Protocol {
        if self.v6 {
            ICMPV6
        } else {
            ICMP
        }
    }

    fn unanswered(&self, (message, start, dir, size): (IcmpMessage, Timestamp, Dir, u64), error: Option<remora_model::ItemError>) -> Exchange {
        Exchange::new(self.protocol(), dir, Request::Icmp(Box::new(message)), start, size, None, error)
    }
}

impl StreamDissector for IcmpFlow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        let Some(message) = parse(self.v6, data) else {
            self.stats.parse_errors += 1;
            return;
        };
        let size = data.len() as u64;
        match is_echo(self.v6, message.kind) {
            Some(true) => {
                if self.pending.len() >= self.limits.max_pending {
                    self.stats.pending_overflows += 1;
                    if let Some(oldest) = self.pending.pop_front() {
                        out.push(self.unanswered(oldest, item_error(ItemErrorKind::Timeout, format!("more than {} echo requests awaited a reply", self.limits.max_pending))));
                    }
                }
                self.pending.push_back((message, ts, dir, size));
            }
            Some(false) => match self.pending.iter().position(|(asked, _, asked_dir, _)| asked.sequence == message.sequence && *asked_dir != dir) {
                Some(at) => {
                    let Some((asked, start, asked_dir, asked_size)) = self.pending.remove(at) else { return };
                    out.push(Exchange::new(self.protocol(), asked_dir, Request::Icmp(Box::new(asked)), start, asked_size, Some((Response::Icmp(Box::new(message)), ts, size)), None));
                }
                None => {
                    let error = item_error(ItemErrorKind::PairNotFound, "echo reply without a captured request");
                    out.push(Exchange::new(self.protocol(), dir.flip(), Request::Icmp(Box::default()), ts, 0, Some((Response::Icmp(Box::new(message)), ts, size)), error));
                }
            },
            None => out.push(Exchange::new(self.protocol(), dir, Request::Icmp(Box::new(message)), ts, size, None, None)),
        }
    }

    fn gap(&mut self, _dir: Dir, _len: u64, _ts: Timestamp, _out: &mut Vec<Exchange>) {}

    fn tick(&mut self, now: Timestamp, out: &mut Vec<Exchange>) {
        while self.pending.front().is_some_and(|(_, start, ..)| now.0 - start.0 > self.limits.dns_timeout_ns) {
            let Some(expired) = self.pending.pop_front() else { return };
            let seconds = self.limits.dns_timeout_ns / Timestamp::SECOND;
            out.push(self.unanswered(expired, item_error(ItemErrorKind::Timeout, format!("no echo reply within {seconds} s"))));
        }
    }

    fn has_timers(&self) -> bool {
        !self.pending.is_empty()
    }

    fn close(&mut self, _ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        while let Some(asked) = self.pending.pop_front() {
            out.push(self.unanswered(asked, reason.unanswered()));
        }
    }

    fn stats(&self) -> DissectStats {
        self.stats
    }

    fn protocol_name(&self) -> &'static str {
        if self.v6 {
            "icmpv6"
        } else {
            "icmp"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(kind: u8, id: u16, seq: u16) -> Vec<u8> {
        let mut m = vec![kind, 0, 0, 0];
        m.extend(id.to_be_bytes());
        m.extend(seq.to_be_bytes());
        m.extend(b"payload!");
        m
    }

    #[test]
    fn echoes_pair_by_sequence_and_time_out() {
        let mut flow = IcmpFlow::new(false, DissectLimits::default());
        let mut out = Vec::new();
        flow.data(Dir::Forward, &echo(8, 7, 1), Timestamp(0), &mut out);
        flow.data(Dir::Forward, &echo(8, 7, 2), Timestamp(1), &mut out);
        flow.data(Dir::Reverse, &echo(0, 7, 2), Timestamp(2), &mut out);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0].response, Some(Response::Icmp(reply)) if reply.sequence == 2 && reply.type_name == "echo reply"));
        assert_eq!(echo_identifier(false, &echo(8, 7, 1)), 7);
        flow.tick(Timestamp(6 * Timestamp::SECOND), &mut out);
        assert_eq!(out[1].error.as_ref().map(|e| e.msg.as_str()), Some("no echo reply within 5 s"));
        flow.data(Dir::Reverse, &[0, 0, 0], Timestamp(7), &mut out);
        assert_eq!(flow.stats().parse_errors, 1);
    }

    #[test]
    fn errors_name_the_packet_they_quote() {
        // Port unreachable quoting a UDP datagram 192.0.2.1:5353 -> 192.0.2.2:53.
        let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
        m.extend([0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
        let mut out = Vec::new();
        IcmpFlow::new(false, DissectLimits::default()).data(Dir::Forward, &m, Timestamp(0), &mut out);
        let Request::Icmp(error) = &out[0].request else { panic!("ICMP") };
        assert_eq!((error.type_name.as_str(), error.code_name.as_str()), ("destination unreachable", "port unreachable"));
        let quoted = error.quoted.as_ref().expect("quoted");
        assert_eq!((quoted.protocol.as_str(), quoted.src.as_str(), quoted.dst_port), ("udp", "192.0.2.1", 53));
        assert_eq!(quoted_of_garbage(), None);
    }

    fn quoted_of_garbage() -> Option<IcmpQuoted> {
        quoted(&[0x45, 1, 2])
    }
}
