//! The pipeline's sink that runs the script hooks before items are handed on: shared by
//! `remora replay` and the live sidecar.

use std::sync::{Arc, Mutex};

use remora_model::Item;
use remora_scripting::{Hook, PacketInfo, ScriptHost};

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
    /// `info.timestamp`: most packets repeat the last ones' second.
    time: Rfc3339Cache,
}

impl<'h, N: Sink> ScriptedSink<'h, N> {
    pub fn new(host: &'h mut ScriptHost, next: &'h mut N, query: bool) -> Self {
        let item_hook = host.has_hook(Hook::ItemCaptured);
        let query_hook = query && host.has_hook(Hook::ItemQueried);
        let packet_hook = host.has_hook(Hook::PacketCaptured);
        ScriptedSink { host, next, item_hook, query_hook, packet_hook, second: i64::MIN, time: Rfc3339Cache::default() }
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
        let timestamp = self.time.format(p.ts);
        self.host.on_packet(&PacketInfo {
            timestamp,
            capture_length: p.captured,
            length: p.wire,
            fragmented: p.fragmented,
            src: p.src,
            dst: p.dst,
            ports: p.ports,
            transport: p.transport,
            outgoing: p.outgoing,
            stream: p.stream.unwrap_or(""),
            tcp_flags: p.tcp_flags,
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
