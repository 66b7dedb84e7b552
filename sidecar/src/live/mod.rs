//! Live capture with libpcap on the pod's interfaces: one reader thread per interface,
//! frames handed to the pipeline in batches, kernel drops counted per interface.

pub mod interfaces;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcap::{Active, Capture, Device, Precision};

use crate::decode::LinkType;
use crate::flow::Timestamp;

/// A partial batch waits at most this long before it goes to the pipeline.
const POLL_MS: i32 = 100;
/// With nothing to read, a reader waits on the capture's descriptor (poll) at most this
/// long: it then sees its stop flag and refreshes its counters. The captures are
/// non-blocking (libpcap's read timeout is not honoured on every kernel path: TPACKET_V3
/// may wait for a first packet); the wait is what keeps an idle sidecar asleep — two
/// wakeups a second per interface instead of a 5 ms poll's two hundred.
const IDLE_WAIT: Duration = Duration::from_millis(500);
const BATCH_PACKETS: usize = 512;
const BATCH_BYTES: usize = 512 << 10;
/// Batches queued for the pipeline. When it falls behind, readers wait and the kernel
/// buffer absorbs the burst; what overflows it is counted as a kernel drop.
const BATCHES_IN_FLIGHT: usize = 16;
/// The kernel's capture buffer per interface when not told otherwise. It is mapped into
/// the process (its pages count in RSS from the start); it absorbs bursts while the
/// pipeline catches up. 3 MiB holds about 80 ms at 200k packets/s: no drops at that rate
/// on a quiet machine (bench/capture_drops.py), and idle RSS within 12 MB.
pub const DEFAULT_KERNEL_BUFFER: u32 = 3 << 20;

/// Counters of one captured interface, read by /metrics.
#[derive(Debug, Default)]
pub struct InterfaceStats {
    pub name: String,
    /// Packets handed to the pipeline.
    pub packets: AtomicU64,
    /// libpcap's counters: received by the filter, dropped for lack of buffer space,
    /// dropped by the interface or its driver.
    pub received: AtomicU64,
    pub dropped: AtomicU64,
    pub if_dropped: AtomicU64,
}

/// Frames of one interface, back to back in `data`.
pub struct Frames {
    pub interface: usize,
    pub link: LinkType,
    pub link_number: i32,
    /// (capture time, length on the wire, end of the frame in `data`).
    pub packets: Vec<(Timestamp, u32, usize)>,
    pub data: Vec<u8>,
}

impl Frames {
    pub fn iter(&self) -> impl Iterator<Item = (Timestamp, u32, &[u8])> {
        let mut start = 0;
        self.packets.iter().map(move |&(ts, wire, end)| {
            let frame = &self.data[start..end];
            start = end;
            (ts, wire, frame)
        })
    }
}

/// A capture filter to put in place of the one the readers apply (the hub's address
/// changed): each reader looks at `generation` between packets and, when it moved,
/// compiles and sets `filter` on its own handle.
#[derive(Debug, Default)]
pub struct FilterUpdate {
    generation: AtomicU64,
    filter: std::sync::Mutex<String>,
}

impl FilterUpdate {
    pub fn set(&self, filter: &str) {
        *self.filter.lock().unwrap_or_else(|p| p.into_inner()) = filter.to_string();
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn current(&self) -> String {
        self.filter.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub struct LiveCapture {
    frames: Receiver<Frames>,
    /// Where a new filter is handed to the readers.
    pub filter: Arc<FilterUpdate>,
    /// Used batches go back to their reader to be filled again: fresh half-megabyte
    /// buffers every 100 ms cost allocations and page faults.
    recycle: Vec<SyncSender<Frames>>,
    pub interfaces: Vec<Arc<InterfaceStats>>,
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<Result<(), String>>>,
}

/// Why capture could not start, naming the interface.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{interface}: {reason}")]
    Open { interface: String, reason: String },
    #[error("{interface}: unsupported link type {linktype}")]
    LinkType { interface: String, linktype: i32 },
    #[error("capture filter {filter:?}: {reason}")]
    Filter { filter: String, reason: String },
}

impl LiveCapture {
    /// Opens every device (non-promiscuous, nanosecond timestamps, `filter` applied,
    /// `kernel_buffer` bytes of kernel buffer each) and
    /// starts reading. Opening happens here, so a missing capability or a bad filter is
    /// an error now rather than a silent thread later.
    pub fn start(devices: &[Device], filter: &str, kernel_buffer: u32) -> Result<LiveCapture, StartError> {
        let kernel_buffer = i32::try_from(kernel_buffer.max(64 << 10)).unwrap_or(i32::MAX);
        let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
        let stop = Arc::new(AtomicBool::new(false));
        let update = Arc::new(FilterUpdate::default());
        let mut opened = Vec::new();
        for device in devices {
            let open_err = |e: pcap::Error| StartError::Open { interface: device.name.clone(), reason: e.to_string() };
            let mut capture = Capture::from_device(device.clone())
                .map_err(open_err)?
                .promisc(false)
                .snaplen(65535)
                .buffer_size(kernel_buffer)
                .timeout(POLL_MS)
                .precision(Precision::Nano)
                .open()
                .map_err(open_err)?
                .setnonblock()
                .map_err(open_err)?;
            let linktype = capture.get_datalink();
            let link = LinkType::from_linktype(linktype.0)
                .ok_or(StartError::LinkType { interface: device.name.clone(), linktype: linktype.0 })?;
            if !filter.trim().is_empty() {
                capture
                    .filter(filter, true)
                    .map_err(|e| StartError::Filter { filter: filter.to_string(), reason: e.to_string() })?;
            }
            let stats = Arc::new(InterfaceStats { name: device.name.clone(), ..Default::default() });
            opened.push((capture, link, linktype.0, stats));
        }
        let mut interfaces = Vec::new();
        let mut readers = Vec::new();
        let mut recycle = Vec::new();
        for (index, (capture, link, link_number, stats)) in opened.into_iter().enumerate() {
            interfaces.push(stats.clone());
            let (used_tx, used_rx) = sync_channel(BATCHES_IN_FLIGHT);
            recycle.push(used_tx);
            let reader = Reader { index, link, link_number, stats, stop: stop.clone(), tx: tx.clone(), used: used_rx, filter: update.clone() };
            let name = format!("capture-{}", reader.stats.name);
            let handle = std::thread::Builder::new()
                .name(name)
                .spawn(move || reader.run(capture))
                .map_err(|e| StartError::Open { interface: "thread".into(), reason: e.to_string() })?;
            readers.push(handle);
        }
        Ok(LiveCapture { frames: rx, filter: update, recycle, interfaces, stop, readers })
    }

    /// The next batch, or `None` after `timeout` without one (or once every reader ended).
    pub fn next(&self, timeout: Duration) -> Result<Frames, RecvTimeoutError> {
        self.frames.recv_timeout(timeout)
    }

    /// Hands a processed batch back to its reader.
    pub fn recycle(&self, mut frames: Frames) {
        frames.packets.clear();
        frames.data.clear();
        if let Some(reader) = self.recycle.get(frames.interface) {
            let _ = reader.try_send(frames);
        }
    }

    /// Stops the readers and returns what ended each one early, if anything did.
    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        // Readers blocked on a full queue need it drained to see the flag.
        while self.frames.try_recv().is_ok() {}
        drop(self.frames);
        self.readers
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("a capture thread panicked".into()),
            })
            .collect()
    }
}

struct Reader {
    index: usize,
    link: LinkType,
    link_number: i32,
    stats: Arc<InterfaceStats>,
    stop: Arc<AtomicBool>,
    tx: SyncSender<Frames>,
    used: Receiver<Frames>,
    filter: Arc<FilterUpdate>,
}

/// Waits until a capture's descriptor is readable (epoll through mio).
struct Waiter {
    poll: mio::Poll,
    events: mio::Events,
}

impl Waiter {
    fn new(capture: &Capture<Active>) -> std::io::Result<Waiter> {
        use std::os::fd::AsRawFd;
        let poll = mio::Poll::new()?;
        // Registered once; mio's registration is edge-triggered, and the reader only
        // waits after reading the capture dry, so no readiness is missed.
        poll.registry().register(&mut mio::unix::SourceFd(&capture.as_raw_fd()), mio::Token(0), mio::Interest::READABLE)?;
        Ok(Waiter { poll, events: mio::Events::with_capacity(1) })
    }

    fn wait(&mut self, at_most: Duration) {
        // An interrupted or failed wait only means looking at the capture sooner.
        let _ = self.poll.poll(&mut self.events, Some(at_most));
    }
}

impl Reader {
    fn fresh(&self) -> Frames {
        if let Ok(frames) = self.used.try_recv() {
            return frames;
        }
        Frames {
            interface: self.index,
            link: self.link,
            link_number: self.link_number,
            packets: Vec::with_capacity(BATCH_PACKETS),
            data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
        }
    }

    fn run(self, mut capture: Capture<Active>) -> Result<(), String> {
        let mut waiter = Waiter::new(&capture).map_err(|e| format!("{}: cannot wait on the capture: {e}", self.stats.name))?;
        let mut batch = self.fresh();
        let mut oldest = Instant::now();
        let mut last_stats = Instant::now();
        let mut filter_generation = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let generation = self.filter.generation.load(Ordering::Acquire);
            if generation != filter_generation {
                filter_generation = generation;
                let filter = self.filter.current();
                // A filter that does not compile leaves the one in force (and says why).
                if let Err(e) = capture.filter(&filter, true) {
                    tracing::warn!("{}: capture filter {filter:?} not applied: {e}", self.stats.name);
                }
            }
            match capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    #[allow(clippy::useless_conversion)]
                    let ts = Timestamp(i64::from(header.ts.tv_sec) * Timestamp::SECOND + i64::from(header.ts.tv_usec));
                    if batch.packets.is_empty() {
                        oldest = Instant::now();
                    }
                    batch.data.extend_from_slice(packet.data);
                    batch.packets.push((ts, header.len, batch.data.len()));
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // Nothing buffered: sleep until the kernel has packets, a partial batch
                    // is due, or it is time to look at the stop flag.
                    let due = if batch.packets.is_empty() { IDLE_WAIT } else { Duration::from_millis(POLL_MS as u64).saturating_sub(oldest.elapsed()) };
                    waiter.wait(due.min(IDLE_WAIT));
                }
                Err(e) => return Err(format!("{}: capture stopped: {e}", self.stats.name)),
            }
            let full = batch.packets.len() >= BATCH_PACKETS || batch.data.len() >= BATCH_BYTES;
            let stale = !batch.packets.is_empty() && oldest.elapsed() >= Duration::from_millis(POLL_MS as u64);
            if full || stale {
                let count = batch.packets.len() as u64;
                if self.tx.send(std::mem::replace(&mut batch, self.fresh())).is_err() {
                    return Ok(());
                }
                self.stats.packets.fetch_add(count, Ordering::Relaxed);
            }
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = Instant::now();
                if let Ok(s) = capture.stats() {
                    self.stats.received.store(u64::from(s.received), Ordering::Relaxed);
                    self.stats.dropped.store(u64::from(s.dropped), Ordering::Relaxed);
                    self.stats.if_dropped.store(u64::from(s.if_dropped), Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}
