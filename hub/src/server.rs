//! The hub's two ports: sidecar sessions (WebSocket at /sidecars) and the API
//! (`GET /api/items?kfl=...`, /healthz, /readyz, /metrics). Both ask for a bearer token.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use remora_kfl::Query;
use remora_model::wire::{FromSidecar, PodIdentity, ToSidecar, SIDECAR_PATH, VERSION};

use crate::auth::Tokens;
use crate::journal::Journal;
use crate::store::ItemStore;

/// The store and its journal on disk, changed together.
pub struct Stored {
    pub store: ItemStore,
    pub journal: Option<Journal>,
}

/// Console lines kept for a reader that connects later.
const RECENT_CONSOLE: usize = 200;

pub struct Hub {
    pub stored: Mutex<Stored>,
    console: tokio::sync::broadcast::Sender<String>,
    recent_console: Mutex<std::collections::VecDeque<String>>,
    pub tokens: Tokens,
    pub sessions: AtomicU64,
    pub refused: AtomicU64,
    pub received: AtomicU64,
    pub dropped_by_sidecars: AtomicU64,
}

impl Hub {
    pub fn new(store: ItemStore, journal: Option<Journal>, tokens: Tokens) -> Hub {
        Hub {
            stored: Mutex::new(Stored { store, journal }),
            console: tokio::sync::broadcast::channel(1024).0,
            recent_console: Mutex::new(std::collections::VecDeque::new()),
            tokens,
            sessions: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            received: AtomicU64::new(0),
            dropped_by_sidecars: AtomicU64::new(0),
        }
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Hub {
    /// One console line from `source` (`namespace/pod`, or `hub`) to every reader of
    /// the console stream.
    pub fn console_line(&self, source: &str, line: &str) {
        let labelled = format!("[{source}] {line}");
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
    fn store_batch(&self, items: Vec<serde_json::Value>) -> std::io::Result<()> {
        let mut stored = self.stored();
        let Stored { store, journal } = &mut *stored;
        let mut result = Ok(());
        for item in items {
            let text = item.to_string();
            if let Some(journal) = journal.as_mut() {
                if let Err(e) = journal.append(&text) {
                    result = Err(e);
                }
            }
            store.push(item, text.len());
        }
        if let Some(journal) = journal.as_mut() {
            journal.flush()?;
            journal.compact_if_needed(store)?;
        }
        result
    }
}

pub fn sidecar_router(hub: Arc<Hub>) -> Router {
    Router::new().route(SIDECAR_PATH, get(sidecar_session)).with_state(hub)
}

pub fn api_router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/api/items", get(items))
        .route("/api/console", get(console_stream))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/metrics", get(metrics))
        .with_state(hub)
}

async fn sidecar_session(State(hub): State<Arc<Hub>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !hub.tokens.admits(&headers) {
        hub.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("sidecar session refused: missing or wrong token");
        return (StatusCode::UNAUTHORIZED, "a valid bearer token is required\n").into_response();
    }
    ws.on_upgrade(move |socket| session(hub, socket))
}

async fn refuse(socket: &mut WebSocket, reason: String) {
    let frame = ToSidecar::Refused { v: VERSION, reason };
    if let Ok(text) = serde_json::to_string(&frame) {
        let _ = socket.send(Message::Text(text.into())).await;
    }
}

/// One sidecar's session: a hello, then batches of items acknowledged once stored.
async fn session(hub: Arc<Hub>, mut socket: WebSocket) {
    let mut identity = PodIdentity::default();
    hub.sessions.fetch_add(1, Ordering::Relaxed);
    while let Some(Ok(message)) = socket.recv().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let frame: FromSidecar = match serde_json::from_str(text.as_str()) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(pod = %identity.pod, "unreadable frame from a sidecar: {e}");
                refuse(&mut socket, format!("unreadable frame: {e}")).await;
                break;
            }
        };
        if frame.version() != VERSION {
            refuse(&mut socket, format!("protocol version {} is not {VERSION}", frame.version())).await;
            break;
        }
        match frame {
            FromSidecar::Hello { identity: who, .. } => {
                tracing::info!(pod = %who.pod, namespace = %who.namespace, node = %who.node, "sidecar connected");
                identity = who;
            }
            FromSidecar::Items { seq, items, .. } => {
                let count = items.len() as u64;
                if let Err(e) = hub.store_batch(items) {
                    tracing::error!("the item journal cannot be written ({e}); items are kept in memory only");
                }
                hub.received.fetch_add(count, Ordering::Relaxed);
                let ack = ToSidecar::Ack { v: VERSION, seq };
                let Ok(text) = serde_json::to_string(&ack) else { break };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            FromSidecar::Console { lines, .. } => {
                let source = format!("{}/{}", identity.namespace, identity.pod);
                for line in lines {
                    hub.console_line(&source, &line);
                }
            }
            FromSidecar::Dropped { items, .. } => {
                hub.dropped_by_sidecars.fetch_add(items, Ordering::Relaxed);
                tracing::warn!(pod = %identity.pod, items, "the sidecar dropped items while the hub was unreachable");
            }
        }
    }
    hub.sessions.fetch_sub(1, Ordering::Relaxed);
    tracing::info!(pod = %identity.pod, "sidecar session ended");
}

/// `GET /api/console`: the recent lines, then every new one as it comes, one per line
/// of a chunked text response. A reader too slow for the stream is told how many lines it
/// missed.
async fn console_stream(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if !hub.tokens.admits(&headers) {
        hub.refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::UNAUTHORIZED, "a valid bearer token is required\n").into_response();
    }
    let receiver = hub.console.subscribe();
    let recent: Vec<String> = hub.recent_console.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
    let backlog = futures_util::stream::iter(recent.into_iter().map(|l| Ok::<_, std::convert::Infallible>(format!("{l}\n"))));
    let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let line = match receiver.recv().await {
            Ok(line) => format!("{line}\n"),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => format!("[hub] {n} console lines skipped (this reader fell behind)\n"),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, std::convert::Infallible>(line), receiver))
    });
    let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(backlog, live));
    ([("content-type", "text/plain; charset=utf-8")], body).into_response()
}

#[derive(serde::Deserialize)]
struct ItemsParams {
    #[serde(default)]
    kfl: String,
    limit: Option<usize>,
    before: Option<u64>,
}

const MAX_PAGE: usize = 1000;

async fn items(State(hub): State<Arc<Hub>>, headers: HeaderMap, UrlQuery(params): UrlQuery<ItemsParams>) -> Response {
    if !hub.tokens.admits(&headers) {
        hub.refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "a valid bearer token is required"}))).into_response();
    }
    let text = if params.kfl.trim().is_empty() { "true" } else { params.kfl.as_str() };
    let query = match Query::compile(text) {
        Ok(query) => query,
        Err(e) => {
            let body = serde_json::json!({"error": format!("kfl: {e}"), "caret": e.caret()});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let page = hub.stored().store.query(&query, limit, params.before);
    let warnings: Vec<String> = query.warnings().iter().map(|w| w.to_string()).collect();
    Json(serde_json::json!({"items": page.items, "next": page.next, "warnings": warnings})).into_response()
}

async fn metrics(State(hub): State<Arc<Hub>>) -> String {
    let (stored, bytes, evicted) = {
        let stored = hub.stored();
        (stored.store.len(), stored.store.bytes(), stored.store.evicted)
    };
    let lines = [
        ("remora_hub_sessions", "gauge", "Sidecars connected now", hub.sessions.load(Ordering::Relaxed)),
        ("remora_hub_sessions_refused_total", "counter", "Connections and API calls refused for their token", hub.refused.load(Ordering::Relaxed)),
        ("remora_hub_items_received_total", "counter", "Items received from sidecars", hub.received.load(Ordering::Relaxed)),
        ("remora_hub_items_stored", "gauge", "Items in the store", stored as u64),
        ("remora_hub_store_bytes", "gauge", "Bytes of the items in the store", bytes as u64),
        ("remora_hub_items_evicted_total", "counter", "Items pushed out of the store by newer ones", evicted),
        ("remora_hub_items_dropped_by_sidecars_total", "counter", "Items sidecars dropped while the hub was unreachable", hub.dropped_by_sidecars.load(Ordering::Relaxed)),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in lines {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    }
    out
}

/// Binds both ports and serves them until `shutdown`.
pub async fn serve(
    hub: Arc<Hub>,
    listen: SocketAddr,
    api_listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sidecars = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let api = tokio::net::TcpListener::bind(api_listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {api_listen}: {e}"))?;
    serve_listeners(hub, sidecars, api, shutdown).await
}

/// Serves on listeners already bound (tests bind port 0 and read the port).
pub async fn serve_listeners(
    hub: Arc<Hub>,
    sidecars: tokio::net::TcpListener,
    api: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(address = %sidecars.local_addr()?, "sidecar sessions (WebSocket {SIDECAR_PATH})");
    tracing::info!(address = %api.local_addr()?, "API (/api/items, /healthz, /readyz, /metrics)");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let sidecar_server = axum::serve(sidecars, sidecar_router(hub.clone())).with_graceful_shutdown(wait(stop_rx.clone()));
    let api_server = axum::serve(api, api_router(hub)).with_graceful_shutdown(wait(stop_rx));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let (a, b) = tokio::join!(sidecar_server, api_server);
    a?;
    b?;
    Ok(())
}

impl Hub {
    /// Stores items directly (tests, and a hub's own scripts later).
    pub fn ingest(&self, items: Vec<serde_json::Value>) -> std::io::Result<()> {
        self.store_batch(items)
    }
}
