//! Prometheus and Grafana as the chart ships them (`metrics.*` values), checked with
//! Prometheus's own tools: `promtool check rules` and `promtool test rules`
//! (tests/prometheus/alerts.test.yaml) on the rendered PrometheusRule, the Grafana
//! dashboard read through Grafana's schema (charts/tests/check_dashboard.py), and a real
//! Prometheus (Debian's) scraping a running injector, hub (over TLS, as the hub's
//! ServiceMonitor says) and capturing sidecar: every target up, every panel's query and
//! every metric an alert reads has a series, and an alert whose condition the run creates
//! (a failing script) goes pending with the sidecar's labels.
//!
//! Everything runs in two network namespaces the test makes (testkit's Netns): the hub,
//! the injector and Prometheus in the "server" one, the sidecar in the "client" one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use remora_testkit::chart::{render, repo, Rendered};
use remora_testkit::process::Logged;
use remora_testkit::{eventually, Netns, NetnsHosts, CLIENT_V4, SERVER_V4};
use serde_json::Value;

#[path = "support/certs.rs"]
mod certs;
use certs::write_certs;

const TOKEN: &str = "prometheus-e2e-5c1a";
const HUB_NAME: &str = "remora-hub.remora.svc";

fn beside_hub(name: &str) -> PathBuf {
    remora_testkit::process::workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), name)
}

fn monitoring() -> Rendered {
    render(&[repo().join("charts/remora/ci/monitoring-values.yaml")]).expect("render")
}

fn find<'a>(rendered: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    rendered.objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// The rendered PrometheusRule's groups as a Prometheus rules file.
fn write_rules(rendered: &Rendered, path: &Path) {
    let rule = find(rendered, "PrometheusRule", "remora");
    let file = serde_json::json!({"groups": rule["spec"]["groups"]});
    std::fs::write(path, serde_norway::to_string(&file).expect("yaml")).expect("write rules");
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let out = Command::new("promtool").args(args).current_dir(dir).output().expect("promtool is missing: run `bash scripts/setup.sh --test` (Debian's prometheus)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_rules(&monitoring(), &dir.path().join("remora-rules.yaml"));
    let checked = promtool(&["check", "rules", "remora-rules.yaml"], dir.path());
    assert!(checked.contains("SUCCESS: 10 rules found"), "{checked}");
    std::fs::copy(repo().join("tests/prometheus/alerts.test.yaml"), dir.path().join("alerts.test.yaml")).expect("copy");
    let tested = promtool(&["test", "rules", "alerts.test.yaml"], dir.path());
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// The panels' queries, once the dashboard is known to be Grafana's schema and the
/// output of its build script.
fn dashboard_queries() -> Vec<(String, String)> {
    let out = Command::new("python3")
        .arg(repo().join("charts/tests/check_dashboard.py"))
        .arg(repo().join("charts/remora/dashboards/remora.json"))
        .arg("--built")
        .arg(repo().join("charts/remora/dashboards/build.py"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "the dashboard is refused (grafana-foundation-sdk installed? `bash scripts/setup.sh --test`):\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            (v["panel"].as_str().expect("panel").to_string(), v["expr"].as_str().expect("expr").to_string())
        })
        .collect()
}

#[test]
fn the_dashboard_refuses_a_field_grafana_does_not_have() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo().join("charts/remora/dashboards/remora.json")).expect("dashboard");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, text.replacen("\"title\": \"Store\"", "\"titel\": \"Store\"", 1)).expect("write");
    let out = Command::new("python3").arg(repo().join("charts/tests/check_dashboard.py")).arg(&bad).output().expect("python3");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".titel: not in Grafana's schema"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The container port behind the Service port the component's ServiceMonitor names.
fn monitored_port(r: &Rendered, component: &str) -> (String, u16) {
    let name = format!("remora-{component}");
    let endpoint = &find(r, "ServiceMonitor", &name)["spec"]["endpoints"][0];
    let port = remora_testkit::chart::service_port_to_container(r, &name, endpoint["port"].as_str().expect("port"));
    (endpoint["scheme"].as_str().unwrap_or("http").to_string(), port)
}

/// One query to Prometheus's HTTP API from inside `ns`; its `data`.
fn prometheus_api(net: &Netns, ns: &str, base: &str, path: &str, query: Option<&str>) -> Value {
    let url = format!("{base}{path}");
    let mut args = vec!["curl", "-sS", "--max-time", "5", "-G", &url];
    if let Some(q) = query {
        args.extend(["--data-urlencode", q]);
    }
    let out = net.exec(ns, &args).output().expect("curl");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{url} {query:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer["status"], "success", "{url} {query:?}: {answer}");
    answer["data"].clone()
}

/// The metric names an expression reads (Remora's own).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("remora_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn prometheus_scrapes_every_part_and_every_query_finds_its_series() {
    let rendered = monitoring();
    let queries = dashboard_queries();
    let mut net = Netns::new();
    let _client_hosts = NetnsHosts::new(&net.client, SERVER_V4, HUB_NAME);
    let _server_hosts = NetnsHosts::new(&net.server, SERVER_V4, HUB_NAME);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let server = net.server.clone();
    let client = net.client.clone();

    // Certificates as cert-manager would issue them: the hub's, and the injector's.
    let tls = |service: &str| {
        let path = dir.join(service);
        write_certs(&path, service);
        path
    };
    let (hub_tls, injector_tls) = (tls("remora-hub"), tls("remora-injector"));
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).expect("write");
    let token = dir.join("token");
    let path = |p: &Path| p.to_str().expect("path").to_string();

    // The scripts every sidecar runs (from the hub): one throws on every item.
    let scripts = dir.join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("broken.js"), "function onItemCaptured(data) { throw new Error('broken on purpose'); }\n").expect("write");

    // The injector and the hub on the ports their monitors lead to.
    let (injector_scheme, injector_port) = monitored_port(&rendered, "injector");
    let (hub_scheme, hub_port) = monitored_port(&rendered, "hub");
    assert_eq!((injector_scheme.as_str(), hub_scheme.as_str()), ("http", "https"));
    let mut injector_command = net.exec(
        &server,
        &[&path(&beside_hub("remora-injector")), "--cert-dir", &path(&injector_tls), "--listen", "127.0.0.1:8443", "--admin-listen", &format!("127.0.0.1:{injector_port}"), "--namespaces", "none"],
    );
    injector_command.stdout(Stdio::null());
    let injector = Logged::spawn(injector_command);
    let mut injector_log = Vec::new();
    injector.wait_for("serving /healthz", &mut injector_log);
    let mut hub_command = net.exec(
        &server,
        &[
            env!("CARGO_BIN_EXE_remora-hub"), "--listen", &format!("{SERVER_V4}:8898"), "--api-listen", &format!("{SERVER_V4}:{hub_port}"),
            "--token-file", &path(&token), "--tls-dir", &path(&hub_tls), "--data-dir", &path(&dir.join("hub-data")), "--scripts-dir", &path(&scripts),
        ],
    );
    hub_command.stdout(Stdio::null());
    let hub = Logged::spawn(hub_command);
    let mut hub_log = Vec::new();
    hub.wait_for("API (", &mut hub_log);

    // An application server, and the sidecar of its client pod.
    std::fs::write(dir.join("page"), "hello").expect("write");
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", SERVER_V4, "--directory", &path(dir)]);
    net.wait_for_http(&client, &format!("http://{SERVER_V4}:8080/page"));
    let health_port = 15090;
    let mut sidecar_command = net.exec(
        &client,
        &[&path(&beside_hub("remora-sidecar")), "--health-listen", &format!("0.0.0.0:{health_port}"), "--scripts-dir", &path(&scripts), "--data-dir", &path(&dir.join("sidecar-data"))],
    );
    sidecar_command
        .envs([
            ("REMORA_HUB", format!("wss://{HUB_NAME}:8898")),
            ("REMORA_HUB_TOKEN_FILE", path(&token)),
            ("REMORA_HUB_CA_FILE", path(&hub_tls.join("ca.crt"))),
            ("REMORA_POD_NAME", "web-1".into()),
            ("REMORA_POD_NAMESPACE", "shop".into()),
            ("REMORA_POD_IP", CLIENT_V4.into()),
        ])
        .stdout(Stdio::null());
    let sidecar = Logged::spawn(sidecar_command);
    let mut sidecar_log = Vec::new();
    sidecar.wait_for("connected to the hub", &mut sidecar_log);
    sidecar.wait_for("capturing on", &mut sidecar_log);

    // Prometheus, configured as the Prometheus Operator would from the monitors: the
    // hub over https with the CA of its certificate's Secret and the monitor's server
    // name; the sidecar's pod labels as the PodMonitor's discovery gives them.
    let hub_endpoint = &find(&rendered, "ServiceMonitor", "remora-hub")["spec"]["endpoints"][0];
    let server_name = hub_endpoint["tlsConfig"]["serverName"].as_str().expect("serverName");
    assert_eq!(server_name, HUB_NAME);
    let pod_endpoint = &find(&rendered, "PodMonitor", "remora-sidecars")["spec"]["podMetricsEndpoints"][0];
    write_rules(&rendered, &dir.join("remora-rules.yaml"));
    let config = serde_json::json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [path(&dir.join("remora-rules.yaml"))],
        "scrape_configs": [
            {"job_name": "remora-injector", "metrics_path": find(&rendered, "ServiceMonitor", "remora-injector")["spec"]["endpoints"][0]["path"], "scheme": injector_scheme,
             "static_configs": [{"targets": [format!("127.0.0.1:{injector_port}")]}]},
            {"job_name": "remora-hub", "metrics_path": hub_endpoint["path"], "scheme": hub_scheme,
             "tls_config": {"ca_file": path(&hub_tls.join("ca.crt")), "server_name": server_name},
             "static_configs": [{"targets": [format!("{SERVER_V4}:{hub_port}")]}]},
            {"job_name": "remora-sidecars", "metrics_path": pod_endpoint["path"], "scheme": pod_endpoint["scheme"],
             "static_configs": [{"targets": [format!("{CLIENT_V4}:{health_port}")], "labels": {"namespace": "shop", "pod": "web-1", "container": "remora-sidecar"}}]},
        ],
    });
    std::fs::write(dir.join("prometheus.yml"), serde_norway::to_string(&config).expect("yaml")).expect("write");
    let listen = "127.0.0.1:9090";
    let mut prometheus_command = net.exec(
        &server,
        &["prometheus", "--config.file", &path(&dir.join("prometheus.yml")), "--storage.tsdb.path", &path(&dir.join("tsdb")), "--web.listen-address", listen],
    );
    prometheus_command.stdout(Stdio::null());
    let prometheus = Logged::spawn(prometheus_command);
    let mut prometheus_log = Vec::new();
    prometheus.wait_for("Server is ready to receive web requests", &mut prometheus_log);
    let base = format!("http://{listen}");

    // Traffic: an admission review of a host-network pod (left alone, counted by its
    // reason), and HTTP exchanges the sidecar captures.
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "prometheus-e2e", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "operation": "CREATE", "namespace": "shop", "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-2", "namespace": "shop"}, "spec": {"hostNetwork": true, "containers": [{"name": "app", "image": "registry.example/web:1"}]}}}
    });
    let answer = net
        .exec(
            &server,
            &[
                "curl", "-sS", "--cacert", &path(&injector_tls.join("ca.crt")), "--resolve", "remora-injector.remora.svc:8443:127.0.0.1", "-H", "content-type: application/json",
                "--data-binary", &review.to_string(), "https://remora-injector.remora.svc:8443/mutate",
            ],
        )
        .output()
        .expect("curl");
    let answer: Value = serde_json::from_slice(&answer.stdout).expect("an AdmissionReview answer");
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert!(answer["response"]["warnings"][0].as_str().is_some_and(|w| w.contains("(host_network)")), "{answer}");

    let targets = eventually(Duration::from_secs(30), "every target up with Remora's series", || {
        net.exec(&client, &["curl", "-s", "-o", "/dev/null", &format!("http://{SERVER_V4}:8080/page")]).status().ok()?;
        let data = prometheus_api(&net, &server, &base, "/api/v1/targets", None);
        let active = data["activeTargets"].as_array()?.clone();
        (active.len() == 3 && active.iter().all(|t| t["health"] == "up")).then_some(active)
    });
    let jobs: BTreeSet<&str> = targets.iter().filter_map(|t| t["labels"]["job"].as_str()).collect();
    assert_eq!(jobs, BTreeSet::from(["remora-hub", "remora-injector", "remora-sidecars"]));

    // Every metric a panel or an alert reads has a series, and every panel's query
    // answers with one (rates need two scrapes of a counter).
    let rules = find(&rendered, "PrometheusRule", "remora")["spec"]["groups"][0]["rules"].as_array().expect("rules").clone();
    let alert_exprs: Vec<(String, String)> = rules.iter().map(|r| (r["alert"].as_str().expect("alert").to_string(), r["expr"].as_str().expect("expr").to_string())).collect();
    let wanted: BTreeSet<String> = queries.iter().chain(alert_exprs.iter()).flat_map(|(_, e)| metric_names(e)).collect();
    assert!(wanted.len() >= 20, "{wanted:?}");
    eventually(Duration::from_secs(30), "every panel's query answering", || {
        let present: BTreeSet<String> = prometheus_api(&net, &server, &base, "/api/v1/label/__name__/values", None)
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let absent: Vec<&String> = wanted.iter().filter(|n| !present.contains(*n)).collect();
        let empty: Vec<&(String, String)> = queries
            .iter()
            .filter(|(_, expr)| {
                let expr = expr.replace("$__rate_interval", "1m");
                prometheus_api(&net, &server, &base, "/api/v1/query", Some(&format!("query={expr}")))["result"].as_array().is_none_or(|r| r.is_empty())
            })
            .collect();
        (absent.is_empty() && empty.is_empty()).then_some(()).or_else(|| {
            eprintln!("waiting: metrics without a series {absent:?}; panels without an answer {empty:?}");
            None
        })
    });

    // Every alert expression evaluates (an empty answer is fine: nothing is wrong) ...
    for (alert, expr) in &alert_exprs {
        prometheus_api(&net, &server, &base, "/api/v1/query", Some(&format!("query={expr}")));
        eprintln!("{alert}: evaluates");
    }
    let groups = prometheus_api(&net, &server, &base, "/api/v1/rules", None);
    let loaded = groups["groups"][0]["rules"].as_array().expect("rules");
    assert_eq!(loaded.len(), rules.len());
    for rule in loaded {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    // ... and the failing script's alert goes pending, for the sidecar's pod.
    let pending = eventually(Duration::from_secs(30), "RemoraScriptFailures pending", || {
        let alerts = prometheus_api(&net, &server, &base, "/api/v1/alerts", None)["alerts"].as_array()?.clone();
        alerts.into_iter().find(|a| a["labels"]["alertname"] == "RemoraScriptFailures")
    });
    assert_eq!(pending["state"], "pending", "{pending}");
    assert_eq!((pending["labels"]["namespace"].as_str(), pending["labels"]["pod"].as_str()), (Some("shop"), Some("web-1")), "{pending}");
    let _ = (&injector, &hub, &sidecar, &prometheus);
}
