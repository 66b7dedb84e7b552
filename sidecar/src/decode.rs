//! Link, network and transport headers: raw frame bytes to a [`Packet`] view.
//!
//! Pure functions over borrowed bytes: nothing is copied, and every length is checked
//! before it is used, so a malformed frame becomes a [`DecodeError`], never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The link types `remora replay` and the sidecar understand (libpcap's LINKTYPE_ values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback, 4-byte address family in the writer's byte order.
    Null,
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101, and DLT_RAW 12/14): the frame is an IPv4 or IPv6 packet.
    Raw,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, address family in network byte order.
    Loop,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1 (`-i any`).
    LinuxSll,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2.
    LinuxSll2,
}

impl LinkType {
    /// The link type for a libpcap link-type number, or `None` when unsupported.
    pub fn from_linktype(value: i32) -> Option<LinkType> {
        Some(match value {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame too short for its {0} header")]
    Truncated(&'static str),
    #[error("not IP (ethertype {0:#06x})")]
    NotIp(u16),
    #[error("malformed {0} header")]
    Malformed(&'static str),
}

/// TCP flag bits as they sit in the header.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: &'a [u8],
}

impl TcpSegment<'_> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp { src_port: u16, dst_port: u16, payload: &'a [u8] },
    /// An ICMP (`v6`: ICMPv6) message, from its type byte.
    Icmp { v6: bool, message: &'a [u8] },
    /// An IP fragment or any other protocol: counted, not dissected.
    Other { protocol: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Part of a fragmented IP datagram (fragments are not reassembled).
    pub fragmented: bool,
    pub transport: Transport<'a>,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPES_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// Decodes one captured frame of the given link type.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    match link {
        LinkType::Ethernet => {
            let ethertype = be16(frame, 12).ok_or(DecodeError::Truncated("ethernet"))?;
            ethertype_payload(ethertype, &frame[14..])
        }
        LinkType::Null | LinkType::Loop => {
            let family = frame.get(..4).ok_or(DecodeError::Truncated("loopback"))?;
            // The family is in the writer's byte order for NULL: accept either.
            let family = match link {
                LinkType::Loop => u32::from_be_bytes([family[0], family[1], family[2], family[3]]),
                _ => u32::from_le_bytes([family[0], family[1], family[2], family[3]])
                    .min(u32::from_be_bytes([family[0], family[1], family[2], family[3]])),
            };
            match family {
                2 => ipv4(&frame[4..]),
                // AF_INET6 differs per OS: 10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS.
                10 | 24 | 28 | 30 => ipv6(&frame[4..]),
                other => Err(DecodeError::NotIp(other as u16)),
            }
        }
        LinkType::Raw => ip_by_version(frame),
        LinkType::Ipv4 => ipv4(frame),
        LinkType::Ipv6 => ipv6(frame),
        LinkType::LinuxSll => {
            let protocol = be16(frame, 14).ok_or(DecodeError::Truncated("linux cooked"))?;
            ethertype_payload(protocol, &frame[16..])
        }
        LinkType::LinuxSll2 => {
            let protocol = be16(frame, 0).ok_or(DecodeError::Truncated("linux cooked v2"))?;
            let rest = frame.get(20..).ok_or(DecodeError::Truncated("linux cooked v2"))?;
            ethertype_payload(protocol, rest)
        }
    }
}

fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<Packet<'_>, DecodeError> {
    // Stacked VLAN tags (802.1Q, 802.1ad, QinQ): each is a TCI and the next ethertype.
    while ETHERTYPES_VLAN.contains(&ethertype) {
        ethertype = be16(rest, 2).ok_or(DecodeError::Truncated("vlan"))?;
        rest = &rest[4..];
    }
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(rest),
        ETHERTYPE_IPV6 => ipv6(rest),
        other => Err(DecodeError::NotIp(other)),
    }
}

fn ip_by_version(data: &[u8]) -> Result<Packet<'_>, DecodeError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(data),
        Some(6) => ipv6(data),
        Some(_) => Err(DecodeError::Malformed("ip version")),
        None => Err(DecodeError::Truncated("ip")),
    }
}

fn ipv4(data: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let header = data.get(..20).ok_or(DecodeError::Truncated("ipv4"))?;
    if header[0] >> 4 != 4 {
        return Err(DecodeError::Malformed("ipv4"));
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if header_len < 20 || total_len < header_len || data.len() < header_len {
        return Err(DecodeError::Malformed("ipv4"));
    }
    // Ethernet pads short frames; a snap length cuts long ones. Trust the smaller.
    let end = total_len.min(data.len());
    let flags_fragment = u16::from_be_bytes([header[6], header[7]]);
    let more_fragments = flags_fragment & 0x2000 != 0;
    let fragment_offset = flags_fragment & 0x1fff;
    let src = IpAddr::V4(Ipv4Addr::new(header[12], header[13], header[14], header[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(header[16], header[17], header[18], header[19]));
    let fragmented = more_fragments || fragment_offset != 0;
    let protocol = header[9];
    // Only an unfragmented datagram carries a whole transport segment.
    let transport = if fragmented {
        Transport::Other { protocol }
    } else {
        transport(protocol, &data[header_len..end])?
    };
    Ok(Packet { src, dst, fragmented, transport })
}

fn ipv6(data: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let header = data.get(..40).ok_or(DecodeError::Truncated("ipv6"))?;
    if header[0] >> 4 != 6 {
        return Err(DecodeError::Malformed("ipv6"));
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let mut next = header[6];
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&header[8..24]).map_err(|_| DecodeError::Truncated("ipv6"))?));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&header[24..40]).map_err(|_| DecodeError::Truncated("ipv6"))?));
    // A payload length of 0 is a jumbogram or a lie: use what was captured.
    let end = if payload_len == 0 { data.len() } else { (40 + payload_len).min(data.len()) };
    let mut rest = &data[40..end];
    let mut fragmented = false;
    loop {
        match next {
            // Hop-by-hop, routing, destination options: length in 8-octet units after the first 8.
            0 | 43 | 60 => {
                let len = (usize::from(*rest.get(1).ok_or(DecodeError::Truncated("ipv6 extension"))?) + 1) * 8;
                next = rest[0];
                rest = rest.get(len..).ok_or(DecodeError::Truncated("ipv6 extension"))?;
            }
            // Authentication header: length in 4-octet units, plus 2.
            51 => {
                let len = (usize::from(*rest.get(1).ok_or(DecodeError::Truncated("ipv6 ah"))?) + 2) * 4;
                next = rest[0];
                rest = rest.get(len..).ok_or(DecodeError::Truncated("ipv6 ah"))?;
            }
            44 => {
                let fragment = rest.get(..8).ok_or(DecodeError::Truncated("ipv6 fragment"))?;
                let offset_flags = u16::from_be_bytes([fragment[2], fragment[3]]);
                next = fragment[0];
                rest = &rest[8..];
                if offset_flags & 0xfff9 != 0 {
                    fragmented = true;
                }
            }
            _ => break,
        }
    }
    let transport = if fragmented { Transport::Other { protocol: next } } else { transport(next, rest)? };
    Ok(Packet { src, dst, fragmented, transport })
}

fn transport(protocol: u8, data: &[u8]) -> Result<Transport<'_>, DecodeError> {
    match protocol {
        6 => {
            let header = data.get(..20).ok_or(DecodeError::Truncated("tcp"))?;
            let data_offset = usize::from(header[12] >> 4) * 4;
            if data_offset < 20 {
                return Err(DecodeError::Malformed("tcp"));
            }
            let payload = data.get(data_offset..).ok_or(DecodeError::Truncated("tcp"))?;
            Ok(Transport::Tcp(TcpSegment {
                src_port: u16::from_be_bytes([header[0], header[1]]),
                dst_port: u16::from_be_bytes([header[2], header[3]]),
                seq: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
                ack: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
                flags: header[13],
                payload,
            }))
        }
        17 => {
            let header = data.get(..8).ok_or(DecodeError::Truncated("udp"))?;
            let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
            // Length 0 happens with UDP over IPv6 jumbograms and with TSO captures.
            let end = if length < 8 { data.len() } else { length.min(data.len()) };
            Ok(Transport::Udp {
                src_port: u16::from_be_bytes([header[0], header[1]]),
                dst_port: u16::from_be_bytes([header[2], header[3]]),
                payload: &data[8..end],
            })
        }
        1 | 58 if data.len() >= 8 => Ok(Transport::Icmp { v6: protocol == 58, message: data }),
        1 | 58 => Err(DecodeError::Truncated("icmp")),
        other => Ok(Transport::Other { protocol: other }),
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2];
        let udp_len = 8 + payload.len();
        p.extend_from_slice(&[0x30, 0x39, 0, 53, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ethernet_with_stacked_vlan_tags_reaches_udp() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00]);
        frame.extend_from_slice(&ipv4_udp(b"hi"));
        frame.extend_from_slice(&[0; 6]); // ethernet padding must be ignored
        let packet = decode(LinkType::Ethernet, &frame).expect("decodes");
        assert_eq!(packet.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(packet.transport, Transport::Udp { src_port: 12345, dst_port: 53, payload: b"hi" });
    }

    #[test]
    fn bsd_loopback_in_either_byte_order() {
        for family in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut frame = family.to_vec();
            frame.extend_from_slice(&ipv4_udp(b"x"));
            assert!(matches!(decode(LinkType::Null, &frame).map(|p| p.transport), Ok(Transport::Udp { .. })));
        }
    }

    #[test]
    fn truncated_and_bogus_headers_are_errors_not_panics() {
        let good = ipv4_udp(b"payload");
        for len in 0..good.len() {
            let _ = decode(LinkType::Raw, &good[..len]);
        }
        assert_eq!(decode(LinkType::Raw, &good[..10]), Err(DecodeError::Truncated("ipv4")));
        assert_eq!(decode(LinkType::Ethernet, &[0u8; 13]), Err(DecodeError::Truncated("ethernet")));
        let mut bad_ihl = good.clone();
        bad_ihl[0] = 0x41;
        assert_eq!(decode(LinkType::Raw, &bad_ihl), Err(DecodeError::Malformed("ipv4")));
    }

    #[test]
    fn ipv4_fragments_are_flagged_and_not_dissected() {
        let mut frame = ipv4_udp(b"abc");
        frame[6] = 0x20; // more fragments
        let packet = decode(LinkType::Raw, &frame).expect("decodes");
        assert!(packet.fragmented);
        assert_eq!(packet.transport, Transport::Other { protocol: 17 });
    }
}
