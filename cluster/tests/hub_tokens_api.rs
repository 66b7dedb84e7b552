//! The hub's tokens Secret through the API: made at the first start (a random token, not
//! the chart's), kept at later ones, and a race between two hubs settled by reading the
//! winner's. Replayed responses from tests/data/api.

use remora_testkit::api_server as api;

use axum::http::StatusCode;
use base64::Engine;
use remora_cluster::hub_tokens::{ensure, Ensured};

const SECRET: &str = "/api/v1/namespaces/remora/secrets/remora-hub-tokens";
const SECRETS: &str = "/api/v1/namespaces/remora/secrets";

/// The token a create sent, from its recorded body.
fn created_token(server: &api::ApiServer) -> String {
    let bodies = server.bodies();
    let (call, _, body) = bodies.iter().find(|(call, ..)| call.starts_with("POST ")).expect("a create");
    assert!(call.starts_with(&format!("POST {SECRETS}")), "{call}");
    let secret: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(secret["metadata"]["name"], "remora-hub-tokens");
    assert_eq!(secret["metadata"]["labels"]["app.kubernetes.io/managed-by"], "remora-hub");
    let data = base64::engine::general_purpose::STANDARD.decode(secret["data"]["tokens"].as_str().expect("tokens")).expect("base64");
    String::from_utf8(data).expect("UTF-8")
}

#[tokio::test]
async fn the_first_start_makes_the_secret_and_later_ones_keep_it() {
    let server = api::ApiServer::start().await;
    server.answer("GET", SECRET, StatusCode::NOT_FOUND, api::data("status-secret-tokens-not-found.json"));
    server.answer("POST", SECRETS, StatusCode::CREATED, api::data("secret-remora-hub-tokens.json"));
    let first = ensure(server.client(), "remora", "remora-hub-tokens").await.expect("made");
    assert!(first.created);
    let sent = created_token(&server);
    assert_eq!(first.tokens, sent, "the hub uses the token it sent");
    let token = sent.trim_end();
    assert_eq!(token.len(), 40, "{token:?}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token:?}");

    // A second first start makes another token: nothing is fixed in the code.
    let again = api::ApiServer::start().await;
    again.answer("GET", SECRET, StatusCode::NOT_FOUND, api::data("status-secret-tokens-not-found.json"));
    again.answer("POST", SECRETS, StatusCode::CREATED, api::data("secret-remora-hub-tokens.json"));
    ensure(again.client(), "remora", "remora-hub-tokens").await.expect("made");
    assert_ne!(created_token(&again), sent);

    // Later starts (and upgrades) find it and keep what is in it.
    let later = api::ApiServer::start().await;
    later.answer("GET", SECRET, StatusCode::OK, api::data("secret-remora-hub-tokens.json"));
    let kept = ensure(later.client(), "remora", "remora-hub-tokens").await.expect("read");
    assert_eq!(kept, Ensured { tokens: "r0m3raTokenMadeByTheHubAtFirstStart12\n".into(), created: false });
    assert!(later.bodies().is_empty(), "nothing written: {:?}", later.bodies());
}

#[tokio::test]
async fn two_hubs_starting_at_once_agree_on_one_token() {
    let server = api::ApiServer::start().await;
    server.answer("GET", SECRET, StatusCode::NOT_FOUND, api::data("status-secret-tokens-not-found.json"));
    server.answer("POST", SECRETS, StatusCode::CONFLICT, api::data("status-secret-tokens-exists.json"));
    server.answer("GET", SECRET, StatusCode::OK, api::data("secret-remora-hub-tokens.json"));
    let ensured = ensure(server.client(), "remora", "remora-hub-tokens").await.expect("read after the conflict");
    assert_eq!(ensured, Ensured { tokens: "r0m3raTokenMadeByTheHubAtFirstStart12\n".into(), created: false });
}

#[tokio::test]
async fn a_hub_without_permission_is_told_which() {
    let server = api::ApiServer::start().await;
    let forbidden = api::data("status-configmap-forbidden-patch.json");
    server.answer("GET", SECRET, StatusCode::FORBIDDEN, forbidden);
    let error = ensure(server.client(), "remora", "remora-hub-tokens").await.expect_err("forbidden");
    assert!(error.to_string().contains("forbidden"), "{error}");
}
