//! docs/openapi.yaml against the hub as it is: every route the API router declares is
//! documented and every documented one exists; asked as documented (without a token,
//! then with one), each answers a status its documentation lists.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use serde_json::Value;

const TOKEN: &str = "openapi-token";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf()
}

fn spec() -> Value {
    let text = std::fs::read_to_string(repo().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    serde_norway::from_str(&text).expect("docs/openapi.yaml is YAML")
}

/// The paths `.route("...")` declares in the API router's source and the dashboard's,
/// which it merges.
fn declared_routes() -> BTreeSet<String> {
    ["hub/src/api.rs", "hub/src/dashboard.rs"]
        .iter()
        .flat_map(|file| {
            let source = std::fs::read_to_string(repo().join(file)).expect(file);
            source.split(".route(\"").skip(1).filter_map(|rest| rest.split('"').next().map(String::from)).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_answers_as_documented() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().expect("paths");
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(declared_routes(), documented, "hub/src/api.rs and docs/openapi.yaml disagree");

    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, TOKEN).expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", api.local_addr().expect("addr"));
        tokio::spawn(serve_listeners(hub, sidecars, api, None, std::future::pending()));
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().expect("client");
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().expect("operations").iter().filter(|(m, _)| *m != "parameters") {
                let listed: BTreeSet<u16> = operation["responses"].as_object().expect("responses").keys().map(|k| k.parse().expect("status")).collect();
                let open = operation["security"].as_array().is_some_and(Vec::is_empty);
                let url = format!("{base}{}", path.replace("{tag}", "no-such-job").replace("{name}", "no-such.js"));
                let request = |token: Option<&str>| {
                    let mut r = client.request(method.to_uppercase().parse().expect("method"), &url);
                    if let Some(token) = token {
                        r = r.bearer_auth(token);
                    }
                    r
                };
                let anonymous = request(None).send().await.expect("answer").status().as_u16();
                if open {
                    assert_eq!(anonymous, 200, "{method} {path}");
                } else {
                    assert_eq!(anonymous, 401, "{method} {path} must refuse anonymous access");
                    assert!(listed.contains(&401), "{method} {path}: 401 is not documented");
                    let wrong = request(Some("wrong")).send().await.expect("answer").status().as_u16();
                    assert_eq!(wrong, 401, "{method} {path}");
                }
                let status = request(Some(TOKEN)).send().await.expect("answer").status().as_u16();
                assert!(listed.contains(&status), "{method} {path} answered {status}, documented: {listed:?}");
            }
        }
        let bad = client.get(format!("{base}/api/items?kfl=http%20and%20(")).bearer_auth(TOKEN).send().await.expect("answer");
        assert_eq!(bad.status().as_u16(), 400);
        let body: Value = bad.json().await.expect("json");
        assert!(body["error"].as_str().is_some_and(|e| e.starts_with("kfl:")) && body["caret"].is_string(), "{body}");
        assert!(body["position"].as_u64().is_some_and(|p| p <= 10), "the error's position in the query: {body}");
    });
}
