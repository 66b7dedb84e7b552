//! The Helm chart (charts/remora), rendered and linted by Helm's own Go SDK through
//! charts/tests/render.py (PyPI helm-python-sdk), for every value set in
//! charts/remora/ci/: no lint errors or warnings, every Kubernetes object valid for the
//! API server (kubernetes-validate --strict), the pieces wired to each other, and the
//! injector's settings ConfigMap read by the injector itself.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use remora_injector::{review, Injector, Settings};
use remora_testkit::chart::{render, repo, Rendered, NAMESPACE};
use serde_json::Value;

fn value_sets() -> Vec<PathBuf> {
    let mut sets: Vec<PathBuf> = std::fs::read_dir(repo().join("charts/remora/ci"))
        .expect("ci values")
        .map(|e| e.expect("entry").path())
        .collect();
    sets.sort();
    sets
}

trait Find {
    fn find(&self, kind: &str, name: &str) -> &Value;
    fn all(&self, kind: &str) -> Vec<&Value>;
    fn settings(&self) -> Settings;
}

impl Find for Rendered {
    fn find(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    fn settings(&self) -> Settings {
        let config_map = self.find("ConfigMap", "remora-injector");
        let text = config_map["data"]["settings.yaml"].as_str().expect("settings.yaml");
        Settings::from_yaml(text).unwrap_or_else(|e| panic!("the injector refuses its settings: {e}\n{text}"))
    }
}

#[test]
fn every_value_set_renders_lints_clean_and_validates() {
    let sets = value_sets();
    assert!(sets.len() >= 5, "value sets missing");
    for set in &sets {
        let name = set.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let rendered = render(std::slice::from_ref(set)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let findings: Vec<&Value> = rendered.lint["messages"]
            .as_array()
            .expect("lint messages")
            .iter()
            .filter(|m| m["severity"].as_u64().unwrap_or(3) >= 2)
            .collect();
        assert!(findings.is_empty(), "{name}: lint warnings or errors: {findings:?}");
        assert!(rendered.lint["errors"].as_array().is_none_or(|e| e.is_empty()), "{name}: {}", rendered.lint);
        validate(&name, &rendered.objects);
        check_wiring(&name, &rendered);
        // The injector starts with what the chart gives it.
        Injector::new(rendered.settings()).unwrap_or_else(|e| panic!("{name}: injector refuses: {e}"));
    }
}

/// kubernetes-validate knows every built-in kind; cert-manager's are checked by hand in
/// check_wiring, the Prometheus Operator's in `monitors_reach_what_the_chart_serves` and
/// hub/tests/prometheus.rs (their CRD schemas are not available offline here).
fn validate(set: &str, objects: &[Value]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        let api = object["apiVersion"].as_str().unwrap_or("");
        if api.starts_with("cert-manager.io/") || api.starts_with("monitoring.coreos.com/") {
            continue;
        }
        let path = dir.path().join(format!("{i:02}.json"));
        std::fs::write(&path, serde_json::to_string(object).expect("json")).expect("write");
        files.push(path);
    }
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.34.0"])
        .args(&files)
        .output()
        .expect("kubernetes-validate is not installed: run `bash scripts/setup.sh --test`");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let passed = stdout.lines().filter(|l| l.starts_with("INFO") && l.contains(" passed ")).count();
    assert!(
        output.status.success() && passed == files.len(),
        "{set}: kubernetes-validate refused a rendered object:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn check_wiring(set: &str, r: &Rendered) {
    // The webhook calls the injector's Service, on a port that reaches the webhook port.
    let webhook = r.find("MutatingWebhookConfiguration", "remora");
    let hook = &webhook["webhooks"][0];
    let target = &hook["clientConfig"]["service"];
    assert_eq!(target["namespace"], NAMESPACE, "{set}");
    assert_eq!(target["path"], "/mutate", "{set}");
    let service_name = target["name"].as_str().expect("service name");
    let service = r.find("Service", service_name);
    let port = service["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["port"] == target["port"])
        .unwrap_or_else(|| panic!("{set}: the Service has no port {}", target["port"]));
    let deployment = r.find("Deployment", "remora-injector");
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let container_port = container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .find(|p| p["name"] == port["targetPort"])
        .unwrap_or_else(|| panic!("{set}: targetPort {} is no container port", port["targetPort"]));
    let listen = format!("--listen=0.0.0.0:{}", container_port["containerPort"]);
    assert!(container["args"].as_array().expect("args").iter().any(|a| *a == listen.as_str()), "{set}: {listen}");
    for (key, value) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(pod["metadata"]["labels"][key], *value, "{set}: the Service selects no injector pod");
    }
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["admissionReviewVersions"], serde_json::json!(["v1"]));
    assert_eq!(hook["namespaceSelector"]["matchLabels"]["remora.dev/inject"], "enabled");
    let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(excluded["operator"], "NotIn");
    assert!(excluded["values"].as_array().expect("values").iter().any(|v| v == NAMESPACE), "{set}: own namespace not excluded");
    assert_eq!(hook["objectSelector"]["matchExpressions"][0]["key"], "remora.dev/inject");
    assert_eq!(hook["rules"][0]["resources"], serde_json::json!(["pods"]));
    assert_eq!(hook["rules"][0]["operations"], serde_json::json!(["CREATE"]));

    // The injector's own pods are never injected, and its settings file is mounted
    // where its --config points.
    assert_eq!(pod["metadata"]["labels"]["remora.dev/inject"], "false");
    let mounts = container["volumeMounts"].as_array().expect("mounts");
    let volumes = pod["spec"]["volumes"].as_array().expect("volumes");
    let volume_of = |mount_path: &str| {
        let mount = mounts.iter().find(|m| m["mountPath"] == mount_path).unwrap_or_else(|| panic!("{set}: nothing at {mount_path}"));
        volumes.iter().find(|v| v["name"] == mount["name"]).expect("volume")
    };
    assert!(container["args"].as_array().expect("args").iter().any(|a| a == "--config=/etc/remora/injector/settings.yaml"));
    assert_eq!(volume_of("/etc/remora/injector")["configMap"]["name"], "remora-injector");
    assert!(container["args"].as_array().expect("args").iter().any(|a| a == "--cert-dir=/etc/remora/certs"));
    let secret = volume_of("/etc/remora/certs")["secret"]["secretName"].as_str().expect("secret").to_string();
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz", "{set}: readiness must wait for the certificate");

    // Where the serving certificate comes from.
    let names = remora_certs::dns_names(service_name, NAMESPACE);
    let cert_manager = !r.all("Certificate").is_empty();
    if cert_manager {
        let serving = r
            .all("Certificate")
            .into_iter()
            .find(|c| c["spec"]["secretName"] == secret.as_str())
            .unwrap_or_else(|| panic!("{set}: no Certificate writes the Secret the injector mounts ({secret})"));
        assert_eq!(serving["spec"]["dnsNames"], serde_json::json!(names), "{set}");
        assert_eq!(
            webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            format!("{NAMESPACE}/{}", serving["metadata"]["name"].as_str().expect("name")),
            "{set}: cainjector must read the serving Certificate"
        );
        // serving ← CA Issuer ← CA Certificate (isCA) ← self-signed Issuer
        let ca_issuer = r.find("Issuer", serving["spec"]["issuerRef"]["name"].as_str().expect("issuer"));
        let ca_secret = ca_issuer["spec"]["ca"]["secretName"].as_str().expect("CA issuer");
        let ca_cert = r
            .all("Certificate")
            .into_iter()
            .find(|c| c["spec"]["secretName"] == ca_secret)
            .expect("the CA Certificate");
        assert_eq!(ca_cert["spec"]["isCA"], true);
        let root = r.find("Issuer", ca_cert["spec"]["issuerRef"]["name"].as_str().expect("issuer"));
        assert!(root["spec"]["selfSigned"].is_object(), "{set}: the CA must be self-signed");
        assert!(r.all("Job").is_empty(), "{set}: no certificate Jobs with cert-manager");
    } else {
        // The cleanup Job of `helm uninstall` is checked in no_hook_leftovers_after_uninstall.
        let jobs: Vec<&Value> = r.all("Job").into_iter().filter(|j| j["metadata"]["annotations"]["helm.sh/hook"] != "post-delete").collect();
        assert_eq!(jobs.len(), 2, "{set}: a pre and a post hook Job");
        let mut phases = Vec::new();
        for job in jobs {
            phases.push(job["metadata"]["annotations"]["helm.sh/hook"].as_str().expect("hook").to_string());
            let args: Vec<&str> = job["spec"]["template"]["spec"]["containers"][0]["args"]
                .as_array()
                .expect("args")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(&args[..2], ["certs", "install"]);
            for expected in [
                format!("--secret={secret}"),
                format!("--service={service_name}"),
                format!("--namespace={NAMESPACE}"),
                "--webhook=remora".to_string(),
            ] {
                assert!(args.contains(&expected.as_str()), "{set}: job args {args:?} lack {expected}");
            }
        }
        phases.sort();
        assert_eq!(phases, ["post-install,post-upgrade", "pre-install,pre-upgrade"]);
        assert!(webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].is_null());
    }

    check_hub_tls(set, r);
    check_network_policy(set, r);

    // Least privilege: the injector reads namespaces and their LimitRanges, and follows
    // nodes for `auto`.
    let role = r.find("ClusterRole", "remora-injector");
    let mut rules = vec![
        serde_json::json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}),
        serde_json::json!({"apiGroups": [""], "resources": ["limitranges"], "verbs": ["list"]}),
    ];
    if r.settings().sidecar.sidecar_mode == "auto" {
        rules.push(serde_json::json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}));
    }
    // Without cert-manager, it keeps its certificate's CA in that one webhook configuration.
    if r.all("Certificate").is_empty() {
        rules.push(serde_json::json!({"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"], "resourceNames": ["remora"], "verbs": ["get", "patch"]}));
    }
    assert_eq!(role["rules"], serde_json::Value::Array(rules), "{set}");
    // Secrets never land in a ConfigMap.
    for config_map in r.all("ConfigMap") {
        assert!(!config_map.to_string().contains("hooks.slack.com"), "{set}: env leaked into a ConfigMap");
    }
}

/// With hub TLS, every piece agrees: the hub serves the Secret a Certificate writes for
/// the host the sidecars are given, probes speak HTTPS, and the CA file the injector
/// hands to sidecars is the `ca.crt` of its own certificate, from the same CA Issuer.
fn check_hub_tls(set: &str, r: &Rendered) {
    let hub = r.find("Deployment", "remora-hub");
    let container = &hub["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let settings = r.settings();
    let tls_dir = args.iter().find_map(|a| a.strip_prefix("--tls-dir="));
    let Some(tls_dir) = tls_dir else {
        assert!(settings.sidecar.hub_address.starts_with("ws://"), "{set}: {}", settings.sidecar.hub_address);
        assert!(settings.hub_ca_file.is_empty(), "{set}");
        assert_eq!(container["readinessProbe"]["httpGet"]["scheme"], "HTTP", "{set}");
        return;
    };
    let mount = container["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["mountPath"] == tls_dir).expect("the --tls-dir mount");
    let volume = hub["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]).expect("volume");
    let secret = volume["secret"]["secretName"].as_str().expect("a Secret");
    let certificate = r.all("Certificate").into_iter().find(|c| c["spec"]["secretName"] == secret).unwrap_or_else(|| panic!("{set}: no Certificate writes {secret}"));
    let address = settings.sidecar.hub_address.strip_prefix("wss://").unwrap_or_else(|| panic!("{set}: sidecars must use wss://, not {}", settings.sidecar.hub_address));
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    assert!(certificate["spec"]["dnsNames"].as_array().expect("names").iter().any(|n| n == host), "{set}: the hub's certificate does not name {host}");
    assert_eq!(container["readinessProbe"]["httpGet"]["scheme"], "HTTPS", "{set}");
    assert_eq!(container["livenessProbe"]["httpGet"]["scheme"], "HTTPS", "{set}");
    // The CA the sidecars get: ca.crt of the injector's certificate, same issuer.
    assert_eq!(settings.hub_ca_file, "/etc/remora/certs/ca.crt", "{set}");
    let injector_pod = &r.find("Deployment", "remora-injector")["spec"]["template"]["spec"];
    let certs_mount = injector_pod["containers"][0]["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["mountPath"] == "/etc/remora/certs").expect("cert mount");
    let certs_secret = injector_pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == certs_mount["name"]).expect("volume")["secret"]["secretName"].clone();
    let injector = r.all("Certificate").into_iter().find(|c| c["spec"]["secretName"] == certs_secret).expect("the injector's Certificate");
    assert_eq!(injector["spec"]["issuerRef"], certificate["spec"]["issuerRef"], "{set}: the hub's and the injector's certificates must share a CA");
}

/// The hub's NetworkPolicy selects the hub's pods, opens the sidecar port (by its name in
/// the hub container) to exactly the pods the injector labels, and the API port.
fn check_network_policy(set: &str, r: &Rendered) {
    let policies = r.all("NetworkPolicy");
    let Some(policy) = policies.first() else {
        return;
    };
    let hub = &r.find("Deployment", "remora-hub")["spec"]["template"];
    for (key, value) in policy["spec"]["podSelector"]["matchLabels"].as_object().expect("podSelector") {
        assert_eq!(hub["metadata"]["labels"][key], *value, "{set}: the NetworkPolicy selects no hub pod");
    }
    let ports: Vec<&Value> = hub["spec"]["containers"][0]["ports"].as_array().expect("ports").iter().collect();
    let rules = policy["spec"]["ingress"].as_array().expect("ingress");
    let rule_for = |port_name: &str| {
        assert!(ports.iter().any(|p| p["name"] == port_name), "{set}: the hub container has no port {port_name}");
        rules.iter().find(|r| r["ports"][0]["port"] == port_name).unwrap_or_else(|| panic!("{set}: no rule for {port_name}"))
    };
    let sidecars = rule_for("sidecars");
    let from = &sidecars["from"][0];
    assert_eq!(from["namespaceSelector"], serde_json::json!({}), "{set}: sidecars come from every namespace");
    assert_eq!(
        from["podSelector"]["matchLabels"],
        serde_json::json!({remora_injector::annotations::INJECTED: "true"}),
        "{set}: the label the injector puts on the pods it injects"
    );
    assert_eq!(rule_for("api")["from"][0], serde_json::json!({"podSelector": {}}), "{set}: the API from this namespace");
    assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Ingress"]), "{set}: egress stays open");
}

#[test]
fn hub_tls_needs_cert_manager() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "certManager:\n  enabled: false\nhub:\n  tls:\n    enabled: true\n").expect("write");
    let error = render(&[values]).err().expect("refused");
    assert!(error.contains("hub.tls.enabled needs certManager.enabled"), "{error}");
}

#[test]
fn chart_defaults_are_the_injector_defaults() {
    let rendered = render(&[]).expect("defaults render");
    assert_eq!(
        rendered.settings(),
        Settings::default(),
        "charts/remora/values.yaml and injector/src/settings.rs disagree"
    );
    let deployment = rendered.find("Deployment", "remora-injector");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pdb = rendered.find("PodDisruptionBudget", "remora-injector");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"].is_object());
}

#[test]
fn chart_values_reach_the_injected_sidecar() {
    let classic = repo().join("charts/remora/ci/classic-sidecar-values.yaml");
    let rendered = render(&[classic]).expect("render");
    let injected = injected_pod(&rendered);
    let sidecar = injected["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "remora-sidecar")
        .expect("classic sidecar among the containers");
    assert_eq!(sidecar["image"], "ghcr.io/remora-dev/remora-sidecar:0.1.0");
    let env: BTreeMap<&str, &str> = sidecar["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?)))
        .collect();
    assert_eq!(env["REMORA_CAPTURE_FILTER"], "tcp port 80 or udp port 53");
    assert_eq!(env["REMORA_PROTOCOLS"], "http,dns");
    assert_eq!(env["REMORA_PCAP_RETENTION_BYTES"], (1u64 << 30).to_string());
    assert_eq!(env["REMORA_HUB"], "wss://remora-hub.remora.svc:8898", "TLS with cert-manager, by default");
    assert_eq!(sidecar["resources"]["limits"]["memory"], "512Mi");
}

/// The injected pod that `rendered`'s injector makes of the Deployment pod golden.
fn injected_pod(rendered: &Rendered) -> Value {
    let injector = Injector::new(rendered.settings()).expect("injector");
    let pod = common::read_docs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/deployment-pod.in.yaml")).remove(0);
    let body = serde_json::to_vec(&review::pod_create_review("chart", &pod)).expect("json");
    let request = review::parse(&body).expect("review");
    let (answer, record) = review::respond(&request, &injector, None, None);
    assert_eq!(record.decision, review::Decision::Injected, "{:?}", record.warnings);
    let answer: Value = serde_json::from_slice(&answer).expect("json");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(answer["response"]["patch"].as_str().expect("patch"))
        .expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("patch");
    let mut injected = pod.clone();
    json_patch::patch(&mut injected, &patch).expect("applies");
    injected
}

#[test]
fn monitors_reach_what_the_chart_serves() {
    let off = render(&[]).expect("render");
    for kind in ["ServiceMonitor", "PodMonitor", "PrometheusRule"] {
        assert!(off.all(kind).is_empty(), "{kind} rendered by default");
    }
    assert!(!off.objects.iter().any(|o| o["metadata"]["name"] == "remora-grafana-dashboard"), "dashboard ConfigMap by default");

    let on = render(&[repo().join("charts/remora/ci/monitoring-values.yaml")]).expect("render");
    // ServiceMonitors select their component's Service, whose port leads to the
    // container port the binary listens on (its flag).
    for (component, port, flag) in [("injector", "http-metrics", "--admin-listen=0.0.0.0:"), ("hub", "http-api", "--api-listen=0.0.0.0:")] {
        let monitor = on.find("ServiceMonitor", &format!("remora-{component}"));
        assert_eq!(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack", "metrics.serviceMonitor.labels");
        let service = on.find("Service", &format!("remora-{component}"));
        for (key, value) in monitor["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels") {
            assert_eq!(&service["metadata"]["labels"][key], value, "ServiceMonitor remora-{component} selects its Service by {key}");
        }
        let endpoint = &monitor["spec"]["endpoints"][0];
        assert_eq!(endpoint["port"], port);
        assert_eq!(endpoint["path"], "/metrics");
        let number = remora_testkit::chart::service_port_to_container(&on, &format!("remora-{component}"), port);
        let args = remora_testkit::chart::container_args(&on, "Deployment", &format!("remora-{component}"));
        assert!(args.iter().any(|a| a == &format!("{flag}{number}")), "remora-{component} listens on {number}: {args:?}");
    }
    // The hub serves TLS (cert-manager, the default): scraped over https with the CA of
    // the hub's certificate, by a name the certificate holds.
    let hub = &on.find("ServiceMonitor", "remora-hub")["spec"]["endpoints"][0];
    assert_eq!(hub["scheme"], "https");
    let certificate = on.find("Certificate", "remora-hub-tls");
    assert_eq!(hub["tlsConfig"]["ca"]["secret"]["name"], certificate["spec"]["secretName"]);
    assert_eq!(hub["tlsConfig"]["ca"]["secret"]["key"], "ca.crt");
    assert!(certificate["spec"]["dnsNames"].as_array().expect("dnsNames").contains(&hub["tlsConfig"]["serverName"]), "{hub}");
    // Without hub TLS, plain http and no tlsConfig.
    let plain = render(&[repo().join("charts/remora/ci/monitoring-values.yaml"), repo().join("charts/remora/ci/no-cert-manager-values.yaml")]).expect("render");
    let plain_hub = &plain.find("ServiceMonitor", "remora-hub")["spec"]["endpoints"][0];
    assert_eq!(plain_hub["scheme"], "http");
    assert!(plain_hub.get("tlsConfig").is_none(), "{plain_hub}");

    // The PodMonitor selects what the webhook puts on injected pods, in every namespace.
    let injected = injected_pod(&on);
    let monitor = on.find("PodMonitor", "remora-sidecars");
    assert_eq!(monitor["spec"]["namespaceSelector"]["any"], true);
    for (key, value) in monitor["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels") {
        assert_eq!(&injected["metadata"]["labels"][key], value, "the PodMonitor selects injected pods by {key}");
    }
    let containers = ["initContainers", "containers"].iter().filter_map(|k| injected["spec"][k].as_array()).flatten();
    let sidecar = containers.into_iter().find(|c| c["name"] == "remora-sidecar").expect("the sidecar");
    let port = monitor["spec"]["podMetricsEndpoints"][0]["port"].as_str().expect("port");
    let health = sidecar["ports"].as_array().expect("ports").iter().find(|p| p["name"] == port).unwrap_or_else(|| panic!("the sidecar has no port {port}: {sidecar}"));
    let listen = sidecar["env"].as_array().expect("env").iter().find(|e| e["name"] == "REMORA_HEALTH_LISTEN").expect("REMORA_HEALTH_LISTEN");
    assert_eq!(listen["value"], format!("0.0.0.0:{}", health["containerPort"]), "the sidecar serves /metrics on the port the PodMonitor names");

    // Prometheus may reach the hub's API port through the NetworkPolicy.
    let policy = on.find("NetworkPolicy", "remora-hub");
    let scrape = policy["spec"]["ingress"].as_array().expect("ingress").iter().find(|r| r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "prometheus").expect("a rule for Prometheus");
    assert_eq!(scrape["ports"][0]["port"], "api");

    // The Grafana dashboard ConfigMap: labelled for Grafana's sidecar, in the namespace
    // asked, holding the repository's dashboard as it is.
    let dashboard = on.find("ConfigMap", "remora-grafana-dashboard");
    assert_eq!(dashboard["metadata"]["namespace"], "monitoring");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(dashboard["metadata"]["annotations"]["grafana_folder"], "Remora");
    let file = std::fs::read_to_string(repo().join("charts/remora/dashboards/remora.json")).expect("dashboard");
    assert_eq!(dashboard["data"]["remora.json"].as_str().map(str::trim_end), Some(file.trim_end()));
    assert!(on.find("PrometheusRule", "remora")["spec"]["groups"][0]["rules"].as_array().is_some_and(|r| r.len() >= 8));
}

#[test]
fn scripts_and_env_from_values() {
    let set = repo().join("charts/remora/ci/scripts-and-env-values.yaml");
    let rendered = render(&[set]).expect("render");
    let scripts = rendered.find("ConfigMap", "remora-scripts");
    assert!(scripts["data"]["errors.js"].as_str().expect("errors.js").contains("function onItemCaptured"));
    let env = rendered.find("Secret", "remora-env");
    let decode = |key: &str| {
        let encoded = env["data"][key].as_str().unwrap_or_else(|| panic!("{key} missing"));
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64")).expect("utf-8")
    };
    assert_eq!(decode("SLACK_WEBHOOK"), "https://hooks.slack.com/services/T000/B000/XXXX");
    assert_eq!(decode("THRESHOLD_MS"), "500");
    assert_eq!(decode("ENABLED"), "true");
}

#[test]
fn typos_and_bad_types_are_refused_by_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (yaml, expected) in [
        ("injector:\n  replica: 3\n", "additional properties 'replica' not allowed"),
        ("webhook:\n  timeoutSeconds: \"5\"\n", "/webhook/timeoutSeconds"),
        ("sidecar:\n  mode: sideways\n", "/sidecar/mode"),
        ("scripting:\n  env:\n    TOKEN:\n      nested: map\n", "/scripting/env/TOKEN"),
        ("sidecars:\n  mode: native\n", "additional properties 'sidecars' not allowed"),
    ] {
        let path = dir.path().join("values.yaml");
        std::fs::write(&path, yaml).expect("write");
        match render(&[path]) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => assert!(e.contains(expected), "for\n{yaml}the error does not name {expected:?}: {e}"),
        }
    }
}

#[test]
fn the_chart_passes_only_flags_the_injector_knows() {
    let rendered = render(&[]).expect("render");
    let args = remora_testkit::chart::container_args(&rendered, "Deployment", "remora-injector");
    let unknown = remora_testkit::chart::unknown_flags(env!("CARGO_BIN_EXE_remora-injector"), &[], &args);
    assert!(unknown.is_empty(), "remora-injector does not take {unknown:?}");
}

#[test]
fn a_private_registry_reaches_every_image_and_injected_pod() {
    const REGISTRY: &str = "registry.corp.example:5000";
    let values = repo().join("charts/remora/ci/private-registry-values.yaml");
    let rendered = render(&[values]).expect("render");
    // Every image the chart runs, and the sidecar's, from the mirror.
    let mut images: Vec<String> = Vec::new();
    for object in &rendered.objects {
        let spec = match object["kind"].as_str() {
            Some("Deployment" | "Job") => &object["spec"]["template"]["spec"],
            _ => continue,
        };
        for container in spec["containers"].as_array().into_iter().flatten().chain(spec["initContainers"].as_array().into_iter().flatten()) {
            images.push(container["image"].as_str().expect("image").to_string());
        }
    }
    let settings = rendered.settings();
    images.push(settings.image.clone());
    assert!(images.len() >= 3, "{images:?}");
    for image in &images {
        assert!(image.starts_with(&format!("{REGISTRY}/remora-dev/")), "{image} is not from the mirror");
    }
    // An injected pod keeps its own pull secret and gets the sidecar's.
    let injector = Injector::new(settings).expect("injector");
    let mut pod = common::read_docs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/deployment-pod.in.yaml")).remove(0);
    pod["spec"]["imagePullSecrets"] = serde_json::json!([{"name": "app-pull"}]);
    let body = serde_json::to_vec(&review::pod_create_review("mirror", &pod)).expect("json");
    let (answer, record) = review::respond(&review::parse(&body).expect("review"), &injector, None, None);
    assert_eq!(record.decision, review::Decision::Injected, "{:?}", record.warnings);
    let answer: Value = serde_json::from_slice(&answer).expect("json");
    let patch = base64::engine::general_purpose::STANDARD.decode(answer["response"]["patch"].as_str().expect("patch")).expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("patch");
    json_patch::patch(&mut pod, &patch).expect("applies");
    assert_eq!(pod["spec"]["imagePullSecrets"], serde_json::json!([{"name": "app-pull"}, {"name": "regcred"}]));
    let status: Value = serde_json::from_str(pod["metadata"]["annotations"]["remora.dev/status"].as_str().expect("status")).expect("json");
    assert_eq!(status["imagePullSecrets"], serde_json::json!(["regcred"]), "what was added, for uninjection");
}

#[test]
fn on_openshift_no_uid_or_group_is_fixed() {
    let fixed = |rendered: &Rendered| -> Vec<String> {
        let mut found = Vec::new();
        for object in &rendered.objects {
            let spec = match object["kind"].as_str() {
                Some("Deployment" | "Job") => &object["spec"]["template"]["spec"],
                _ => continue,
            };
            let name = object["metadata"]["name"].as_str().unwrap_or("").to_string();
            if !spec["securityContext"]["fsGroup"].is_null() {
                found.push(format!("{name}: fsGroup"));
            }
            for container in spec["containers"].as_array().into_iter().flatten() {
                for key in ["runAsUser", "runAsGroup"] {
                    if !container["securityContext"][key].is_null() {
                        found.push(format!("{name}/{}: {key}", container["name"].as_str().unwrap_or("")));
                    }
                }
                assert_eq!(container["securityContext"]["runAsNonRoot"], true, "{name}: never root, whoever assigns the UID");
            }
        }
        found
    };
    let openshift = render(&[repo().join("charts/remora/ci/openshift-values.yaml")]).expect("render");
    assert_eq!(fixed(&openshift), Vec::<String>::new(), "restricted-v2 assigns them");
    let plain = render(&[]).expect("render");
    assert!(fixed(&plain).iter().any(|f| f == "remora-hub: fsGroup") && fixed(&plain).iter().any(|f| f.ends_with(": runAsUser")), "{:?}", fixed(&plain));
}

/// Day-two behaviour the chart owes its users: one hub at a time (Recreate), its journal
/// on a claim when asked (kept by `helm uninstall`), no value made up at render time (the
/// hub makes its tokens Secret), an injector that drains before it stops, and `helm test`.
#[test]
fn upgrades_gitops_and_helm_test() {
    let defaults = render(&[]).expect("render");
    let hub = defaults.find("Deployment", "remora-hub");
    assert_eq!(hub["spec"]["strategy"]["type"], "Recreate", "a rolling update would run two hubs");
    let volumes = hub["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes");
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("volume {name}")).clone();
    assert_eq!(volume("data")["emptyDir"]["sizeLimit"], "2Gi", "without persistence, an emptyDir");
    assert!(defaults.all("PersistentVolumeClaim").is_empty());

    let persisted = render(&[repo().join("charts/remora/ci/persistence-values.yaml")]).expect("render");
    let claim = persisted.find("PersistentVolumeClaim", "remora-hub-data");
    assert_eq!((&claim["spec"]["resources"]["requests"]["storage"], &claim["spec"]["storageClassName"]), (&Value::from("10Gi"), &Value::from("fast-ssd")));
    assert_eq!(claim["metadata"]["annotations"]["helm.sh/resource-policy"], "keep", "helm uninstall keeps the history");
    let data = persisted.find("Deployment", "remora-hub")["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == "data").expect("data").clone();
    assert_eq!(data["persistentVolumeClaim"]["claimName"], "remora-hub-data");

    // GitOps: two renders are the same, and no Secret of tokens is rendered; the hub is
    // told which Secret to make, may read and create it, and starts before it exists.
    let again = render(&[]).expect("render");
    assert_eq!(defaults.objects, again.objects, "a render-time random value would differ between renders");
    assert!(defaults.objects.iter().all(|o| o["metadata"]["name"] != "remora-hub-tokens"), "the tokens Secret is the hub's to make");
    let args: Vec<&str> = hub["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert!(args.contains(&"--token-secret=remora-hub-tokens") && args.contains(&"--token-file=/etc/remora/hub/tokens"), "{args:?}");
    assert_eq!((volume("tokens")["secret"]["secretName"].as_str(), &volume("tokens")["secret"]["optional"]), (Some("remora-hub-tokens"), &Value::Bool(true)));
    let role = defaults.find("Role", "remora-hub");
    let rules = role["rules"].as_array().expect("rules");
    let may = |verb: &str, name: Option<&str>| {
        rules.iter().any(|r| {
            r["resources"].as_array().is_some_and(|s| s.iter().any(|s| s == "secrets"))
                && r["verbs"].as_array().is_some_and(|v| v.iter().any(|v| v == verb))
                && name.is_none_or(|n| r["resourceNames"].as_array().is_some_and(|names| names.iter().any(|x| x == n)))
        })
    };
    assert!(may("get", Some("remora-hub-tokens")) && may("create", None), "{rules:#?}");

    // The injector drains: its preStop hook on the admin port, within the grace period.
    let injector = &defaults.find("Deployment", "remora-injector")["spec"]["template"]["spec"];
    let container = &injector["containers"][0];
    let pre_stop = &container["lifecycle"]["preStop"]["httpGet"];
    assert_eq!((&pre_stop["path"], &pre_stop["port"]), (&Value::from("/prestop"), &Value::from("admin")));
    assert!(container["args"].as_array().expect("args").iter().any(|a| a == "--drain-seconds=10"));
    assert!(injector["terminationGracePeriodSeconds"].as_u64().is_some_and(|g| g > 10), "{}", injector["terminationGracePeriodSeconds"]);

    // `helm test`: remora check, with the install's names, as a test hook.
    let test = defaults.find("Pod", "remora-check");
    assert_eq!(test["metadata"]["annotations"]["helm.sh/hook"], "test");
    let args: Vec<&str> = test["spec"]["containers"][0]["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert_eq!(args, ["check", "--namespace=remora", "--webhook=remora", "--secret=remora-injector-tls", "--hub=remora-hub", "--hub-secret=remora-hub-tls", "--injector-config=remora-injector"]);
    assert_eq!(test["spec"]["serviceAccountName"], "remora-check");
    for (kind, name) in [("ServiceAccount", "remora-check"), ("ClusterRole", "remora-check"), ("ClusterRoleBinding", "remora-check"), ("Role", "remora-check"), ("RoleBinding", "remora-check")] {
        assert_eq!(defaults.find(kind, name)["metadata"]["annotations"]["helm.sh/hook"], "test", "{kind} {name} goes with the test");
    }
}

/// Without cert-manager the injector keeps its own certificate renewed (the hook Jobs
/// renew it only at upgrades), with RBAC for exactly that Secret and that webhook
/// configuration; with cert-manager it is cert-manager's job and the injector has neither.
#[test]
fn without_cert_manager_the_injector_renews_its_certificate() {
    let plain = render(&[repo().join("charts/remora/ci/no-cert-manager-values.yaml")]).expect("render");
    let args: Vec<&str> = plain.find("Deployment", "remora-injector")["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    for wanted in ["--renew-secret=remora-injector-tls", "--renew-webhook=remora", "--renew-service=remora-injector", "--renew-namespace=remora", "--cert-days=365"] {
        assert!(args.contains(&wanted), "{wanted} in {args:?}");
    }
    let role = plain.find("Role", "remora-injector");
    assert_eq!(role["rules"], serde_json::json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["remora-injector-tls"], "verbs": ["get", "update"]}]));
    let cluster_role = plain.find("ClusterRole", "remora-injector");
    let webhook_rule = cluster_role["rules"].as_array().expect("rules").iter().find(|r| r["resources"][0] == "mutatingwebhookconfigurations").expect("the webhook rule");
    assert_eq!((&webhook_rule["resourceNames"], &webhook_rule["verbs"]), (&serde_json::json!(["remora"]), &serde_json::json!(["get", "patch"])));

    let managed = render(&[]).expect("render");
    let args = managed.find("Deployment", "remora-injector")["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(!args.contains("--renew-secret"), "cert-manager renews: {args}");
    assert!(managed.all("Role").iter().all(|r| r["metadata"]["name"] != "remora-injector"));
    assert!(!managed.find("ClusterRole", "remora-injector").to_string().contains("mutatingwebhookconfigurations"));
}

/// Without cert-manager nothing of the hooks outlives them: their RBAC goes once each
/// phase's Job succeeded, and `helm uninstall` runs `remora certs uninstall` for the
/// certificate Secret the hooks made (Helm does not own it).
#[test]
fn no_hook_leftovers_after_uninstall() {
    let plain = render(&[repo().join("charts/remora/ci/no-cert-manager-values.yaml")]).expect("render");
    for object in &plain.objects {
        let annotations = &object["metadata"]["annotations"];
        if annotations["helm.sh/hook"].is_string() {
            let policy = annotations["helm.sh/hook-delete-policy"].as_str().unwrap_or_default();
            assert!(policy.contains("hook-succeeded"), "{} {} stays after its hook: {policy:?}", object["kind"], object["metadata"]["name"]);
        }
    }
    let cleanup = plain.find("Job", "remora-certs-cleanup");
    assert_eq!(cleanup["metadata"]["annotations"]["helm.sh/hook"], "post-delete");
    let args: Vec<&str> = cleanup["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert_eq!(args, ["certs", "uninstall", "--namespace=remora", "--secret=remora-injector-tls"]);
    let role = plain.find("Role", "remora-certs-cleanup");
    assert_eq!(role["rules"], serde_json::json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["remora-injector-tls"], "verbs": ["delete"]}]));
    assert!(render(&[]).expect("render").objects.iter().all(|o| o["metadata"]["name"] != "remora-certs-cleanup"), "with cert-manager there is nothing to clean");
}
