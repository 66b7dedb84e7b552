//! The hub's API (bearer token on every `/api/` route; docs/api.md describes it):
//! KFL queries over the stored items (through the hub scripts' `onItemQueried`), the
//! console stream, the cluster's jobs, PCAP export, health and metrics.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Extension, Path, Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use remora_kfl::Query;
use serde_json::value::RawValue;
use remora_model::wire::JobRequest;

use crate::auth::{Principal, Role};
use crate::pcap_export::ExportError;
use crate::script_store::{ScriptStore, StoreError, MAX_SCRIPT};
use crate::item_text::ItemText;
use crate::server::Hub;

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({"error": message}))).into_response()
}

/// Compiles `kfl` (empty: everything); a bad query is a 400 with the caret.
fn compile(kfl: &str) -> Result<Query, Box<Response>> {
    let text = if kfl.trim().is_empty() { "true" } else { kfl };
    Query::compile(text).map_err(|e| {
        let body = serde_json::json!({"error": format!("kfl: {e}"), "caret": e.caret(), "position": e.column()});
        Box::new((StatusCode::BAD_REQUEST, Json(body)).into_response())
    })
}

/// The role a call needs: reading needs a viewer, changing scripts and running jobs an
/// editor, PCAPs (raw, unredacted bytes) and the audit log an admin.
pub fn required_role(method: &axum::http::Method, path: &str) -> Role {
    use axum::http::Method;
    if path == "/api/pcap" || path == "/api/audit" {
        Role::Admin
    } else if (path.starts_with("/api/scripts/") && (method == Method::PUT || method == Method::DELETE)) || (path.starts_with("/api/jobs/") && method == Method::POST) {
        Role::Editor
    } else {
        Role::Viewer
    }
}

/// Every `/api/` route asks for a token before anything else is looked at (a bad query
/// from a stranger is a 401, not a 400), then for the role the call needs (403); health
/// and metrics are open. The caller goes on to the handler, for the audit log.
async fn require_token(State(hub): State<Arc<Hub>>, mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let principal = match hub.tokens.principal(request.headers()) {
        Some(principal) => Ok(principal),
        None => kubernetes_user(&hub, request.headers()).await,
    };
    let principal = match principal {
        Ok(principal) => principal,
        Err(why) => {
            hub.refused.fetch_add(1, Ordering::Relaxed);
            return error(StatusCode::UNAUTHORIZED, why);
        }
    };
    let needed = required_role(request.method(), request.uri().path());
    if principal.role < needed {
        hub.refused.fetch_add(1, Ordering::Relaxed);
        let what = format!("{} {}", request.method(), request.uri().path());
        return error(StatusCode::FORBIDDEN, format!("{what} needs the {} role; {:?} has the {} role", needed.name(), principal.name, principal.role.name()));
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// A bearer that is not one of the token file's, as a person's Kubernetes token (when the
/// hub takes those): who the cluster says they are, with the role its RBAC grants.
async fn kubernetes_user(hub: &Hub, headers: &axum::http::HeaderMap) -> Result<Principal, String> {
    const REQUIRED: &str = "a valid bearer token is required";
    let (Some(reviewer), Some(token)) = (hub.access_reviewer.get(), crate::auth::bearer(headers)) else {
        return Err(REQUIRED.into());
    };
    let person = reviewer.review(token).await.map_err(|why| format!("{REQUIRED}: {why}"))?;
    let role = Role::parse(person.role).ok_or_else(|| format!("{REQUIRED}: {} is not a role", person.role))?;
    Ok(Principal { name: person.username, role })
}

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/api/items", get(items))
        .route("/api/console", get(console_stream))
        .route("/api/tail", get(tail))
        .route("/api/servicemap", get(service_map))
        .route("/api/jobs", get(jobs))
        .route("/api/jobs/{tag}/run", post(run_job))
        .route("/api/pcap", get(pcap))
        .route("/api/sidecars", get(sidecars))
        .route("/api/scripts", get(list_scripts))
        .route("/api/scripts/{name}", get(get_script).put(put_script).delete(delete_script))
        .route("/api/audit", get(audit))
        .route_layer(axum::middleware::from_fn_with_state(hub.clone(), require_token))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/metrics", get(metrics))
        .merge(crate::dashboard::router())
        .with_state(hub)
}

/// `GET /api/console`: the recent lines, then every new one as it comes, one per line
/// of a chunked text response. A reader too slow for the stream is told how many lines it
/// missed.
async fn console_stream(State(hub): State<Arc<Hub>>) -> Response {
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
    /// Add `summary: {status, request}` to each item (the dashboard's list columns).
    #[serde(default)]
    summary: bool,
}

/// The CLI table's one-line view of an item, as `summary`; items the model cannot read
/// (a script reshaped them) go without.
fn add_summary(item: &mut serde_json::Value) {
    let Ok(typed) = <remora_model::Item as serde::Deserialize>::deserialize(&*item) else { return };
    let (status, request) = remora_model::summary::describe(&typed);
    if let Some(object) = item.as_object_mut() {
        object.insert("summary".into(), serde_json::json!({"status": status, "request": request}));
    }
}

const MAX_PAGE: usize = 1000;

/// Items as a query answers them (`/api/items` and `/api/tail` alike): through the hub
/// scripts' `onItemQueried` when they run, then with `summary` when asked; the warning
/// says when the scripts did not answer in time. Items go as their stored text unless
/// something changes them.
async fn answer(hub: &Hub, items: Vec<ItemText>, summary: bool) -> (Vec<Box<RawValue>>, Option<String>) {
    let (texts, warning): (Vec<std::borrow::Cow<'_, str>>, _) = match hub.scripts.get() {
        Some(scripts) => {
            let (answered, warning) = scripts.queried(items.iter().map(|t| t.to_string()).collect()).await;
            (answered.into_iter().map(std::borrow::Cow::Owned).collect(), warning)
        }
        None => (items.iter().map(|t| std::borrow::Cow::Borrowed(t.as_str())).collect(), None),
    };
    let raw = |text: String| RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
    let answered = texts
        .into_iter()
        .map(|text| match summary {
            // A script's answer that is not JSON goes as null.
            true => {
                let mut item = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                add_summary(&mut item);
                raw(item.to_string())
            }
            false => raw(text.into_owned()),
        })
        .collect();
    (answered, warning)
}

/// The answer of `GET /api/items`.
#[derive(serde::Serialize)]
struct ItemsAnswer {
    items: Vec<Box<RawValue>>,
    next: Option<u64>,
    warnings: Vec<String>,
}

async fn items(State(hub): State<Arc<Hub>>, UrlQuery(params): UrlQuery<ItemsParams>) -> Response {
    let query = match compile(&params.kfl) {
        Ok(query) => query,
        Err(bad) => return *bad,
    };
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    // Off the async workers: a scan of the whole store takes a while (in chunks, between
    // which ingestion goes on).
    let scanning = hub.clone();
    let (query, page) = match tokio::task::spawn_blocking(move || {
        let page = scanning.query_items(&query, limit, params.before);
        (query, page)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the query failed: {e}")),
    };
    let mut warnings: Vec<String> = query.warnings().iter().map(|w| w.to_string()).collect();
    let (items, warning) = answer(&hub, page.items, params.summary).await;
    warnings.extend(warning);
    Json(ItemsAnswer { items, next: page.next, warnings }).into_response()
}

#[derive(serde::Deserialize)]
struct ServiceMapParams {
    #[serde(default)]
    kfl: String,
    /// The last this many seconds (of the hub's clock).
    window: Option<u64>,
    /// Or from/to, milliseconds since the epoch (from inclusive, to exclusive).
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET /api/servicemap?kfl=Q&window=SECONDS` (or `from`/`to`): workloads and the calls
/// between them over the stored items matching the query (`servicemap`).
async fn service_map(State(hub): State<Arc<Hub>>, UrlQuery(params): UrlQuery<ServiceMapParams>) -> Response {
    let query = match compile(&params.kfl) {
        Ok(query) => query,
        Err(bad) => return *bad,
    };
    let window = match (params.window, params.from, params.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return error(StatusCode::BAD_REQUEST, "give window (seconds) or from/to (milliseconds), not both".into()),
        (Some(0), ..) => return error(StatusCode::BAD_REQUEST, "window: at least 1 second (leave it out for every stored item)".into()),
        (Some(seconds), ..) => {
            let now = crate::cluster::now_ns() / 1_000_000;
            crate::servicemap::Window { from: Some(now.saturating_sub(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))), to: None }
        }
        (None, from, to) => crate::servicemap::Window { from, to },
    };
    // Off the async workers, as item queries are: the whole store is scanned.
    let scanning = hub.clone();
    let (query, mut map) = match tokio::task::spawn_blocking(move || {
        let map = scanning.service_map(&query, window);
        (query, map)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the service map failed: {e}")),
    };
    map.warnings.extend(query.warnings().iter().map(|w| w.to_string()));
    Json(map).into_response()
}

async fn metrics(State(hub): State<Arc<Hub>>) -> String {
    let (stored, bytes, max_bytes, evicted) = {
        let stored = hub.stored();
        (stored.store.len(), stored.store.bytes(), stored.store.max_bytes(), stored.store.evicted)
    };
    let jobs = hub.jobs().list().len();
    let sessions = hub.sessions.list();
    let reported: Vec<_> = sessions.iter().filter_map(|s| s.stats.as_ref()).collect();
    let kernel_dropped: u64 = reported.iter().map(|s| s.kernel_dropped).sum();
    let not_capturing = reported.iter().filter(|s| !s.capturing).count() as u64;
    let (covered, uncovered) = hub.coverage().counts();
    let script_drops = hub.scripts.get().map_or(0, |s| s.dropped.load(Ordering::Relaxed));
    let script_failures = hub.scripts.get().map_or(0, |s| s.failures.load(Ordering::Relaxed));
    // One set of the connected pods, not a scan of every session per injected pod.
    let connected: std::collections::HashSet<(&str, &str)> = sessions.iter().map(|s| (s.identity.namespace.as_str(), s.identity.pod.as_str())).collect();
    let injected = hub.coverage().injected_running();
    let not_connected = injected.iter().filter(|(namespace, pod)| !connected.contains(&(namespace.as_str(), pod.as_str()))).count() as u64;
    let lines = [
        ("remora_hub_sessions", "gauge", "Sidecars connected now", hub.sessions.count() as u64),
        ("remora_hub_sessions_refused_total", "counter", "Connections and API calls refused for their token", hub.refused.load(Ordering::Relaxed)),
        ("remora_hub_unknown_frames_total", "counter", "Frames of a type this hub does not know (from newer sidecars), skipped", hub.unknown_frames.load(Ordering::Relaxed)),
        ("remora_hub_items_received_total", "counter", "Items received from sidecars", hub.received.load(Ordering::Relaxed)),
        ("remora_hub_items_refused_total", "counter", "Items in sidecars' batches that were not JSON objects, left out", hub.refused_items.load(Ordering::Relaxed)),
        ("remora_hub_items_stored", "gauge", "Items in the store", stored as u64),
        ("remora_hub_store_bytes", "gauge", "Bytes of the items in the store", bytes as u64),
        ("remora_hub_store_max_bytes", "gauge", "The store's bound (--max-bytes): past it the oldest items are evicted", max_bytes as u64),
        ("remora_hub_items_evicted_total", "counter", "Items pushed out of the store by newer ones", evicted),
        ("remora_hub_items_dropped_by_sidecars_total", "counter", "Items sidecars dropped while the hub was unreachable", hub.dropped_by_sidecars.load(Ordering::Relaxed)),
        ("remora_hub_actions_total", "counter", "hub.action calls received from sidecars", hub.hub_actions.load(Ordering::Relaxed)),
        ("remora_hub_jobs", "gauge", "Jobs scheduled in the cluster", jobs as u64),
        ("remora_hub_frames_dropped_total", "counter", "Frames for sidecars dropped because a sidecar was too far behind", hub.sessions.overflowed.load(Ordering::Relaxed)),
        ("remora_hub_pcap_answers_foreign_total", "counter", "PCAP answers dropped because they came from a sidecar that was not asked", hub.pcap_requests.foreign.load(Ordering::Relaxed)),
        ("remora_hub_script_calls_dropped_total", "counter", "Calls into the hub's scripts dropped because they were too far behind", script_drops),
        ("remora_hub_script_failures_total", "counter", "Failures of the hub's scripts (a hook, job or load that threw or ran out of time or memory)", script_failures),
        ("remora_hub_sidecars_kernel_dropped", "gauge", "Packets the kernel dropped, summed over the connected sidecars' last reports", kernel_dropped),
        ("remora_hub_sidecars_not_capturing", "gauge", "Connected sidecars that report they are not capturing", not_capturing),
        ("remora_hub_pods_with_sidecar", "gauge", "Pods of opted-in namespaces that run the sidecar (with --kube or --objects-dir)", covered),
        ("remora_hub_sidecars_not_connected", "gauge", "Running pods the webhook injected whose sidecar has no session with this hub (with --kube or --objects-dir)", not_connected),
        ("remora_hub_pods_without_sidecar", "gauge", "Pods of opted-in namespaces that should run the sidecar and do not (remora check names them)", uncovered),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in lines {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    }
    // What the hub's scripts define with prometheus.*.
    if let Some(scripts) = hub.scripts.get() {
        out.push_str(&scripts.metrics.render());
    }
    out
}


/// `GET /api/jobs`: the cluster's jobs with their runs per node.
async fn jobs(State(hub): State<Arc<Hub>>) -> Response {
    let registry = hub.jobs();
    let jobs: Vec<serde_json::Value> = registry
        .list()
        .into_iter()
        .map(|j| {
            let next = registry.next_run(&j.tag).map(|ns| chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            serde_json::json!({"tag": j.tag, "cron": j.cron, "limit": j.limit, "runs": registry.runs(&j.tag), "next": next})
        })
        .collect();
    Json(serde_json::json!({"jobs": jobs, "running": registry.running()})).into_response()
}

/// `GET /api/sidecars`: the connected sidecars and their last reported counters.
async fn sidecars(State(hub): State<Arc<Hub>>) -> Response {
    Json(serde_json::json!({"sidecars": hub.sessions.list()})).into_response()
}

/// `POST /api/jobs/{tag}/run`: runs a job now on every node (as `jobs.run` does).
async fn run_job(State(hub): State<Arc<Hub>>, Extension(who): Extension<Principal>, Path(tag): Path<String>) -> Response {
    if !hub.jobs().list().iter().any(|j| j.tag == tag) {
        return error(StatusCode::NOT_FOUND, format!("no job is scheduled with the tag {tag:?}"));
    }
    hub.audit.record(&who, crate::audit::RUN_JOB, &tag, None);
    hub.job_requests(vec![JobRequest::Run { tag: tag.clone() }], "api");
    (StatusCode::ACCEPTED, Json(serde_json::json!({"run": tag}))).into_response()
}

#[derive(serde::Deserialize)]
struct TailParams {
    #[serde(default)]
    kfl: String,
    #[serde(default)]
    summary: bool,
}

/// `GET /api/tail?kfl=Q`: every item stored from now on that matches, as it comes (one
/// JSON object per line of a chunked response), through the hub scripts'
/// `onItemQueried` like any query answer. A reader that falls behind gets a
/// `{"warning": ...}` line saying how many items it missed.
async fn tail(State(hub): State<Arc<Hub>>, UrlQuery(params): UrlQuery<TailParams>) -> Response {
    let query = match compile(&params.kfl) {
        Ok(query) => Arc::new(query),
        Err(bad) => return *bad,
    };
    let receiver = hub.tail.subscribe();
    let summary = params.summary;
    let lines = futures_util::stream::unfold((receiver, hub, query), move |(mut receiver, hub, query)| async move {
        loop {
            let text = match receiver.recv().await {
                Ok(text) => text,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let line = format!("{}\n", serde_json::json!({"warning": format!("{n} items skipped (this reader fell behind)")}));
                    return Some((Ok::<_, std::convert::Infallible>(line), (receiver, hub, query)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let Ok(mut item) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if !query.evaluate(&mut item) {
                continue;
            }
            // Redacted, the item shows as the query left it.
            let shown = if query.redactions().is_empty() { text } else { Arc::new(item.to_string()) };
            let (answered, _) = answer(&hub, vec![shown], summary).await;
            let mut line = answered.into_iter().next().map(|raw| raw.get().to_string()).unwrap_or_else(|| "null".into());
            line.push('\n');
            return Some((Ok(line), (receiver, hub, query)));
        }
    });
    ([("content-type", "application/x-ndjson")], axum::body::Body::from_stream(lines)).into_response()
}

#[derive(serde::Deserialize)]
struct PcapParams {
    #[serde(default)]
    kfl: String,
}

/// `GET /api/pcap?kfl=Q`: one capture file of the streams of the matching items.
/// `x-remora-streams` counts the streams in it, `x-remora-missing` those not (each
/// named in an `x-remora-missing-stream` header, at most 100).
async fn pcap(State(hub): State<Arc<Hub>>, UrlQuery(params): UrlQuery<PcapParams>) -> Response {
    let query = match compile(&params.kfl) {
        Ok(query) => query,
        Err(bad) => return *bad,
    };
    match hub.export_pcap(&query).await {
        Ok(export) => {
            let mut response = (
                [
                    ("content-type", "application/vnd.tcpdump.pcap".to_string()),
                    ("content-disposition", "attachment; filename=\"remora-export.pcap\"".to_string()),
                    ("x-remora-streams", export.streams.to_string()),
                    ("x-remora-missing", export.missing.len().to_string()),
                ],
                export.pcap,
            )
                .into_response();
            for missing in export.missing.iter().take(100) {
                if let Ok(value) = missing.parse() {
                    response.headers_mut().append("x-remora-missing-stream", value);
                }
            }
            response
        }
        Err(e @ ExportError::NothingMatches) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ ExportError::TooLarge) => error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Err(e @ ExportError::NothingFetched(..)) => error(StatusCode::BAD_GATEWAY, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The hub's script store, or the 409 saying it has none.
fn store(hub: &Hub) -> Result<std::sync::Arc<ScriptStore>, Box<Response>> {
    hub.script_store
        .get()
        .cloned()
        .ok_or_else(|| Box::new(error(StatusCode::CONFLICT, "the hub has no scripts source: start it with --scripts-dir, or --kube --scripts-configmap".into())))
}

fn store_error(e: StoreError) -> Response {
    let status = match e {
        StoreError::BadName(_) => StatusCode::BAD_REQUEST,
        StoreError::ReadOnly(_) => StatusCode::CONFLICT,
        StoreError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// `GET /api/scripts`: the scripts every sidecar runs, with their sources.
async fn list_scripts(State(hub): State<Arc<Hub>>) -> Response {
    let store = match store(&hub) {
        Ok(store) => store,
        Err(e) => return *e,
    };
    let scripts: Vec<serde_json::Value> = store
        .scripts()
        .into_iter()
        .map(|(name, source)| {
            let last_change = hub.audit.script_change(&name);
            serde_json::json!({"name": name, "bytes": source.len(), "source": source, "lastChange": last_change})
        })
        .collect();
    let errors = hub.scripts.get().map(|s| s.load_errors()).unwrap_or_default();
    Json(serde_json::json!({"source": store.describe(), "scripts": scripts, "errors": errors})).into_response()
}

/// `GET /api/scripts/{name}`: one script's source.
async fn get_script(State(hub): State<Arc<Hub>>, Path(name): Path<String>) -> Response {
    let store = match store(&hub) {
        Ok(store) => store,
        Err(e) => return *e,
    };
    match store.scripts().remove(&name) {
        Some(source) => ([("content-type", "text/javascript; charset=utf-8")], source).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no script is named {name:?}")),
    }
}

/// `PUT /api/scripts/{name}`: writes a script; every sidecar runs it within seconds.
async fn put_script(State(hub): State<Arc<Hub>>, Extension(who): Extension<Principal>, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let store = match store(&hub) {
        Ok(store) => store,
        Err(e) => return *e,
    };
    if body.len() > MAX_SCRIPT {
        return error(StatusCode::PAYLOAD_TOO_LARGE, format!("{name}: {} bytes; a script may have {MAX_SCRIPT}", body.len()));
    }
    let Ok(source) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, format!("{name}: not UTF-8 text"));
    };
    match store.put(&hub, &name, source).await {
        Ok(changed) => {
            hub.audit.record(&who, crate::audit::PUT_SCRIPT, &name, Some(source.as_bytes()));
            Json(serde_json::json!({"name": name, "changed": changed})).into_response()
        }
        Err(e) => store_error(e),
    }
}

/// `DELETE /api/scripts/{name}`.
async fn delete_script(State(hub): State<Arc<Hub>>, Extension(who): Extension<Principal>, Path(name): Path<String>) -> Response {
    let store = match store(&hub) {
        Ok(store) => store,
        Err(e) => return *e,
    };
    match store.delete(&hub, &name).await {
        Ok(true) => {
            hub.audit.record(&who, crate::audit::DELETE_SCRIPT, &name, None);
            Json(serde_json::json!({"name": name, "deleted": true})).into_response()
        }
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no script is named {name:?}")),
        Err(e) => store_error(e),
    }
}

/// `GET /api/audit`: script changes and job runs, newest last: who, when, what, and the
/// content's SHA-256.
async fn audit(State(hub): State<Arc<Hub>>) -> Response {
    Json(serde_json::json!({"entries": hub.audit.entries()})).into_response()
}
