//! Sidecars presenting their pod's projected token: the hub asks the API server (a
//! stand-in answering with replayed TokenReviews) and binds the session to the token's
//! pod: the right pod is admitted, a hello naming another pod is refused, an expired
//! token gets a 401, and so does an API token (people's tokens cannot pose as pods). With
//! the hub following the cluster, only pods the webhook injected
//! in opted-in namespaces join.

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

/// Opens a session with `token` and says hello as `pod` of `shop`; returns the hub's
/// first frame, or the HTTP status that refused the session.
async fn hello(url: &str, token: &str, pod: &str) -> Result<ToSidecar, u16> {
    hello_in(url, token, "shop", pod).await
}

/// A hub that reviews projected tokens with `server` (and takes `api-client-token` from
/// its token file): the hub, its sidecar URL, the directory of its token file.
async fn start_hub(server: &ApiServer) -> (Arc<Hub>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, "api-client-token\n").expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let _ = hub.token_reviewer.set(TokenReviewer::new(server.client(), "remora-hub"));
    let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api_port = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", sidecars.local_addr().expect("addr"));
    tokio::spawn(serve_listeners(hub.clone(), sidecars, api_port, None, std::future::pending()));
    (hub, url, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_tokens_bind_the_session_to_their_pod() {
    let server = ApiServer::start().await;
    const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-pod.json"));
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));

    let (hub, url, _dir) = start_hub(&server).await;

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
    // A person's API token (the token file's) is no pod's: it opens no session.
    assert_eq!(hello(&url, "api-client-token", "anything").await.err(), Some(401));
    let reviews = server.bodies().len();
    assert_eq!(reviews, 3, "one review per token (the answer is kept)");
    assert_eq!(hub.refused.load(std::sync::atomic::Ordering::Relaxed), 3);
}

/// The TokenReview the API server writes for `pod`'s projected token (the recorded one,
/// for another pod).
fn review_of(namespace: &str, pod: &str) -> String {
    api::data("tokenreview-pod.json").replace("web-7c9f8b6d4-x2lkq", pod).replace("system:serviceaccount:shop:", &format!("system:serviceaccount:{namespace}:")).replace("system:serviceaccounts:shop", &format!("system:serviceaccounts:{namespace}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_injected_pods_of_opted_in_namespaces_join() {
    use remora_hub::cluster_watch::{follow, Watches};
    use serde_json::Value;

    // The cluster as the hub's watches see it: `shop` opted in, `default` not; in `shop` an
    // injected pod (web) and one the webhook never saw (db-0, its mark removed); in
    // `default` an injected pod.
    // The API's lists, with each item's kind as `kubectl get -o json` writes them.
    let list_of = |file: &str, kind: &str| {
        let mut list: Value = serde_json::from_str(&api::data(file)).expect("JSON");
        for item in list["items"].as_array_mut().expect("items") {
            item["kind"] = kind.into();
            item["apiVersion"] = "v1".into();
        }
        list
    };
    let objects = tempfile::tempdir().expect("tempdir");
    std::fs::write(objects.path().join("namespaces.json"), list_of("namespaces-list.json", "Namespace").to_string()).expect("write");
    let mut pods = list_of("pods-list-1.json", "Pod");
    let list = pods["items"].as_array_mut().expect("items");
    let db = list.iter_mut().find(|p| p["metadata"]["name"] == "db-0").expect("db-0");
    db["metadata"]["annotations"].as_object_mut().expect("annotations").remove("remora.dev/status");
    let mut elsewhere = list.iter().find(|p| p["metadata"]["name"] == "web-7c9f8b6d4-x2lkq").expect("web").clone();
    elsewhere["metadata"]["namespace"] = "default".into();
    list.push(elsewhere);
    std::fs::write(objects.path().join("pods.json"), pods.to_string()).expect("write");

    let server = ApiServer::start().await;
    const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
    for (namespace, pod) in [("shop", "web-7c9f8b6d4-x2lkq"), ("shop", "db-0"), ("default", "web-7c9f8b6d4-x2lkq"), ("shop", "gone-0")] {
        server.answer("POST", REVIEWS, StatusCode::CREATED, review_of(namespace, pod));
    }
    let (hub, url, _dir) = start_hub(&server).await;
    follow(&hub, Watches::dir(objects.path().to_path_buf()));

    // The injected pod of the opted-in namespace joins (once the watches have listed).
    let mut first = hello_in(&url, "token-web", "shop", "web-7c9f8b6d4-x2lkq").await;
    for _ in 0..40 {
        match &first {
            Ok(ToSidecar::Refused { reason, .. }) if reason.contains("has not listed") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                first = hello_in(&url, "token-web", "shop", "web-7c9f8b6d4-x2lkq").await;
            }
            _ => break,
        }
    }
    assert!(matches!(first, Ok(ToSidecar::Jobs { .. })), "{first:?}");
    // Hellos refused while the watches were still listing count too; count from here.
    let refused_before = hub.refused.load(std::sync::atomic::Ordering::Relaxed);
    let refusal = |answer: Result<ToSidecar, u16>| match answer {
        Ok(ToSidecar::Refused { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(refusal(hello_in(&url, "token-db", "shop", "db-0").await), "pod shop/db-0 was not injected by Remora's webhook (no remora.dev/status annotation)");
    assert_eq!(refusal(hello_in(&url, "token-default", "default", "web-7c9f8b6d4-x2lkq").await), "namespace default is not opted in (label remora.dev/inject=enabled)");
    assert_eq!(refusal(hello_in(&url, "token-gone", "shop", "gone-0").await), "pod shop/gone-0 does not exist (or the hub has not seen it yet; retry)");
    assert_eq!(hub.refused.load(std::sync::atomic::Ordering::Relaxed) - refused_before, 3);
}

/// Opens a session with `token` and says hello as `namespace/pod`.
async fn hello_in(url: &str, token: &str, namespace: &str, pod: &str) -> Result<ToSidecar, u16> {
    let mut request = format!("{url}{SIDECAR_PATH}").into_client_request().expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let (socket, _) = match tokio_tungstenite::connect_async(request).await {
        Ok(connected) => connected,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
        Err(e) => panic!("{e}"),
    };
    let (mut write, mut read) = socket.split();
    let identity = PodIdentity { pod: pod.into(), namespace: namespace.into(), ..Default::default() };
    let frame = serde_json::to_string(&FromSidecar::Hello { v: VERSION, identity, build: String::new(), protocols: vec![VERSION] }).expect("json");
    write.send(Message::Text(frame.into())).await.expect("send");
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), read.next()).await.expect("an answer") {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(text.as_str()).expect("frame")),
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
}
