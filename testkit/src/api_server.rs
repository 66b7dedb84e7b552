//! A stand-in for the Kubernetes API server: it answers with the responses of
//! cluster/tests/data/api (the shapes the API server returns), in the order a test scripts them,
//! and records what it was asked. A list call (GET without `watch=true`) gets the next
//! scripted list; a watch call gets the next scripted event stream (newline-delimited
//! JSON), or, once none is left, a stream that stays open with nothing in it, as a quiet
//! watch does until its timeout. Any other call (a GET of one object, a PATCH) gets the
//! next answer scripted for its path and method; its body is recorded. An object kept with
//! `object` is read and patched as the API server would, so a test can check the state a
//! write left. A call can also be
//! answered by a function of its query and body (`handle`), for what the API server
//! computes, such as a dry-run create going through admission.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A replayed response of `cluster/tests/data/api` (its README says what each is).
pub fn data(name: &str) -> String {
    let path = crate::chart::repo().join("cluster/tests/data/api").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a handler answers: status, extra headers (`Warning`, say) and body.
pub type Handled = (StatusCode, Vec<(String, String)>, String);
type Handler = Arc<dyn Fn(&str, &str, &[u8]) -> Handled + Send + Sync>;

#[derive(Default)]
pub struct Script {
    /// Path (without query) → answers to list calls, in order; the last one repeats.
    pub lists: BTreeMap<String, VecDeque<(StatusCode, String)>>,
    /// Path → event streams for watch calls, in order.
    pub watches: BTreeMap<String, VecDeque<String>>,
    /// `METHOD path?query` of every request.
    pub requests: Vec<String>,
    /// (`METHOD path`, content type, body) of every request that had a body.
    pub bodies: Vec<(String, String, String)>,
    /// `METHOD` → a function of (path, query, body), for calls whose path starts with the
    /// prefix it was registered with.
    handlers: Vec<(String, String, Handler)>,
    /// `namespace/pod` → where its ports are, for port-forward upgrades.
    pods: BTreeMap<String, std::net::IpAddr>,
    /// Path → an object kept as the API server keeps it: GET answers it as it is now, a
    /// PATCH changes it and answers the result.
    objects: BTreeMap<String, serde_json::Value>,
}

pub struct ApiServer {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl ApiServer {
    pub async fn start() -> ApiServer {
        let script = Arc::new(Mutex::new(Script::default()));
        let router = Router::new().route("/api/v1/namespaces/{namespace}/pods/{pod}/portforward", axum::routing::get(port_forward)).fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        ApiServer { url: format!("http://{address}"), script }
    }

    /// The same over TLS on `ip` (an address of the test's own, such as a pod
    /// network's bridge), as pods reach the API server: with a certificate for that
    /// address, signed by a CA whose PEM is returned (the service-account volume's
    /// `ca.crt`). The server runs on the current tokio runtime.
    pub async fn start_tls(ip: &str, dir: &std::path::Path) -> (ApiServer, String) {
        let (ca_pem, cert_pem, key_pem) = ip_certificate(ip);
        std::fs::write(dir.join(remora_service::tls::CERT_FILE), cert_pem).expect("write");
        std::fs::write(dir.join(remora_service::tls::KEY_FILE), key_pem).expect("write");
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let store = std::sync::Arc::new(remora_service::tls::CertStore::new(dir, provider));
        store.reload().expect("the certificate loads");
        let config = remora_service::tls::server_config(store).expect("TLS config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let script = Arc::new(Mutex::new(Script::default()));
        let router = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _keep = stop;
            remora_service::tls::serve_tls(listener, acceptor, router, stopped).await
        });
        (ApiServer { url: format!("https://{address}"), script }, ca_pem)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// A kubeconfig file pointing at this server, for a process under test.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: {}\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: test\n    namespace: remora\ncurrent-context: stand-in\nusers:\n- name: test\n  user:\n    token: test-token\n",
            self.url
        );
        std::fs::write(&path, text).expect("kubeconfig");
        path
    }

    pub fn client(&self) -> kube::Client {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    }

    pub fn list(&self, path: &str, body: String) {
        self.answer_list(path, StatusCode::OK, body);
    }

    pub fn answer_list(&self, path: &str, status: StatusCode, body: String) {
        self.script.lock().expect("script").lists.entry(path.to_string()).or_default().push_back((status, body));
    }

    pub fn watch(&self, path: &str, events: String) {
        self.script.lock().expect("script").watches.entry(path.to_string()).or_default().push_back(events);
    }

    pub fn requests(&self) -> Vec<String> {
        self.script.lock().expect("script").requests.clone()
    }

    pub fn bodies(&self) -> Vec<(String, String, String)> {
        self.script.lock().expect("script").bodies.clone()
    }

    /// Answers for `METHOD path` (a PATCH, a GET of one object), in order.
    pub fn answer(&self, method: &str, path: &str, status: StatusCode, body: String) {
        self.answer_list(&format!("{method} {path}"), status, body);
    }

    /// Calls `METHOD` on a path starting with `prefix` are answered by `f(path, query, body)`.
    pub fn handle(&self, method: &str, prefix: &str, f: impl Fn(&str, &str, &[u8]) -> Handled + Send + Sync + 'static) {
        self.script.lock().expect("script").handlers.push((method.to_string(), prefix.to_string(), Arc::new(f)));
    }

    /// Port-forwards to `namespace/pod` reach `ip`'s ports (a process the test runs).
    pub fn pod_at(&self, namespace: &str, pod: &str, ip: std::net::IpAddr) {
        self.script.lock().expect("script").pods.insert(format!("{namespace}/{pod}"), ip);
    }

    /// Keeps `body` (a recorded object) at `path`: GETs answer it as it stands, PATCHes
    /// change it as the API server would — a JSON merge patch (RFC 7386, also standing in
    /// for a strategic merge) or a JSON patch (RFC 6902) — and answer the new object with
    /// its resourceVersion moved on.
    pub fn object(&self, path: &str, body: String) {
        let value = serde_json::from_str(&body).expect("a recorded object is JSON");
        self.script.lock().expect("script").objects.insert(path.to_string(), value);
    }

    /// The object at `path` as it stands now.
    pub fn object_now(&self, path: &str) -> serde_json::Value {
        self.script.lock().expect("script").objects.get(path).cloned().unwrap_or_else(|| panic!("no object kept at {path}"))
    }

    /// From now on `METHOD path` gets this answer (the ones scripted before are dropped).
    pub fn answer_always(&self, method: &str, path: &str, status: StatusCode, body: String) {
        self.script.lock().expect("script").lists.insert(format!("{method} {path}"), VecDeque::from([(status, body)]));
    }
}

/// `GET .../pods/NAME/portforward?ports=P` upgraded to a WebSocket (`v4.channel.k8s.io`), as
/// the API server serves kubectl and kube-rs: each port has a data channel (2i) and an
/// error channel (2i+1), each opened by the server with the port number (2 bytes, little
/// endian); then every message is a channel byte and data. Data is relayed to the pod's
/// address (`pod_at`), one TCP connection per upgrade.
async fn port_forward(
    State(script): State<Arc<Mutex<Script>>>,
    axum::extract::Path((namespace, pod)): axum::extract::Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    use axum::extract::ws::Message;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let query = query.unwrap_or_default();
    let target = {
        let mut script = script.lock().expect("script");
        script.requests.push(format!("GET /api/v1/namespaces/{namespace}/pods/{pod}/portforward?{query}"));
        script.pods.get(&format!("{namespace}/{pod}")).copied()
    };
    let Some(ip) = target else { return (StatusCode::NOT_FOUND, format!("pods \"{pod}\" not found")).into_response() };
    let Some(port) = query.split('&').find_map(|p| p.strip_prefix("ports=")).and_then(|p| p.parse::<u16>().ok()) else {
        return (StatusCode::BAD_REQUEST, "one port expected").into_response();
    };
    upgrade.protocols(["v4.channel.k8s.io"]).on_upgrade(move |socket| async move {
        let (mut to_client, mut from_client) = socket.split();
        let [lo, hi] = port.to_le_bytes();
        for channel in [0u8, 1] {
            if to_client.send(Message::Binary(vec![channel, lo, hi].into())).await.is_err() {
                return;
            }
        }
        let Ok(stream) = tokio::net::TcpStream::connect((ip, port)).await else {
            let _ = to_client.send(Message::Binary([&[1u8][..], b"connection refused"].concat().into())).await;
            return;
        };
        let (mut pod_read, mut pod_write) = stream.into_split();
        let upstream = async move {
            while let Some(Ok(message)) = from_client.next().await {
                if let Message::Binary(data) = message {
                    if data.first() == Some(&0) && pod_write.write_all(&data[1..]).await.is_err() {
                        break;
                    }
                }
            }
            let _ = pod_write.shutdown().await;
        };
        let downstream = async move {
            let mut buffer = vec![0u8; 16 << 10];
            loop {
                match pod_read.read(&mut buffer[1..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        buffer[0] = 0;
                        if to_client.send(Message::Binary(buffer[..=n].to_vec().into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to_client.close().await;
        };
        tokio::join!(upstream, downstream);
    })
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let method = request.method().to_string();
    let content_type = request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let watching = query.split('&').any(|p| p == "watch=true" || p == "watch=1");
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
    let mut script = script.lock().expect("script");
    script.requests.push(format!("{method} {path}?{query}"));
    if !body.is_empty() {
        script.bodies.push((format!("{method} {path}"), content_type.clone(), String::from_utf8_lossy(&body).into_owned()));
    }
    let handler = script.handlers.iter().find(|(m, prefix, _)| *m == method && path.starts_with(prefix.as_str())).map(|(_, _, f)| f.clone());
    if let Some(handler) = handler {
        drop(script);
        let (status, headers, body) = handler(&path, &query, &body);
        let mut response = (status, [("content-type", "application/json")], body).into_response();
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(name), axum::http::HeaderValue::try_from(value)) {
                response.headers_mut().append(name, value);
            }
        }
        return response;
    }
    // A call scripted by method and path comes first (a PATCH, a GET of one object).
    if let Some(answers) = script.lists.get_mut(&format!("{method} {path}")) {
        let (status, body) = if answers.len() > 1 { answers.pop_front().expect("answer") } else { answers.front().cloned().expect("answer") };
        return (status, [("content-type", "application/json")], body).into_response();
    }
    if let Some(object) = script.objects.get_mut(&path) {
        match method.as_str() {
            "GET" => return (StatusCode::OK, [("content-type", "application/json")], object.to_string()).into_response(),
            "PATCH" => {
                let Ok(patch) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    return (StatusCode::BAD_REQUEST, "the patch is not JSON").into_response();
                };
                if content_type.starts_with("application/json-patch+json") {
                    let applied = serde_json::from_value::<json_patch::Patch>(patch).map_err(|e| e.to_string()).and_then(|p| json_patch::patch(object, &p).map_err(|e| e.to_string()));
                    if let Err(e) = applied {
                        return (StatusCode::UNPROCESSABLE_ENTITY, e).into_response();
                    }
                } else {
                    json_patch::merge(object, &patch);
                }
                let version = object["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
                object["metadata"]["resourceVersion"] = serde_json::Value::String(version.to_string());
                return (StatusCode::OK, [("content-type", "application/json")], object.to_string()).into_response();
            }
            _ => {}
        }
    }
    if watching {
        let events = script.watches.get_mut(&path).and_then(VecDeque::pop_front);
        drop(script);
        let body = match events {
            Some(events) => Body::from(events),
            // Nothing more to say: stay open, as a quiet watch does.
            None => Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()),
        };
        return ([("content-type", "application/json")], body).into_response();
    }
    let Some(answers) = script.lists.get_mut(&path) else {
        return (StatusCode::NOT_FOUND, r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#).into_response();
    };
    let (status, body) = if answers.len() > 1 { answers.pop_front().expect("answer") } else { answers.front().cloned().expect("answer") };
    (status, [("content-type", "application/json")], body).into_response()
}

/// A CA, and a server certificate for `ip` (an address, or a DNS name such as
/// `localhost`) signed by it: (CA, certificate, key) as PEM.
pub fn ip_certificate(ip: &str) -> (String, String, String) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "test API server CA");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_cert.pem(), ca_key).expect("issuer");
    let params = rcgen::CertificateParams::new(vec![ip.to_string()]).expect("an IP address SAN");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}
