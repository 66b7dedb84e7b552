//! End to end, the cluster-wide parts: one hub and two "pods" (network namespaces this
//! test makes, on one bridge), each pod with the real `remora-sidecar`, the hub with a
//! scripts folder it hands to both. Real traffic (curl against an HTTP server, dig
//! against dnsmasq) from both pods. Checks: the scripts reach both sidecars from the hub;
//! an every-second job runs on both pods in the same second; a job's limit counts per
//! node; `hub.action` in a pod reaches `onHubAction` in the hub; `onItemQueried` marks
//! query answers; a PCAP export of a KFL query holds both pods' HTTP streams (read by
//! tshark); a script edited in the hub's folder runs in both pods within 5 s.
//! Needs root, iproute2, curl, dig, dnsmasq, python3, tshark.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use remora_testkit::cluster::Cluster;
use remora_testkit::{eventually, output};
use remora_testkit::process::{workspace_binary, Logged};
use serde_json::Value;

const TOKEN: &str = "cluster-token-51a7";
/// Pod 0 runs the hub and the servers; pods 1 and 2 are the captured application pods.
const HUB: usize = 0;

const SCRIPT: &str = r#"
function tick() { console.log('tick ' + Math.floor(Date.now() / 1000)); }
jobs.schedule('tick', '* * * * * *', tick);
jobs.schedule('twice', '* * * * * *', function () { console.log('twice'); }, 2);
function onItemCaptured(data) {
  if (data.request && data.request.path === '/report') hub.action('seen', {path: data.request.path, status: data.response.status});
}
function onHubAction(action, object) { console.log('hub got ' + action + ' ' + object.path + ' ' + object.status); }
function onItemQueried(data) {
  if (data.response && data.response.status === 404) { data.note = 'missing page'; return test.fail(data); }
}
"#;

fn sidecar_binary() -> PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora-sidecar")
}

fn remora_binary() -> PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora")
}

fn spawn(cluster: &Cluster, pod: usize, args: &[&str], env: &[(&str, &str)]) -> Logged {
    let mut command = cluster.exec(pod, args);
    command.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::null());
    Logged::spawn(command)
}

/// `curl` from the hub's namespace against its API; (status, body).
fn api(cluster: &Cluster, args: &[&str]) -> (u16, Vec<u8>) {
    let auth = format!("Authorization: Bearer {TOKEN}");
    let mut full = vec!["curl", "-s", "-w", "\n%{http_code}", "-H", auth.as_str()];
    full.extend_from_slice(args);
    let out = cluster.exec(HUB, &full).output().expect("curl");
    let text = out.stdout;
    let split = text.iter().rposition(|b| *b == b'\n').expect("status line");
    let code = String::from_utf8_lossy(&text[split + 1..]).trim().parse().expect("code");
    (code, text[..split].to_vec())
}

fn json(cluster: &Cluster, args: &[&str]) -> Value {
    let (code, body) = api(cluster, args);
    assert_eq!(code, 200, "{args:?}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("json")
}

fn items(cluster: &Cluster, kfl: &str) -> Vec<Value> {
    let page = json(cluster, &["-G", "--data-urlencode", &format!("kfl={kfl}"), "--data-urlencode", "limit=1000", "http://192.0.2.10:8899/api/items"]);
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The hub's console stream for `seconds` (the recent lines, then the live ones).
fn console(cluster: &Cluster, seconds: u32) -> Vec<String> {
    let (_, body) = api(cluster, &["-N", "--max-time", &seconds.to_string(), "http://192.0.2.10:8899/api/console"]);
    String::from_utf8_lossy(&body).lines().map(String::from).collect()
}

/// Seconds in which `[shop/POD] [cluster.js] tick S` lines were printed, per pod.
fn ticks(lines: &[String], marker: &str) -> BTreeMap<String, BTreeSet<u64>> {
    let mut seen: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for line in lines {
        let Some((source, rest)) = line.split_once("] [cluster.js] ") else { continue };
        let Some(second) = rest.strip_prefix(marker).and_then(|s| s.trim().parse().ok()) else { continue };
        seen.entry(source.trim_start_matches('[').to_string()).or_default().insert(second);
    }
    seen
}

fn write_script(dir: &Path, source: &str) {
    // As the kubelet updates a ConfigMap mount: the new file appears whole.
    let temp = dir.join(".cluster.js.new");
    std::fs::write(&temp, source).expect("write");
    std::fs::rename(&temp, dir.join("cluster.js")).expect("rename");
}

/// A hub (pod 0, with an HTTP server and dnsmasq beside it) and two application pods
/// (1: `a` on node-1, 2: `b` on node-2), each with a sidecar whose own scripts mount is
/// empty: what they run comes from the hub.
struct Pods {
    work: tempfile::TempDir,
    token_path: String,
    scripts: PathBuf,
    hub: Logged,
    sidecars: Vec<(Logged, Vec<String>)>,
    _servers: Vec<Logged>,
    // Last: the namespaces go after every process in them.
    cluster: Cluster,
}

impl Pods {
    /// Starts everything; `script` (if any) is the hub's scripts folder's `cluster.js`,
    /// and each sidecar is waited for until its log has `ready_line`.
    fn start(script: Option<&str>, hub_args: &[&str], ready_line: &str) -> Pods {
        let sidecar_bin = sidecar_binary();
        let work = tempfile::tempdir().expect("tempdir");
        let cluster = Cluster::new(3);
        let token_file = work.path().join("tokens");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
        let token_path = token_file.to_str().expect("path").to_string();
        let scripts = work.path().join("scripts");
        std::fs::create_dir_all(&scripts).expect("mkdir");
        if let Some(source) = script {
            write_script(&scripts, source);
        }
        let site = work.path().join("site");
        std::fs::create_dir_all(&site).expect("mkdir");
        for page in ["report", "a", "b"] {
            std::fs::write(site.join(page), page).expect("write");
        }
        let web = spawn(&cluster, HUB, &["python3", "-m", "http.server", "8080", "--bind", "192.0.2.10", "--directory", site.to_str().expect("path")], &[]);
        let dns = spawn(
            &cluster,
            HUB,
            &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--listen-address=192.0.2.10", "--bind-interfaces", "--address=/shop.test/192.0.2.99", "--port=53"],
            &[],
        );
        let data_dir = work.path().join("hub-data");
        let mut args = vec![
            env!("CARGO_BIN_EXE_remora-hub"), "--listen", "192.0.2.10:8898", "--api-listen", "192.0.2.10:8899", "--token-file", &token_path,
            "--scripts-dir", scripts.to_str().expect("path"), "--data-dir", data_dir.to_str().expect("path"),
        ];
        args.extend_from_slice(hub_args);
        let hub = spawn(&cluster, HUB, &args, &[]);
        let mut hub_log = Vec::new();
        hub.wait_for("API (/api/items", &mut hub_log);
        // The servers answer across the bridge before any sidecar captures.
        for pod in [1, 2] {
            eventually(Duration::from_secs(10), "the HTTP server", || {
                cluster.exec(pod, &["curl", "-s", "-o", "/dev/null", "http://192.0.2.10:8080/a"]).status().ok().filter(|s| s.success())
            });
        }
        let empty_mount = work.path().join("no-scripts");
        let sidecars = [(1, "a", "node-1"), (2, "b", "node-2")]
            .into_iter()
            .map(|(pod, name, node)| {
                let data = work.path().join(format!("data-{name}"));
                let sidecar = spawn(
                    &cluster,
                    pod,
                    &[sidecar_bin.to_str().expect("path"), "--health-listen", "127.0.0.1:15090", "--scripts-dir", empty_mount.to_str().expect("path"), "--data-dir", data.to_str().expect("path")],
                    &[
                        ("REMORA_HUB", "ws://192.0.2.10:8898"),
                        ("REMORA_HUB_TOKEN_FILE", &token_path),
                        ("REMORA_POD_NAME", name),
                        ("REMORA_POD_NAMESPACE", "shop"),
                        ("REMORA_POD_IP", &cluster.pods[pod].ip),
                        ("REMORA_NODE_NAME", node),
                    ],
                );
                let mut log = Vec::new();
                sidecar.wait_for(ready_line, &mut log);
                sidecar.wait_for("capturing on", &mut log);
                (sidecar, log)
            })
            .collect();
        Pods { work, token_path, scripts, hub, sidecars, _servers: vec![web, dns], cluster }
    }

    /// `remora ARGS --hub ... --token-file ...` in the hub's namespace: (stdout, stderr).
    fn cli(&self, args: &[&str]) -> (String, String) {
        let remora = remora_binary();
        let mut full = vec![remora.to_str().expect("path")];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--hub", "http://192.0.2.10:8899", "--token-file", &self.token_path]);
        let out = self.cluster.exec(HUB, &full).output().expect("remora");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    }

    /// Requests from pod `pod` to the HTTP server.
    fn fetch(&self, pod: usize, paths: &[&str]) {
        for path in paths {
            output(self.cluster.exec(pod, &["curl", "-s", "-o", "/dev/null", &format!("http://192.0.2.10:8080{path}")]));
        }
    }
}

#[test]
fn jobs_actions_queries_exports_and_scripts_act_across_pods() {
    let pods = Pods::start(Some(SCRIPT), &[], "scripts (from the hub): 1 loaded (cluster.js)");
    let (cluster, work, scripts) = (&pods.cluster, &pods.work, &pods.scripts);

    // Traffic from both pods: HTTP (one request each pod to /report, which the script
    // reports with hub.action) and DNS.
    for (pod, paths) in [(1, ["/report", "/a", "/nope-a"]), (2, ["/report", "/b", "/nope-b"])] {
        pods.fetch(pod, &paths);
        output(cluster.exec(pod, &["dig", "+short", "+tries=1", "+time=2", "@192.0.2.10", &format!("web{pod}.shop.test")]));
    }
    let http = eventually(Duration::from_secs(10), "HTTP items from both pods", || {
        let found = items(cluster, "http");
        (found.len() >= 6).then_some(found)
    });
    let workers: BTreeSet<&str> = http.iter().filter_map(|i| i["worker"].as_str()).collect();
    assert_eq!(workers, BTreeSet::from(["a", "b"]));
    let dns = eventually(Duration::from_secs(10), "DNS items from both pods", || {
        let found = items(cluster, "dns");
        (found.len() >= 2).then_some(found)
    });
    let names: BTreeSet<String> = dns.iter().filter_map(|i| i["request"]["questions"][0]["name"].as_str().map(String::from)).collect();
    assert!(names.contains("web1.shop.test") && names.contains("web2.shop.test"), "{dns:?}");

    // onItemQueried in the hub marks the 404s (and adds a field) in query answers.
    let missing = items(cluster, "response.status == 404");
    assert_eq!(missing.len(), 2, "{missing:?}");
    for item in &missing {
        assert_eq!((item["failed"].as_bool(), item["note"].as_str()), (Some(true), Some("missing page")), "{item}");
    }
    assert!(items(cluster, "response.status == 200").iter().all(|i| i["failed"] != true));

    // The console: both pods tick in the same seconds (the hub's cron fires the job on
    // both), the hub ticks too, `twice` ran twice per node, and both hub.action calls
    // reached onHubAction in the hub.
    let lines = console(cluster, 3);
    let seen = ticks(&lines, "tick ");
    let (a, b) = (seen.get("shop/a").cloned().unwrap_or_default(), seen.get("shop/b").cloned().unwrap_or_default());
    let together: Vec<&u64> = a.intersection(&b).collect();
    assert!(together.len() >= 2, "an every-second job must run on both pods in the same seconds: a {a:?}, b {b:?}\n{lines:#?}");
    assert!(seen.contains_key("hub"), "the hub's scripts run the job too: {seen:?}");
    for source in ["shop/a", "shop/b", "hub"] {
        let twice = lines.iter().filter(|l| l.starts_with(&format!("[{source}] [cluster.js] twice"))).count();
        assert_eq!(twice, 2, "a job with limit 2 runs twice per node ({source}): {lines:#?}");
    }
    let actions = lines.iter().filter(|l| l.as_str() == "[hub] [cluster.js] hub got seen /report 200").count();
    assert_eq!(actions, 2, "hub.action from each pod reaches onHubAction in the hub: {lines:#?}");

    // The cluster's jobs, with their runs per node.
    let jobs = json(cluster, &["http://192.0.2.10:8899/api/jobs"]);
    let twice = jobs["jobs"].as_array().and_then(|j| j.iter().find(|j| j["tag"] == "twice")).cloned().unwrap_or_default();
    assert_eq!(twice["runs"], serde_json::json!({"hub": 2, "node-1": 2, "node-2": 2}), "{jobs}");
    assert_eq!(api(cluster, &["-X", "POST", "http://192.0.2.10:8899/api/jobs/nope/run"]).0, 404);

    // PCAP export of the HTTP streams: both pods' files, merged, read by tshark.
    let export = work.path().join("export.pcap");
    let (code, body) = api(cluster, &["-G", "--data-urlencode", "kfl=http", "-D", "-", "-o", export.to_str().expect("path"), "http://192.0.2.10:8899/api/pcap"]);
    let headers = String::from_utf8_lossy(&body).to_lowercase();
    assert_eq!(code, 200, "{headers}");
    assert!(headers.contains("x-remora-streams: 6"), "{headers}");
    assert!(headers.contains("x-remora-missing: 0"), "{headers}");
    let fields = output({
        let mut c = Command::new("tshark");
        c.args(["-r", export.to_str().expect("path"), "-Y", "http.request", "-T", "fields", "-e", "ip.src", "-e", "http.request.uri"]);
        c
    });
    let mut requests: Vec<&str> = fields.lines().collect();
    requests.sort_unstable();
    assert_eq!(requests, ["192.0.2.11\t/a", "192.0.2.11\t/nope-a", "192.0.2.11\t/report", "192.0.2.12\t/b", "192.0.2.12\t/nope-b", "192.0.2.12\t/report"]);
    let (code, body) = api(cluster, &["-G", "--data-urlencode", "kfl=response.status == 999", "http://192.0.2.10:8899/api/pcap"]);
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));

    // The same through the CLI: `remora pcap export` and `remora jobs`.
    let cli = |args: &[&str]| pods.cli(args);
    let errors = work.path().join("errors.pcap");
    let (_, said) = cli(&["pcap", "export", "--kfl", "response.status == 404", "-o", errors.to_str().expect("path")]);
    assert!(said.contains("2 stream(s)"), "{said}");
    let uris = output({
        let mut c = Command::new("tshark");
        c.args(["-r", errors.to_str().expect("path"), "-Y", "http.response.code == 404", "-T", "fields", "-e", "http.response_for.uri"]);
        c
    });
    let mut uris: Vec<&str> = uris.lines().collect();
    uris.sort_unstable();
    assert_eq!(uris, ["http://192.0.2.10:8080/nope-a", "http://192.0.2.10:8080/nope-b"]);
    let (table, _) = cli(&["jobs", "list"]);
    assert!(table.lines().any(|l| l.starts_with("twice") && l.contains("hub=2 node-1=2 node-2=2")), "{table}");
    cli(&["jobs", "run", "twice"]);
    let (table, _) = cli(&["sidecars"]);
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.iter().map(|r| (r[0], r[1], r[2])).collect::<Vec<_>>(), [("shop/a", "node-1", "yes"), ("shop/b", "node-2", "yes")], "{table}");

    // A script edited in the hub's folder runs in both pods within 5 s, and the old one's
    // jobs are gone.
    write_script(scripts, "function v2() { console.log('v2 ' + Math.floor(Date.now() / 1000)); }\njobs.schedule('v2', '* * * * * *', v2);\n");
    let edited = Instant::now();
    let lines = eventually(Duration::from_secs(8), "the edited script running in both pods", || {
        let lines = console(cluster, 1);
        let seen = ticks(&lines, "v2 ");
        (seen.contains_key("shop/a") && seen.contains_key("shop/b")).then_some(lines)
    });
    assert!(edited.elapsed() < Duration::from_secs(6), "took {:?}", edited.elapsed());
    let jobs = json(cluster, &["http://192.0.2.10:8899/api/jobs"]);
    let tags: Vec<&str> = jobs["jobs"].as_array().into_iter().flatten().filter_map(|j| j["tag"].as_str()).collect();
    assert_eq!(tags, ["v2"], "{jobs}\n{lines:#?}");
}

const WATCHER: &str = r#"// Names and pod events
function onItemCaptured(data) {
  if (data.request && data.request.path) console.log('v1 ' + data.src.name + ' -> ' + data.dst.name + ' ' + data.dst.namespace + ' ' + data.request.path);
}
function onPodEvent(event) { console.log('pod ' + event.type + ' ' + event.pod.name + ' ' + event.container + ' ' + event.reason); }
jobs.schedule('history', '* * * * * *', function () {
  var history = pcap.nameResolutionHistory();
  var times = Object.keys(history);
  var last = history[times[times.length - 1]] || {};
  console.log('history ' + (times.length > 0 && /^[0-9]{10}$/.test(times[0])) + ' ' + JSON.stringify(last['192.0.2.11']));
}, 1);
"#;

/// The pods as the API server would list them: the hub's pod (created before the
/// webhook ran: no sidecar) and the two captured ones, at the addresses this test gave
/// them, in the opted-in namespace `shop`; `restarts` for `checkout-a`'s container.
fn pods_file(dir: &Path, restarts: i32) {
    let pod = |name: &str, ip: &str, node: &str, restarts: i32, version: i32| {
        let last = if restarts > 0 {
            serde_json::json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-28T09:14:03Z", "finishedAt": "2026-11-28T09:20:41Z"}})
        } else {
            serde_json::json!({})
        };
        serde_json::json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": version.to_string(), "labels": {"app": name},
                         "annotations": if name == "checkout-c" { serde_json::json!({"remora.dev/status": "{}"}) } else { serde_json::json!({}) }},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/shop:1"}],
                     "initContainers": if name.starts_with("checkout") { serde_json::json!([{"name": "remora-sidecar", "restartPolicy": "Always"}]) } else { serde_json::json!([]) }},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "containerStatuses": [{"name": "app", "image": "registry.example/shop:1", "imageID": "", "ready": true,
                                              "restartCount": restarts, "state": {"running": {"startedAt": "2026-11-28T09:20:42Z"}}, "lastState": last}]}
        })
    };
    let list = serde_json::json!({"kind": "List", "apiVersion": "v1", "items": [
        {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop", "labels": {"remora.dev/inject": "enabled"}}},
        pod("shop-web-0", "192.0.2.10", "node-0", 0, 10),
        pod("checkout-a", "192.0.2.11", "node-1", restarts, 20 + restarts),
        pod("checkout-b", "192.0.2.12", "node-2", 0, 30),
        // Injected, running, and its sidecar never connects.
        pod("checkout-c", "192.0.2.13", "node-2", 0, 40),
    ]});
    let temp = dir.join(".pods.json.new");
    std::fs::write(&temp, list.to_string()).expect("write");
    std::fs::rename(&temp, dir.join("pods.json")).expect("rename");
}

fn wait_console(pods: &Pods, what: &str, within: Duration, found: impl Fn(&[String]) -> bool) -> Vec<String> {
    eventually(within, what, || {
        let lines = console(&pods.cluster, 1);
        found(&lines).then_some(lines)
    })
}

#[test]
fn scripts_synced_from_a_folder_names_and_pod_events_reach_both_pods() {
    let objects = tempfile::tempdir().expect("tempdir");
    pods_file(objects.path(), 0);
    let objects_dir = objects.path().to_str().expect("path").to_string();
    let mut pods = Pods::start(None, &["--objects-dir", &objects_dir], "connected to the hub");

    // A user's folder, synced with `remora scripts --source DIR --watch`.
    let local = pods.work.path().join("my-scripts");
    std::fs::create_dir_all(&local).expect("mkdir");
    std::fs::write(local.join("watch.js"), WATCHER).expect("write");
    let remora = remora_binary();
    let mut sync_command = pods.cluster.exec(
        HUB,
        &[remora.to_str().expect("path"), "scripts", "--set", &format!("scripting.source={}", local.display()), "--watch", "--hub", "http://192.0.2.10:8899", "--token-file", &pods.token_path],
    );
    sync_command.stdout(Stdio::null());
    let sync = Logged::spawn(sync_command);
    let mut sync_log = Vec::new();
    sync.wait_for("1 change(s) sent", &mut sync_log);
    for (sidecar, log) in pods.sidecars.iter_mut() {
        sidecar.wait_for("scripts (from the hub): 1 loaded (watch.js)", log);
    }
    let (listed, _) = pods.cli(&["scripts", "list"]);
    assert!(listed.starts_with("watch.js") && listed.contains("Names and pod events"), "{listed}");

    // Items carry the names of both ends, as the hub resolves them.
    pods.fetch(1, &["/a"]);
    pods.fetch(2, &["/b"]);
    let lines = wait_console(&pods, "the script's lines with names", Duration::from_secs(10), |lines| {
        lines.iter().any(|l| l == "[shop/a] [watch.js] v1 checkout-a -> shop-web-0 shop /a") && lines.iter().any(|l| l == "[shop/b] [watch.js] v1 checkout-b -> shop-web-0 shop /b")
    });
    assert!(lines.iter().any(|l| l == r#"[shop/a] [watch.js] history true {"name":"checkout-a","namespace":"shop"}"#), "{lines:#?}");
    let named = items(&pods.cluster, "dst.name == \"shop-web-0\" and src.namespace == \"shop\"");
    let sources: BTreeSet<&str> = named.iter().filter_map(|i| i["src"]["name"].as_str()).collect();
    assert_eq!(sources, BTreeSet::from(["checkout-a", "checkout-b"]), "{named:?}");

    // The script edited in the folder runs in both pods within 5 s.
    std::fs::write(local.join("watch.js"), WATCHER.replace("'v1 '", "'v2 '")).expect("write");
    let edited = Instant::now();
    eventually(Duration::from_secs(5), "the edited script in both pods", || {
        pods.fetch(1, &["/a"]);
        pods.fetch(2, &["/b"]);
        let lines = console(&pods.cluster, 1);
        let v2 = |pod: &str| lines.iter().any(|l| l.starts_with(&format!("[shop/{pod}] [watch.js] v2 ")));
        (v2("a") && v2("b")).then_some(())
    });
    eprintln!("edited script running in both pods after {:?}", edited.elapsed());
    sync.wait_for("updated watch.js", &mut sync_log);

    // A container of checkout-a restarts after an OOM kill: onPodEvent in the hub and in
    // both pods.
    pods_file(objects.path(), 1);
    let lines = wait_console(&pods, "the restart in onPodEvent", Duration::from_secs(10), |lines| {
        ["hub", "shop/a", "shop/b"].iter().all(|source| lines.iter().any(|l| l == &format!("[{source}] [watch.js] pod restarted checkout-a app OOMKilled")))
    });
    for source in ["hub", "shop/a", "shop/b"] {
        assert!(lines.iter().any(|l| l == &format!("[{source}] [watch.js] pod crashed checkout-a app OOMKilled")), "{source}: {lines:#?}");
    }

    // Coverage: shop-web-0 runs without the sidecar; checkout-c's sidecar never connected.
    let (_, metrics) = api(&pods.cluster, &["http://192.0.2.10:8899/metrics"]);
    let metrics = String::from_utf8_lossy(&metrics).to_string();
    assert!(metrics.contains("\nremora_hub_pods_with_sidecar 3\n") && metrics.contains("\nremora_hub_pods_without_sidecar 1\n"), "{metrics}");
    assert!(metrics.contains("\nremora_hub_sidecars_not_connected 1\n"), "{metrics}");

    // The file deleted from the folder is deleted from the cluster.
    std::fs::remove_file(local.join("watch.js")).expect("rm");
    sync.wait_for("deleted watch.js (gone from the source)", &mut sync_log);
    let (listed, _) = pods.cli(&["scripts", "list"]);
    assert!(listed.is_empty(), "{listed}");
    let _ = &pods.hub;
}
