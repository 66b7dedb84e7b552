//! The live sidecar's scripts on a thread of their own, so that a hook waiting on the
//! network (`vendor.webhook`, `vendor.s3.put`, ...) never stalls capture: the pipeline
//! hands items, packets and clock ticks to a bounded queue ([`ScriptFeed`], the
//! pipeline's sink) and goes on. The script thread runs the hooks, then writes each item
//! out, and exchanges with the hub between batches.
//!
//! When the queue is full — a hook has waited long under heavy traffic — nothing is lost
//! and nothing blocks: items go out at once without `onItemCaptured` (counted, and said
//! in the log), `onPacketCaptured` calls are skipped (counted). Items that bypass the
//! scripts may come out before queued ones.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use remora_model::Item;
use remora_scripting::Hook;

use crate::flow::Timestamp;
use crate::live_scripts::LiveScripts;
use crate::scripted::ScriptedSink;
use crate::sink::{PacketView, Sink};

/// Events the queue holds at most: seconds of a busy pod's items. (Its slots are
/// allocated and touched at start: 4096 small slots are about 100 KiB.)
pub const QUEUE: usize = 4096;

/// A packet for `onPacketCaptured`, owned so it can cross to the script thread.
struct OwnedPacket {
    ts: Timestamp,
    captured: u32,
    wire: u32,
    fragmented: bool,
    src: IpAddr,
    dst: IpAddr,
    ports: Option<(u16, u16)>,
    transport: Box<str>,
    tcp_flags: Option<u8>,
    stream: Option<Box<str>>,
    outgoing: bool,
}

impl OwnedPacket {
    fn of(p: &PacketView<'_>) -> OwnedPacket {
        OwnedPacket {
            ts: p.ts,
            captured: p.captured,
            wire: p.wire,
            fragmented: p.fragmented,
            src: p.src,
            dst: p.dst,
            ports: p.ports,
            transport: p.transport.into(),
            tcp_flags: p.tcp_flags,
            stream: p.stream.map(Into::into),
            outgoing: p.outgoing,
        }
    }

    fn view(&self) -> PacketView<'_> {
        PacketView {
            ts: self.ts,
            captured: self.captured,
            wire: self.wire,
            fragmented: self.fragmented,
            src: self.src,
            dst: self.dst,
            ports: self.ports,
            transport: &self.transport,
            tcp_flags: self.tcp_flags,
            stream: self.stream.as_deref(),
            outgoing: self.outgoing,
        }
    }
}

enum Event {
    /// Boxed, like the packet: the queue's slots stay small (it holds thousands).
    Item(Box<Item>),
    Packet(Box<OwnedPacket>),
    Clock(Timestamp),
}

/// What the scripts running now want to see, as the script thread last said.
#[derive(Default)]
struct Wants {
    items: AtomicBool,
    packets: AtomicBool,
    /// The thread has said once: the mounted scripts are loaded (or there are none).
    said: AtomicBool,
}

/// What passed the scripts by because the queue was full.
#[derive(Default)]
pub struct Behind {
    pub items: AtomicU64,
    pub packets: AtomicU64,
}

/// The pipeline's side: a [`Sink`] that queues for the scripts, or writes items straight
/// out through `direct` when no script wants them or the queue is full.
pub struct ScriptFeed<S: Sink> {
    events: Option<SyncSender<Event>>,
    direct: S,
    wants: Arc<Wants>,
    pub behind: Arc<Behind>,
    second: i64,
    thread: Option<JoinHandle<()>>,
    /// When the log last said the scripts were behind, and what it said.
    told: (Instant, u64, u64),
}

impl<S: Sink> ScriptFeed<S> {
    /// Starts the script thread: `scripts` builds the scripts there (a script host stays
    /// on the thread that made it), `output` takes the items after the hooks.
    pub fn start<O, F>(scripts: F, output: O, direct: S, queue: usize) -> std::io::Result<ScriptFeed<S>>
    where
        O: Sink + Send + 'static,
        F: FnOnce() -> LiveScripts + Send + 'static,
    {
        let (events, inbox) = mpsc::sync_channel(queue);
        let wants = Arc::new(Wants::default());
        let shown = wants.clone();
        let thread = std::thread::Builder::new().name("scripts".into()).spawn(move || run(scripts(), output, inbox, &shown))?;
        Ok(ScriptFeed { events: Some(events), direct, wants, behind: Arc::default(), second: i64::MIN, thread: Some(thread), told: (Instant::now(), 0, 0) })
    }

    /// Waits (at most `limit`) until the scripts are loaded: a replay must not race past
    /// them, as capture may at startup.
    pub fn wait_loaded(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.wants.said.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets the scripts finish what is queued, then stops their thread.
    pub fn finish(mut self) {
        self.events = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// At most every 10 s: says in the log how much passed the scripts by since.
    fn tell(&mut self) {
        if self.told.0.elapsed() < Duration::from_secs(10) {
            return;
        }
        let (items, packets) = (self.behind.items.load(Ordering::Relaxed), self.behind.packets.load(Ordering::Relaxed));
        if (items, packets) != (self.told.1, self.told.2) {
            tracing::warn!(
                "scripts are behind (a hook waits long?): {} items went out without onItemCaptured, {} packets without onPacketCaptured so far",
                items, packets
            );
        }
        self.told = (Instant::now(), items, packets);
    }
}

impl<S: Sink> Sink for ScriptFeed<S> {
    fn item(&mut self, item: Item) {
        let Some(events) = &self.events else { return self.direct.item(item) };
        if !self.wants.items.load(Ordering::Relaxed) {
            return self.direct.item(item);
        }
        match events.try_send(Event::Item(Box::new(item))) {
            Ok(()) => {}
            Err(TrySendError::Full(Event::Item(item)) | TrySendError::Disconnected(Event::Item(item))) => {
                self.behind.items.fetch_add(1, Ordering::Relaxed);
                self.direct.item(*item);
                self.tell();
            }
            Err(_) => {}
        }
    }

    fn wants_packets(&self) -> bool {
        self.wants.packets.load(Ordering::Relaxed)
    }

    fn packet(&mut self, packet: &PacketView<'_>) {
        let Some(events) = &self.events else { return };
        if events.try_send(Event::Packet(Box::new(OwnedPacket::of(packet)))).is_err() {
            self.behind.packets.fetch_add(1, Ordering::Relaxed);
            self.tell();
        }
    }

    /// Jobs fire on whole seconds: one tick a second is enough, and a lost one is made
    /// up by the next.
    fn clock(&mut self, now: Timestamp) {
        let second = now.0.div_euclid(Timestamp::SECOND);
        if second != self.second {
            self.second = second;
            if let Some(events) = &self.events {
                let _ = events.try_send(Event::Clock(now));
            }
        }
    }
}

/// Most events handled between two exchanges with the hub.
const BATCH: usize = 512;

fn run<O: Sink>(mut scripts: LiveScripts, mut output: O, inbox: Receiver<Event>, wants: &Wants) {
    loop {
        scripts.exchange_with_hub();
        let (items, packets) = match scripts.host() {
            Some(host) => (host.has_hook(Hook::ItemCaptured), host.has_hook(Hook::PacketCaptured)),
            None => (false, false),
        };
        wants.items.store(items, Ordering::Relaxed);
        wants.packets.store(packets, Ordering::Relaxed);
        wants.said.store(true, Ordering::Relaxed);
        // A job the hub fires runs within this wait; idle, the thread wakes twice a second.
        let first = match inbox.recv_timeout(Duration::from_millis(500)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let batch = std::iter::once(first).chain(inbox.try_iter().take(BATCH - 1));
        match scripts.host() {
            Some(host) => {
                let mut sink = ScriptedSink::new(host, &mut output, false);
                for event in batch {
                    deliver(&mut sink, event);
                }
            }
            None => {
                for event in batch {
                    deliver(&mut output, event);
                }
            }
        }
    }
}

fn deliver(sink: &mut impl Sink, event: Event) {
    match event {
        Event::Item(item) => sink.item(*item),
        Event::Packet(packet) => {
            if sink.wants_packets() {
                sink.packet(&packet.view());
            }
        }
        Event::Clock(now) => sink.clock(now),
    }
}
