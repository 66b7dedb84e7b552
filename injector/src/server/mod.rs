//! The webhook server: `POST /mutate` over TLS, and a plain-HTTP admin port with
//! `/healthz`, `/readyz` (ready once a certificate is loaded, until draining),
//! `/metrics` and `/prestop` (the pod's preStop hook: drain before SIGTERM).

pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use remora_service::tls::{self, serve_tls, CertStore};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::inject::Injector;
use crate::namespaces::NamespaceSource;
use crate::review;
use metrics::{ErrorKind, Metrics};

/// Largest review body read. Objects are at most ~1.5 MiB in etcd and a review can
/// carry the object twice (object and oldObject).
pub const MAX_BODY: usize = 4 << 20;

pub struct Config {
    pub cert_dir: PathBuf,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub injector: Injector,
    pub namespaces: Arc<dyn NamespaceSource>,
    /// The API, to follow the nodes for `sidecar.mode: auto` (none: `auto` is classic).
    pub nodes: Option<kube::Client>,
    /// How long `/prestop` keeps answering reviews while not ready, so that the API
    /// server stops sending them here before the listener closes.
    pub drain: std::time::Duration,
}

struct AppState {
    injector: Injector,
    namespaces: Arc<dyn NamespaceSource>,
    metrics: Metrics,
    certs: Arc<CertStore>,
    /// Set by `/prestop`: not ready any more, reviews still answered.
    draining: std::sync::atomic::AtomicBool,
    drain: std::time::Duration,
}

/// Serves until `shutdown` completes, then drains open connections.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = Arc::new(CertStore::new(&config.cert_dir, provider));
    let state = Arc::new(AppState {
        injector: config.injector,
        namespaces: config.namespaces,
        metrics: Metrics::default(),
        certs: certs.clone(),
        draining: std::sync::atomic::AtomicBool::new(false),
        drain: config.drain,
    });
    report_reload(&state, &certs.reload());
    if let Some(client) = config.nodes {
        let following = state.clone();
        tokio::spawn(crate::nodes::follow(client, move |support| {
            following.metrics.native_sidecars(support.native);
            following.injector.set_native_support(support);
        }));
    }

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let admin = TcpListener::bind(config.admin_listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.admin_listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving admission reviews (HTTPS, POST /mutate)");
    tracing::info!(address = %admin.local_addr()?, "serving /healthz, /readyz, /metrics (HTTP)");

    let watcher_state = state.clone();
    let watcher = tls::spawn_watcher(certs.clone(), move |result| {
        if !matches!(result, Ok(tls::Reload::Unchanged)) {
            report_reload(&watcher_state, result);
        }
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin_task = {
        let mut stop = stop_rx.clone();
        let router = admin_router(state.clone());
        tokio::spawn(async move {
            axum::serve(admin, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let tls_config = tls::server_config(certs)?;
    let webhook = serve_tls(listener, TlsAcceptor::from(Arc::new(tls_config)), webhook_router(state), stop_rx);

    tokio::pin!(webhook);
    tokio::select! {
        result = &mut webhook => result?,
        () = shutdown => {
            tracing::info!("shutting down: no new connections, draining open ones");
            let _ = stop_tx.send(true);
            webhook.await?;
        }
    }
    let _ = stop_tx.send(true);
    watcher.abort();
    let _ = admin_task.await;
    Ok(())
}

fn report_reload(state: &AppState, result: &Result<tls::Reload, String>) {
    read_hub_ca(&state.injector);
    match result {
        Ok(_) => {
            tracing::info!(dir = %state.certs.dir().display(), "serving certificate loaded");
            state.metrics.reload(true, state.certs.not_after());
        }
        Err(e) => {
            tracing::warn!("serving certificate not loaded: {e}");
            state.metrics.reload(false, None);
        }
    }
}

/// Reads `hubCaFile` (when set) for the sidecars' `REMORA_HUB_CA`; an unreadable or empty
/// file keeps the CA read before.
fn read_hub_ca(injector: &Injector) {
    let path = &injector.settings().hub_ca_file;
    if path.is_empty() {
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => injector.set_hub_ca(Some(pem)),
        Ok(_) => tracing::warn!(path, "hubCaFile holds no certificate; sidecars keep the CA read before"),
        Err(e) => tracing::warn!(path, "hubCaFile not readable ({e}); sidecars keep the CA read before"),
    }
}

fn webhook_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .with_state(state)
}

fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/prestop", get(prestop))
        .with_state(state)
}

/// The kubelet calls this before it sends SIGTERM: the pod turns not ready (its address
/// leaves the Service's endpoints) but goes on answering reviews for the drain time,
/// for the API servers that still send them here; SIGTERM then drains what is in flight.
/// Without it, pods created during a rollout would meet a closed port and get no sidecar.
async fn prestop(State(state): State<Arc<AppState>>) -> Response {
    if !state.draining.swap(true, std::sync::atomic::Ordering::SeqCst) {
        tracing::info!(seconds = state.drain.as_secs_f32(), "preStop: not ready any more; answering reviews while the endpoints catch up");
    }
    tokio::time::sleep(state.drain).await;
    (StatusCode::OK, "drained\n").into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, "draining: the pod is stopping\n").into_response()
    } else if state.certs.is_loaded() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no serving certificate loaded yet from {}\n",
                state.certs.dir().display()
            ),
        )
            .into_response()
    }
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn mutate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        state.metrics.error(ErrorKind::ContentType);
        let message = format!("content type {content_type:?} is not application/json");
        return json(StatusCode::UNSUPPORTED_MEDIA_TYPE, review::unreadable(&message));
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            state.metrics.error(ErrorKind::TooLarge);
            let message = format!("the body could not be read within {MAX_BODY} bytes: {e}");
            return json(StatusCode::PAYLOAD_TOO_LARGE, review::unreadable(&message));
        }
    };
    let request = match review::parse(&bytes) {
        Ok(request) => request,
        Err(e) => {
            state.metrics.error(ErrorKind::Unreadable);
            tracing::warn!("unreadable admission review: {e}");
            return json(StatusCode::BAD_REQUEST, review::unreadable(&e));
        }
    };

    let (namespace_info, lookup_warning) = match request.namespace() {
        Some(ns) if request.is_pod_create() => match state.namespaces.get(ns).await {
            Ok(info) => (info, None),
            Err(e) => {
                state.metrics.error(ErrorKind::NamespaceLookup);
                (
                    None,
                    Some(format!(
                        "remora: namespace {ns} could not be read ({e}); its defaults and Pod Security level were not applied"
                    )),
                )
            }
        },
        _ => (None, None),
    };
    let (body, record) = review::respond(
        &request,
        &state.injector,
        namespace_info.as_ref(),
        lookup_warning,
    );
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.review(record.decision, record.dry_run, seconds);
    let reason = match record.decision {
        review::Decision::Skipped(r) => r.code(),
        _ => "",
    };
    tracing::info!(
        uid = %record.uid,
        namespace = %record.namespace,
        pod = %record.pod,
        outcome = record.decision.outcome(),
        reason,
        dry_run = record.dry_run,
        patch_ops = record.patch_ops,
        warnings = record.warnings.len(),
        micros = (seconds * 1e6) as u64,
        "admission review"
    );
    for warning in &record.warnings {
        tracing::debug!(uid = %record.uid, "{warning}");
    }
    json(StatusCode::OK, body)
}
