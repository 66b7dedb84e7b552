//! The pipeline's sink that runs the script hooks before items are handed on: shared by
//! `remora replay` and the live sidecar.

use std::sync::{Arc, Mutex};

use remora_model::Item;
use remora_scripting::{Hook, PacketInfo, ScriptHost};
use std::net::IpAddr;

use crate::flow::{Rfc3339Cache, Timestamp};
use crate::pcap_store::PcapStore;
use crate::pipeline::{PacketView, Sink};

/// Runs `onItemCaptured` and `onPacketCaptured`, moves the jobs' clock with capture time,
/// then hands each item on.
pub struct ScriptedSink<'h, N: Sink> {
    pub host: &'h mut ScriptHost,
    pub next: &'h mut N,
    item_hook: bool,
    /// Run `onItemQueried` too (`--query`).
    query_hook: bool,
    packet_hook: bool,
    /// The last whole second the clock was moved to (cron's resolution).
    second: i64,
    strings: InfoStrings,
}

impl<'h, N: Sink> ScriptedSink<'h, N> {
    pub fn new(host: &'h mut ScriptHost, next: &'h mut N, query: bool) -> Self {
        let item_hook = host.has_hook(Hook::ItemCaptured);
        let query_hook = query && host.has_hook(Hook::ItemQueried);
        let packet_hook = host.has_hook(Hook::PacketCaptured);
        ScriptedSink { host, next, item_hook, query_hook, packet_hook, second: i64::MIN, strings: InfoStrings::default() }
    }
}

impl<N: Sink> Sink for ScriptedSink<'_, N> {
    fn item(&mut self, item: Item) {
        let item = if self.item_hook || self.query_hook { self.host.on_item(item, self.query_hook) } else { item };
        self.next.item(item);
    }

    fn wants_packets(&self) -> bool {
        self.packet_hook
    }

    fn packet(&mut self, p: &PacketView<'_>) {
        let strings = &mut self.strings;
        let timestamp = strings.time.format(p.ts);
        let (src_ip, dst_ip) = strings.ips.pair(p.src, p.dst);
        let (src_port, dst_port) = match p.ports {
            Some((s, d)) => (strings.ports.0.format(s), strings.ports.1.format(d)),
            None => ("", ""),
        };
        let flags = tcp_flag_letters(p.tcp_flags.unwrap_or(0), &mut strings.flags);
        self.host.on_packet(&PacketInfo {
            timestamp,
            capture_length: p.captured,
            length: p.wire,
            fragmented: p.fragmented,
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            transport: p.transport,
            outgoing: p.outgoing,
            stream: p.stream.unwrap_or(""),
            flags,
        });
    }

    fn clock(&mut self, now: Timestamp) {
        let second = now.0.div_euclid(Timestamp::SECOND);
        if second != self.second {
            self.second = second;
            self.host.advance_clock(now.0);
        }
    }

    /// Each file is its own capture: its jobs start from its own first packet, rather
    /// than catching up on the time between two files.
    fn capture_finished(&mut self) {
        self.host.reset_clock();
        self.second = i64::MIN;
    }
}

/// TCP flags as letters, in header order from FIN: `F`, `S`, `R`, `P`, `A`, `U`.
fn tcp_flag_letters(flags: u8, out: &mut String) -> &str {
    out.clear();
    out.extend("FSRPAU".chars().enumerate().filter(|(bit, _)| flags & (1 << bit) != 0).map(|(_, c)| c));
    out
}

/// Text for `info` kept from packet to packet: most packets repeat the last ones'
/// addresses and second.
#[derive(Default)]
struct InfoStrings {
    time: Rfc3339Cache,
    ips: IpTexts,
    ports: (itoa::Buffer, itoa::Buffer),
    flags: String,
}

/// The text of the last few addresses seen.
#[derive(Default)]
struct IpTexts {
    recent: Vec<(IpAddr, String)>,
}

impl IpTexts {
    fn remember(&mut self, ip: IpAddr) {
        if !self.recent.iter().any(|(known, _)| *known == ip) {
            if self.recent.len() == 4 {
                self.recent.remove(0);
            }
            self.recent.push((ip, ip.to_string()));
        }
    }

    fn get(&self, ip: IpAddr) -> &str {
        self.recent.iter().find(|(known, _)| *known == ip).map_or("", |(_, text)| text.as_str())
    }

    /// The texts of two addresses (the cache holds four, so both are in it).
    fn pair(&mut self, a: IpAddr, b: IpAddr) -> (&str, &str) {
        self.remember(a);
        self.remember(b);
        (self.get(a), self.get(b))
    }
}

/// Lets `pcap.snapshot` read complete files while replay is still writing them.
pub fn flush_before_snapshot(host: &mut ScriptHost, store: Option<Arc<Mutex<PcapStore>>>) {
    if let Some(store) = store {
        host.set_pcap_flush(Box::new(move || {
            if let Ok(mut store) = store.lock() {
                store.flush_all();
            }
        }));
    }
}
