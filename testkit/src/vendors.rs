//! Receivers for the vendor APIs that no server of which installs here (Slack's webhooks
//! and Web API, InfluxDB's v2 write API, Elasticsearch's document API, Google's OAuth
//! token endpoint) and an HTML form handler: each checks a request as the published API
//! defines it (method, path, authorization, body format) and answers as the real service
//! does, its error shapes included. Every request is recorded for the test to read.
//! Loopback only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter, decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        form_value(query.as_bytes(), key)
    }

    /// A form body's field, decoded.
    pub fn form(&self, key: &str) -> Option<String> {
        form_value(&self.body, key)
    }
}

/// The value of `key` in `a=1&b=2` form, decoded as browsers encode it.
fn form_value(encoded: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(encoded).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// What a service at `base` answers to one request, given all it recorded before.
type Answer = fn(&Service, &str, &Recorded, &[Recorded]) -> Response;

/// The service a receiver plays and what it accepts.
#[derive(Clone, Debug)]
pub enum Service {
    /// Any webhook: answers 200 with `{"received": <body length>}`, or 500 `boom` at
    /// `/fail`.
    Webhook,
    /// Incoming webhooks at `/services/T…/B…/…` and the Web API at `/api/<method>` for
    /// one bot token and one channel; file uploads at `/upload/<file id>`.
    Slack { token: String, channel: String },
    /// `POST /api/v2/write` for one token and organisation, into the given buckets.
    InfluxDb { token: String, org: String, buckets: Vec<String> },
    /// `POST /<index>/_doc` for one way of authenticating.
    Elastic { auth: ElasticAuth },
    /// Google's token endpoint: RS256 JWT assertions signed by the key whose public part
    /// (SPKI PEM) is given, addressed to the endpoint's own URL (`aud`).
    GoogleToken { public_key_pem: String },
    /// An HTML form's action: parses `application/x-www-form-urlencoded` or
    /// `multipart/form-data` (multer) and answers 200 with what it read, `{"encoding",
    /// "fields": {name: value}, "files": {name: {"filename", "contentType", "size",
    /// "head"}}}` (`head`: the first 4 bytes in hex); 415 for another body, 400 for a
    /// malformed one.
    Form,
}

#[derive(Clone, Debug)]
pub enum ElasticAuth {
    Basic { user: String, password: String },
    ApiKey(String),
    ServiceToken(String),
}

#[derive(Clone)]
struct Shared {
    service: Service,
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// A receiver on 127.0.0.1, on a thread of its own; stops with the test process.
pub struct Receiver {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    pub fn start(service: Service) -> Receiver {
        Receiver::start_with(service, None)
    }

    /// Over TLS with the given certificate directory (`tls.crt`, `tls.key`).
    pub fn start_tls(service: Service, cert_dir: &std::path::Path) -> Receiver {
        Receiver::start_with(service, Some(cert_dir.to_path_buf()))
    }

    fn start_with(service: Service, tls: Option<std::path::PathBuf>) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared { service, base: url.clone(), requests: requests.clone() };
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let router = Router::new().fallback(receive).with_state(shared);
                match tls {
                    None => {
                        let _ = axum::serve(listener, router).await;
                    }
                    Some(dir) => {
                        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                        let store = Arc::new(remora_service::tls::CertStore::new(&dir, provider));
                        store.reload().expect("receiver certificate");
                        let config = remora_service::tls::server_config(store).expect("TLS config");
                        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                        let (_keep, stop) = tokio::sync::watch::channel(false);
                        let _ = remora_service::tls::serve_tls(listener, acceptor, router, stop).await;
                    }
                }
            });
        });
        Receiver { url, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

async fn receive(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        target: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        headers: headers(&parts.headers),
        body: body.to_vec(),
    };
    let before = shared.requests.lock().map(|r| r.clone()).unwrap_or_default();
    let answer: Answer = match shared.service {
        Service::Form => {
            let response = form_action(&recorded).await;
            if let Ok(mut all) = shared.requests.lock() {
                all.push(recorded);
            }
            return response;
        }
        Service::Webhook => webhook,
        Service::Slack { .. } => slack,
        Service::InfluxDb { .. } => influxdb,
        Service::Elastic { .. } => elastic,
        Service::GoogleToken { .. } => google_token,
    };
    let response = answer(&shared.service, &shared.base, &recorded, &before);
    if let Ok(mut all) = shared.requests.lock() {
        all.push(recorded);
    }
    response
}

fn headers(map: &HeaderMap) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn webhook(_: &Service, _: &str, request: &Recorded, _: &[Recorded]) -> Response {
    if request.path() == "/fail" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    json_answer(StatusCode::OK, json!({ "received": request.body.len() }))
}

// --- HTML forms --------------------------------------------------------------------

async fn form_action(request: &Recorded) -> Response {
    let content_type = request.header("content-type").unwrap_or("").to_string();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: serde_json::Map<String, Value> = form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
        return json_answer(StatusCode::OK, json!({ "encoding": "urlencoded", "fields": fields, "files": {} }));
    }
    let Ok(boundary) = multer::parse_boundary(&content_type) else {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("not a form: content-type {content_type:?}")).into_response();
    };
    let body = Bytes::from(request.body.clone());
    let mut multipart = multer::Multipart::new(futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) }), boundary);
    let (mut fields, mut files) = (serde_json::Map::new(), serde_json::Map::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("malformed multipart body: {e}")).into_response(),
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let kind = field.content_type().map(|m| m.to_string()).unwrap_or_default();
        let Ok(bytes) = field.bytes().await else { return (StatusCode::BAD_REQUEST, "malformed multipart field").into_response() };
        match filename {
            Some(filename) => {
                let head: String = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
                files.insert(name, json!({ "filename": filename, "contentType": kind, "size": bytes.len(), "head": head }));
            }
            None => {
                fields.insert(name, Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    json_answer(StatusCode::OK, json!({ "encoding": "multipart", "fields": fields, "files": files }))
}

// --- Slack -------------------------------------------------------------------------

/// Slack's Web API answers 200 with `ok: false` and a reason.
fn slack_error(reason: &str) -> Response {
    json_answer(StatusCode::OK, json!({ "ok": false, "error": reason }))
}

fn has_message(body: &Value) -> bool {
    ["text", "attachments", "blocks"].iter().any(|k| body.get(k).is_some_and(|v| !v.is_null() && v != "" && v != &json!([])))
}

fn slack(service: &Service, base: &str, request: &Recorded, before: &[Recorded]) -> Response {
    let Service::Slack { token, channel } = service else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let path = request.path();
    if let Some(rest) = path.strip_prefix("/services/") {
        // Incoming webhook: T…/B…/secret; Slack answers in plain text.
        let parts: Vec<&str> = rest.split('/').collect();
        if request.method != "POST" || parts.len() != 3 || !parts[0].starts_with('T') || !parts[1].starts_with('B') {
            return (StatusCode::NOT_FOUND, "no_service").into_response();
        }
        if !request.header("content-type").is_some_and(|c| c.starts_with("application/json")) {
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => return (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
        };
        if !has_message(&body) {
            return (StatusCode::BAD_REQUEST, "no_text").into_response();
        }
        return (StatusCode::OK, [("content-type", "text/html")], "ok").into_response();
    }
    if let Some(id) = path.strip_prefix("/upload/") {
        let announced = before.iter().enumerate().find(|(n, r)| r.path() == "/api/files.getUploadURLExternal" && upload_id(*n) == id).map(|(_, r)| r);
        return match announced {
            Some(r) if r.form("length").and_then(|l| l.parse::<usize>().ok()) == Some(request.body.len()) => (StatusCode::OK, format!("OK - {}", request.body.len())).into_response(),
            Some(_) => (StatusCode::BAD_REQUEST, "length mismatch").into_response(),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
    }
    let Some(method) = path.strip_prefix("/api/") else { return (StatusCode::NOT_FOUND, "").into_response() };
    match request.header("authorization").and_then(|a| a.strip_prefix("Bearer ")) {
        None => return slack_error("not_authed"),
        Some(given) if given != token => return slack_error("invalid_auth"),
        Some(_) => {}
    }
    match method {
        "chat.postMessage" => {
            if !request.header("content-type").is_some_and(|c| c.starts_with("application/json")) {
                return slack_error("invalid_arguments");
            }
            let body = request.json();
            if body.get("channel").and_then(Value::as_str) != Some(channel.as_str()) {
                return slack_error("channel_not_found");
            }
            if !has_message(&body) {
                return slack_error("no_text");
            }
            let ts = format!("1700000000.{:06}", before.len() + 1);
            json_answer(StatusCode::OK, json!({ "ok": true, "channel": channel, "ts": ts, "message": { "type": "message", "ts": ts } }))
        }
        "files.getUploadURLExternal" => {
            let (Some(_), Some(length)) = (request.form("filename"), request.form("length").and_then(|l| l.parse::<u64>().ok())) else {
                return slack_error("invalid_arguments");
            };
            if length == 0 {
                return slack_error("invalid_arguments");
            }
            let id = upload_id(before.len());
            json_answer(StatusCode::OK, json!({ "ok": true, "upload_url": format!("{base}/upload/{id}"), "file_id": id }))
        }
        "files.completeUploadExternal" => {
            let body = request.json();
            let files = body.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
            if files.is_empty() {
                return slack_error("invalid_arguments");
            }
            if body.get("channel_id").and_then(Value::as_str).is_some_and(|c| c != channel) {
                return slack_error("channel_not_found");
            }
            for file in &files {
                let id = file.get("id").and_then(Value::as_str).unwrap_or("");
                if !before.iter().any(|r| r.path() == format!("/upload/{id}")) {
                    return slack_error("file_not_found");
                }
            }
            json_answer(StatusCode::OK, json!({ "ok": true, "files": files }))
        }
        _ => slack_error("unknown_method"),
    }
}

/// The file id the `files.getUploadURLExternal` request recorded `n`th gets.
fn upload_id(n: usize) -> String {
    format!("F{:06}", n + 1)
}

// --- InfluxDB v2 -------------------------------------------------------------------

fn influx_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_answer(status, json!({ "code": code, "message": message }))
}

fn influxdb(service: &Service, _: &str, request: &Recorded, _: &[Recorded]) -> Response {
    let Service::InfluxDb { token, org, buckets } = service else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    if request.path() != "/api/v2/write" {
        return influx_error(StatusCode::NOT_FOUND, "not found", "path not found");
    }
    if request.method != "POST" {
        return influx_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", "allow: POST");
    }
    if request.header("authorization") != Some(format!("Token {token}").as_str()) {
        return influx_error(StatusCode::UNAUTHORIZED, "unauthorized", "unauthorized access");
    }
    let Some(bucket) = request.query("bucket") else { return influx_error(StatusCode::BAD_REQUEST, "invalid", "bucket not specified") };
    if request.query("org").as_deref() != Some(org.as_str()) {
        return influx_error(StatusCode::NOT_FOUND, "not found", &format!("organization name \"{}\" not found", request.query("org").unwrap_or_default()));
    }
    if !buckets.contains(&bucket) {
        return influx_error(StatusCode::NOT_FOUND, "not found", &format!("bucket \"{bucket}\" not found"));
    }
    if !matches!(request.query("precision").as_deref(), None | Some("ns" | "us" | "ms" | "s")) {
        return influx_error(StatusCode::BAD_REQUEST, "invalid", "invalid precision");
    }
    for line in request.text().lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        if let Err(reason) = parse_line(line) {
            return influx_error(StatusCode::BAD_REQUEST, "invalid", &format!("unable to parse '{line}': {reason}"));
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// One point of line protocol, as InfluxDB reads it.
#[derive(Debug, PartialEq)]
pub struct Point {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, FieldValue)>,
    pub timestamp: Option<i64>,
}

#[derive(Debug, PartialEq)]
pub enum FieldValue {
    Float(f64),
    Integer(i64),
    String(String),
    Bool(bool),
}

/// Splits on `sep` outside quotes, honouring backslash escapes.
fn split_unescaped(text: &str, sep: char, quotes: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push(c);
            current.extend(chars.next());
        } else if c == sep && !quoted {
            parts.push(std::mem::take(&mut current));
        } else {
            quoted ^= c == '"' && quotes;
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn parse_line(line: &str) -> Result<Point, String> {
    let sections = split_unescaped(line, ' ', true);
    if !(2..=3).contains(&sections.len()) {
        return Err(format!("expected 2 or 3 space-separated sections, found {}", sections.len()));
    }
    let mut series = split_unescaped(&sections[0], ',', false).into_iter();
    let measurement = unescape(&series.next().unwrap_or_default());
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags = Vec::new();
    for tag in series {
        let kv = split_unescaped(&tag, '=', false);
        if kv.len() != 2 || kv[0].is_empty() || kv[1].is_empty() {
            return Err(format!("missing tag key or value in {tag:?}"));
        }
        tags.push((unescape(&kv[0]), unescape(&kv[1])));
    }
    let mut fields = Vec::new();
    for field in split_unescaped(&sections[1], ',', true) {
        let kv = split_unescaped(&field, '=', true);
        if kv.len() != 2 || kv[0].is_empty() {
            return Err(format!("missing field key or value in {field:?}"));
        }
        let raw = &kv[1];
        let value = if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            FieldValue::String(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
        } else if let Some(int) = raw.strip_suffix('i') {
            FieldValue::Integer(int.parse().map_err(|_| format!("invalid integer {raw}"))?)
        } else if matches!(raw.as_str(), "t" | "T" | "true" | "True" | "TRUE") {
            FieldValue::Bool(true)
        } else if matches!(raw.as_str(), "f" | "F" | "false" | "False" | "FALSE") {
            FieldValue::Bool(false)
        } else {
            FieldValue::Float(raw.parse().map_err(|_| format!("invalid field value {raw}"))?)
        };
        fields.push((unescape(&kv[0]), value));
    }
    let timestamp = match sections.get(2) {
        Some(t) => Some(t.parse().map_err(|_| format!("invalid timestamp {t}"))?),
        None => None,
    };
    Ok(Point { measurement, tags, fields, timestamp })
}

// --- Elasticsearch -----------------------------------------------------------------

fn elastic_error(status: StatusCode, kind: &str, reason: &str) -> Response {
    let body = json!({ "error": { "root_cause": [{ "type": kind, "reason": reason }], "type": kind, "reason": reason }, "status": status.as_u16() });
    let mut response = json_answer(status, body);
    response.headers_mut().insert("x-elastic-product", "Elasticsearch".parse().expect("header"));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert("www-authenticate", "Basic realm=\"security\" charset=\"UTF-8\", ApiKey".parse().expect("header"));
    }
    response
}

fn elastic(service: &Service, _: &str, request: &Recorded, before: &[Recorded]) -> Response {
    let Service::Elastic { auth } = service else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let given = request.header("authorization").unwrap_or("");
    let expected = match auth {
        ElasticAuth::Basic { user, password } => {
            use base64::Engine;
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        }
        ElasticAuth::ApiKey(key) => format!("ApiKey {key}"),
        ElasticAuth::ServiceToken(token) => format!("Bearer {token}"),
    };
    if given != expected {
        let reason = if given.is_empty() { "missing authentication credentials for REST request [/]" } else { "unable to authenticate with provided credentials" };
        return elastic_error(StatusCode::UNAUTHORIZED, "security_exception", reason);
    }
    let parts: Vec<&str> = request.path().trim_start_matches('/').split('/').collect();
    if request.method != "POST" || parts.len() != 2 || parts[1] != "_doc" {
        return elastic_error(StatusCode::METHOD_NOT_ALLOWED, "illegal_argument_exception", &format!("Incorrect HTTP method for uri [{}]", request.path()));
    }
    let index = parts[0];
    if index.is_empty() || index.chars().any(|c| c.is_ascii_uppercase()) || index.starts_with(['_', '-', '+']) {
        return elastic_error(StatusCode::BAD_REQUEST, "invalid_index_name_exception", &format!("Invalid index name [{index}], must be lowercase"));
    }
    match request.header("content-type") {
        Some(c) if c.starts_with("application/json") || c.starts_with("application/vnd.elasticsearch+json") => {}
        other => {
            let reason = format!("Content-Type header [{}] is not supported", other.unwrap_or(""));
            return json_answer(StatusCode::NOT_ACCEPTABLE, json!({ "error": reason, "status": 406 }));
        }
    }
    if !matches!(serde_json::from_slice::<Value>(&request.body), Ok(Value::Object(_))) {
        return elastic_error(StatusCode::BAD_REQUEST, "mapper_parsing_exception", "failed to parse");
    }
    let seq = before.iter().filter(|r| r.path() == request.path()).count();
    let mut response = json_answer(
        StatusCode::CREATED,
        json!({ "_index": index, "_id": format!("doc{seq}"), "_version": 1, "result": "created", "_shards": { "total": 2, "successful": 1, "failed": 0 }, "_seq_no": seq, "_primary_term": 1 }),
    );
    response.headers_mut().insert("x-elastic-product", "Elasticsearch".parse().expect("header"));
    response.headers_mut().insert("location", format!("/{index}/_doc/doc{seq}").parse().expect("header"));
    response
}

// --- Google OAuth token endpoint ---------------------------------------------------

fn google_token(service: &Service, base: &str, request: &Recorded, _: &[Recorded]) -> Response {
    let audience = format!("{base}{}", request.path());
    let Service::GoogleToken { public_key_pem } = service else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let invalid = |description: &str| json_answer(StatusCode::BAD_REQUEST, json!({ "error": "invalid_grant", "error_description": description }));
    if request.method != "POST" || !request.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return json_answer(StatusCode::BAD_REQUEST, json!({ "error": "invalid_request", "error_description": "form body expected" }));
    }
    if request.form("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return json_answer(StatusCode::BAD_REQUEST, json!({ "error": "unsupported_grant_type", "error_description": "Invalid grant_type" }));
    }
    let Some(assertion) = request.form("assertion") else { return invalid("Missing assertion") };
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes()) else { return invalid("receiver key") };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    match jsonwebtoken::decode::<Value>(&assertion, &key, &validation) {
        Ok(token) if token.claims.get("scope").and_then(Value::as_str).is_some_and(|s| s.contains("devstorage")) => {
            json_answer(StatusCode::OK, json!({ "access_token": "ya29.test-access-token", "expires_in": 3599, "token_type": "Bearer" }))
        }
        Ok(_) => invalid("Invalid OAuth scope"),
        Err(e) => invalid(&format!("Invalid JWT Signature: {e}")),
    }
}
