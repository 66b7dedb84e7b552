//! The kube-backed namespace source against an API server stand-in on loopback that
//! replays real API responses (tests/data/api): found, not found, forbidden, too slow,
//! and the cache that keeps the webhook from asking once per pod.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use remora_injector::namespaces::{FromApi, NamespaceSource};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/api").join(name))
        .expect("fixture")
}

async fn namespace(
    State(hits): State<Arc<AtomicUsize>>,
    UrlPath(name): UrlPath<String>,
) -> impl IntoResponse {
    hits.fetch_add(1, Ordering::SeqCst);
    let (status, body) = match name.as_str() {
        "shop" => (StatusCode::OK, fixture("namespace-shop.json")),
        "locked" => (StatusCode::FORBIDDEN, fixture("status-forbidden.json")),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, fixture("namespace-shop.json"))
        }
        _ => (StatusCode::NOT_FOUND, fixture("status-namespace-not-found.json")),
    };
    (status, [("content-type", "application/json")], body)
}

async fn api_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route("/api/v1/namespaces/{name}", get(namespace))
        .route("/api/v1/namespaces/shop/limitranges", get(|| async { ([("content-type", "application/json")], fixture("limitranges-shop.json")) }))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, hits)
}

#[tokio::test]
async fn namespaces_from_the_api_server() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (address, hits) = api_server().await;
    let config = kube::Config::new(format!("http://{address}").parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    let source = FromApi::new(client);

    let shop = source.get("shop").await.expect("lookup").expect("found");
    assert_eq!(shop.name, "shop");
    assert_eq!(shop.labels["remora.dev/inject"], "enabled");
    assert_eq!(shop.labels["pod-security.kubernetes.io/warn"], "restricted");
    assert_eq!(shop.annotations["remora.dev/pcap-retention"], "1Gi");
    // Its LimitRange, for the sidecar's resources.
    assert_eq!(shop.limit_ranges.len(), 1);
    assert_eq!(shop.limit_ranges[0].name, "shop/container-limits");
    assert_eq!(shop.limit_ranges[0].max[0], Some(0.25));
    assert!(shop.limit_ranges_unread.is_none());

    // Cached: a burst of pods in one namespace asks the API server once.
    for _ in 0..5 {
        source.get("shop").await.expect("cached").expect("found");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "namespace and LimitRanges asked once");

    assert!(source.get("gone").await.expect("404 is an answer").is_none());

    let forbidden = source.get("locked").await.expect_err("403");
    assert!(forbidden.contains("forbidden"), "{forbidden}");

    let slow = source.get("slow").await.expect_err("too slow");
    assert!(slow.contains("did not answer within"), "{slow}");
}
