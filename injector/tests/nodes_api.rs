//! `sidecar.mode: auto` from the cluster's nodes, on replayed API answers: native on a
//! cluster whose kubelets are all v1.34, classic while one node's kubelet is v1.28 (a
//! cluster mid-upgrade), and the switch when a watch reports that node; the decision
//! reaches the injector, whose next pod gets that kind of sidecar.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use remora_injector::inject::{Injector, Outcome};
use remora_injector::settings::Settings;
use remora_model::native_sidecars::Support;
use remora_testkit::api_server::{self as api, ApiServer};
use remora_testkit::eventually;

/// Follows `server`'s nodes; returns the injector and every decision made so far.
async fn follow(server: &ApiServer) -> (Arc<Injector>, Arc<Mutex<Vec<Support>>>) {
    server.answer_always("GET", "/version", StatusCode::OK, api::data("version.json"));
    let injector = Arc::new(Injector::new(Settings::default()).expect("injector"));
    let decisions = Arc::new(Mutex::new(Vec::new()));
    let (told, seen) = (injector.clone(), decisions.clone());
    tokio::spawn(remora_injector::nodes::follow(server.client(), move |support| {
        seen.lock().expect("decisions").push(support.clone());
        told.set_native_support(support);
    }));
    (injector, decisions)
}

/// Where the injector puts the sidecar of a plain pod: "native" or "classic".
fn mode_of_next_pod(injector: &Injector) -> &'static str {
    let pod: k8s_openapi::api::core::v1::Pod =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}})).expect("pod");
    match injector.inject(&pod, "shop", None).outcome {
        Outcome::Injected { config, .. } if config.mode == remora_injector::annotations::SidecarMode::Native => "native",
        Outcome::Injected { .. } => "classic",
        Outcome::Skipped(reason) => panic!("skipped: {reason:?}"),
    }
}

async fn settled(decisions: &Arc<Mutex<Vec<Support>>>, count: usize) -> Vec<Support> {
    let decisions = decisions.clone();
    tokio::task::spawn_blocking(move || {
        eventually(Duration::from_secs(10), "the decisions", || {
            let seen = decisions.lock().expect("decisions").clone();
            (seen.len() >= count).then_some(seen)
        })
    })
    .await
    .expect("waited")
}

#[tokio::test]
async fn every_kubelet_at_1_34_gets_native_sidecars() {
    let server = ApiServer::start().await;
    server.list("/api/v1/nodes", api::data("nodes-list.json"));
    let (injector, decisions) = follow(&server).await;
    assert_eq!(mode_of_next_pod(&injector), "classic", "before the nodes are known");
    let seen = settled(&decisions, 1).await;
    assert!(seen[0].native, "{}", seen[0].reason);
    assert_eq!(seen[0].reason, "the API server (v1.34.1) and the kubelets of all 3 nodes are 1.29 or later");
    assert_eq!(mode_of_next_pod(&injector), "native");
}

#[tokio::test]
async fn a_node_with_an_old_kubelet_gets_classic_sidecars() {
    let server = ApiServer::start().await;
    server.list("/api/v1/nodes", api::data("nodes-list-skewed.json"));
    let (injector, decisions) = follow(&server).await;
    let seen = settled(&decisions, 1).await;
    assert!(!seen[0].native);
    assert_eq!(seen[0].reason, "kubelet older than 1.29 on kind-worker2 (v1.28.15)");
    assert_eq!(mode_of_next_pod(&injector), "classic");
}

#[tokio::test]
async fn a_node_downgraded_in_the_watch_turns_new_sidecars_classic() {
    let server = ApiServer::start().await;
    server.list("/api/v1/nodes", api::data("nodes-list.json"));
    // The watch reports kind-worker2 replaced by a node with a v1.28 kubelet.
    let skewed: serde_json::Value = serde_json::from_str(&api::data("nodes-list-skewed.json")).expect("json");
    let mut node = skewed["items"][2].clone();
    node["kind"] = "Node".into();
    node["apiVersion"] = "v1".into();
    server.watch("/api/v1/nodes", format!("{}\n", serde_json::json!({"type": "MODIFIED", "object": node})));
    let (injector, decisions) = follow(&server).await;
    let seen = settled(&decisions, 2).await;
    assert_eq!(seen.iter().map(|s| s.native).collect::<Vec<_>>(), [true, false], "{seen:?}");
    assert_eq!(mode_of_next_pod(&injector), "classic");
}
