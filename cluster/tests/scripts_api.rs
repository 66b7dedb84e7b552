//! The scripts ConfigMap and env Secret through the API: followed (a list, then a watch
//! that adds a script), and written with one-key JSON merge patches; a 403 names the
//! missing permission. Replayed responses from tests/data/api.

use remora_testkit::api_server as api;

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::StreamExt;
use remora_cluster::scripts::{ScriptsError, ScriptsInCluster};

const CONFIGMAPS: &str = "/api/v1/namespaces/remora/configmaps";
const SECRETS: &str = "/api/v1/namespaces/remora/secrets";
const OBJECT: &str = "/api/v1/namespaces/remora/configmaps/remora-scripts";

#[tokio::test]
async fn the_hub_follows_the_configmap_and_the_secret() {
    let server = api::ApiServer::start().await;
    server.list(CONFIGMAPS, api::data("configmaps-list.json"));
    server.watch(CONFIGMAPS, api::data("configmaps-watch.jsonl"));
    server.list(SECRETS, api::data("secrets-list.json"));
    let scripts = ScriptsInCluster::new(server.client(), "remora", "remora-scripts", "remora-env");
    assert_eq!(scripts.describe(), "configmap:remora/remora-scripts");
    let mut changes = scripts.changes();
    let (first, env) = tokio::time::timeout(Duration::from_secs(10), changes.next()).await.expect("within 10 s").expect("a set");
    // The first set may come before or after the watch's change, whichever stream
    // the merge reads first; it ends with both scripts.
    assert!(first.contains_key("errors.js"), "{first:?}");
    assert_eq!(env.get("SLACK_WEBHOOK").map(String::as_str), Some("https://hooks.slack.com/services/T00/B00/XXX"));
    let last = if first.contains_key("slow.js") { first } else { tokio::time::timeout(Duration::from_secs(10), changes.next()).await.expect("within 10 s").expect("a set").0 };
    assert_eq!(last.keys().collect::<Vec<_>>(), ["errors.js", "slow.js"]);
    let requests = server.requests();
    assert!(requests.iter().any(|r| r.starts_with("GET /api/v1/namespaces/remora/configmaps?") && r.contains("fieldSelector=metadata.name%3Dremora-scripts")), "{requests:#?}");
    assert!(requests.iter().any(|r| r.starts_with("GET /api/v1/namespaces/remora/secrets?") && r.contains("fieldSelector=metadata.name%3Dremora-env")), "{requests:#?}");
}

#[tokio::test]
async fn scripts_are_written_one_key_at_a_time() {
    let server = api::ApiServer::start().await;
    server.object(OBJECT, api::data("configmap-remora-scripts.json"));
    let scripts = ScriptsInCluster::new(server.client(), "remora", "remora-scripts", "remora-env");
    assert_eq!(scripts.scripts().await.expect("scripts").keys().collect::<Vec<_>>(), ["errors.js"]);

    let same = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/api/configmap-remora-scripts.json")).expect("fixture");
    let errors_source: serde_json::Value = serde_json::from_str(&same).expect("json");
    let unchanged = scripts.put("errors.js", errors_source["data"]["errors.js"].as_str().expect("source")).await.expect("put");
    assert!(!unchanged, "the same source is not sent again");
    assert!(scripts.put("new.js", "console.log('hi');\n").await.expect("put"));
    assert!(scripts.delete("errors.js").await.expect("delete"));
    assert!(!scripts.delete("absent.js").await.expect("delete"));
    let bodies = server.bodies();
    let patches: Vec<(&str, &str)> = bodies.iter().map(|(_, content_type, body)| (content_type.as_str(), body.as_str())).collect();
    assert_eq!(
        patches,
        [
            ("application/merge-patch+json", r#"{"data":{"new.js":"console.log('hi');\n"}}"#),
            ("application/merge-patch+json", r#"{"data":{"errors.js":null}}"#),
        ]
    );
    // What the ConfigMap holds after the writes, and what the code reads back.
    let now = server.object_now(OBJECT);
    assert_eq!(now["data"], serde_json::json!({"new.js": "console.log('hi');\n"}), "{now}");
    assert_eq!(scripts.scripts().await.expect("scripts").keys().collect::<Vec<_>>(), ["new.js"]);

    // Without the permission: an error that says which.
    server.answer_always("PATCH", OBJECT, StatusCode::FORBIDDEN, api::data("status-configmap-forbidden-patch.json"));
    let error = scripts.put("other.js", "1").await.expect_err("forbidden");
    assert!(matches!(error, ScriptsError::Forbidden { verb: "patch", .. }), "{error}");
    assert!(error.to_string().contains("cannot patch resource \"configmaps\""), "{error}");
}
