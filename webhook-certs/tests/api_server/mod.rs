//! An API server stand-in on loopback for `remora certs install`: it keeps one Secret and
//! one MutatingWebhookConfiguration, answers with the responses in tests/data/api (or
//! objects of the same shape), and records every request so tests assert on what was
//! sent. Also used by cli/tests/certs_cli.rs (fixtures are included relative to this file).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

pub const NAMESPACE: &str = "remora";
pub const SERVICE: &str = "remora-injector";
pub const SECRET: &str = "remora-injector-tls";
pub const WEBHOOK: &str = "remora";
pub const SECRETS_PATH: &str = "/api/v1/namespaces/remora/secrets";
pub const SECRET_PATH: &str = "/api/v1/namespaces/remora/secrets/remora-injector-tls";
pub const WEBHOOK_PATH: &str =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/remora";

const SECRET_FIXTURE: &str = include_str!("../data/api/secret-remora-injector-tls.json");
const WEBHOOK_FIXTURE: &str = include_str!("../data/api/mutatingwebhookconfiguration-remora.json");
const SECRET_NOT_FOUND: &str = include_str!("../data/api/status-secret-not-found.json");
const WEBHOOK_NOT_FOUND: &str = include_str!("../data/api/status-webhook-not-found.json");
const SECRET_FORBIDDEN_GET: &str = include_str!("../data/api/status-secret-forbidden-get.json");
const WEBHOOK_FORBIDDEN_PATCH: &str =
    include_str!("../data/api/status-webhook-forbidden-patch.json");
const SECRET_ALREADY_EXISTS: &str = include_str!("../data/api/status-secret-already-exists.json");
const SECRET_CONFLICT: &str = include_str!("../data/api/status-secret-conflict.json");

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }

    /// `GET /api/...`, for comparing a run's requests at a glance.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the stand-in holds; tests set it up and read it back.
#[derive(Default)]
pub struct Cluster {
    pub secret: Option<Value>,
    pub webhook: Option<Value>,
    pub requests: Vec<Recorded>,
    /// (method, resource) pairs answered 403, as for a ServiceAccount without that verb.
    pub forbidden: Vec<(Method, &'static str)>,
    /// Secrets other writers store just before each of the next Secret writes, which
    /// then fail with 409 as they would on a real API server.
    pub races: VecDeque<Value>,
    resource_version: u64,
}

impl Cluster {
    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        (2000 + self.resource_version).to_string()
    }

    /// Stores a Secret the way the API server does on create: it adds uid,
    /// resourceVersion, creationTimestamp and the writer's managedFields.
    fn store_created(&mut self, mut secret: Value, manager: &str) -> Value {
        let version = self.next_version();
        let meta = &mut secret["metadata"];
        meta["uid"] = json!(format!("0c5f3a1e-7d2b-4e8a-9f61-3b4c5d6e{version:0>4}"));
        meta["resourceVersion"] = json!(version);
        meta["creationTimestamp"] = json!("2026-11-28T10:00:00Z");
        meta["managedFields"] = json!([{
            "manager": manager,
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-11-28T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}}, "f:type": {}}
        }]);
        self.secret = Some(secret.clone());
        secret
    }
}

pub struct ApiServer {
    pub url: String,
    cluster: Arc<Mutex<Cluster>>,
}

impl ApiServer {
    pub async fn start() -> ApiServer {
        let cluster = Arc::new(Mutex::new(Cluster::default()));
        let router = Router::new().fallback(answer).with_state(cluster.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        ApiServer {
            url: format!("http://{address}"),
            cluster,
        }
    }

    pub fn client(&self) -> kube::Client {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        f(&mut self.cluster.lock().expect("cluster"))
    }

    /// The requests since the last call.
    pub fn take_requests(&self) -> Vec<Recorded> {
        self.with(|c| std::mem::take(&mut c.requests))
    }
}

/// The Secret fixture holding `pems` (ca.crt, ca.key, tls.crt, tls.key, any subset).
pub fn secret_fixture(pems: &[(&str, &str)]) -> Value {
    let mut secret: Value = serde_json::from_str(SECRET_FIXTURE).expect("secret fixture");
    let data: serde_json::Map<String, Value> = pems
        .iter()
        .map(|(key, pem)| (key.to_string(), json!(base64_of(pem))))
        .collect();
    secret["data"] = Value::Object(data);
    secret
}

pub fn webhook_fixture() -> Value {
    serde_json::from_str(WEBHOOK_FIXTURE).expect("webhook fixture")
}

pub fn base64_of(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// The PEM text under `key` in a Secret as sent or stored.
pub fn pem_in(secret: &Value, key: &str) -> String {
    let encoded = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    String::from_utf8(bytes).expect("PEM")
}

fn json_response(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [("content-type", "application/json")], body.into()).into_response()
}

fn object(status: StatusCode, value: &Value) -> Response {
    json_response(status, value.to_string())
}

async fn answer(
    State(cluster): State<Arc<Mutex<Cluster>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let mut cluster = cluster.lock().expect("cluster");
    cluster.requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let manager = form_value(&query, "fieldManager");
    let resource = if uri.path().starts_with(SECRETS_PATH) {
        "secrets"
    } else {
        "mutatingwebhookconfigurations"
    };
    if cluster.forbidden.contains(&(method.clone(), resource)) {
        let body = match (method.as_str(), resource) {
            ("GET", "secrets") => SECRET_FORBIDDEN_GET,
            ("PATCH", "mutatingwebhookconfigurations") => WEBHOOK_FORBIDDEN_PATCH,
            other => panic!("no 403 fixture for {other:?}"),
        };
        return json_response(StatusCode::FORBIDDEN, body);
    }
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    match (method.as_str(), uri.path()) {
        ("GET", SECRET_PATH) => match &cluster.secret {
            Some(secret) => object(StatusCode::OK, secret),
            None => json_response(StatusCode::NOT_FOUND, SECRET_NOT_FOUND),
        },
        ("POST", SECRETS_PATH) => {
            if let Some(other) = cluster.races.pop_front() {
                cluster.store_created(other, "another-writer");
                return json_response(StatusCode::CONFLICT, SECRET_ALREADY_EXISTS);
            }
            if cluster.secret.is_some() {
                return json_response(StatusCode::CONFLICT, SECRET_ALREADY_EXISTS);
            }
            let created = cluster.store_created(body.expect("a Secret"), &manager);
            object(StatusCode::CREATED, &created)
        }
        ("PUT", SECRET_PATH) => {
            if let Some(other) = cluster.races.pop_front() {
                cluster.store_created(other, "another-writer");
                return json_response(StatusCode::CONFLICT, SECRET_CONFLICT);
            }
            let mut sent = body.expect("a Secret");
            let Some(stored) = cluster.secret.clone() else {
                return json_response(StatusCode::NOT_FOUND, SECRET_NOT_FOUND);
            };
            if sent["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
                return json_response(StatusCode::CONFLICT, SECRET_CONFLICT);
            }
            // Left out of an update, managedFields are kept as they were.
            if sent["metadata"].get("managedFields").is_none() {
                sent["metadata"]["managedFields"] = stored["metadata"]["managedFields"].clone();
            }
            sent["metadata"]["resourceVersion"] = json!(cluster.next_version());
            cluster.secret = Some(sent.clone());
            object(StatusCode::OK, &sent)
        }
        // The API server answers a delete with the object as it was (graceful deletion).
        ("DELETE", SECRET_PATH) => match cluster.secret.take() {
            Some(secret) => object(StatusCode::OK, &secret),
            None => json_response(StatusCode::NOT_FOUND, SECRET_NOT_FOUND),
        },
        ("GET", WEBHOOK_PATH) => match &cluster.webhook {
            Some(webhook) => object(StatusCode::OK, webhook),
            None => json_response(StatusCode::NOT_FOUND, WEBHOOK_NOT_FOUND),
        },
        ("PATCH", WEBHOOK_PATH) => {
            assert_eq!(
                content_type, "application/json-patch+json",
                "only JSON patches are expected"
            );
            let patch: json_patch::Patch =
                serde_json::from_value(body.expect("a JSON patch")).expect("RFC 6902 patch");
            let version = cluster.next_version();
            let webhook = cluster
                .webhook
                .as_mut()
                .expect("patching a webhook that exists");
            json_patch::patch(webhook, &patch).expect("the patch applies");
            webhook["metadata"]["resourceVersion"] = json!(version);
            object(StatusCode::OK, webhook)
        }
        _ => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
    }
}

fn form_value(query: &str, key: &str) -> String {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}
