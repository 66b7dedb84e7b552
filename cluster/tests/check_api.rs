//! `remora check`'s checks against an API server stand-in replaying a chart install's
//! objects (tests/data/api), with certificates issued at test time: a healthy install,
//! then each failure it detects. The stand-in runs a dry-run create as the API server
//! does: Remora's webhook (the real injector) patches the pod, then the namespace's next
//! admission step judges the injected pod with a replayed refusal.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use remora_cluster::check::{check, Finding, Install, Level};
use remora_testkit::api_server::{self as api, ApiServer, Handled};
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
    namespaces: &'static str,
    pods: &'static str,
    metrics: &'static str,
    /// The hub's Deployment and the injector's settings, as replayed; the hub's TLS
    /// Secret when it has one.
    hub: &'static str,
    injector_config: &'static str,
    hub_tls: Option<Value>,
    /// Namespace → the replayed refusal of the admission step after the webhook there;
    /// `unreachable`: the API server cannot reach the webhook (and fails open).
    refusals: BTreeMap<&'static str, &'static str>,
}

/// The generated name the stand-in gives probe pods (the replayed refusals name it).
const PROBE_NAME: &str = "remora-check-probe-x7k2p";

/// A dry-run create as the API server runs it: name generation, then Remora's webhook
/// (the injector with its chart defaults in a v1.34 cluster), then the refusal scripted
/// for the namespace, which (like PSA, SCCs, quotas and policy engines) judges the pod as
/// the webhook left it. RBAC refuses before any of it.
fn admission(namespaces: &'static str, refusals: BTreeMap<&'static str, &'static str>) -> impl Fn(&str, &str, &[u8]) -> Handled + Send + Sync + 'static {
    let injector = remora_injector::Injector::new(remora_injector::Settings::default()).expect("default settings");
    injector.set_native_support(remora_model::native_sidecars::Support { native: true, reason: "a v1.34 cluster".into() });
    let namespaces: Value = serde_json::from_str(&api::data(namespaces)).expect("namespaces");
    move |path, query, body| {
        let namespace = path.split('/').nth(4).unwrap_or_default().to_string();
        let refusal = refusals.get(namespace.as_str()).copied();
        let status_answer = |file: &str| {
            let status: Value = serde_json::from_str(&api::data(file)).expect("status");
            let code = StatusCode::from_u16(status["code"].as_u64().expect("code") as u16).expect("code");
            (code, Vec::new(), status.to_string())
        };
        if !query.split('&').any(|p| p == "dryRun=All") {
            return (StatusCode::BAD_REQUEST, Vec::new(), r#"{"kind":"Status","message":"remora check may only dry-run"}"#.into());
        }
        if refusal == Some("status-probe-rbac.json") {
            return status_answer("status-probe-rbac.json");
        }
        let mut pod: Value = serde_json::from_slice(body).expect("a pod");
        pod["metadata"]["name"] = PROBE_NAME.into();
        pod["metadata"]["namespace"] = namespace.clone().into();
        let mut warnings = Vec::new();
        if refusal != Some("unreachable") {
            let ns = namespaces["items"].as_array().expect("items").iter().find(|n| n["metadata"]["name"] == namespace.as_str()).expect("namespace listed");
            let ns: k8s_openapi::api::core::v1::Namespace = serde_json::from_value(ns.clone()).expect("namespace");
            let mut review = remora_injector::review::pod_create_review("uid-probe", &pod);
            review["request"]["dryRun"] = true.into();
            let request = remora_injector::review::parse(review.to_string().as_bytes()).expect("review");
            let (answer, _) = remora_injector::review::respond(&request, &injector, Some(&remora_injector::namespaces::info(&ns)), None);
            let answer: Value = serde_json::from_slice(&answer).expect("answer");
            if let Some(patch) = answer["response"]["patch"].as_str() {
                use base64::Engine;
                let patch: json_patch::Patch = serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(patch).expect("base64")).expect("patch");
                json_patch::patch(&mut pod, &patch).expect("the patch applies");
            }
            for warning in answer["response"]["warnings"].as_array().into_iter().flatten() {
                let text = warning.as_str().expect("text").replace('\\', "\\\\").replace('"', "\\\"");
                warnings.push(("warning".to_string(), format!("299 - \"{text}\"")));
            }
        }
        let injected = pod.pointer("/metadata/annotations/remora.dev~1status").is_some();
        match refusal {
            Some(file) if file != "unreachable" && injected => status_answer(file),
            _ => (StatusCode::CREATED, warnings, pod.to_string()),
        }
    }
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
        Cluster {
            webhook,
            secret,
            slices: api::data("endpointslices-remora-injector.json"),
            webhook_missing: false,
            nodes: "nodes-list.json",
            namespaces: "namespaces-list.json",
            pods: "pods-list-coverage.json",
            metrics: "apiserver-metrics.txt",
            hub: "deployment-remora-hub.json",
            injector_config: "configmap-remora-injector.json",
            hub_tls: None,
            refusals: BTreeMap::new(),
        }
    }

    async fn check(&self, now: i64) -> Vec<Finding> {
        self.check_on(&ApiServer::start().await, now).await
    }

    async fn check_on(&self, server: &ApiServer, now: i64) -> Vec<Finding> {
        if !self.webhook_missing {
            server.answer("GET", WEBHOOK, StatusCode::OK, self.webhook.to_string());
        }
        server.answer("GET", SECRET, StatusCode::OK, self.secret.to_string());
        server.answer("GET", SERVICE, StatusCode::OK, api::data("service-remora-injector.json"));
        server.list(SLICES, self.slices.clone());
        server.list("/api/v1/namespaces", api::data(self.namespaces));
        server.list("/api/v1/pods", api::data(self.pods));
        server.list("/api/v1/nodes", api::data(self.nodes));
        server.list("/api/v1/resourcequotas", api::data("resourcequotas-list.json"));
        server.answer_always("GET", "/version", StatusCode::OK, api::data("version.json"));
        server.answer_always("GET", "/metrics", StatusCode::OK, api::data(self.metrics));
        server.answer("GET", "/apis/apps/v1/namespaces/remora/deployments/remora-hub", StatusCode::OK, api::data(self.hub));
        server.answer("GET", "/api/v1/namespaces/remora/configmaps/remora-injector", StatusCode::OK, api::data(self.injector_config));
        if let Some(secret) = &self.hub_tls {
            server.answer("GET", "/api/v1/namespaces/remora/secrets/remora-hub-tls", StatusCode::OK, secret.to_string());
        }
        server.handle("POST", "/api/v1/namespaces/", admission(self.namespaces, self.refusals.clone()));
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
    let server = ApiServer::start().await;
    let findings = Cluster::healthy(&certs).check_on(&server, now()).await;
    let shown = lines(&findings);
    // The probe is only ever a dry run, once per opted-in namespace.
    let posts: Vec<String> = server.requests().into_iter().filter(|r| r.starts_with("POST ")).collect();
    assert_eq!(posts, ["POST /api/v1/namespaces/shop/pods?dryRun=All&fieldManager=remora-check", "POST /api/v1/namespaces/payments/pods?dryRun=All&fieldManager=remora-check"]);
    assert!(shown.contains(&"Ok probe pod in shop: a pod created here gets the sidecar and is admitted (dry run)".to_string()), "{shown:#?}");
    // payments enforces restricted by its label: the webhook itself leaves the pod alone and says why.
    assert!(shown.iter().any(|l| l.starts_with("Warn probe pod in payments: a pod created here is admitted without the sidecar: remora: ") && l.contains("restricted")), "{shown:#?}");
    // 8 - 5.2 cores = 2800m / 50m; the memory limits leave room for 88 (22Gi / 256Mi).
    assert!(shown.contains(&"Ok quota shop/compute: room for 56 more injected pod(s)' sidecars (requests.cpu: 5200m of 8 used; each sidecar asks 50m)".to_string()), "{shown:#?}");
    assert!(!shown.iter().any(|l| l.contains("shop/objects")), "a quota of object counts says nothing: {shown:#?}");
    assert!(shown.contains(&"Ok calls to webhook inject.remora.dev: 412 call(s), none failed or slow (timeout 5 s)".to_string()), "{shown:#?}");
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

#[tokio::test]
async fn refusals_after_the_webhook_are_named_with_what_to_do() {
    let mut cluster = Cluster::healthy(&bundle());
    cluster.namespaces = "namespaces-list-probe.json";
    cluster.refusals = BTreeMap::from([
        ("orders", "status-probe-podsecurity.json"),
        ("ledger", "status-probe-scc.json"),
        ("billing", "status-probe-kyverno.json"),
        ("infra", "status-probe-gatekeeper.json"),
        ("cart", "status-probe-quota.json"),
        ("search", "status-probe-rbac.json"),
        ("auth", "unreachable"),
    ]);
    let findings = cluster.check(now()).await;
    let probe = |namespace: &str| findings.iter().find(|f| f.subject == format!("probe pod in {namespace}")).unwrap_or_else(|| panic!("no probe finding for {namespace}: {:#?}", lines(&findings)));
    let fix = |namespace: &str| probe(namespace).fix.clone().unwrap_or_default();

    assert_eq!(probe("shop").level, Level::Ok);
    let orders = probe("orders");
    assert_eq!(orders.level, Level::Fail);
    assert!(orders.detail.starts_with("an injected pod is refused here (403): pods \"remora-check-probe-x7k2p\" is forbidden: violates PodSecurity \"baseline:latest\""), "{orders:?}");
    assert!(fix("orders").contains("kubectl label namespace orders pod-security.kubernetes.io/enforce=privileged --overwrite"), "{orders:?}");
    assert!(probe("ledger").detail.contains("unable to validate against any security context constraint"));
    assert!(fix("ledger").contains("oc adm policy add-scc-to-group SCC system:serviceaccounts:ledger"));
    let billing = probe("billing");
    assert!(billing.detail.starts_with("an injected pod is refused here (400): admission webhook \"validate.kyverno.svc-fail\" denied the request"), "{billing:?}");
    assert!(fix("billing").contains("PolicyException"));
    assert!(probe("infra").detail.contains("[psp-capabilities] container <remora-sidecar> has a disallowed capability"));
    assert!(fix("infra").contains("exemptImages"));
    assert!(probe("cart").detail.contains("exceeded quota: compute"));
    assert!(fix("cart").contains("kubectl -n cart edit resourcequota compute"));
    // Not allowed to try is not a refusal of the sidecar.
    let search = probe("search");
    assert_eq!(search.level, Level::Warn);
    assert!(search.detail.starts_with("cannot be tried (403): pods is forbidden: User \"jane@example.com\" cannot create resource"), "{search:?}");
    let auth = probe("auth");
    assert_eq!(auth.level, Level::Fail);
    assert!(auth.detail.contains("without a word from the webhook"), "{auth:?}");
    assert!(fix("auth").contains("port 10250"));
    // The quota that refused the probe has no room left for a sidecar.
    let cart = findings.iter().find(|f| f.subject == "quota cart/compute").expect("cart's quota");
    assert_eq!((cart.level, cart.detail.as_str()), (Level::Warn, "room for 0 more injected pod(s)' sidecars (requests.cpu: 1990m of 2 used; each sidecar asks 50m): the next injected pod is refused"));
    let failing: Vec<&str> = failures(&findings).iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(failing, ["probe pod in orders", "probe pod in ledger", "probe pod in billing", "probe pod in cart", "probe pod in auth", "probe pod in infra"]);
}

#[tokio::test]
async fn an_unpullable_sidecar_image_names_the_pods_it_holds_back() {
    let mut cluster = Cluster::healthy(&bundle());
    cluster.pods = "pods-list-image-pull.json";
    let findings = cluster.check(now()).await;
    let image = findings.iter().find(|f| f.subject == "sidecar image registry.corp.example/mirror/remora-sidecar:0.1.0").expect("a finding");
    assert_eq!(image.level, Level::Fail);
    assert!(image.detail.starts_with("cannot be pulled (ImagePullBackOff: Back-off pulling image"), "{image:?}");
    assert!(image.detail.ends_with("it holds back 2 pod(s): shop/api-6b8d9f7c5-m4x9t, shop/api-6b8d9f7c5-r2d7w"), "{image:?}");
    assert!(image.fix.as_deref().is_some_and(|f| f.contains("sidecar.imagePullSecrets") && f.contains("global.imageRegistry")));
    assert!(!findings.iter().any(|f| f.subject.contains("ghcr.io")), "the image that pulls is not named: {:#?}", lines(&findings));
}

#[tokio::test]
async fn failed_webhook_calls_are_counted_from_the_api_servers_metrics() {
    let mut cluster = Cluster::healthy(&bundle());
    cluster.metrics = "apiserver-metrics-fail-open.txt";
    let findings = cluster.check(now()).await;
    let calls = findings.iter().find(|f| f.subject == "calls to webhook inject.remora.dev").expect("a finding");
    assert_eq!(
        (calls.level, calls.detail.as_str()),
        (Level::Fail, "7 of 419 call(s) failed (timed out or could not connect): 7 pod(s) admitted without the sidecar (failurePolicy Ignore)")
    );
    assert!(calls.fix.as_deref().is_some_and(|f| f.contains("Reaching the webhook")));
}

/// The install's own workloads: the Kubernetes version, the hub (not available; its
/// certificate near its end), and injected sidecars that crash-loop, are not ready, or
/// were injected before an upgrade — each with the command that fixes it.
#[tokio::test]
async fn the_hub_and_the_sidecars_of_the_install() {
    let mut cluster = Cluster::healthy(&bundle());
    cluster.pods = "pods-list-sidecars.json";
    cluster.hub = "deployment-remora-hub-unavailable.json";
    cluster.injector_config = "configmap-remora-injector-upgraded.json";
    let soon = remora_certs::issue(&remora_certs::Request { service: "remora-hub".into(), namespace: "remora".into(), cert_days: 12, ca_days: 365 }, None).expect("certificates");
    cluster.hub_tls = Some(serde_json::json!({
        "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "remora-hub-tls", "namespace": "remora", "resourceVersion": "2060"},
        "type": "kubernetes.io/tls", "data": {"tls.crt": b64(soon.cert.as_bytes()), "tls.key": b64(soon.key.as_bytes())}
    }));
    let findings = cluster.check(now()).await;
    let shown = lines(&findings);
    let find = |subject: &str| findings.iter().find(|f| f.subject == subject).unwrap_or_else(|| panic!("no {subject}: {shown:#?}"));

    let kubernetes = find("kubernetes");
    assert_eq!((kubernetes.level, kubernetes.detail.as_str()), (Level::Ok, "v1.34.1 (the chart needs 1.29 or later)"));
    let hub = find("hub remora/remora-hub");
    assert_eq!((hub.level, hub.detail.as_str()), (Level::Fail, "not available (Deployment does not have minimum availability.): sidecars cannot report, queries and jobs stop"));
    assert_eq!(hub.fix.as_deref(), Some("kubectl -n remora describe deployment remora-hub; kubectl -n remora logs deployment/remora-hub"));
    let certificate = find("hub certificate remora/remora-hub-tls");
    assert_eq!(certificate.level, Level::Warn);
    assert!(certificate.detail.starts_with("ends in 11 day(s)") || certificate.detail.starts_with("ends in 12 day(s)"), "{certificate:?}");

    let crashing = find("sidecars of shop/deployment/cart");
    assert_eq!((crashing.level, crashing.detail.as_str()), (Level::Fail, "crash-looping in 1: cart-6f9c7d5b8-p7q2x (5 restarts)"));
    assert_eq!(crashing.fix.as_deref(), Some("kubectl -n shop logs cart-6f9c7d5b8-p7q2x -c remora-sidecar --previous"));
    let unready = findings.iter().find(|f| f.subject == "sidecars of shop/statefulset/db" && f.detail.starts_with("not ready")).expect("not ready");
    assert_eq!((unready.level, unready.detail.as_str()), (Level::Warn, "not ready in 1: db-0 (capture has not started)"));
    // Every pod's sidecar is 0.1.0, the install now injects 0.2.0: restart each workload.
    let older: Vec<(&str, Option<&str>)> = findings.iter().filter(|f| f.detail.contains("injected before the install's")).map(|f| (f.subject.as_str(), f.fix.as_deref())).collect();
    assert_eq!(
        older,
        [
            ("sidecars of shop/deployment/cart", Some("kubectl -n shop rollout restart deployment/cart")),
            ("sidecars of shop/deployment/web", Some("kubectl -n shop rollout restart deployment/web")),
            ("sidecars of shop/statefulset/db", Some("kubectl -n shop rollout restart statefulset/db")),
        ]
    );
    assert!(find("sidecars of shop/deployment/web").detail.starts_with("1 pod(s) run ghcr.io/remora-dev/remora-sidecar:0.1.0, injected before the install's ghcr.io/remora-dev/remora-sidecar:0.2.0"));

    // In a healthy install none of these speak up.
    let healthy = lines(&Cluster::healthy(&bundle()).check(now()).await);
    assert!(healthy.contains(&"Ok hub remora/remora-hub: 1 available".to_string()), "{healthy:#?}");
    assert!(!healthy.iter().any(|l| l.contains("sidecars of")), "{healthy:#?}");
}
