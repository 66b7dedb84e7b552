//! People signing in with their own Kubernetes token (`--kubernetes-users`): the hub asks
//! the API server (a stand-in answering with replayed reviews) who they are and which
//! role RBAC grants them; routes are then allowed by that role, and what they change is
//! recorded under their Kubernetes user name.

use std::sync::Arc;

use axum::http::StatusCode;
use remora_cluster::access_review::AccessReviewer;
use remora_hub::auth::{Tokens, ROLE_VERBS};
use remora_hub::script_store::{DirStore, ScriptStore};
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use remora_testkit::api_server::{self as api, ApiServer};

const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const ACCESS: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_decides_what_a_person_may_do() {
    let server = ApiServer::start().await;
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-person.json"));
    server.answer("POST", ACCESS, StatusCode::CREATED, api::data("subjectaccessreview-admin-denied.json"));
    server.answer("POST", ACCESS, StatusCode::CREATED, api::data("subjectaccessreview-editor-allowed.json"));
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));

    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, "admin:root:admin-5e2\n").expect("write");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let _ = hub.access_reviewer.set(AccessReviewer::new(server.client(), "remora", ROLE_VERBS));
    let _ = hub.script_store.set(Arc::new(ScriptStore::Dir(Arc::new(DirStore::new(scripts.clone(), dir.path().join("no-env"))))));
    let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api_port = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", api_port.local_addr().expect("addr"));
    tokio::spawn(serve_listeners(hub.clone(), sidecars, api_port, None, std::future::pending()));

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str| {
        let request = http.request(method, format!("{base}{path}")).bearer_auth(token);
        async move {
            let response = request.body("console.log('from jane');\n").send().await.expect("send");
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    };
    // Jane's token: RBAC grants her editor (admin asked first, refused).
    assert_eq!(call(reqwest::Method::GET, "/api/items", "jane-id-token").await.0, 200);
    let (status, body) = call(reqwest::Method::PUT, "/api/scripts/jane.js", "jane-id-token").await;
    assert_eq!(status, 200, "{body}");
    assert!(scripts.join("jane.js").exists());
    let (status, body) = call(reqwest::Method::GET, "/api/audit", "jane-id-token").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("needs the admin role; \\\"oidc:jane@example.com\\\" has the editor role"), "{body}");
    assert_eq!(server.bodies().len(), 3, "one TokenReview and two access reviews for all of her calls");

    // A token the API server does not vouch for: 401, with its reason.
    let (status, body) = call(reqwest::Method::GET, "/api/items", "expired").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("service account token has expired"), "{body}");

    // Her change is on record under her Kubernetes name.
    let (status, body) = call(reqwest::Method::GET, "/api/audit", "admin-5e2").await;
    assert_eq!(status, 200, "{body}");
    let audit: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let entry = &audit["entries"][0];
    assert_eq!((entry["who"].as_str(), entry["role"].as_str(), entry["target"].as_str()), (Some("oidc:jane@example.com"), Some("editor"), Some("jane.js")), "{audit}");
}
