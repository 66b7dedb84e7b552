//! A hub-facing command with no hub named reaches the hub of the kubeconfig's cluster
//! through the API server's port-forward, as `linkerd viz dashboard` does: the API
//! stand-in lists the hub's pod (tests/data/api), serves the token Secret, and upgrades
//! `pods/portforward` (v4.channel.k8s.io) to a real hub listening on a loopback address
//! of this test. When the kubeconfig may not read the Secret, it says so and a given
//! token works.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::http::StatusCode;
use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use remora_testkit::api_server::{self as api, ApiServer};

/// The token in tests/data/api/secret-remora-hub-tokens.json.
const TOKEN: &str = "r0m3raTokenMadeByTheHubAtFirstStart12";
const POD: &str = "remora-hub-5f6d7c8b9-k2x7q";

/// A hub with one item, its API on `ip`:8899 (the chart's port), plain.
async fn hub_on(ip: IpAddr) -> tempfile::TempDir {
    hub_serving(ip, None).await
}

/// The same, serving TLS with `acceptor` when given.
async fn hub_serving(ip: IpAddr, tls: Option<tokio_rustls::TlsAcceptor>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    hub.ingest(vec![serde_json::json!({"id": "w/s-0", "protocol": {"name": "http"}, "request": {"method": "GET", "path": "/through-the-forward"}, "timestamp": 1796667545266i64})]).expect("ingest");
    let sidecars = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let api = tokio::net::TcpListener::bind((ip, 8899)).await.expect("bind the hub's API port");
    tokio::spawn(serve_listeners(hub, sidecars, api, tls, std::future::pending()));
    dir
}

/// `remora ARGS` with the stand-in's kubeconfig and no hub named anywhere (no config file).
async fn remora_in_cluster(server: &ApiServer, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = server.kubeconfig(dir.path());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let _keep = dir;
        std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", "/nonexistent")
            .env_remove("REMORA_CONFIG")
            .env_remove("REMORA_HUB_API")
            .env_remove("REMORA_TOKEN")
            .env_remove("REMORA_TOKEN_FILE")
            .output()
            .expect("remora")
    })
    .await
    .expect("joined")
}

/// A hub on a loopback address of this test's own (`127.0.NET.x`, so that port 8899 is
/// its), and the API stand-in listing its pod and forwarding to it.
async fn cluster(net: u8) -> (tempfile::TempDir, ApiServer) {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, net, 1 + (std::process::id() % 200) as u8));
    let hub = hub_on(ip).await;
    let server = ApiServer::start().await;
    server.list("/api/v1/namespaces/remora/pods", api::data("pods-list-hub.json"));
    server.pod_at("remora", POD, ip);
    (hub, server)
}

const TOKENS: &str = "/api/v1/namespaces/remora/secrets/remora-hub-tokens";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hub_named_reaches_the_clusters_hub_through_a_port_forward() {
    let (_hub, server) = cluster(88).await;
    server.answer("GET", TOKENS, StatusCode::OK, api::data("secret-remora-hub-tokens.json"));
    let out = remora_in_cluster(&server, &["query", "-o", "json", "http"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("/through-the-forward"), "the item came through the forward: {stderr}");
    assert!(stderr.contains(&format!("the hub is pod remora/{POD}, reached through the API server's port-forward")), "{stderr}");
    let requests = server.requests();
    assert!(requests.iter().any(|r| r.starts_with("GET /api/v1/namespaces/remora/pods?") && r.contains("labelSelector=app.kubernetes.io%2Fcomponent%3Dhub")), "{requests:#?}");
    assert!(requests.iter().any(|r| r.starts_with(&format!("GET /api/v1/namespaces/remora/pods/{POD}/portforward?")) && r.ends_with("ports=8899")), "{requests:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_it_may_not_read_is_said_and_a_given_token_works() {
    let (_hub, server) = cluster(89).await;
    let mut forbidden: serde_json::Value = serde_json::from_str(&api::data("status-configmap-forbidden-patch.json")).expect("status");
    forbidden["message"] = "secrets \"remora-hub-tokens\" is forbidden: User \"jane\" cannot get resource \"secrets\" in API group \"\" in the namespace \"remora\"".into();
    server.answer("GET", TOKENS, StatusCode::FORBIDDEN, forbidden.to_string());
    let refused = remora_in_cluster(&server, &["query", "-o", "json", "http"]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("cannot read the token from Secret remora/remora-hub-tokens") && stderr.contains("give --token or --token-file"), "{stderr}");
    let given = remora_in_cluster(&server, &["query", "-o", "json", "--token", TOKEN, "http"]).await;
    assert!(given.status.success(), "{}", String::from_utf8_lossy(&given.stderr));
    assert!(String::from_utf8_lossy(&given.stdout).contains("/through-the-forward"));
}

/// `remora dashboard` through the forward prints the signed-in address and keeps the
/// forward open until stopped: the dashboard's API answers at that address meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_stays_reachable_while_it_runs() {
    use std::io::BufRead;
    let (_hub, server) = cluster(90).await;
    server.answer("GET", TOKENS, StatusCode::OK, api::data("secret-remora-hub-tokens.json"));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = server.kubeconfig(dir.path());
    let mut dashboard = std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
        .args(["dashboard"])
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", "/nonexistent")
        .env_remove("REMORA_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("remora dashboard");
    let stdout = dashboard.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || std::io::BufReader::new(stdout).lines().next().expect("a line").expect("text")).await.expect("joined");
    let (address, token) = line.split_once("/#token=").expect("an address with the token");
    assert_eq!(token, TOKEN);
    let url = format!("{address}/api/items?kfl=http");
    let answer = tokio::task::spawn_blocking(move || std::process::Command::new("curl").args(["-s", "-H", &format!("Authorization: Bearer {TOKEN}"), &url]).output().expect("curl")).await.expect("joined");
    let _ = dashboard.kill();
    let _ = dashboard.wait();
    assert!(String::from_utf8_lossy(&answer.stdout).contains("/through-the-forward"), "{}", String::from_utf8_lossy(&answer.stdout));
}

/// A hub serving TLS, as the chart's default: the CLI reads the CA from the Secret of
/// the pod's `tls` volume and reaches `https://localhost:PORT` (the chart's hub
/// certificate names localhost for this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_serving_tls_is_trusted_with_the_ca_of_its_secret() {
    use base64::Engine;
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 91, 1 + (std::process::id() % 200) as u8));
    let certs = tempfile::tempdir().expect("tempdir");
    let (ca_pem, cert_pem, key_pem) = remora_testkit::api_server::ip_certificate("localhost");
    std::fs::write(certs.path().join(remora_service::tls::CERT_FILE), &cert_pem).expect("write");
    std::fs::write(certs.path().join(remora_service::tls::KEY_FILE), &key_pem).expect("write");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let store = Arc::new(remora_service::tls::CertStore::new(certs.path(), provider));
    store.reload().expect("the certificate loads");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(remora_service::tls::server_config(store).expect("TLS config")));
    let _hub = hub_serving(ip, Some(acceptor)).await;

    let server = ApiServer::start().await;
    let mut pods: serde_json::Value = serde_json::from_str(&api::data("pods-list-hub.json")).expect("JSON");
    let pod = &mut pods["items"][0]["spec"];
    pod["containers"][0]["args"].as_array_mut().expect("args").push("--tls-dir=/etc/remora/hub-tls".into());
    pod["volumes"].as_array_mut().expect("volumes").push(serde_json::json!({"name": "tls", "secret": {"secretName": "remora-hub-tls", "defaultMode": 420}}));
    server.list("/api/v1/namespaces/remora/pods", pods.to_string());
    server.pod_at("remora", POD, ip);
    server.answer("GET", TOKENS, StatusCode::OK, api::data("secret-remora-hub-tokens.json"));
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let tls_secret = serde_json::json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "remora-hub-tls", "namespace": "remora", "resourceVersion": "2061"},
        "type": "kubernetes.io/tls", "data": {"ca.crt": b64(&ca_pem), "tls.crt": b64(&cert_pem), "tls.key": b64(&key_pem)}});
    server.answer("GET", "/api/v1/namespaces/remora/secrets/remora-hub-tls", StatusCode::OK, tls_secret.to_string());

    let out = remora_in_cluster(&server, &["query", "-o", "json", "http"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(https://localhost:"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("/through-the-forward"), "{stderr}");
}
