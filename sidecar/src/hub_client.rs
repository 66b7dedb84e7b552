//! The sidecar's session with the hub: one WebSocket, items in numbered batches kept
//! until the hub acknowledges them, reconnection with backoff, and a bounded outbox so
//! that a hub outage costs memory up to a limit and then the oldest items (counted and
//! reported), never the capture.
//!
//! The same session carries the scripts' cluster calls (`jobs.*`, `hub.action`) to the
//! hub, and the hub's frames back: job runs, the cluster's jobs and new scripts wait in
//! an inbox the capture loop empties; PCAP requests are answered here, from the files.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::collections::BTreeMap;

use remora_model::wire::{FromSidecar, JobInfo, JobRequest, PcapChunk, PodIdentity, SidecarStats, ToSidecar, PCAP_CHUNK, SIDECAR_PATH, OLDEST_VERSION, VERSION};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Items per frame.
const BATCH: usize = 256;
/// Bytes of items per frame: well under the 16 MiB frames the hub reads (tungstenite's
/// default), which a batch of 256 large items would pass — the hub would drop the
/// session and the same batch would be sent again forever.
const BATCH_BYTES: usize = 4 << 20;
/// An item this large could never be sent whole; it is dropped and counted.
pub const MAX_ITEM_BYTES: usize = 8 << 20;
/// A partial batch waits at most this long.
const LINGER: Duration = Duration::from_millis(100);
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Unreachable this long, the hub is taken as gone (uninstalled, or down for long): the
/// sidecar goes dormant, trying (and saying so) once a minute. Capture and scripts go on;
/// the outbox stays bounded, keeping the newest items.
const DORMANT_AFTER: Duration = Duration::from_secs(300);
const DORMANT_RETRY: Duration = Duration::from_secs(60);

/// The wait before the next try after a failure, when the last wait was `last` and the
/// hub has been unreachable for `unreachable_for`: doubling up to [`BACKOFF_MAX`], then
/// [`DORMANT_RETRY`] once dormant.
fn retry_after(last: Duration, unreachable_for: Duration) -> Duration {
    if unreachable_for >= DORMANT_AFTER {
        DORMANT_RETRY
    } else {
        (last * 2).clamp(BACKOFF_MIN, BACKOFF_MAX)
    }
}

/// Where the hub is and how to prove who we are.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// `ws://host:port` (the path is added).
    pub url: String,
    /// Read at every connection: projected tokens are rotated by the kubelet.
    pub token_file: Option<PathBuf>,
    /// CA certificates a `wss://` hub's certificate must chain to; none: the system's
    /// roots.
    pub ca: Option<HubCa>,
    pub identity: PodIdentity,
    /// Bounds of the outbox: a minute of 1,000 items/s fits the defaults.
    pub max_items: usize,
    pub max_bytes: usize,
    /// The per-stream PCAP files the hub may ask for (in the store's directory), flushed
    /// before an answer, so a stream asked for the moment its item arrived is sent whole
    /// (files are otherwise flushed every second).
    pub pcap_store: Option<Arc<std::sync::Mutex<crate::pcap_store::PcapStore>>>,
    /// The counters reported to the hub every [`STATS_EVERY`].
    pub status: Arc<crate::health::Status>,
}

/// Where the hub's CA comes from.
#[derive(Debug, Clone)]
pub enum HubCa {
    /// A PEM file, read at every connection (a mount may be updated).
    File(PathBuf),
    /// PEM text (`REMORA_HUB_CA`, which the injector sets).
    Pem(String),
}

/// How often the sidecar's counters go to the hub.
const STATS_EVERY: Duration = Duration::from_secs(10);

/// Cluster calls (hub actions, job requests) waiting for the hub; past this the oldest
/// are dropped (best effort, like console lines).
const CONTROL_FRAMES: usize = 10_000;

/// Console lines kept for the hub, newest kept (best effort: not acknowledged).
const CONSOLE_LINES: usize = 10_000;

/// Items waiting for the hub, serialised, oldest first.
#[derive(Default)]
struct Outbox {
    console: VecDeque<String>,
    items: VecDeque<String>,
    bytes: usize,
    dropped: u64,
    /// Dropped items not yet reported to the hub.
    unreported: u64,
    /// Job requests and hub actions, as frames.
    control: VecDeque<String>,
    /// Every job the scripts scheduled (and did not remove): announced again on each
    /// connection, so a restarted hub learns them.
    announced: BTreeMap<String, JobInfo>,
}

/// What to send next, taken from the outbox under one lock.
struct Work {
    /// Items dropped while the hub was away, not yet reported.
    dropped: u64,
    console: Vec<String>,
    control: Vec<String>,
    items: Vec<String>,
}

impl Outbox {
    fn take_work(&mut self) -> Work {
        let console = self.console.len().min(BATCH);
        let control = self.control.len().min(BATCH);
        // At least one item, then as many as fit the count and the bytes.
        let mut bytes = 0;
        let items = self
            .items
            .iter()
            .take(BATCH)
            .take_while(|item| {
                bytes += item.len();
                bytes <= BATCH_BYTES
            })
            .count()
            .max(self.items.len().min(1));
        let items: Vec<String> = self.items.drain(..items).collect();
        self.bytes -= items.iter().map(String::len).sum::<usize>();
        Work {
            dropped: std::mem::take(&mut self.unreported),
            console: self.console.drain(..console).collect(),
            control: self.control.drain(..control).collect(),
            items,
        }
    }

    fn push_control(&mut self, frame: String) {
        if self.control.len() >= CONTROL_FRAMES {
            self.control.pop_front();
        }
        self.control.push_back(frame);
    }

    /// The jobs the scripts scheduled, as one frame to send first on a new connection.
    fn announcement(&self) -> Option<FromSidecar> {
        let requests: Vec<JobRequest> =
            self.announced.values().map(|j| JobRequest::Schedule { tag: j.tag.clone(), cron: j.cron.clone(), limit: j.limit }).collect();
        (!requests.is_empty()).then_some(FromSidecar::Jobs { v: VERSION, requests })
    }
}

/// What the hub sent for the capture loop.
#[derive(Default)]
struct Inbox {
    frames: Vec<ToSidecar>,
}

/// What /metrics and the shutdown log report.
#[derive(Debug, Default)]
pub struct HubStats {
    pub connected: AtomicBool,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub dropped: AtomicU64,
    pub connects: AtomicU64,
    /// Frames of a type this build does not know (a newer hub's), skipped.
    pub unknown_frames: AtomicU64,
}

#[derive(Clone)]
pub struct HubClient {
    outbox: Arc<Mutex<Outbox>>,
    inbox: Arc<Mutex<Inbox>>,
    /// Set when the inbox has frames: the capture loop checks it without locking.
    inbox_ready: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    config: HubConfig,
    pub stats: Arc<HubStats>,
}

impl HubClient {
    /// Starts the session on a thread of its own.
    pub fn start(config: HubConfig) -> Result<HubClient, String> {
        let client = HubClient::new(config);
        let session = Session {
            outbox: client.outbox.clone(),
            inbox: client.inbox.clone(),
            inbox_ready: client.inbox_ready.clone(),
            wake: client.wake.clone(),
            config: client.config.clone(),
            stats: client.stats.clone(),
        };
        std::thread::Builder::new()
            .name("hub-client".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                runtime.block_on(session.run());
            })
            .map_err(|e| format!("cannot start the hub client: {e}"))?;
        Ok(client)
    }

    fn new(config: HubConfig) -> HubClient {
        HubClient {
            outbox: Arc::new(Mutex::new(Outbox::default())),
            inbox: Arc::new(Mutex::new(Inbox::default())),
            inbox_ready: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(tokio::sync::Notify::new()),
            config,
            stats: Arc::new(HubStats::default()),
        }
    }

    /// Queues one item (its JSON text); never blocks the capture.
    pub fn send(&self, item_json: String) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        let mut dropped = 0;
        if item_json.len() > MAX_ITEM_BYTES {
            dropped += 1;
        } else {
            outbox.bytes += item_json.len();
            outbox.items.push_back(item_json);
        }
        while outbox.items.len() > self.config.max_items || outbox.bytes > self.config.max_bytes {
            let Some(old) = outbox.items.pop_front() else { break };
            outbox.bytes -= old.len();
            dropped += 1;
        }
        outbox.dropped += dropped;
        outbox.unreported += dropped;
        self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
        let full = outbox.items.len() >= BATCH;
        drop(outbox);
        if full {
            self.wake.notify_one();
        }
    }

    /// Queues a console line of the pod's scripts for the hub's console stream.
    pub fn console(&self, line: String) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if outbox.console.len() >= CONSOLE_LINES {
            outbox.console.pop_front();
        }
        outbox.console.push_back(line);
    }

    /// Passes the scripts' `jobs.*` calls to the hub, remembering the schedule to
    /// announce it again after a reconnection.
    pub fn jobs(&self, requests: Vec<JobRequest>) {
        if requests.is_empty() {
            return;
        }
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        for request in &requests {
            match request {
                JobRequest::Schedule { tag, cron, limit } => {
                    outbox.announced.insert(tag.clone(), JobInfo { tag: tag.clone(), cron: cron.clone(), limit: *limit });
                }
                JobRequest::Remove { tag } => {
                    outbox.announced.remove(tag);
                }
                JobRequest::RemoveAll => outbox.announced.clear(),
                _ => {}
            }
        }
        if let Ok(frame) = encode(&FromSidecar::Jobs { v: VERSION, requests }) {
            outbox.push_control(frame);
        }
        drop(outbox);
        self.wake.notify_one();
    }

    /// `hub.action(action, object)`, the object as JSON.
    pub fn hub_action(&self, action: String, object_json: &str) {
        let object = serde_json::from_str(object_json).unwrap_or(serde_json::Value::Null);
        if let Ok(frame) = encode(&FromSidecar::HubAction { v: VERSION, action, object }) {
            self.outbox.lock().unwrap_or_else(|p| p.into_inner()).push_control(frame);
            self.wake.notify_one();
        }
    }

    /// What the hub sent since the last call (job runs, jobs, scripts), oldest first.
    pub fn take_inbox(&self) -> Vec<ToSidecar> {
        if !self.inbox_ready.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        std::mem::take(&mut self.inbox.lock().unwrap_or_else(|p| p.into_inner()).frames)
    }

    /// Items still waiting for the hub.
    pub fn pending(&self) -> usize {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).items.len()
    }
}

struct Session {
    outbox: Arc<Mutex<Outbox>>,
    inbox: Arc<Mutex<Inbox>>,
    inbox_ready: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    config: HubConfig,
    stats: Arc<HubStats>,
}

impl Session {
    async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        // When the failures began, and how many since.
        let mut failing: Option<(std::time::Instant, u64)> = None;
        loop {
            match self.connected().await {
                Ok(()) => {
                    backoff = BACKOFF_MIN;
                    failing = None;
                }
                Err(e) => {
                    let (since, tries) = failing.get_or_insert((std::time::Instant::now(), 0));
                    *tries += 1;
                    let unreachable_for = since.elapsed();
                    let first_try = *tries == 1;
                    backoff = if first_try { BACKOFF_MIN } else { retry_after(backoff, unreachable_for) };
                    if backoff == DORMANT_RETRY {
                        tracing::warn!("hub {}: {e}; unreachable for {} min ({tries} tries): dormant, trying once a minute (capture and scripts go on, the outbox keeps the newest items)", self.config.url, unreachable_for.as_secs() / 60);
                    } else {
                        tracing::warn!("hub {}: {e}; retrying in {backoff:?}", self.config.url);
                    }
                }
            }
            self.stats.connected.store(false, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
        }
    }

    /// Sends what `work` holds: the drop count, console lines, then the items, which stay
    /// in flight under a new sequence number until acknowledged. `Ok(false)`: nothing to send.
    async fn send_work<S>(&self, write: &mut S, work: Work, seq: &mut u64, in_flight: &mut VecDeque<(u64, Vec<String>)>) -> Result<bool, String>
    where
        S: futures_util::Sink<Message> + Unpin,
        S::Error: std::fmt::Display,
    {
        let mut sent = false;
        if work.dropped > 0 {
            send(write, encode(&FromSidecar::Dropped { v: VERSION, items: work.dropped })?).await?;
            sent = true;
        }
        if !work.console.is_empty() {
            send(write, encode(&FromSidecar::Console { v: VERSION, lines: work.console })?).await?;
            sent = true;
        }
        for frame in work.control {
            send(write, frame).await?;
            sent = true;
        }
        if !work.items.is_empty() {
            *seq += 1;
            let frame = items_frame(*seq, &work.items);
            let count = work.items.len() as u64;
            // In flight before sending: a failed send is resent on the next connection.
            in_flight.push_back((*seq, work.items));
            send(write, frame).await?;
            self.stats.sent.fetch_add(count, Ordering::Relaxed);
            sent = true;
        }
        Ok(sent)
    }

    /// One connection, until it breaks. Unacknowledged batches go back to the front of
    /// the outbox, to be sent again on the next connection.
    async fn connected(&self) -> Result<(), String> {
        use futures_util::StreamExt;

        let url = format!("{}{SIDECAR_PATH}", self.config.url.trim_end_matches('/'));
        let mut request = url.as_str().into_client_request().map_err(|e| format!("bad address: {e}"))?;
        if let Some(path) = &self.config.token_file {
            let token = std::fs::read_to_string(path).map_err(|e| format!("token {}: {e}", path.display()))?;
            let value = format!("Bearer {}", token.trim()).parse().map_err(|_| "the token is not a valid header value".to_string())?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = match &self.config.ca {
            Some(HubCa::File(path)) => {
                let pem = std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
                Some(tokio_tungstenite::Connector::Rustls(Arc::new(client_tls(&pem, &format!("CA file {}", path.display()))?)))
            }
            Some(HubCa::Pem(pem)) => Some(tokio_tungstenite::Connector::Rustls(Arc::new(client_tls(pem.as_bytes(), "REMORA_HUB_CA")?))),
            None => {
                // `wss://` against the system's roots needs a process-wide provider; set
                // only then (the crypto library's tables cost idle memory otherwise).
                if url.starts_with("wss:") {
                    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                }
                None
            }
        };
        let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector);
        let (socket, _) = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| "no answer within 10 s".to_string())?
            .map_err(|e| e.to_string())?;
        let (mut write, mut read) = socket.split();
        let hello = FromSidecar::Hello { v: VERSION, identity: self.config.identity.clone(), build: env!("CARGO_PKG_VERSION").into(), protocols: (OLDEST_VERSION..=VERSION).collect() };
        send(&mut write, encode(&hello)?).await?;
        let announcement = self.outbox.lock().unwrap_or_else(|p| p.into_inner()).announcement();
        if let Some(jobs) = announcement {
            send(&mut write, encode(&jobs)?).await?;
        }
        self.stats.connected.store(true, Ordering::Relaxed);
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!("connected to the hub at {}", self.config.url);

        let mut in_flight: VecDeque<(u64, Vec<String>)> = VecDeque::new();
        let mut seq = 0u64;
        let mut stats_sent: Option<std::time::Instant> = None;
        let result = loop {
            if stats_sent.is_none_or(|at| at.elapsed() >= STATS_EVERY) {
                stats_sent = Some(std::time::Instant::now());
                if let Err(e) = send(&mut write, encode(&FromSidecar::Stats { v: VERSION, stats: self.stats() })?).await {
                    break Err(e);
                }
            }
            let work = self.outbox.lock().unwrap_or_else(|p| p.into_inner()).take_work();
            match self.send_work(&mut write, work, &mut seq, &mut in_flight).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => break Err(e),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(LINGER) => {}
                message = read.next() => match message {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ToSidecar>(text.as_str()) {
                        Ok(ToSidecar::Ack { seq: acked, .. }) => {
                            while in_flight.front().is_some_and(|(s, _)| *s <= acked) {
                                if let Some((_, batch)) = in_flight.pop_front() {
                                    self.stats.acked.fetch_add(batch.len() as u64, Ordering::Relaxed);
                                }
                            }
                        }
                        Ok(ToSidecar::Refused { reason, .. }) => break Err(format!("refused: {reason}")),
                        // A newer hub's frame type: skipped (and counted), the session goes on.
                        Ok(ToSidecar::Unknown) => {
                            if self.stats.unknown_frames.fetch_add(1, Ordering::Relaxed) == 0 {
                                tracing::info!("the hub sent a frame type this sidecar does not know (a newer hub); such frames are skipped");
                            }
                        }
                        Ok(ToSidecar::PcapRequest { id, streams, .. }) => {
                            if let Err(e) = self.send_pcaps(&mut write, id, streams).await {
                                break Err(e);
                            }
                        }
                        Ok(frame) => {
                            self.inbox.lock().unwrap_or_else(|p| p.into_inner()).frames.push(frame);
                            self.inbox_ready.store(true, Ordering::Release);
                        }
                        Err(e) => break Err(format!("unreadable frame from the hub: {e}")),
                    },
                    Some(Ok(Message::Close(_))) | None => break Err("the hub closed the connection".into()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break Err(e.to_string()),
                },
            }
        };
        // Not acknowledged: send again next time, in the original order.
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        for (_, batch) in in_flight.into_iter().rev() {
            for item in batch.into_iter().rev() {
                outbox.bytes += item.len();
                outbox.items.push_front(item);
            }
        }
        result
    }
}

impl Session {
    fn stats(&self) -> SidecarStats {
        let pending = self.outbox.lock().unwrap_or_else(|p| p.into_inner()).items.len() as u64;
        SidecarStats { outbox_dropped: self.stats.dropped.load(Ordering::Relaxed), outbox_pending: pending, ..self.config.status.stats() }
    }

    /// Answers a PCAP request: each stream's file in binary chunks, then which streams
    /// are not here (retention deleted them, or no PCAPs are kept).
    async fn send_pcaps<S>(&self, write: &mut S, id: u64, streams: Vec<String>) -> Result<(), String>
    where
        S: futures_util::Sink<Message> + Unpin,
        S::Error: std::fmt::Display,
    {
        use futures_util::SinkExt;
        use tokio::io::AsyncReadExt;

        let dir = self.config.pcap_store.as_ref().map(|store| {
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            store.flush_all();
            store.dir().to_path_buf()
        });
        let mut missing = Vec::new();
        let mut buffer = vec![0u8; PCAP_CHUNK];
        for stream in streams {
            let file = match (&dir, is_stream_name(&stream)) {
                (Some(dir), true) => tokio::fs::File::open(dir.join(&stream)).await.ok(),
                _ => None,
            };
            let Some(mut file) = file else {
                missing.push(stream);
                continue;
            };
            loop {
                let read = file.read(&mut buffer).await.map_err(|e| format!("PCAP {stream}: {e}"))?;
                if read == 0 {
                    break;
                }
                let chunk = PcapChunk { id, stream: &stream, data: &buffer[..read] };
                write.send(Message::Binary(chunk.encode().into())).await.map_err(|e| e.to_string())?;
            }
        }
        send(write, encode(&FromSidecar::PcapDone { v: VERSION, id, missing })?).await
    }
}

/// TLS that trusts the CA certificates in `pem` only (`source` names it in errors).
fn client_tls(pem: &[u8], source: &str) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("{source}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{source}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{source}: no certificate in it"));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A stream's PCAP base name as the pipeline makes them: no path, no traversal.
fn is_stream_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && name.ends_with(".pcap") && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn encode(frame: &FromSidecar) -> Result<String, String> {
    serde_json::to_string(frame).map_err(|e| e.to_string())
}

async fn send<S>(write: &mut S, text: String) -> Result<(), String>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    use futures_util::SinkExt;
    write.send(Message::Text(text.into())).await.map_err(|e| e.to_string())
}

/// `{"type":"items","v":1,"seq":N,"items":[...]}` from already-serialised items.
fn items_frame(seq: u64, items: &[String]) -> String {
    let mut frame = format!(r#"{{"type":"items","v":{VERSION},"seq":{seq},"items":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            frame.push(',');
        }
        frame.push_str(item);
    }
    frame.push_str("]}");
    frame
}

#[cfg(test)]
mod tests {
    /// Retries double up to 10 s; after five minutes without the hub, once a minute.
    #[test]
    fn an_unreachable_hub_is_tried_less_and_less_then_once_a_minute() {
        let mut waits = vec![BACKOFF_MIN];
        let mut elapsed = Duration::ZERO;
        while elapsed < Duration::from_secs(900) {
            let last = *waits.last().expect("a wait");
            elapsed += last;
            waits.push(retry_after(last, elapsed));
        }
        assert_eq!(&waits[..7], [200, 400, 800, 1600, 3200, 6400, 10_000].map(Duration::from_millis));
        let dormant_from = waits.iter().position(|w| *w == DORMANT_RETRY).expect("dormant");
        assert!(waits[..dormant_from].iter().all(|w| *w <= BACKOFF_MAX));
        assert!(waits[dormant_from..].iter().all(|w| *w == DORMANT_RETRY), "once dormant, it stays so until a session");
        let tries_in_the_last_ten_minutes = waits[dormant_from..].len();
        assert!((9..=11).contains(&tries_in_the_last_ten_minutes), "{tries_in_the_last_ten_minutes}");
    }

    use super::*;

    #[test]
    fn the_frame_reads_as_a_wire_message() {
        let frame = items_frame(3, &[r#"{"a":1}"#.to_string(), r#"{"b":2}"#.to_string()]);
        let parsed: FromSidecar = serde_json::from_str(&frame).expect("wire frame");
        match parsed {
            FromSidecar::Items { v, seq, items } => {
                assert_eq!((v, seq, items.len()), (VERSION, 3, 2));
                assert_eq!(items[1]["b"], 2);
            }
            other => panic!("{other:?}"),
        }
    }

    fn config(max_items: usize) -> HubConfig {
        HubConfig { url: "ws://127.0.0.1:1".into(), token_file: None, ca: None, identity: PodIdentity::default(), max_items, max_bytes: 1 << 20, pcap_store: None, status: Arc::default() }
    }

    #[test]
    fn scheduled_jobs_are_announced_again_and_removed_ones_not() {
        let client = HubClient::new(config(10));
        let schedule = |tag: &str| JobRequest::Schedule { tag: tag.into(), cron: "* * * * * *".into(), limit: 1 };
        client.jobs(vec![schedule("a"), schedule("b")]);
        client.jobs(vec![JobRequest::Remove { tag: "a".into() }, JobRequest::RunAll]);
        let outbox = client.outbox.lock().expect("lock");
        assert_eq!(outbox.control.len(), 2, "both calls are passed on as they were made");
        assert_eq!(outbox.announcement(), Some(FromSidecar::Jobs { v: VERSION, requests: vec![schedule("b")] }));
    }

    #[test]
    fn only_stream_file_names_are_served() {
        assert!(is_stream_name("000000000001.pcap"));
        assert!(is_stream_name("000000000007_udp.pcap"));
        for bad in ["../etc/passwd.pcap", "/etc/x.pcap", "a/b.pcap", ".hidden.pcap", "x.txt", ""] {
            assert!(!is_stream_name(bad), "{bad}");
        }
    }

    #[test]
    fn batches_stay_under_the_hubs_frame_size() {
        let client = HubClient::new(HubConfig { max_bytes: 64 << 20, ..config(1000) });
        let big = "x".repeat(1 << 20);
        for _ in 0..10 {
            client.send(big.clone());
        }
        client.send("y".repeat(MAX_ITEM_BYTES + 1));
        let mut outbox = client.outbox.lock().expect("outbox");
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let work = outbox.take_work();
            (!work.items.is_empty()).then(|| work.items.iter().map(String::len).sum())
        })
        .collect();
        assert_eq!(sizes, [4 << 20, 4 << 20, 2 << 20], "1 MiB items, at most 4 MiB a frame");
        assert_eq!(outbox.dropped, 1, "the item too large to ever send");
    }

    #[test]
    fn a_full_outbox_drops_the_oldest_and_counts() {
        let client = HubClient::new(config(3));
        for i in 0..5 {
            client.send(format!("{{\"n\":{i}}}"));
        }
        let outbox = client.outbox.lock().expect("lock");
        assert_eq!(outbox.items.iter().map(String::as_str).collect::<Vec<_>>(), [r#"{"n":2}"#, r#"{"n":3}"#, r#"{"n":4}"#]);
        assert_eq!(outbox.dropped, 2);
        assert_eq!(client.stats.dropped.load(Ordering::Relaxed), 2);
    }
}
