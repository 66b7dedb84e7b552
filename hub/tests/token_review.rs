//! Sidecars presenting their pod's projected token: the hub asks the API server (a
//! stand-in answering with replayed TokenReviews) and binds the session to the token's
//! pod: the right pod is admitted, a hello naming another pod is refused, an expired
//! token gets a 401.

use std::sync::Arc;

use axum::http::StatusCode;
use futures_util::{SinkExt, StreamExt};
use remora_cluster::token_review::TokenReviewer;
use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use remora_model::wire::{FromSidecar, PodIdentity, ToSidecar, SIDECAR_PATH, VERSION};
use remora_testkit::api_server::{self as api, ApiServer};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Opens a session with `token` and says hello as `pod`; returns the hub's first frame,
/// or the HTTP status that refused the session.
async fn hello(url: &str, token: &str, pod: &str) -> Result<ToSidecar, u16> {
    let mut request = format!("{url}{SIDECAR_PATH}").into_client_request().expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let (socket, _) = match tokio_tungstenite::connect_async(request).await {
        Ok(connected) => connected,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
        Err(e) => panic!("{e}"),
    };
    let (mut write, mut read) = socket.split();
    let identity = PodIdentity { pod: pod.into(), namespace: "shop".into(), ..Default::default() };
    let frame = serde_json::to_string(&FromSidecar::Hello { v: VERSION, identity }).expect("json");
    write.send(Message::Text(frame.into())).await.expect("send");
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), read.next()).await.expect("an answer") {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(text.as_str()).expect("frame")),
            Some(Ok(_)) => continue,
            other => panic!("no frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_tokens_bind_the_session_to_their_pod() {
    let server = ApiServer::start().await;
    const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-pod.json"));
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));

    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, "api-client-token\n").expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let _ = hub.token_reviewer.set(TokenReviewer::new(server.client(), "remora-hub"));
    let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api_port = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", sidecars.local_addr().expect("addr"));
    tokio::spawn(serve_listeners(hub.clone(), sidecars, api_port, None, std::future::pending()));

    // The token's own pod: admitted (the hub's first frame is the cluster's jobs).
    let first = hello(&url, "projected-web", "web-7c9f8b6d4-x2lkq").await.expect("admitted");
    assert!(matches!(first, ToSidecar::Jobs { .. }), "{first:?}");
    // The same token claiming another pod: refused, and told why.
    match hello(&url, "projected-web", "db-0").await {
        Ok(ToSidecar::Refused { reason, .. }) => assert_eq!(reason, "the token belongs to pod shop/web-7c9f8b6d4-x2lkq, not shop/db-0"),
        other => panic!("{other:?}"),
    }
    // An expired token: 401 before any session.
    assert_eq!(hello(&url, "expired", "web-7c9f8b6d4-x2lkq").await.err(), Some(401));
    // The token file still works, for any pod.
    assert!(matches!(hello(&url, "api-client-token", "anything").await, Ok(ToSidecar::Jobs { .. })));
    let reviews = server.bodies().len();
    assert_eq!(reviews, 2, "one review per token (the answer is kept)");
    assert_eq!(hub.refused.load(std::sync::atomic::Ordering::Relaxed), 2);
}
