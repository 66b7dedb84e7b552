//! `remora check`'s checks against an API server stand-in replaying a chart install's
//! objects (tests/data/api), with certificates issued at test time: a healthy install,
//! then each failure it detects.

use axum::http::StatusCode;
use remora_cluster::check::{check, Finding, Install, Level};
use remora_testkit::api_server::{self as api, ApiServer};
use serde_json::Value;

const WEBHOOK: &str = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/remora";
const SECRET: &str = "/api/v1/namespaces/remora/secrets/remora-injector-tls";
const SERVICE: &str = "/api/v1/namespaces/remora/services/remora-injector";
const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/remora/endpointslices";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bundle() -> remora_certs::Bundle {
    let request = remora_certs::Request { service: "remora-injector".into(), namespace: "remora".into(), cert_days: 90, ca_days: 365 };
    remora_certs::issue(&request, None).expect("certificates")
}

struct Cluster {
    webhook: Value,
    secret: Value,
    slices: String,
    webhook_missing: bool,
    nodes: &'static str,
}

impl Cluster {
    fn healthy(certs: &remora_certs::Bundle) -> Cluster {
        let mut webhook: Value = serde_json::from_str(&api::data("mutatingwebhookconfiguration-remora.json")).expect("json");
        webhook["webhooks"][0]["clientConfig"]["caBundle"] = b64(certs.ca_cert.as_bytes()).into();
        let secret = serde_json::json!({
            "kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "remora-injector-tls", "namespace": "remora", "resourceVersion": "1834"},
            "type": "kubernetes.io/tls",
            "data": {"ca.crt": b64(certs.ca_cert.as_bytes()), "tls.crt": b64(certs.cert.as_bytes()), "tls.key": b64(certs.key.as_bytes())}
        });
        Cluster { webhook, secret, slices: api::data("endpointslices-remora-injector.json"), webhook_missing: false, nodes: "nodes-list.json" }
    }

    async fn check(&self, now: i64) -> Vec<Finding> {
        let server = ApiServer::start().await;
        if !self.webhook_missing {
            server.answer("GET", WEBHOOK, StatusCode::OK, self.webhook.to_string());
        }
        server.answer("GET", SECRET, StatusCode::OK, self.secret.to_string());
        server.answer("GET", SERVICE, StatusCode::OK, api::data("service-remora-injector.json"));
        server.list(SLICES, self.slices.clone());
        server.list("/api/v1/namespaces", api::data("namespaces-list.json"));
        server.list("/api/v1/pods", api::data("pods-list-coverage.json"));
        server.list("/api/v1/nodes", api::data(self.nodes));
        server.answer_always("GET", "/version", StatusCode::OK, api::data("version.json"));
        check(server.client(), &Install::chart_defaults(now)).await
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn lines(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| format!("{:?} {}: {}", f.level, f.subject, f.detail)).collect()
}

fn failures(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.level == Level::Fail).collect()
}

#[tokio::test]
async fn a_healthy_install_and_its_coverage() {
    let certs = bundle();
    let findings = Cluster::healthy(&certs).check(now()).await;
    let shown = lines(&findings);
    assert!(failures(&findings).is_empty(), "{shown:#?}");
    assert!(shown.contains(&"Ok webhook remora/inject.remora.dev: calls remora/remora-injector with 2 ready endpoint(s), failurePolicy Ignore".to_string()), "{shown:#?}");
    assert!(shown.iter().any(|l| l.starts_with("Ok certificate remora/remora-injector-tls: valid for 8") || l.starts_with("Ok certificate remora/remora-injector-tls: valid for 9")), "{shown:#?}");
    assert!(shown.iter().any(|l| l.starts_with("Ok caBundle of webhook remora: holds the CA")), "{shown:#?}");
    assert!(shown.contains(&"Ok namespace shop: opted in".to_string()), "{shown:#?}");
    assert!(shown.contains(&"Ok sidecar mode auto: native sidecars: the API server (v1.34.1) and the kubelets of all 3 nodes are 1.29 or later".to_string()), "{shown:#?}");
    assert!(shown.iter().any(|l| l.starts_with("Warn namespace payments: opted in, but enforces Pod Security \"restricted\"")), "{shown:#?}");
    // Coverage: the Deployment's and the StatefulSet's pods without the sidecar, with
    // the command that recreates them; not the opted-out, host-network or kube-system ones.
    let uncovered: Vec<(&str, Option<&str>)> = findings.iter().filter(|f| f.subject.starts_with("pod ")).map(|f| (f.subject.as_str(), f.fix.as_deref())).collect();
    assert_eq!(
        uncovered,
        [
            ("pod shop/cart-5d4b9c7f6-q8zfn", Some("kubectl -n shop rollout restart deployment/cart")),
            ("pod shop/db-0", Some("kubectl -n shop rollout restart statefulset/db")),
        ]
    );
    assert!(shown.contains(&"Warn coverage: 1 of 3 pod(s) in opted-in namespaces have the sidecar".to_string()), "{shown:#?}");
}

#[tokio::test]
async fn a_node_with_an_old_kubelet_is_named() {
    let mut cluster = Cluster::healthy(&bundle());
    cluster.nodes = "nodes-list-skewed.json";
    let findings = cluster.check(now()).await;
    let mode = findings.iter().find(|f| f.subject == "sidecar mode auto").expect("a finding");
    assert_eq!((mode.level, mode.detail.as_str()), (Level::Warn, "classic sidecars: kubelet older than 1.29 on kind-worker2 (v1.28.15)"));
    assert!(mode.fix.as_deref().is_some_and(|f| f.contains("upgrade those kubelets")));
}

#[tokio::test]
async fn each_failure_is_found() {
    let certs = bundle();

    let mut missing = Cluster::healthy(&certs);
    missing.webhook_missing = true;
    let findings = missing.check(now()).await;
    assert!(failures(&findings).iter().any(|f| f.subject == "webhook remora" && f.detail.contains("does not exist")), "{:#?}", lines(&findings));

    let mut down = Cluster::healthy(&certs);
    down.slices = api::data("endpointslices-remora-injector-not-ready.json");
    let findings = down.check(now()).await;
    assert!(failures(&findings).iter().any(|f| f.detail.contains("has no ready endpoint: pods are created without a sidecar")), "{:#?}", lines(&findings));

    let healthy = Cluster::healthy(&certs);
    let soon = healthy.check(now() + 80 * 86_400).await;
    assert!(soon.iter().any(|f| f.level == Level::Warn && f.detail.starts_with("ends in ") && f.detail.contains(" day(s); is renewal running?")), "{:#?}", lines(&soon));
    let expired = healthy.check(now() + 100 * 86_400).await;
    assert!(failures(&expired).iter().any(|f| f.subject == "certificate remora/remora-injector-tls" && f.detail.starts_with("expired ")), "{:#?}", lines(&expired));

    let mut other_ca = Cluster::healthy(&certs);
    other_ca.webhook["webhooks"][0]["clientConfig"]["caBundle"] = b64(bundle().ca_cert.as_bytes()).into();
    let findings = other_ca.check(now()).await;
    assert!(failures(&findings).iter().any(|f| f.detail.starts_with("no CA in it signed the serving certificate")), "{:#?}", lines(&findings));

    let mut empty = Cluster::healthy(&certs);
    empty.webhook["webhooks"][0]["clientConfig"].as_object_mut().expect("object").remove("caBundle");
    let findings = empty.check(now()).await;
    assert!(failures(&findings).iter().any(|f| f.subject == "caBundle of webhook remora" && f.detail.starts_with("empty")), "{:#?}", lines(&findings));
}
