//! The helpers that answer differently in the hub, run there: `utils.nodeName()` is
//! `"hub"`, `hub.targeted()` lists the pods the hub watches (here from `--objects-dir`),
//! `prometheus.*` metrics show on the hub's /metrics (read by a Prometheus text-format
//! parser), and a `console.clear()` marker reaches the console stream (and `remora
//! console` shows it). The scripts are the conformance ones (conformance/extended/),
//! which `remora replay` runs offline in cli/tests/conformance.rs. Loopback only; no
//! root needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use remora_testkit::process::{start_hub, workspace_binary};

const TOKEN: &str = "script-api-token-7d21";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// The pods the API server would list: `shop` opted in, `checkout-a` with the sidecar,
/// `shop-web-0` without it (created before the webhook ran), `dns` in a namespace that
/// did not opt in.
fn objects(dir: &Path) {
    let pod = |ns: &str, name: &str, node: &str, ip: &str, sidecar: bool| {
        let init = if sidecar { serde_json::json!([{"name": "remora-sidecar", "restartPolicy": "Always"}]) } else { serde_json::json!([]) };
        serde_json::json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "resourceVersion": "1", "labels": {"app": name}},
            "spec": {"nodeName": node, "initContainers": init, "containers": [{"name": "app", "image": "registry.example/shop:1"}]},
            "status": {"phase": "Running", "podIP": ip, "hostIP": "192.0.2.1"}
        })
    };
    let list = serde_json::json!({"kind": "List", "apiVersion": "v1", "items": [
        {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop", "labels": {"remora.dev/inject": "enabled"}}},
        {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "kube-system"}},
        pod("shop", "checkout-a", "node-1", "10.0.1.5", true),
        pod("shop", "shop-web-0", "node-0", "10.0.0.9", false),
        pod("kube-system", "dns", "node-0", "10.0.0.2", false),
    ]});
    std::fs::write(dir.join("pods.json"), list.to_string()).expect("write");
}

/// `curl` against the API: the body.
fn get(api: &str, path: &str, extra: &[&str]) -> String {
    let auth = format!("Authorization: Bearer {TOKEN}");
    let out = Command::new("curl").args(["-s", "-H", &auth]).args(extra).arg(format!("http://{api}{path}")).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hub_scripts_see_the_hub_its_pods_and_its_metrics() {
    let work = tempfile::tempdir().expect("tempdir");
    let scripts = work.path().join("scripts");
    let objects_dir = work.path().join("objects");
    for dir in [&scripts, &objects_dir] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    for name in ["utils-node-name.js", "hub-targeted.js", "prometheus-metric.js"] {
        std::fs::copy(repo_root().join("conformance/extended").join(name), scripts.join(name)).expect("copy");
    }
    std::fs::write(scripts.join("clear.js"), "console.log('before'); console.clear(); console.log('after');\n").expect("write");
    objects(&objects_dir);
    let token_file = work.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let data = work.path().join("data");
    let started = start_hub(env!("CARGO_BIN_EXE_remora-hub"), &token_file, &["--scripts-dir".as_ref(), scripts.as_os_str(), "--data-dir".as_ref(), data.as_os_str(), "--objects-dir".as_ref(), objects_dir.as_os_str()]);
    let (_hub, api) = (started.process, started.api);

    // The console stream: the recent lines, then what comes within 1.5 s.
    let deadline = Instant::now() + Duration::from_secs(12);
    let want_targets = "[hub] [hub-targeted.js] targets [shop/checkout-a@node-1] excluded [shop/shop-web-0@node-0]";
    let lines = loop {
        let text = get(&api, "/api/console", &["-N", "--max-time", "1.5"]);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.iter().any(|l| l == want_targets) {
            break lines;
        }
        assert!(Instant::now() < deadline, "no {want_targets:?} in the console stream:\n{lines:#?}");
    };
    assert!(lines.iter().any(|l| l == "[hub] [utils-node-name.js] running in the hub"), "{lines:#?}");
    let clear: Vec<&String> = lines.iter().filter(|l| l.starts_with("[hub] [clear.js] ")).collect();
    assert_eq!(clear, ["[hub] [clear.js] before", "[hub] [clear.js] \u{c}", "[hub] [clear.js] after"], "{lines:#?}");

    // `remora console` shows the marker as one.
    let remora = workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora");
    let shown = Command::new("timeout").arg("2").arg(&remora).args(["console", "--hub", &format!("http://{api}"), "--token", TOKEN]).output().expect("remora console");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.lines().any(|l| l == "[hub] [clear.js] ---- console cleared ----"), "{shown}");

    // The hub's /metrics: its own and the scripts', as a Prometheus parser reads them.
    let body = get(&api, "/metrics", &[]);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text");
    let value = |name: &str| scrape.samples.iter().find(|s| s.metric == name).map(|s| s.value.clone());
    assert_eq!(value("shop_scripts_loaded"), Some(prometheus_parse::Value::Counter(1.0)), "{body}");
    assert_eq!(scrape.docs.get("shop_scripts_loaded").map(String::as_str), Some("Scripts loaded"));
    assert_eq!(value("remora_hub_pods_with_sidecar"), Some(prometheus_parse::Value::Gauge(1.0)), "{body}");
    assert_eq!(value("remora_hub_pods_without_sidecar"), Some(prometheus_parse::Value::Gauge(1.0)), "{body}");
}
