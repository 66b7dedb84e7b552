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
use remora_testkit::output;
use remora_testkit::process::Logged;
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
    let path = PathBuf::from(env!("CARGO_BIN_EXE_remora-hub")).with_file_name("remora-sidecar");
    assert!(path.exists(), "{} is missing: run `cargo build -p remora-sidecar` (the workspace test run builds it)", path.display());
    path
}

fn remora_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_remora-hub")).with_file_name("remora");
    assert!(path.exists(), "{} is missing: run `cargo build -p remora` (the workspace test run builds it)", path.display());
    path
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

/// Waits until `check` holds, polling; panics with `what` after `limit`.
fn eventually<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
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

#[test]
fn jobs_actions_queries_exports_and_scripts_act_across_pods() {
    let sidecar_bin = sidecar_binary();
    let work = tempfile::tempdir().expect("tempdir");
    let cluster = Cluster::new(3);
    let token_file = work.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let token_path = token_file.to_str().expect("path").to_string();
    let scripts = work.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    write_script(&scripts, SCRIPT);
    let site = work.path().join("site");
    std::fs::create_dir_all(&site).expect("mkdir");
    for page in ["report", "a", "b"] {
        std::fs::write(site.join(page), page).expect("write");
    }

    let _web = spawn(&cluster, HUB, &["python3", "-m", "http.server", "8080", "--bind", "192.0.2.10", "--directory", site.to_str().expect("path")], &[]);
    let _dns = spawn(
        &cluster,
        HUB,
        &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--listen-address=192.0.2.10", "--bind-interfaces", "--address=/shop.test/192.0.2.99", "--port=53"],
        &[],
    );
    let hub = spawn(
        &cluster,
        HUB,
        &[
            env!("CARGO_BIN_EXE_remora-hub"), "--listen", "192.0.2.10:8898", "--api-listen", "192.0.2.10:8899", "--token-file", &token_path,
            "--scripts-dir", scripts.to_str().expect("path"), "--data-dir", work.path().join("hub-data").to_str().expect("path"),
        ],
        &[],
    );
    let mut hub_log = Vec::new();
    hub.wait_for("API (/api/items", &mut hub_log);
    // The servers answer across the bridge before any sidecar captures.
    for pod in [1, 2] {
        eventually(Duration::from_secs(10), "the HTTP server", || {
            cluster.exec(pod, &["curl", "-s", "-o", "/dev/null", "http://192.0.2.10:8080/a"]).status().ok().filter(|s| s.success())
        });
    }

    let empty_mount = work.path().join("no-scripts");
    let sidecars: Vec<(Logged, Vec<String>)> = [(1, "a", "node-1"), (2, "b", "node-2")]
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
            sidecar.wait_for("scripts (from the hub): 1 loaded (cluster.js)", &mut log);
            sidecar.wait_for("capturing on", &mut log);
            (sidecar, log)
        })
        .collect();

    // Traffic from both pods: HTTP (one request each pod to /report, which the script
    // reports with hub.action) and DNS.
    for (pod, paths) in [(1, ["/report", "/a", "/nope-a"]), (2, ["/report", "/b", "/nope-b"])] {
        for path in paths {
            output(cluster.exec(pod, &["curl", "-s", "-o", "/dev/null", &format!("http://192.0.2.10:8080{path}")]));
        }
        output(cluster.exec(pod, &["dig", "+short", "+tries=1", "+time=2", "@192.0.2.10", &format!("web{pod}.shop.test")]));
    }
    let http = eventually(Duration::from_secs(10), "HTTP items from both pods", || {
        let found = items(&cluster, "http");
        (found.len() >= 6).then_some(found)
    });
    let workers: BTreeSet<&str> = http.iter().filter_map(|i| i["worker"].as_str()).collect();
    assert_eq!(workers, BTreeSet::from(["a", "b"]));
    let dns = eventually(Duration::from_secs(10), "DNS items from both pods", || {
        let found = items(&cluster, "dns");
        (found.len() >= 2).then_some(found)
    });
    let names: BTreeSet<String> = dns.iter().filter_map(|i| i["request"]["questions"][0]["name"].as_str().map(String::from)).collect();
    assert!(names.contains("web1.shop.test") && names.contains("web2.shop.test"), "{dns:?}");

    // onItemQueried in the hub marks the 404s (and adds a field) in query answers.
    let missing = items(&cluster, "response.status == 404");
    assert_eq!(missing.len(), 2, "{missing:?}");
    for item in &missing {
        assert_eq!((item["failed"].as_bool(), item["note"].as_str()), (Some(true), Some("missing page")), "{item}");
    }
    assert!(items(&cluster, "response.status == 200").iter().all(|i| i["failed"] != true));

    // The console: both pods tick in the same seconds (the hub's cron fires the job on
    // both), the hub ticks too, `twice` ran twice per node, and both hub.action calls
    // reached onHubAction in the hub.
    let lines = console(&cluster, 3);
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
    let jobs = json(&cluster, &["http://192.0.2.10:8899/api/jobs"]);
    let twice = jobs["jobs"].as_array().and_then(|j| j.iter().find(|j| j["tag"] == "twice")).cloned().unwrap_or_default();
    assert_eq!(twice["runs"], serde_json::json!({"hub": 2, "node-1": 2, "node-2": 2}), "{jobs}");
    assert_eq!(api(&cluster, &["-X", "POST", "http://192.0.2.10:8899/api/jobs/nope/run"]).0, 404);

    // PCAP export of the HTTP streams: both pods' files, merged, read by tshark.
    let export = work.path().join("export.pcap");
    let (code, body) = api(&cluster, &["-G", "--data-urlencode", "kfl=http", "-D", "-", "-o", export.to_str().expect("path"), "http://192.0.2.10:8899/api/pcap"]);
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
    let (code, body) = api(&cluster, &["-G", "--data-urlencode", "kfl=response.status == 999", "http://192.0.2.10:8899/api/pcap"]);
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));

    // The same through the CLI: `remora pcap export` and `remora jobs`.
    let remora = remora_binary();
    let cli = |args: &[&str]| {
        let mut full = vec![remora.to_str().expect("path")];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--hub", "http://192.0.2.10:8899", "--token-file", &token_path]);
        let out = cluster.exec(HUB, &full).output().expect("remora");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
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
    write_script(&scripts, "function v2() { console.log('v2 ' + Math.floor(Date.now() / 1000)); }\njobs.schedule('v2', '* * * * * *', v2);\n");
    let edited = Instant::now();
    let lines = eventually(Duration::from_secs(8), "the edited script running in both pods", || {
        let lines = console(&cluster, 1);
        let seen = ticks(&lines, "v2 ");
        (seen.contains_key("shop/a") && seen.contains_key("shop/b")).then_some(lines)
    });
    assert!(edited.elapsed() < Duration::from_secs(6), "took {:?}", edited.elapsed());
    let jobs = json(&cluster, &["http://192.0.2.10:8899/api/jobs"]);
    let tags: Vec<&str> = jobs["jobs"].as_array().into_iter().flatten().filter_map(|j| j["tag"].as_str()).collect();
    assert_eq!(tags, ["v2"], "{jobs}\n{lines:#?}");
    drop(sidecars);
}
