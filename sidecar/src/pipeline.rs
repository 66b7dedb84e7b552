//! The pipeline: frames in, items out. It owns the flow table (bounded, idle flows
//! expire), runs reassembly and protocol detection per flow, hands bytes to the flow's
//! dissector and turns its exchanges into [`Item`]s.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use remora_model::redact::Redaction;
use remora_model::{Endpoint, Item, Node};

use crate::decode::{decode, tcp_flags, DecodeError, LinkType, Transport as Wire};
use crate::dissect::{CloseReason, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, FlowKey, Peer, Timestamp, Transport};
use crate::dissect::icmp;
use crate::flow_state::{dissect_icmp, dissect_tcp, dissect_udp, FlowState};
use crate::pcap_store::PcapStore;
pub use crate::sink::{PacketView, Sink};
use crate::reassembly::{HalfStream, ReassemblyBudget, ReassemblyLimits, ReassemblyStats};

/// Who is capturing, and the limits that bound memory.
/// Names addresses (the hub's name resolution, live): `(name, namespace)`.
pub trait NameLookup: Send + Sync {
    fn lookup(&self, ip: IpAddr) -> Option<(String, String)>;
}

/// A name lookup in the pipeline's configuration.
#[derive(Clone)]
pub struct Names(pub Arc<dyn NameLookup>);

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Names")
    }
}

/// Where a packet's peers really were when a proxy in the pod redirected its connection
/// (a service mesh's): `(src, dst)` as the application meant them, or None to keep what
/// was seen. Asked for every packet: answer fast for those no proxy touched.
pub trait PeerOrigin: Send + Sync {
    fn restore(&self, transport: Transport, src: Peer, dst: Peer) -> Option<(Peer, Peer)>;
}

/// A peer restorer in the pipeline's configuration.
#[derive(Clone)]
pub struct PeerOrigins(pub Arc<dyn PeerOrigin>);

impl std::fmt::Debug for PeerOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerOrigins")
    }
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The item's `worker`.
    pub worker: Arc<str>,
    pub node: Arc<Node>,
    /// The item's `namespace`: the pod's own.
    pub namespace: Arc<str>,
    /// The pod's addresses: a request from one of them is `outgoing`.
    pub local_ips: Vec<IpAddr>,
    pub reassembly: ReassemblyLimits,
    pub dissect: DissectLimits,
    /// A TCP flow with no packet for this long is closed.
    pub tcp_idle_timeout_ns: i64,
    /// A UDP flow with no packet for this long is closed.
    pub udp_idle_timeout_ns: i64,
    /// Live: a UDP flow whose dissector waits for nothing (every DNS query answered) is
    /// closed after this much quiet instead — a resolver's socket per query would
    /// otherwise keep thousands of finished flows in memory. `None` (replay): the UDP
    /// timeout, so each capture's streams stay as tshark sees them.
    pub udp_answered_idle_timeout_ns: Option<i64>,
    /// Flows tracked at once; past it, the least recently seen is closed.
    pub max_flows: usize,
    /// Bytes per direction kept while a flow's protocol is not yet known.
    pub detect_bytes: usize,
    /// Fills the endpoints' `name` and `namespace` when a flow starts (none offline).
    pub names: Option<Names>,
    /// Restores the peers of flows a mesh's proxy redirected, before they are named.
    pub peer_origins: Option<PeerOrigins>,
    /// Values replaced by `[REDACTED]` in every item before anything else sees it.
    pub redaction: Redaction,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            worker: "replay".into(),
            node: Arc::new(Node::default()),
            namespace: "".into(),
            local_ips: Vec::new(),
            reassembly: ReassemblyLimits::default(),
            dissect: DissectLimits::default(),
            tcp_idle_timeout_ns: 300 * Timestamp::SECOND,
            udp_idle_timeout_ns: 30 * Timestamp::SECOND,
            udp_answered_idle_timeout_ns: None,
            max_flows: 200_000,
            detect_bytes: 4096,
            names: None,
            peer_origins: None,
            redaction: Redaction::default(),
        }
    }
}

/// Everything counted, for the summary and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    pub packets: u64,
    /// Bytes on the wire (frame lengths).
    pub bytes: u64,
    /// Frames whose headers did not decode.
    pub malformed_packets: u64,
    /// Frames that are not IP (ARP, LLDP, ...).
    pub non_ip_packets: u64,
    /// IP fragments (not reassembled) and protocols other than TCP and UDP.
    pub other_transport_packets: u64,
    pub ip_fragments: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    /// ICMP/ICMPv6 conversations (one per echo identifier, or per pair of hosts).
    pub icmp_flows: u64,
    /// Flows whose protocol no dissector recognised.
    pub unrecognised_flows: u64,
    pub idle_flows_closed: u64,
    /// Times the flow table was full and the least recently seen flow was closed.
    pub flow_cap_hits: u64,
    pub reassembly: ReassemblyStats,
    /// Items emitted, by protocol name.
    pub items: BTreeMap<String, u64>,
    /// Items that have no response.
    pub unanswered: u64,
    /// Dissector counters, by protocol name.
    pub dissect: BTreeMap<String, DissectStats>,
    /// Values replaced by the redaction.
    pub redacted_values: u64,
}

/// How often the whole flow table is checked for idle flows (idle timeouts are tens of
/// seconds: a pass every second would cost more than it finds).
const IDLE_SWEEP_NS: i64 = 5 * Timestamp::SECOND;

/// How long a closed TCP flow stays to collect its last ACKs into its stream.
const CLOSED_LINGER_NS: i64 = 10 * Timestamp::SECOND;

struct Flow {
    id: u64,
    stream: Arc<str>,
    transport: Transport,
    /// `peers[Dir::Forward.index()]` sent the first captured packet.
    peers: [Peer; 2],
    /// The peers as items show them, made once per flow.
    endpoints: [Arc<Endpoint>; 2],
    last_seen: Timestamp,
    items: u64,
    tcp: [HalfStream; 2],
    state: FlowState,
}

pub struct Pipeline {
    config: PipelineConfig,
    /// Boxed: the table rehashes as it grows, and a flow is large. Kept in the order
    /// flows were last seen (a packet moves its flow to the front), so the one to evict
    /// at the cap is at hand: O(1), not a scan of every flow.
    flows: lru::LruCache<FlowKey, Box<Flow>, rustc_hash::FxBuildHasher>,
    next_stream: u64,
    budget: ReassemblyBudget,
    stats: PipelineStats,
    exchanges: Vec<Exchange>,
    /// Shared with whoever must flush it before reading the files (`pcap.snapshot`).
    pcap: Option<Arc<Mutex<PcapStore>>>,
    now: Timestamp,
    next_sweep: Timestamp,
    /// When the next full pass over the flow table looks for idle flows.
    next_idle_sweep: Timestamp,
    /// Flows whose dissector waits on a timeout: the only ones ticked every second.
    timed: rustc_hash::FxHashSet<FlowKey>,
}

impl Pipeline {
    pub fn new(config: PipelineConfig, pcap: Option<PcapStore>) -> Self {
        Pipeline {
            budget: ReassemblyBudget { limits: config.reassembly, ..Default::default() },
            config,
            flows: lru::LruCache::unbounded_with_hasher(rustc_hash::FxBuildHasher),
            next_stream: 0,
            stats: PipelineStats::default(),
            exchanges: Vec::new(),
            pcap: pcap.map(|store| Arc::new(Mutex::new(store))),
            now: Timestamp::default(),
            next_sweep: Timestamp::default(),
            next_idle_sweep: Timestamp::default(),
            timed: Default::default(),
        }
    }

    pub fn stats(&self) -> PipelineStats {
        let mut stats = self.stats.clone();
        stats.reassembly = self.budget.stats;
        for (_, flow) in self.flows.iter() {
            if let FlowState::Dissecting(d) = &flow.state {
                add_dissect_stats(&mut stats.dissect, d.as_ref());
            }
        }
        stats
    }

    /// The per-stream PCAP store, when the pipeline keeps one.
    pub fn pcap_store(&self) -> Option<Arc<Mutex<PcapStore>>> {
        self.pcap.clone()
    }

    /// Takes one captured frame; items completed by it go to `sink`.
    pub fn packet(&mut self, link: LinkType, link_number: i32, ts: Timestamp, frame: &[u8], wire_len: u32, sink: &mut impl Sink) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(wire_len);
        if ts > self.now {
            self.now = ts;
        }
        sink.clock(ts);
        if self.now >= self.next_sweep {
            self.sweep(sink);
        }
        let packet = match decode(link, frame) {
            Ok(packet) => packet,
            Err(DecodeError::NotIp(_)) => {
                self.stats.non_ip_packets += 1;
                return;
            }
            Err(_) => {
                self.stats.malformed_packets += 1;
                return;
            }
        };
        let (transport, src_port, dst_port) = match packet.transport {
            Wire::Tcp(seg) => (Transport::Tcp, seg.src_port, seg.dst_port),
            Wire::Udp { src_port, dst_port, .. } => (Transport::Udp, src_port, dst_port),
            Wire::Icmp { v6, message } => {
                let id = icmp::echo_identifier(v6, message);
                (Transport::Icmp, id, id)
            }
            Wire::Other { protocol } => {
                self.stats.other_transport_packets += 1;
                self.stats.ip_fragments += u64::from(packet.fragmented);
                if sink.wants_packets() {
                    let number;
                    let transport = match protocol {
                        1 => "icmp",
                        58 => "icmpv6",
                        6 => "tcp",
                        17 => "udp",
                        other => {
                            number = other.to_string();
                            number.as_str()
                        }
                    };
                    let view = PacketView { ts, captured: frame.len() as u32, wire: wire_len, fragmented: packet.fragmented, src: packet.src, dst: packet.dst, ports: None, transport, tcp_flags: None, stream: None, outgoing: self.config.local_ips.contains(&packet.src) };
                    sink.packet(&view);
                }
                return;
            }
        };
        let seen = (Peer { ip: packet.src, port: src_port }, Peer { ip: packet.dst, port: dst_port });
        // A mesh's REDIRECT shows one direction NATed (to the proxy) and the other not:
        // both must land in the flow of the peers the application meant.
        let (src, dst) = match &self.config.peer_origins {
            Some(origins) => origins.0.restore(transport, seen.0, seen.1).unwrap_or(seen),
            None => seen,
        };
        let key = FlowKey::new(transport, src, dst);
        if let Wire::Tcp(seg) = &packet.transport {
            // A new SYN on a finished connection's 4-tuple starts a new connection.
            let reused = seg.has(tcp_flags::SYN)
                && !seg.has(tcp_flags::ACK)
                && self.flows.peek(&key).is_some_and(|f| matches!(f.state, FlowState::Closed) || f.tcp[0].finished() || f.tcp[1].finished());
            if reused {
                self.close_flow(&key, CloseReason::Closed, sink);
            }
        }
        if self.flows.len() >= self.config.max_flows && !self.flows.contains(&key) {
            self.stats.flow_cap_hits += 1;
            if let Some(oldest) = self.flows.peek_lru().map(|(k, _)| *k) {
                self.close_flow(&oldest, CloseReason::Idle, sink);
            }
        }
        let (next_stream, stats, names) = (&mut self.next_stream, &mut self.stats, self.config.names.as_ref());
        // Found or made, the flow moves to the front: the most recently seen.
        let flow = self.flows.get_or_insert_mut(key, || Box::new(new_flow(next_stream, stats, transport, src, dst, ts, names)));
        flow.last_seen = ts;
        if let Some(store) = &self.pcap {
            if let Ok(mut store) = store.lock() {
                store.write(flow.id, &flow.stream, link_number, ts, frame, wire_len);
            }
        }
        if sink.wants_packets() {
            let (transport, tcp_flags) = match &packet.transport {
                Wire::Tcp(seg) => ("tcp", Some(seg.flags)),
                Wire::Icmp { v6: false, .. } => ("icmp", None),
                Wire::Icmp { v6: true, .. } => ("icmpv6", None),
                _ => ("udp", None),
            };
            let view = PacketView {
                ts,
                captured: frame.len() as u32,
                wire: wire_len,
                fragmented: packet.fragmented,
                src: packet.src,
                dst: packet.dst,
                ports: (flow.transport != Transport::Icmp).then_some((src_port, dst_port)),
                transport,
                tcp_flags,
                stream: Some(&flow.stream),
                outgoing: self.config.local_ips.contains(&packet.src),
            };
            sink.packet(&view);
        }
        let dir = if flow.peers[0] == src { Dir::Forward } else { Dir::Reverse };
        let limits = self.config.dissect;
        let detect_bytes = self.config.detect_bytes;
        let mut closed = false;
        match packet.transport {
            Wire::Tcp(_) if matches!(flow.state, FlowState::Closed) => {}
            Wire::Tcp(seg) => {
                let Flow { tcp, state, .. } = &mut **flow;
                let [forward, reverse] = tcp;
                let (this, other) = if dir == Dir::Forward { (forward, reverse) } else { (reverse, forward) };
                let exchanges = &mut self.exchanges;
                if seg.has(tcp_flags::ACK) {
                    other.peer_ack(seg.ack, &mut self.budget, &mut |chunk| {
                        dissect_tcp(state, dir.flip(), chunk, ts, limits, detect_bytes, exchanges, &mut self.stats.unrecognised_flows)
                    });
                }
                this.segment(&seg, &mut self.budget, &mut |chunk| {
                    dissect_tcp(state, dir, chunk, ts, limits, detect_bytes, exchanges, &mut self.stats.unrecognised_flows)
                });
                closed = seg.has(tcp_flags::RST) || (this.finished() && other.finished());
            }
            Wire::Udp { payload, .. } => dissect_udp(&mut flow.state, dir, payload, ts, limits, &mut self.exchanges, &mut self.stats.unrecognised_flows),
            Wire::Icmp { v6, message } => dissect_icmp(&mut flow.state, v6, dir, message, ts, limits, &mut self.exchanges),
            Wire::Other { .. } => {}
        }
        if let FlowState::Dissecting(d) = &flow.state {
            if d.has_timers() {
                self.timed.insert(key);
            }
        }
        emit(&self.config, flow, &mut self.exchanges, &mut self.stats, sink);
        if closed {
            self.end_flow(&key, CloseReason::Closed, sink);
        }
    }

    /// Live capture: moves the clock to `now` when no packet came, so that timeouts
    /// (unanswered DNS queries) and idle flows are handled during quiet periods too.
    pub fn advance(&mut self, now: Timestamp, sink: &mut impl Sink) {
        if now > self.now {
            self.now = now;
        }
        sink.clock(self.now);
        if self.now >= self.next_sweep {
            self.sweep(sink);
        }
    }

    /// Ends a capture (one file, or the live capture): every open flow is closed and
    /// emits what it holds. The pipeline can then take another capture with its own
    /// clock; stream numbers go on.
    pub fn finish(&mut self, sink: &mut impl Sink) {
        let mut keys: Vec<(u64, FlowKey)> = self.flows.iter().map(|(k, f)| (f.id, *k)).collect();
        keys.sort_unstable_by_key(|(id, _)| *id);
        for (_, key) in keys {
            self.close_flow(&key, CloseReason::EndOfCapture, sink);
        }
        if let Some(store) = &self.pcap {
            if let Ok(mut store) = store.lock() {
                store.close_all();
            }
        }
        self.now = Timestamp::default();
        self.next_sweep = Timestamp::default();
        self.next_idle_sweep = Timestamp::default();
        sink.capture_finished();
    }

    /// Ends a flow and forgets it.
    fn close_flow(&mut self, key: &FlowKey, reason: CloseReason, sink: &mut impl Sink) {
        self.end_flow(key, reason, sink);
        self.timed.remove(key);
        if let Some(flow) = self.flows.pop(key) {
            if let Some(store) = &self.pcap {
                if let Ok(mut store) = store.lock() {
                    store.close(flow.id);
                }
            }
        }
    }

    /// Ends a flow's dissection: buffered bytes are flushed and pending requests become
    /// items. The flow stays in the table as `Closed` until removed.
    fn end_flow(&mut self, key: &FlowKey, reason: CloseReason, sink: &mut impl Sink) {
        let Some(flow) = self.flows.peek_mut(key) else { return };
        let now = self.now;
        let limits = self.config.dissect;
        let detect_bytes = self.config.detect_bytes;
        let Flow { tcp, state, .. } = &mut **flow;
        for (index, half) in tcp.iter_mut().enumerate() {
            let dir = if index == 0 { Dir::Forward } else { Dir::Reverse };
            let exchanges = &mut self.exchanges;
            half.flush(&mut self.budget, &mut |chunk| dissect_tcp(state, dir, chunk, now, limits, detect_bytes, exchanges, &mut self.stats.unrecognised_flows));
            half.release(&mut self.budget);
        }
        if let FlowState::Dissecting(dissector) = state {
            dissector.close(now, reason, &mut self.exchanges);
            add_dissect_stats(&mut self.stats.dissect, dissector.as_ref());
        }
        *state = FlowState::Closed;
        emit(&self.config, flow, &mut self.exchanges, &mut self.stats, sink);
    }

    /// Lets dissectors time out what waits too long (every second of capture time) and
    /// closes idle flows (every ten seconds: a full pass over the table).
    fn sweep(&mut self, sink: &mut impl Sink) {
        self.next_sweep = Timestamp(self.now.0 + Timestamp::SECOND);
        let now = self.now;
        let timed = std::mem::take(&mut self.timed);
        for key in timed {
            let Some(flow) = self.flows.peek_mut(&key) else { continue };
            if let FlowState::Dissecting(d) = &mut flow.state {
                d.tick(now, &mut self.exchanges);
                if d.has_timers() {
                    self.timed.insert(key);
                }
                emit(&self.config, flow, &mut self.exchanges, &mut self.stats, sink);
            }
        }
        if now < self.next_idle_sweep {
            return;
        }
        let (tcp_idle, udp_idle) = (self.config.tcp_idle_timeout_ns, self.config.udp_idle_timeout_ns);
        let answered_idle = self.config.udp_answered_idle_timeout_ns;
        self.next_idle_sweep = Timestamp(now.0 + answered_idle.map_or(IDLE_SWEEP_NS, |t| t.min(IDLE_SWEEP_NS)));
        let mut idle = Vec::new();
        for (key, flow) in self.flows.iter() {
            let timeout = match (&flow.state, flow.transport) {
                (FlowState::Closed, _) => CLOSED_LINGER_NS.min(tcp_idle),
                (_, Transport::Tcp) => tcp_idle,
                (FlowState::Dissecting(d), Transport::Udp) if !d.has_timers() => answered_idle.unwrap_or(udp_idle),
                (_, Transport::Udp | Transport::Icmp) => udp_idle,
            };
            if now.0 - flow.last_seen.0 > timeout {
                idle.push((flow.id, *key));
            }
        }
        idle.sort_unstable_by_key(|(id, _)| *id);
        for (_, key) in idle {
            if self.flows.peek(&key).is_some_and(|f| !matches!(f.state, FlowState::Closed)) {
                self.stats.idle_flows_closed += 1;
            }
            self.close_flow(&key, CloseReason::Idle, sink);
        }
    }
}

/// Makes the state of a flow first seen now.
fn new_flow(next_stream: &mut u64, stats: &mut PipelineStats, transport: Transport, src: Peer, dst: Peer, now: Timestamp, names: Option<&Names>) -> Flow {
    *next_stream += 1;
    let id = *next_stream;
    let stream = match transport {
        Transport::Tcp => {
            stats.tcp_flows += 1;
            format!("{id:012}.pcap").into()
        }
        Transport::Udp => {
            stats.udp_flows += 1;
            format!("{id:012}_udp.pcap").into()
        }
        Transport::Icmp => {
            stats.icmp_flows += 1;
            format!("{id:012}_icmp.pcap").into()
        }
    };
    Flow {
        id,
        stream,
        transport,
        peers: [src, dst],
        // An ICMP flow's "port" is its echo identifier, not a port an item should show.
        endpoints: [src, dst].map(|peer| endpoint(if transport == Transport::Icmp { Peer { port: 0, ..peer } } else { peer }, names)),
        last_seen: now,
        items: 0,
        tcp: Default::default(),
        state: FlowState::Detecting { buffered: Default::default(), attempts: 0 },
    }
}

/// Turns the exchanges a flow produced into items.
fn emit(config: &PipelineConfig, flow: &mut Flow, exchanges: &mut Vec<Exchange>, stats: &mut PipelineStats, sink: &mut impl Sink) {
    for exchange in exchanges.drain(..) {
        let mut item = make_item(config, flow, exchange, stats);
        stats.redacted_values += config.redaction.apply(&mut item) as u64;
        sink.item(item);
    }
}

fn add_dissect_stats(into: &mut BTreeMap<String, DissectStats>, dissector: &dyn StreamDissector) {
    *into.entry(dissector.protocol_name().to_string()).or_default() += dissector.stats();
}

/// An endpoint, named as the name resolution knows its address when the flow starts.
fn endpoint(peer: Peer, names: Option<&Names>) -> Arc<Endpoint> {
    let (name, namespace) = names.and_then(|n| n.0.lookup(peer.ip)).unwrap_or_default();
    Arc::new(Endpoint { ip: peer.ip.to_string(), port: peer.port.to_string(), name, namespace })
}

fn make_item(config: &PipelineConfig, flow: &mut Flow, exchange: Exchange, stats: &mut PipelineStats) -> Item {
    let client = exchange.request_dir.index();
    let server = exchange.request_dir.flip().index();
    let index = flow.items;
    flow.items += 1;
    match stats.items.get_mut(exchange.protocol.name.as_ref()) {
        Some(count) => *count += 1,
        None => {
            stats.items.insert(exchange.protocol.name.to_string(), 1);
        }
    }
    let mut id = String::with_capacity(config.worker.len() + flow.stream.len() + 8);
    id.push_str(&config.worker);
    id.push('/');
    id.push_str(&flow.stream);
    id.push('-');
    id.push_str(itoa::Buffer::new().format(index));
    stats.unanswered += u64::from(exchange.response.is_none());
    let elapsed_ns = exchange.response_end.map_or(0, |end| (end.0 - exchange.request_start.0).max(0));
    Item {
        id,
        index,
        stream: flow.stream.clone(),
        worker: config.worker.clone(),
        node: config.node.clone(),
        // The handshake's own items; other protocols inside TLS are not seen.
        tls: exchange.protocol.name == "tls",
        protocol: exchange.protocol,
        outgoing: config.local_ips.contains(&flow.peers[client].ip),
        src: flow.endpoints[client].clone(),
        dst: flow.endpoints[server].clone(),
        namespace: config.namespace.clone(),
        timestamp: exchange.request_start.millis(),
        elapsed_time: elapsed_ns / 1_000_000,
        request: exchange.request,
        response: exchange.response,
        start_time: exchange.request_start.rfc3339(),
        request_size: exchange.request_size,
        response_size: exchange.response_size,
        passed: false,
        failed: false,
        error: exchange.error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remora_model::{ItemErrorKind, Request};

    const CLIENT: [u8; 4] = [192, 0, 2, 1];
    const SERVER: [u8; 4] = [192, 0, 2, 2];

    /// A raw-IP frame (link type RAW) from `src:sport` to `dst:dport`.
    fn frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, tcp: Option<(u32, u8)>, payload: &[u8]) -> Vec<u8> {
        let l4 = if tcp.is_some() { 20 } else { 8 } + payload.len();
        let total = 20 + l4;
        let mut f = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, if tcp.is_some() { 6 } else { 17 }, 0, 0];
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        match tcp {
            Some((seq, flags)) => {
                f.extend_from_slice(&seq.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
            }
            None => f.extend_from_slice(&[(l4 >> 8) as u8, l4 as u8, 0, 0]),
        }
        f.extend_from_slice(payload);
        f
    }

    fn feed(p: &mut Pipeline, items: &mut Vec<Item>, secs: i64, f: &[u8]) {
        p.packet(LinkType::Raw, 12, Timestamp(secs * Timestamp::SECOND), f, f.len() as u32, &mut |i| items.push(i));
    }

    const PSH: u8 = tcp_flags::PSH;
    const RST: u8 = tcp_flags::RST;

    #[test]
    fn rst_ends_the_flow_and_unanswered_requests_say_why() {
        let mut p = Pipeline::new(PipelineConfig::default(), None);
        let mut items = Vec::new();
        let req = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
        feed(&mut p, &mut items, 0, &frame(CLIENT, SERVER, 4000, 80, Some((1, PSH)), req));
        assert!(items.is_empty());
        feed(&mut p, &mut items, 1, &frame(SERVER, CLIENT, 80, 4000, Some((1, RST)), b""));
        assert_eq!(items.len(), 1, "the RST closes the flow at once");
        assert!(items[0].response.is_none());
        assert_eq!(items[0].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::Connection));
        assert_eq!((items[0].src.port.as_str(), items[0].dst.port.as_str()), ("4000", "80"));
    }

    #[test]
    fn unanswered_dns_query_times_out_by_capture_time() {
        let mut p = Pipeline::new(PipelineConfig::default(), None);
        let mut items = Vec::new();
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01";
        feed(&mut p, &mut items, 100, &frame(CLIENT, SERVER, 5353, 53, None, query));
        // Other traffic moves the clock on: 6 s later the query has timed out.
        feed(&mut p, &mut items, 103, &frame(CLIENT, SERVER, 1, 2, None, b"noise"));
        assert!(items.is_empty(), "3 s is within the timeout");
        feed(&mut p, &mut items, 106, &frame(CLIENT, SERVER, 1, 2, None, b"noise"));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].error.as_ref().map(|e| e.kind), Some(ItemErrorKind::Timeout));
        let Request::Dns(q) = &items[0].request else { panic!("a DNS item") };
        assert_eq!(q.questions[0].name, "www.example.com");
    }

    #[test]
    fn answered_udp_flows_close_early_live_and_late_in_replay() {
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01";
        let mut answer = query.to_vec();
        answer[2] = 0x81;
        answer[3] = 0x80;
        for (answered_timeout, closed_after_4s) in [(Some(2 * Timestamp::SECOND), 1), (None, 0)] {
            let config = PipelineConfig { udp_answered_idle_timeout_ns: answered_timeout, ..PipelineConfig::default() };
            let mut p = Pipeline::new(config, None);
            let mut items = Vec::new();
            feed(&mut p, &mut items, 100, &frame(CLIENT, SERVER, 5353, 53, None, query));
            feed(&mut p, &mut items, 100, &frame(SERVER, CLIENT, 53, 5353, None, &answer));
            assert_eq!(items.len(), 1, "the answered query is an item at once");
            p.advance(Timestamp(104 * Timestamp::SECOND + 1), &mut |i| items.push(i));
            assert_eq!(p.stats().idle_flows_closed, closed_after_4s, "{answered_timeout:?}");
        }
    }

    #[test]
    fn flow_table_is_capped_and_counts_it() {
        let config = PipelineConfig { max_flows: 2, ..PipelineConfig::default() };
        let mut p = Pipeline::new(config, None);
        let mut items = Vec::new();
        for port in 0..5u16 {
            let req = format!("GET /{port} HTTP/1.1\r\n\r\n");
            feed(&mut p, &mut items, i64::from(port), &frame(CLIENT, SERVER, 4000 + port, 80, Some((1, PSH)), req.as_bytes()));
        }
        assert_eq!(p.flows.len(), 2);
        let stats = p.stats();
        assert_eq!((stats.tcp_flows, stats.flow_cap_hits), (5, 3));
        assert_eq!(items.len(), 3, "each evicted flow's request became an item");
    }

    /// At the cap the flow seen least recently goes, whatever order the flows began in.
    #[test]
    fn the_flow_seen_least_recently_is_evicted() {
        let config = PipelineConfig { max_flows: 2, ..PipelineConfig::default() };
        let mut p = Pipeline::new(config, None);
        let mut items = Vec::new();
        let get = |port: u16, seq: u32| frame(CLIENT, SERVER, port, 80, Some((seq, PSH)), format!("GET /{port} HTTP/1.1\r\n\r\n").as_bytes());
        feed(&mut p, &mut items, 1, &get(4001, 1));
        feed(&mut p, &mut items, 2, &get(4002, 1));
        // 4001 sends again, after 4002: 4002 is now the one seen least recently.
        feed(&mut p, &mut items, 3, &get(4001, 25));
        feed(&mut p, &mut items, 4, &get(4003, 1));
        let ports: Vec<&str> = items.iter().map(|i| i.src.port.as_str()).collect();
        assert_eq!(ports, ["4002"], "the evicted flow's request is the one item");
        assert_eq!(p.stats().flow_cap_hits, 1);
    }

    #[test]
    fn global_reassembly_budget_is_shared_and_enforced() {
        let config = PipelineConfig { reassembly: ReassemblyLimits { per_stream_bytes: 1 << 20, total_bytes: 100 }, ..PipelineConfig::default() };
        let mut p = Pipeline::new(config, None);
        let mut items = Vec::new();
        // Four connections each with 40 bytes waiting behind a hole: the third passes the cap.
        for port in 0..4u16 {
            let f = frame(CLIENT, SERVER, 6000 + port, 80, Some((1, PSH)), b"GET / HTTP/1.1\r\n");
            feed(&mut p, &mut items, 0, &f);
            let ahead = frame(CLIENT, SERVER, 6000 + port, 80, Some((1000, PSH)), &[b'x'; 40]);
            feed(&mut p, &mut items, 0, &ahead);
        }
        let stats = p.stats();
        assert!(stats.reassembly.total_cap_hits >= 1, "{:?}", stats.reassembly);
        assert!(p.budget.buffered_bytes <= 100);
        p.finish(&mut |i| items.push(i));
        assert_eq!(p.budget.buffered_bytes, 0, "finishing returns every buffered byte");
    }
}
