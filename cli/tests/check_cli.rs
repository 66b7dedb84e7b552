//! `remora check` end to end: the CLI, with a KUBECONFIG pointing at an API server
//! stand-in replaying a chart install (cluster/tests/data/api): healthy but for coverage
//! (exit 0, each uncovered pod with its command; the probe pod, with the image asked for,
//! refused to a user who may not create pods), then with the webhook configuration gone
//! (exit 1, a FAIL that says what to do).

use axum::http::StatusCode;
use remora_testkit::api_server::{self as api, ApiServer};
use serde_json::Value;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn install(server: &ApiServer, with_webhook: bool) {
    let request = remora_certs::Request { service: "remora-injector".into(), namespace: "remora".into(), cert_days: 90, ca_days: 365 };
    let certs = remora_certs::issue(&request, None).expect("certificates");
    let mut webhook: serde_json::Value = serde_json::from_str(&api::data("mutatingwebhookconfiguration-remora.json")).expect("json");
    webhook["webhooks"][0]["clientConfig"]["caBundle"] = b64(certs.ca_cert.as_bytes()).into();
    if with_webhook {
        server.answer("GET", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/remora", StatusCode::OK, webhook.to_string());
    }
    let secret = serde_json::json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "remora-injector-tls", "namespace": "remora"},
        "type": "kubernetes.io/tls", "data": {"ca.crt": b64(certs.ca_cert.as_bytes()), "tls.crt": b64(certs.cert.as_bytes()), "tls.key": b64(certs.key.as_bytes())}});
    server.answer("GET", "/api/v1/namespaces/remora/secrets/remora-injector-tls", StatusCode::OK, secret.to_string());
    server.answer("GET", "/api/v1/namespaces/remora/services/remora-injector", StatusCode::OK, api::data("service-remora-injector.json"));
    server.list("/apis/discovery.k8s.io/v1/namespaces/remora/endpointslices", api::data("endpointslices-remora-injector.json"));
    server.list("/api/v1/namespaces", api::data("namespaces-list.json"));
    server.list("/api/v1/pods", api::data("pods-list-coverage.json"));
    server.answer("GET", "/apis/apps/v1/namespaces/remora/deployments/remora-hub", StatusCode::OK, api::data("deployment-remora-hub.json"));
    server.answer("GET", "/api/v1/namespaces/remora/configmaps/remora-injector", StatusCode::OK, api::data("configmap-remora-injector.json"));
    for namespace in ["shop", "payments"] {
        let mut refusal: Value = serde_json::from_str(&api::data("status-probe-rbac.json")).expect("status");
        refusal["message"] = refusal["message"].as_str().expect("message").replace("\"search\"", &format!("\"{namespace}\"")).into();
        server.answer("POST", &format!("/api/v1/namespaces/{namespace}/pods"), StatusCode::FORBIDDEN, refusal.to_string());
    }
}

async fn remora_check(server: &ApiServer) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = server.kubeconfig(dir.path());
    // Blocking, on a thread of the multi-threaded runtime: the stand-in answers on another.
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
            .args(["check", "--probe-image", "registry.corp.example/pause:3.10"])
            .env("KUBECONFIG", kubeconfig)
            .output()
            .expect("remora check")
    })
        .await
        .expect("joined")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_coverage_and_failures_with_fixes() {
    let server = ApiServer::start().await;
    install(&server, true).await;
    let out = remora_check(&server).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("WARN pod shop/db-0: runs without the sidecar (statefulset/db)\n     fix: kubectl -n shop rollout restart statefulset/db"), "{stdout}");
    assert!(stdout.contains("ok   webhook remora/inject.remora.dev: calls remora/remora-injector with 2 ready endpoint(s)"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 failure(s)"));
    assert!(stdout.contains("WARN probe pod in shop: cannot be tried (403): pods is forbidden: User \"jane@example.com\" cannot create resource \"pods\" in API group \"\" in the namespace \"shop\"\n     fix: run remora check as someone who may create pods in shop"), "{stdout}");
    let probes: Vec<Value> = server.bodies().iter().filter(|(call, _, _)| call.starts_with("POST ")).map(|(_, _, body)| serde_json::from_str(body).expect("a pod")).collect();
    assert_eq!(probes.len(), 2);
    assert!(probes.iter().all(|p| p["spec"]["containers"][0]["image"] == "registry.corp.example/pause:3.10"), "{probes:?}");

    let broken = ApiServer::start().await;
    install(&broken, false).await;
    let out = remora_check(&broken).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("FAIL webhook remora: the MutatingWebhookConfiguration does not exist: no pod gets a sidecar\n     fix: helm install"), "{stdout}");
}

/// `remora ARGS` with the kubeconfig of `server` and no hub named anywhere.
async fn remora_kube(server: &ApiServer, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = server.kubeconfig(dir.path());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
            .args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", dir.path())
            .env_remove("REMORA_HUB_API")
            .env_remove("REMORA_CONFIG")
            .output()
            .expect("remora")
    })
    .await
    .expect("joined")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_hub_scripts_go_straight_to_the_configmap() {
    const OBJECT: &str = "/api/v1/namespaces/remora/configmaps/remora-scripts";
    let server = ApiServer::start().await;
    server.object(OBJECT, api::data("configmap-remora-scripts.json"));
    let folder = tempfile::tempdir().expect("tempdir");
    std::fs::write(folder.path().join("new.js"), "// New agent\nconsole.log('new');\n").expect("write");
    let out = remora_kube(&server, &["scripts", "--source", folder.path().to_str().expect("path")]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("created new.js"), "{stderr}");
    assert!(stderr.contains("kept errors.js (not in the source"), "{stderr}");
    assert!(stderr.contains("configmap:remora/remora-scripts"), "{stderr}");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0].1, "application/merge-patch+json");
    assert_eq!(bodies[0].2, r#"{"data":{"new.js":"// New agent\nconsole.log('new');\n"}}"#);

    // The ConfigMap now holds both, and `scripts list` reads them back.
    let now = server.object_now(OBJECT);
    assert_eq!(now["data"]["new.js"], "// New agent\nconsole.log('new');\n", "{now}");
    let out = remora_kube(&server, &["scripts", "list"]).await;
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listed.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names, ["errors.js", "new.js"], "{listed}");
}
