//! Replay with scripts: the pipeline's sink that runs the hooks before items are printed.

use std::sync::{Arc, Mutex};

use remora_model::Item;
use remora_scripting::{Hook, PacketInfo, ScriptHost};
use remora_sidecar::flow::Timestamp;
use remora_sidecar::pcap_store::PcapStore;
use remora_sidecar::pipeline::{PacketView, Sink};

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
}

impl<'h, N: Sink> ScriptedSink<'h, N> {
    pub fn new(host: &'h mut ScriptHost, next: &'h mut N, query: bool) -> Self {
        let item_hook = host.has_hook(Hook::ItemCaptured);
        let query_hook = query && host.has_hook(Hook::ItemQueried);
        let packet_hook = host.has_hook(Hook::PacketCaptured);
        ScriptedSink { host, next, item_hook, query_hook, packet_hook, second: i64::MIN }
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
        let (src_port, dst_port) = p.ports.map(|(s, d)| (s.to_string(), d.to_string())).unwrap_or_default();
        self.host.on_packet(&PacketInfo {
            timestamp: p.ts.rfc3339(),
            capture_length: p.captured,
            length: p.wire,
            fragmented: p.fragmented,
            src_ip: p.src.to_string(),
            src_port,
            dst_ip: p.dst.to_string(),
            dst_port,
            transport: p.transport.to_string(),
            outgoing: p.outgoing,
            stream: p.stream.unwrap_or("").to_string(),
            flags: p.tcp_flags.map(tcp_flag_letters).unwrap_or_default(),
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
fn tcp_flag_letters(flags: u8) -> String {
    "FSRPAU".chars().enumerate().filter(|(bit, _)| flags & (1 << bit) != 0).map(|(_, c)| c).collect()
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
