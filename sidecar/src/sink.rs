//! What the pipeline hands on: items, and a view of each packet for `onPacketCaptured`.

use std::net::IpAddr;

use remora_model::Item;

use crate::flow::Timestamp;

/// Where the pipeline's output goes: items, and, when asked for, a view of each packet.
/// A closure taking items is a sink.
pub trait Sink {
    fn item(&mut self, item: Item);

    /// Whether [`Sink::packet`] should be called for every IP packet.
    fn wants_packets(&self) -> bool {
        false
    }

    /// One decoded IP packet, before its bytes reach a dissector.
    fn packet(&mut self, _packet: &PacketView<'_>) {}

    /// Capture time has reached `now` (called before each packet is processed).
    fn clock(&mut self, _now: Timestamp) {}

    /// A capture (one file) ended; the next packets start a capture with its own clock.
    fn capture_finished(&mut self) {}
}

impl<F: FnMut(Item)> Sink for F {
    fn item(&mut self, item: Item) {
        self(item)
    }
}

/// What `onPacketCaptured(info)` is built from.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    pub ts: Timestamp,
    /// Bytes captured and bytes on the wire.
    pub captured: u32,
    pub wire: u32,
    pub fragmented: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Ports for TCP and UDP.
    pub ports: Option<(u16, u16)>,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the IP protocol number.
    pub transport: &'a str,
    pub tcp_flags: Option<u8>,
    /// The stream (PCAP base name) of a TCP/UDP packet.
    pub stream: Option<&'a str>,
    /// The source is one of the worker's own addresses.
    pub outgoing: bool,
}
