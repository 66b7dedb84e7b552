//! The hub's state and its two ports: sidecar sessions (WebSocket at /sidecars) and the
//! API (see `api`). Both ask for a bearer token.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use remora_model::wire::{session_version, FromSidecar, PcapChunk, PodIdentity, ToSidecar, OLDEST_VERSION, SIDECAR_PATH, VERSION};
use remora_scripting::ScriptSet;
use tokio_rustls::TlsAcceptor;

use crate::auth::{bearer, Caller, Role, Tokens};
use crate::jobs::JobRegistry;
use crate::journal::Journal;
use crate::pcap_export::PcapRequests;
use crate::scripts::HubScripts;
use crate::sessions::Sessions;
use crate::item_text::{Batch, Incoming, ItemText};
use crate::store::ItemStore;

/// The store and its journal on disk, changed together.
pub struct Stored {
    pub store: ItemStore,
    pub journal: Option<Journal>,
}

/// Console lines kept for a reader that connects later.
const RECENT_CONSOLE: usize = 200;
/// A console line is cut here (a script can print megabytes at once).
pub const MAX_CONSOLE_LINE: usize = 16 << 10;
/// Sidecar sessions at once; past it a sidecar is told to come back (503).
pub const MAX_SESSIONS: usize = 20_000;
/// Largest frame or message a sidecar may send (its batches stay under 4 MiB).
pub const MAX_MESSAGE: usize = 16 << 20;

pub struct Hub {
    pub stored: Mutex<Stored>,
    pub(crate) console: tokio::sync::broadcast::Sender<String>,
    /// Every stored item's JSON, for live tails (`GET /api/tail`).
    pub(crate) tail: tokio::sync::broadcast::Sender<ItemText>,
    pub(crate) recent_console: Mutex<std::collections::VecDeque<String>>,
    pub tokens: Tokens,
    pub sessions: Sessions,
    pub jobs: Mutex<JobRegistry>,
    /// The hub's own scripts, when it has a scripts source.
    pub scripts: OnceLock<HubScripts>,
    /// The script set every sidecar runs (sent on hello and on each change); `None`: the
    /// hub has no scripts source and sidecars run their mounts.
    pub script_set: Mutex<Option<ScriptSet>>,
    /// Where the scripts come from and uploads go.
    pub script_store: OnceLock<Arc<crate::script_store::ScriptStore>>,
    pub(crate) pcap_requests: PcapRequests,
    /// Checks sidecars' projected tokens (`--token-review-audience`).
    pub token_reviewer: OnceLock<remora_cluster::token_review::TokenReviewer>,
    /// Checks people's own Kubernetes tokens and their RBAC role (`--kubernetes-users`).
    pub access_reviewer: OnceLock<remora_cluster::access_review::AccessReviewer>,
    /// Whether the hub follows the cluster's pods and namespaces (then a pod's session is
    /// admitted only for an injected pod of an opted-in namespace).
    pub follows_cluster: AtomicBool,
    /// Where PCAP exports are assembled: under `--data-dir` when there is one (the
    /// chart's root filesystem is read-only, with no writable /tmp); else the temp dir.
    pub scratch_dir: OnceLock<std::path::PathBuf>,
    /// Pods and namespaces, for the coverage metric (`cluster_watch`).
    pub(crate) coverage: Mutex<crate::cluster_watch::Coverage>,
    /// Addresses → pods and services (`cluster_watch`).
    pub(crate) names: Mutex<remora_cluster::names::NameIndex>,
    pub refused: AtomicU64,
    /// Frames of a type this hub does not know (newer sidecars'), skipped.
    pub unknown_frames: AtomicU64,
    pub received: AtomicU64,
    /// Items in sidecars' batches that were not JSON objects (left out).
    pub refused_items: AtomicU64,
    pub dropped_by_sidecars: AtomicU64,
    pub hub_actions: AtomicU64,
    /// Script changes and job runs made through the API.
    pub audit: crate::audit::Audit,
}

impl Hub {
    pub fn new(store: ItemStore, journal: Option<Journal>, tokens: Tokens) -> Hub {
        Hub {
            stored: Mutex::new(Stored { store, journal }),
            console: tokio::sync::broadcast::channel(1024).0,
            tail: tokio::sync::broadcast::channel(4096).0,
            recent_console: Mutex::new(std::collections::VecDeque::new()),
            tokens,
            sessions: Sessions::default(),
            jobs: Mutex::new(JobRegistry::default()),
            scripts: OnceLock::new(),
            script_set: Mutex::new(None),
            script_store: OnceLock::new(),
            pcap_requests: PcapRequests::default(),
            names: Mutex::new(Default::default()),
            coverage: Mutex::new(Default::default()),
            token_reviewer: OnceLock::new(),
            access_reviewer: OnceLock::new(),
            scratch_dir: OnceLock::new(),
            follows_cluster: AtomicBool::new(false),
            refused: AtomicU64::new(0),
            unknown_frames: AtomicU64::new(0),
            received: AtomicU64::new(0),
            refused_items: AtomicU64::new(0),
            dropped_by_sidecars: AtomicU64::new(0),
            hub_actions: AtomicU64::new(0),
            audit: Default::default(),
        }
    }

    pub(crate) fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One console line from `source` (`namespace/pod`, or `hub`) to every reader of
    /// the console stream.
    pub fn console_line(&self, source: &str, line: &str) {
        let labelled = match line.len() > MAX_CONSOLE_LINE {
            false => format!("[{source}] {line}"),
            true => {
                let cut = (0..=MAX_CONSOLE_LINE).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
                format!("[{source}] {} [... {} more bytes]", &line[..cut], line.len() - cut)
            }
        };
        {
            let mut recent = self.recent_console.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() >= RECENT_CONSOLE {
                recent.pop_front();
            }
            recent.push_back(labelled.clone());
        }
        // No reader is fine: the line is in `recent`.
        let _ = self.console.send(labelled);
    }

    /// Stores a batch and appends it to the journal; acknowledged only after this.
    fn store_batch(&self, items: Vec<Incoming>) -> std::io::Result<()> {
        let mut stored = self.stored();
        let Stored { store, journal } = &mut *stored;
        let mut result = Ok(());
        let tailed = self.tail.receiver_count() > 0;
        for item in items {
            if let Some(journal) = journal.as_mut() {
                if let Err(e) = journal.append(&item.text) {
                    result = Err(e);
                }
            }
            if tailed {
                // No reader is fine; a slow one is told what it missed.
                let _ = self.tail.send(item.text.clone());
            }
            store.push(item);
        }
        if let Some(journal) = journal.as_mut() {
            journal.flush()?;
            journal.retire(store)?;
        }
        result
    }

    /// Items matching `query`, newest first (`ItemStore::query`): the store's index is
    /// read a chunk at a time with its lock taken for each, and the items it leaves open
    /// are parsed with the lock released, so sidecars' batches are stored all along.
    pub fn query_items(&self, query: &remora_kfl::Query, limit: usize, before: Option<u64>) -> crate::store::Page {
        crate::store::page(query, limit, before, |filter, from, out| self.candidates(filter, from, out))
    }

    /// Shows `visit` the stored items matching `query`, newest first, until it returns
    /// false (as [`Hub::query_items`] goes through them).
    pub fn scan_items(&self, query: &remora_kfl::Query, visit: impl FnMut(crate::store::Found) -> bool) {
        crate::store::scan(query, None, |filter, from, out| self.candidates(filter, from, out), visit);
    }

    /// One chunk of a scan of the store, its lock held for that chunk only.
    pub(crate) fn candidates(&self, filter: &mut crate::store::Filter, from: Option<u64>, out: &mut Vec<crate::store::Candidate>) -> Option<Option<u64>> {
        self.stored().store.candidates(filter, from, out)
    }

    /// Stores items directly (tests): each must be a JSON object.
    pub fn ingest(&self, items: Vec<serde_json::Value>) -> std::io::Result<()> {
        let items = items.iter().map(|item| Incoming::from_value(item, None).map_err(std::io::Error::other)).collect::<Result<Vec<_>, _>>()?;
        self.store_batch(items)
    }

    /// Stores a batch a sidecar sent, stamped with its session's pod (`refused`: items
    /// left out of it, counted and logged).
    fn store_sidecar_batch(&self, identity: &PodIdentity, items: Vec<Incoming>, refused: usize) {
        if refused > 0 {
            self.refused_items.fetch_add(refused as u64, Ordering::Relaxed);
            tracing::warn!(pod = %identity.pod, refused, "items that are not JSON objects were left out of a batch");
        }
        let count = items.len() as u64;
        if let Err(e) = self.store_batch(items) {
            tracing::error!("the item journal cannot be written ({e}); items are kept in memory only");
        }
        self.received.fetch_add(count, Ordering::Relaxed);
    }
}

pub fn sidecar_router(hub: Arc<Hub>) -> Router {
    Router::new().route(SIDECAR_PATH, get(sidecar_session)).with_state(hub)
}

async fn sidecar_session(State(hub): State<Arc<Hub>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    // With pods' tokens reviewed, only those open sessions: an API token (a person's)
    // cannot pose as a pod. Without, an admin's token may (clusterless runs, tests).
    let caller = match (hub.token_reviewer.get(), bearer(&headers)) {
        (_, None) => Err("no bearer token".to_string()),
        (Some(reviewer), Some(token)) => reviewer.review(token).await.map(Caller::Pod),
        (None, Some(_)) => match hub.tokens.principal(&headers) {
            Some(principal) if principal.role == Role::Admin => Ok(Caller::Token),
            Some(principal) => Err(format!("the {} token {:?} may not open sidecar sessions (only an admin's may)", principal.role.name(), principal.name)),
            None => Err("a token the hub does not know".to_string()),
        },
    };
    if caller.is_ok() && hub.sessions.count() >= MAX_SESSIONS {
        tracing::warn!("sidecar session refused: the hub has {MAX_SESSIONS} sessions already");
        return (StatusCode::SERVICE_UNAVAILABLE, format!("the hub serves at most {MAX_SESSIONS} sidecars; retry later\n")).into_response();
    }
    match caller {
        Ok(caller) => ws.max_message_size(MAX_MESSAGE).max_frame_size(MAX_MESSAGE).on_upgrade(move |socket| session(hub, socket, caller)),
        Err(why) => {
            hub.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("sidecar session refused: {why}");
            (StatusCode::UNAUTHORIZED, format!("a valid bearer token is required: {why}\n")).into_response()
        }
    }
}

async fn send(socket: &mut WebSocket, frame: &ToSidecar) -> bool {
    let Ok(text) = serde_json::to_string(frame) else { return false };
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// One sidecar's session: a hello, then batches of items acknowledged once stored,
/// console lines, cluster calls and PCAP answers; frames for it (job runs, jobs,
/// scripts, PCAP requests) come from its queue.
async fn session(hub: Arc<Hub>, mut socket: WebSocket, caller: Caller) {
    // The hello comes first.
    let (identity, version, build) = match socket.recv().await {
        Some(Ok(Message::Text(text))) => match FromSidecar::read(text.as_str()) {
            Ok(FromSidecar::Hello { identity, v, build, protocols }) => match session_version(v, &protocols) {
                Ok(version) => (identity, version, build),
                Err(reason) => {
                    tracing::warn!(pod = %identity.pod, namespace = %identity.namespace, "sidecar refused: {reason}");
                    send(&mut socket, &ToSidecar::Refused { v: VERSION, reason }.in_version(v.clamp(OLDEST_VERSION, VERSION))).await;
                    return;
                }
            },
            Ok(_) => {
                send(&mut socket, &ToSidecar::Refused { v: VERSION, reason: "the first frame must be a hello".into() }).await;
                return;
            }
            Err(reason) => {
                tracing::warn!("sidecar refused: {reason}");
                send(&mut socket, &ToSidecar::Refused { v: VERSION, reason }).await;
                return;
            }
        },
        _ => return,
    };
    if let Caller::Pod(bound) = &caller {
        if (bound.namespace.as_str(), bound.pod.as_str()) != (identity.namespace.as_str(), identity.pod.as_str()) {
            let reason = format!("the token belongs to pod {}/{}, not {}/{}", bound.namespace, bound.pod, identity.namespace, identity.pod);
            tracing::warn!("sidecar refused: {reason}");
            hub.refused.fetch_add(1, Ordering::Relaxed);
            send(&mut socket, &ToSidecar::Refused { v: VERSION, reason }).await;
            return;
        }
    }
    // A pod's token proves which pod it is; the pod must also be one the webhook
    // injected, in an opted-in namespace (known from the hub's watches of the cluster).
    if matches!(caller, Caller::Pod(_)) && hub.follows_cluster.load(Ordering::Relaxed) {
        let admitted = hub.coverage().admits(&identity.namespace, &identity.pod);
        if let Err(reason) = admitted {
            tracing::warn!("sidecar refused: {reason}");
            hub.refused.fetch_add(1, Ordering::Relaxed);
            send(&mut socket, &ToSidecar::Refused { v: VERSION, reason }).await;
            return;
        }
    }
    tracing::info!(pod = %identity.pod, namespace = %identity.namespace, node = %identity.node, protocol = version, build = %build, "sidecar connected");
    let (id, mut queued) = hub.sessions.add(identity.clone(), version, build);
    hub.greet(id);
    loop {
        tokio::select! {
            frame = queued.recv() => {
                let Some(text) = frame else { break };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            message = socket.recv() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Some(chunk) = PcapChunk::decode(&bytes) {
                            hub.pcap_requests.chunk(id, chunk);
                        }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                // Batches of items, the bulk of what comes, are read without parsing their
                // items; anything else as a frame.
                if let Some(batch) = Batch::read(text.as_str()) {
                    let seq = batch.seq;
                    let mut refused = 0;
                    let items = batch.stamp(&identity, &mut refused);
                    hub.store_sidecar_batch(&identity, items, refused);
                    if !send(&mut socket, &ToSidecar::Ack { v: VERSION, seq }.in_version(version)).await {
                        break;
                    }
                    continue;
                }
                let frame = match FromSidecar::read(text.as_str()) {
                    Ok(frame) => frame,
                    Err(reason) => {
                        tracing::warn!(pod = %identity.pod, "{reason}");
                        send(&mut socket, &ToSidecar::Refused { v: VERSION, reason }.in_version(version)).await;
                        break;
                    }
                };
                if let Some(answer) = hub.handle_frame(id, &identity, frame) {
                    if !send(&mut socket, &answer.in_version(version)).await {
                        break;
                    }
                }
            }
        }
    }
    hub.sessions.remove(id);
    tracing::info!(pod = %identity.pod, "sidecar session ended");
}

impl Hub {
    /// Acts on one frame of a sidecar; returns the answer to send, if any.
    fn handle_frame(&self, session: u64, identity: &PodIdentity, frame: FromSidecar) -> Option<ToSidecar> {
        match frame {
            FromSidecar::Hello { .. } => None,
            FromSidecar::Unknown => {
                if self.unknown_frames.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::info!(pod = %identity.pod, "a sidecar sent a frame type this hub does not know (a newer sidecar); such frames are skipped");
                }
                None
            }
            FromSidecar::Items { seq, items, .. } => {
                // Read the slow way (`Batch::read` takes them): stamped the same.
                let mut refused = 0;
                let items = crate::item_text::objects(items.iter().map(|item| Incoming::from_value(item, Some(identity))), &mut refused);
                self.store_sidecar_batch(identity, items, refused);
                Some(ToSidecar::Ack { v: VERSION, seq })
            }
            FromSidecar::Console { lines, .. } => {
                let source = format!("{}/{}", identity.namespace, identity.pod);
                for line in lines {
                    self.console_line(&source, &line);
                }
                None
            }
            FromSidecar::Dropped { items, .. } => {
                self.dropped_by_sidecars.fetch_add(items, Ordering::Relaxed);
                tracing::warn!(pod = %identity.pod, items, "the sidecar dropped items while the hub was unreachable");
                None
            }
            FromSidecar::Jobs { requests, .. } => {
                self.job_requests(requests, &identity.pod);
                None
            }
            FromSidecar::HubAction { action, object, .. } => {
                self.hub_action(action, object.to_string());
                None
            }
            FromSidecar::Stats { stats, .. } => {
                self.sessions.set_stats(session, stats);
                None
            }
            FromSidecar::PcapDone { id, missing, .. } => {
                self.pcap_requests.done(session, id, missing);
                None
            }
        }
    }
}

/// Binds both ports and serves them (over TLS with `tls`) until `shutdown`.
pub async fn serve(
    hub: Arc<Hub>,
    listen: SocketAddr,
    api_listen: SocketAddr,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sidecars = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let api = tokio::net::TcpListener::bind(api_listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {api_listen}: {e}"))?;
    serve_listeners(hub, sidecars, api, tls, shutdown).await
}

/// One port: plain HTTP, or TLS with the certificate of `tls`.
async fn serve_port(listener: tokio::net::TcpListener, router: Router, tls: Option<TlsAcceptor>, mut stop: tokio::sync::watch::Receiver<bool>) -> std::io::Result<()> {
    match tls {
        Some(acceptor) => remora_service::tls::serve_tls(listener, acceptor, router, stop).await,
        None => {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }
    }
}

/// Serves on listeners already bound (tests bind port 0 and read the port), and fires
/// the cluster's jobs on time.
pub async fn serve_listeners(
    hub: Arc<Hub>,
    sidecars: tokio::net::TcpListener,
    api: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let scheme = if tls.is_some() { "TLS" } else { "plain" };
    tracing::info!(address = %sidecars.local_addr()?, "sidecar sessions (WebSocket {SIDECAR_PATH}, {scheme})");
    tracing::info!(address = %api.local_addr()?, "API (/api/items, /api/console, /api/jobs, /api/pcap, /healthz, /readyz, /metrics; {scheme})");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ticker = tokio::spawn(crate::cluster::fire_jobs_on_time(hub.clone()));
    let sidecar_server = serve_port(sidecars, sidecar_router(hub.clone()), tls.clone(), stop_rx.clone());
    let api_server = serve_port(api, crate::api::router(hub), tls, stop_rx);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let (a, b) = tokio::join!(sidecar_server, api_server);
    ticker.abort();
    a?;
    b?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_console_line_is_cut_with_what_was_left_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tokens"), "t\n").expect("write");
        let hub = Hub::new(ItemStore::new(10, 1 << 20), None, Tokens::from_file(&dir.path().join("tokens")).expect("tokens"));
        hub.console_line("shop/web", &"é".repeat(MAX_CONSOLE_LINE));
        let kept = hub.recent_console.lock().expect("recent").back().cloned().expect("a line");
        assert!(kept.len() < MAX_CONSOLE_LINE + 64, "{} bytes", kept.len());
        assert!(kept.starts_with("[shop/web] é") && kept.ends_with(&format!("[... {} more bytes]", MAX_CONSOLE_LINE)), "{}", &kept[kept.len() - 40..]);
    }
}
