//! Remora deployed as a cluster deploys it, for the container test and the in-container
//! benchmark: the images `scripts/images.sh` builds, configured exactly as the rendered
//! chart and the webhook's patch configure them, run by podman and runc (testkit's podman
//! kubelet) on a bridge network of the benchmarking range 198.18.0.0/15.
//!
//! The hub and the injector run from the chart's Deployments (args, env, securityContext
//! with a read-only root and no writable /tmp, volumes filled from the chart's own
//! ConfigMaps and Secrets; the Secrets of the chart's cert-manager Certificates made as
//! cert-manager would, by `remora certs generate` in the CLI image, one CA for all); the
//! hub serves TLS, as the chart's defaults have it with cert-manager;
//! the API server is testkit's stand-in over TLS, replaying recorded answers (namespace
//! list, the scripts ConfigMap, a TokenReview of the sidecar's projected token). The
//! webhook is sent, over TLS, the AdmissionReview of a Deployment's pod; its patch is
//! applied and the pod run — the native sidecar as a regular container of the pod
//! (podman 4.3 runs init containers to completion).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine;
use remora_testkit::api_server::{self as api, ApiServer};
use remora_testkit::chart;
use remora_testkit::eventually;
use remora_testkit::podman::{self, require_images, ApiAccess, Kubelet, Network, Placement, Pod};
use serde_json::{json, Value};

pub const TAG: &str = "dev";
/// The pod `tokenreview-pod.json` vouches for.
pub const APP_POD: &str = "web-7c9f8b6d4-x2lkq";
pub const PROJECTED_TOKEN: &str = "projected-web";
/// The name the app's DNS server answers, and its answer.
pub const DNS_NAME: &str = "payments.shop.svc.cluster.local";
pub const DNS_ANSWER: &str = "198.18.99.7";
const HUB_POD: &str = "remora-hub-5d8f7c6b9-h2x4k";
/// The hub's Service name, as sidecars and the CLI reach it (and its certificate names it).
const HUB_HOST: &str = "remora-hub.remora.svc";

pub fn image(name: &str) -> String {
    format!("localhost/remora-{name}:{TAG}")
}

/// Everything running; pods go first on drop, then the network, then the files.
pub struct Deployment {
    pub app: Pod,
    pub injector: Pod,
    pub hub: Pod,
    pub server: ApiServer,
    pub network: Network,
    pub work: tempfile::TempDir,
    pub hub_ip: String,
    pub app_ip: String,
    /// The hub's API as a client in the cluster reaches it (`https://remora-hub...:8899`).
    pub hub_api: String,
    /// A client that resolves the hub's Service name and trusts the chart's CA.
    pub hub_client: reqwest::Client,
    /// The chart's CA (PEM file), which signed the webhook's and the hub's certificates.
    pub ca_file: PathBuf,
    /// The webhook's AdmissionReview `response` for the app's pod.
    pub admission: Value,
    /// The app's pod after the patch.
    pub patched: Value,
}

impl Deployment {
    /// Starts the hub, the injector and the injected app; returns once the sidecar is
    /// ready and connected to the hub.
    pub async fn start() -> Deployment {
        require_images(&[&image("injector"), &image("sidecar"), &image("hub"), &image("cli"), &image("testpeer")]);
        let work = tempfile::tempdir().expect("tempdir");
        let network = Network::create("remora-e2e");
        let (hub_ip, injector_ip, app_ip) = (network.host(10), network.host(11), network.host(20));

        // The API server, on the bridge: what every pod's service-account volume points at.
        let api_dir = work.path().join("api");
        std::fs::create_dir_all(&api_dir).expect("mkdir");
        let (server, api_ca) = ApiServer::start_tls(&network.gateway(), &api_dir).await;
        server.list("/api/v1/namespaces", api::data("namespaces-list.json"));
        server.list("/api/v1/namespaces/remora/configmaps", api::data("configmaps-list.json"));
        server.list("/api/v1/namespaces/remora/secrets", api::data("secrets-list.json"));
        server.list("/api/v1/pods", api::data("pods-list-1.json"));
        server.list("/api/v1/services", api::data("services-list.json"));
        server.list("/apis/discovery.k8s.io/v1/endpointslices", api::data("endpointslices-list.json"));
        server.answer_always("POST", "/apis/authentication.k8s.io/v1/tokenreviews", StatusCode::CREATED, api::data("tokenreview-pod.json"));
        // No LimitRange in the app's namespace (the injector fits the sidecar to them).
        server.list("/api/v1/namespaces/shop/limitranges", r#"{"kind":"LimitRangeList","apiVersion":"v1","metadata":{"resourceVersion":"2310"},"items":[]}"#.to_string());
        // A v1.34 cluster: the injector's `auto` mode chooses native sidecars.
        server.list("/api/v1/nodes", api::data("nodes-list.json"));
        server.answer_always("GET", "/version", StatusCode::OK, api::data("version.json"));
        // The hub's API tokens Secret does not exist yet: the hub makes it at its start.
        server.answer("GET", "/api/v1/namespaces/remora/secrets/remora-hub-tokens", StatusCode::NOT_FOUND, api::data("status-secret-tokens-not-found.json"));
        server.answer("POST", "/api/v1/namespaces/remora/secrets", StatusCode::CREATED, api::data("secret-remora-hub-tokens.json"));

        let rendered = render(work.path());
        let injector_deployment = object(&rendered, "Deployment", "remora-injector").clone();
        let (ca_file, certificate_secrets) = cert_manager(work.path(), &rendered);
        let webhook_ca = std::fs::read_to_string(&ca_file).expect("CA");
        let mut objects = rendered.objects.clone();
        objects.extend(certificate_secrets);
        let kubelet = Kubelet {
            dir: work.path().join("pods"),
            objects,
            api: Some(ApiAccess { host: network.gateway(), port: server.port(), ca_pem: api_ca, token: "service-account-token".into() }),
            tokens: [("remora-hub".to_string(), PROJECTED_TOKEN.to_string())].into(),
            hosts: vec![(HUB_HOST.into(), hub_ip.clone())],
        };
        let place = |name: &str, namespace: &str, ip: &str| Placement { name: name.into(), namespace: namespace.into(), ip: ip.into(), node: "node-1".into(), node_ip: network.gateway() };
        let plain = http_client(None, None);

        // The hub, as its Deployment says: TLS on both ports, with the chart's CA.
        let hub_spec = &object(&rendered, "Deployment", "remora-hub")["spec"]["template"]["spec"];
        let hub_tls = hub_spec["containers"][0]["args"].as_array().expect("args").iter().any(|a| a.as_str().is_some_and(|a| a.starts_with("--tls-dir=")));
        assert!(hub_tls, "the chart's defaults serve the hub over TLS");
        let hub = kubelet.run_pod(&network, hub_spec, &place(HUB_POD, "remora", &hub_ip));
        let hub_api = format!("https://{HUB_HOST}:8899");
        let hub_client = http_client(Some(&webhook_ca), Some((HUB_HOST, format!("{hub_ip}:8899").parse().expect("address"))));
        wait_http(&hub_client, &format!("{hub_api}/readyz"), "the hub's readiness", &hub).await;
        // The kubelet's part once the hub made its Secret: the mount shows it.
        let made = server.bodies().into_iter().find(|(call, ..)| call == "POST /api/v1/namespaces/remora/secrets").expect("the hub made its tokens Secret");
        let made: Value = serde_json::from_str(&made.2).expect("a Secret");
        let tokens = base64::engine::general_purpose::STANDARD.decode(made["data"]["tokens"].as_str().expect("tokens")).expect("base64");
        let mount = work.path().join("pods").join(HUB_POD).join("tokens");
        std::fs::write(mount.join("tokens"), tokens).expect("the Secret's key in its mount");
        std::fs::set_permissions(mount.join("tokens"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");

        // The injector, as its Deployment says; ready once its certificate is loaded.
        let injector_spec = &injector_deployment["spec"]["template"]["spec"];
        let injector = kubelet.run_pod(&network, injector_spec, &place("remora-injector-6c9d8f7b5-q8w2m", "remora", &injector_ip));
        wait_http(&plain, &format!("http://{injector_ip}:8080/readyz"), "the injector's readiness", &injector).await;
        eventually(Duration::from_secs(30), "the injector's choice of sidecar mode", || injector.logs("injector").contains("sidecar mode auto: native").then_some(()));

        // The API server asks the webhook about the Deployment's pod, over TLS.
        let pod = app_pod();
        let review = remora_injector::review::pod_create_review("e2e-1", &pod);
        let webhook_port = injector_spec["containers"][0]["ports"].as_array().and_then(|p| p.iter().find(|p| p["name"] == "webhook")).and_then(|p| p["containerPort"].as_u64()).expect("the webhook port");
        let address: std::net::SocketAddr = format!("{injector_ip}:{webhook_port}").parse().expect("address");
        let webhook = http_client(Some(&webhook_ca), Some(("remora-injector.remora.svc", address)));
        let answer: Value = webhook
            .post(format!("https://remora-injector.remora.svc:{webhook_port}/mutate"))
            .json(&review)
            .send()
            .await
            .expect("the webhook answers over TLS")
            .json()
            .await
            .expect("an AdmissionReview");
        let admission = answer["response"].clone();
        let patch = base64::engine::general_purpose::STANDARD.decode(admission["patch"].as_str().expect("a patch")).expect("base64");
        let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("RFC 6902");
        let mut patched = pod.clone();
        json_patch::patch(&mut patched, &patch).expect("the patch applies");

        // The patched pod, with the hub's Service name resolving to the hub.
        let app = kubelet.run_pod(&network, &patched["spec"], &place(APP_POD, "shop", &app_ip));
        wait_http(&plain, &format!("http://{app_ip}:15090/readyz"), "the sidecar's readiness", &app).await;
        eventually(Duration::from_secs(30), "the sidecar's session with the hub", || app.logs("remora-sidecar").contains("connected to the hub").then_some(()));
        Deployment { app, injector, hub, server, network, work, hub_ip, app_ip, hub_api, hub_client, ca_file, admission, patched }
    }

    /// The hub's token file, as its Secret volume holds it.
    pub fn hub_tokens(&self) -> PathBuf {
        self.work.path().join("pods").join(HUB_POD).join("tokens")
    }

    /// `remora ARGS` from the CLI image on the network, with the hub's tokens at
    /// /etc/remora/hub, the chart's CA at /etc/remora/ca/ca.crt, the hub's Service name
    /// resolving, and `out` (writable by the image's user) at /out.
    pub fn cli(&self, out: &Path, args: &[&str]) -> std::process::Output {
        let mut full = vec![
            "--volume".to_string(),
            format!("{}:/etc/remora/hub:ro", self.hub_tokens().display()),
            "--volume".to_string(),
            format!("{}:/etc/remora/ca/ca.crt:ro", self.ca_file.display()),
            format!("--add-host={HUB_HOST}:{}", self.hub_ip),
            "--volume".to_string(),
            format!("{}:/out", out.display()),
            image("cli"),
        ];
        full.extend(args.iter().map(|a| a.to_string()));
        podman::run_once(&self.network, &self.network.host(41), &full)
    }

    /// A directory the CLI image's user (65532) may write.
    pub fn out_dir(&self, name: &str) -> PathBuf {
        let dir = self.work.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::os::unix::fs::chown(&dir, Some(65532), Some(65532)).expect("chown");
        dir
    }
}

/// The chart rendered by Helm with the locally built images.
fn render(work: &Path) -> chart::Rendered {
    let values = work.join("values.yaml");
    let mut text = String::new();
    for (key, name) in [("injector", "injector"), ("hub", "hub"), ("sidecar", "sidecar"), ("certJob", "cli")] {
        text.push_str(&format!("{key}:\n  image:\n    repository: localhost/remora-{name}\n    tag: {TAG}\n    pullPolicy: Never\n"));
    }
    std::fs::write(&values, text).expect("values");
    chart::render(&[values]).expect("the chart renders")
}

fn object<'a>(rendered: &'a chart::Rendered, kind: &str, name: &str) -> &'a Value {
    rendered.objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// cert-manager's part: a Secret for each of the chart's serving Certificates, made by
/// the CLI image as a user would (`remora certs generate`), every one signed by one CA,
/// as the chart's CA Issuer signs them. Returns the CA's file and the Secrets.
fn cert_manager(work: &Path, rendered: &chart::Rendered) -> (PathBuf, Vec<Value>) {
    let certs = work.join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    std::os::unix::fs::chown(&certs, Some(65532), Some(65532)).expect("chown");
    let serving: Vec<&Value> = rendered.objects.iter().filter(|o| o["kind"] == "Certificate" && o["spec"]["isCA"] != true).collect();
    assert!(serving.len() >= 2, "the webhook's and the hub's certificates");
    let b64 = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    let mut secrets = Vec::new();
    for (at, certificate) in serving.iter().enumerate() {
        let secret_name = certificate["spec"]["secretName"].as_str().expect("secretName");
        let namespace = certificate["metadata"]["namespace"].as_str().expect("namespace");
        let names: Vec<&str> = certificate["spec"]["dnsNames"].as_array().expect("dnsNames").iter().filter_map(Value::as_str).collect();
        let service = names[0];
        // What `certs generate` issues for the Service must be names the Certificate asks for.
        for name in remora_certs::dns_names(service, namespace) {
            assert!(names.contains(&name.as_str()), "{secret_name}: the Certificate does not name {name}: {names:?}");
        }
        let dir = certs.join(secret_name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        if at > 0 {
            // The CA made first signs the rest (`certs generate` keeps a CA it finds).
            for file in ["ca.crt", "ca.key"] {
                std::fs::copy(certs.join(serving[0]["spec"]["secretName"].as_str().expect("name")).join(file), dir.join(file)).expect("copy the CA");
            }
        }
        let mut chown = std::process::Command::new("chown");
        assert!(chown.args(["-R", "65532:65532"]).arg(&dir).status().expect("chown").success());
        let out = podman::podman()
            .args(["run", "--rm", "--pull=never", "--network=none", "--volume", &format!("{}:/out", certs.display()), &image("cli")])
            .args(["certs", "generate", "--service", service, "--namespace", namespace, "--out", &format!("/out/{secret_name}")])
            .output()
            .expect("podman");
        assert!(out.status.success(), "remora certs generate: {}", String::from_utf8_lossy(&out.stderr));
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{secret_name}/{name}: {e}"));
        secrets.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret_name, "namespace": namespace}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(read("tls.crt")), "tls.key": b64(read("tls.key")), "ca.crt": b64(read("ca.crt"))}}));
    }
    let ca_file = certs.join(serving[0]["spec"]["secretName"].as_str().expect("name")).join("ca.crt");
    (ca_file, secrets)
}

/// The pod the ReplicaSet controller makes of the Deployment's template.
fn app_pod() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/web-deployment.yaml")).expect("deployment");
    let deployment: Value = serde_norway::from_str(&text).expect("YAML");
    let template = &deployment["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!("7c9f8b6d4");
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": APP_POD,
            "generateName": "web-7c9f8b6d4-",
            "namespace": "shop",
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9f8b6d4", "uid": "5f0c1a8e-2d7b-4c55-9a61-1f7f2b0d9c3e", "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": template["spec"],
    })
}

pub fn http_client(ca_pem: Option<&str>, resolve: Option<(&str, std::net::SocketAddr)>) -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
    if let Some(pem) = ca_pem {
        builder = builder.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA")]);
    }
    if let Some((host, address)) = resolve {
        builder = builder.resolve(host, address);
    }
    builder.build().expect("client")
}

async fn http_ok(client: &reqwest::Client, url: &str) -> Option<String> {
    let response = client.get(url).send().await.ok()?;
    if response.status().is_success() { response.text().await.ok() } else { None }
}

/// Polls an HTTP endpoint until it answers 2xx (a minute at most); panics with the pod's
/// logs otherwise.
pub async fn wait_http(client: &reqwest::Client, url: &str, what: &str, pod: &Pod) -> String {
    for _ in 0..240 {
        if let Some(body) = http_ok(client, url).await {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let logs: Vec<String> = pod.containers.iter().map(|c| format!("--- {c}:\n{}", pod.logs(c))).collect();
    panic!("{what} ({url}) never answered:\n{}", logs.join("\n"));
}

/// A Prometheus sample's value in `text`.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
