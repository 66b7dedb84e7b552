//! Every example of the public scripting reference, run as written through
//! `remora replay --scripts` on real captures, checked against conformance/cases.json:
//! what it prints, the files it writes, the items it marks, the jobs it runs, and the
//! failures it must report, and what reached the vendors' servers. Snippets that cannot
//! run as written are there twice: the original (whose failure must be reported, with its
//! line) and a minimal repair. The vendor examples talk to real local servers (moto,
//! fakellm) or to receivers of the vendors' APIs (remora_testkit::vendors), named in a
//! case's `env` as `{s3}`, `{openai}`, `{webhook}`, `{slack}`, `{influxdb}`, `{form}`.
//! The helpers scripts call beyond the reference (`extended/`) are checked the same
//! way, plus the metrics the replay's summary ends with (read by a Prometheus
//! text-format parser) and HAR files (validated against the HAR 1.2 schema).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use common::{data_dir, parse_items, repo_root};
use remora_testkit::peers::{FakeLlm, Moto};
use remora_testkit::vendors::{Receiver, Service};

/// The vendor servers the examples reach.
struct Peers {
    moto: Moto,
    openai: FakeLlm,
    receivers: Vec<(&'static str, Receiver)>,
}

/// The bucket the S3 examples upload to.
const BUCKET: &str = "conformance";

impl Peers {
    fn start() -> Peers {
        let moto = Moto::start();
        moto.create_bucket(BUCKET);
        let openai = FakeLlm::start(&repo_root().join("conformance/fakellm.yaml"));
        let receivers = vec![
            ("webhook", Receiver::start(Service::Webhook)),
            ("form", Receiver::start(Service::Form)),
            ("slack", Receiver::start(Service::Slack { token: "xoxb-conformance".into(), channel: "C0CONFORMANCE".into() })),
            ("influxdb", Receiver::start(Service::InfluxDb { token: "conformance-token".into(), org: "acme".into(), buckets: vec!["network".into()] })),
        ];
        Peers { moto, openai, receivers }
    }

    /// `{s3}` and the like replaced by the servers' URLs.
    fn fill(&self, value: &str) -> String {
        let conformance = repo_root().join("conformance");
        let mut value = value.replace("{s3}", &self.moto.endpoint).replace("{openai}", &self.openai.base_url).replace("{conformance}", &conformance.display().to_string());
        for (name, receiver) in &self.receivers {
            value = value.replace(&format!("{{{name}}}"), &receiver.url);
        }
        value
    }

    /// Requests each receiver has had.
    fn counts(&self) -> BTreeMap<String, u64> {
        self.receivers.iter().map(|(name, r)| (name.to_string(), r.requests().len() as u64)).collect()
    }
}

/// What one run showed.
struct Run {
    /// Lines the script printed (without the `[script.js] ` prefix), failure reports aside.
    console: Vec<String>,
    /// Failure reports.
    failures: Vec<String>,
    summary: BTreeMap<&'static str, u64>,
    items: Vec<Value>,
    /// What each vendor server received during the run.
    sent: BTreeMap<String, u64>,
    /// Objects in the bucket after the run (it starts empty, or with the case's
    /// `s3_seed` keys).
    s3_objects: u64,
    /// The scripts' metrics at the end of the summary, as a Prometheus parser reads them.
    metrics: prometheus_parse::Scrape,
}

fn run_case(case: &Value, data: &Path, peers: &Peers) -> Run {
    let conformance = repo_root().join("conformance");
    let script = conformance.join(case["script"].as_str().expect("script"));
    let name = script.file_name().and_then(|n| n.to_str()).expect("name").to_string();
    let capture = match case["capture"].as_str() {
        Some("dns") => data_dir().join("dns__zeek__long-connection.pcap"),
        Some("http500") => conformance.join("captures/http-500.pcap"),
        Some("http") => data_dir().join("http1__zeek__pipelined-requests.pcap"),
        other => panic!("{name}: unknown capture {other:?}"),
    };
    let mut args: Vec<String> = vec!["replay".into(), "--output".into(), "json".into()];
    // Scripts loaded before the example (conformance/companions/): the state it acts on.
    for before in case["before"].as_array().into_iter().flatten() {
        args.extend(["--scripts".into(), conformance.join(before.as_str().expect("before")).display().to_string()]);
    }
    args.extend(["--scripts".into(), script.display().to_string(), "--data-dir".into(), data.display().to_string()]);
    if let Some(config) = case["config"].as_str() {
        args.extend(["--config".into(), conformance.join(config).display().to_string()]);
    }
    for (key, value) in case["env"].as_object().into_iter().flatten() {
        args.extend(["--env".into(), format!("{key}={}", peers.fill(value.as_str().unwrap_or("")))]);
    }
    for extra in case["args"].as_array().into_iter().flatten() {
        args.push(extra.as_str().expect("arg").to_string());
    }
    args.push(capture.display().to_string());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_remora"));
    command.args(&args);
    // Never the machine's AWS credentials or an instance metadata service.
    command.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_PROFILE");
    command.env("AWS_EC2_METADATA_DISABLED", "true").env("AWS_CONFIG_FILE", "/dev/null").env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for (key, value) in case["process_env"].as_object().into_iter().flatten() {
        command.env(key, peers.fill(value.as_str().unwrap_or("")));
    }
    peers.moto.empty(BUCKET);
    for key in case["s3_seed"].as_array().into_iter().flatten() {
        // `{node}`: this node's folder prefix offline (`<host name>_127.0.0.1`).
        peers.moto.put_object(BUCKET, &key.as_str().expect("key").replace("{node}", &format!("{}_127.0.0.1", hostname())), b"seeded by the case");
    }
    let before = peers.counts();
    let out = command.output().expect("remora runs");
    let sent = peers.counts().into_iter().map(|(name, after)| (name.clone(), after - before.get(&name).copied().unwrap_or(0))).collect();
    assert!(out.status.success(), "{name}: replay failed: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let prefix = format!("[{name}] ");
    let mut console = Vec::new();
    let mut failures = Vec::new();
    for line in stderr.lines() {
        if let Some(text) = line.strip_prefix(&prefix) {
            if text.contains("(reported once; later repeats are counted)") {
                failures.push(text.to_string());
            } else {
                console.push(text.to_string());
            }
        }
    }
    let scripts_line = stderr.lines().find(|l| l.starts_with("scripts: ")).unwrap_or_else(|| panic!("{name}: no scripts summary in\n{stderr}"));
    let numbers: Vec<u64> = scripts_line.split([' ', ',', '(']).filter_map(|w| w.parse().ok()).collect();
    let summary = BTreeMap::from([("loaded", numbers[0]), ("hook_calls", numbers[1]), ("job_runs", numbers[2])]);
    let s3_objects = peers.moto.keys(BUCKET).len() as u64;
    let metrics_text: Vec<String> = stderr.lines().skip_while(|l| *l != remora::summary::METRICS_HEADING).skip(1).map(str::to_string).collect();
    let metrics = prometheus_parse::Scrape::parse(metrics_text.into_iter().map(Ok)).expect("the summary's metrics are Prometheus text");
    Run { console, failures, summary, items: parse_items(&out.stdout), sent, s3_objects, metrics }
}

fn check(case: &Value, run: &Run, data: &Path) -> Vec<String> {
    let expect = &case["expect"];
    let mut problems = Vec::new();
    for key in ["loaded", "hook_calls", "job_runs"] {
        if let Some(want) = expect[key].as_u64() {
            if run.summary[key] != want {
                problems.push(format!("{key}: {} (want {want})", run.summary[key]));
            }
        }
    }
    if let Some(want) = expect["console"].as_array() {
        let want: Vec<String> = want.iter().filter_map(Value::as_str).map(|w| w.replace("{hostname}", &hostname())).collect();
        if run.console != want {
            problems.push(format!("console: {:?} (want {want:?})", run.console));
        }
    }
    for (prefix, count) in expect["console_count"].as_object().into_iter().flatten() {
        let seen = run.console.iter().filter(|l| l.contains(prefix.as_str())).count() as u64;
        if Some(seen) != count.as_u64() {
            problems.push(format!("console lines containing {prefix:?}: {seen} (want {count})"));
        }
    }
    let want_failures: Vec<&str> = expect["failures"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let all_found = want_failures.iter().all(|w| run.failures.iter().any(|f| f.contains(w)));
    let expected_count = usize::from(!want_failures.is_empty());
    if !all_found || run.failures.len() != expected_count {
        problems.push(format!("failures: {:?} (want one matching all of {want_failures:?}, or none)", run.failures));
    }
    for (key, field) in [("passed", "passed"), ("failed", "failed")] {
        if let Some(want) = expect[key].as_u64() {
            let seen = run.items.iter().filter(|i| i[field] == true).count() as u64;
            if seen != want {
                problems.push(format!("{key} items: {seen} (want {want})"));
            }
        }
    }
    for (peer, want) in expect["requests"].as_object().into_iter().flatten() {
        let seen = run.sent.get(peer).copied().unwrap_or(0);
        if Some(seen) != want.as_u64() {
            problems.push(format!("requests to {peer}: {seen} (want {want})"));
        }
    }
    if let Some(want) = expect["s3_objects"].as_u64() {
        if run.s3_objects != want {
            problems.push(format!("S3 objects after the run: {} (want {want})", run.s3_objects));
        }
    }
    for (path, content) in expect["files"].as_object().into_iter().flatten() {
        match std::fs::read_to_string(data.join(path)) {
            Ok(text) if Some(text.as_str()) == content.as_str() => {}
            other => problems.push(format!("file {path}: {other:?} (want {content})")),
        }
    }
    for path in expect["absent"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if data.join(path).exists() {
            problems.push(format!("{path} should not exist"));
        }
    }
    for (sample, want) in expect["metrics"].as_object().into_iter().flatten() {
        let seen = metric_value(&run.metrics, sample);
        if seen != want.as_f64() {
            problems.push(format!("metric {sample}: {seen:?} (want {want}); parsed {:?}", run.metrics.samples));
        }
    }
    for (name, help) in expect["metrics_help"].as_object().into_iter().flatten() {
        if run.metrics.docs.get(name).map(String::as_str) != help.as_str() {
            problems.push(format!("HELP of {name}: {:?} (want {help})", run.metrics.docs.get(name)));
        }
    }
    if let Some(path) = expect["valid_har"].as_str() {
        problems.extend(har_problems(&data.join(path)));
    }
    let present = files_under(data);
    for pattern in expect["file_patterns"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let regex = regex::Regex::new(pattern).expect("pattern");
        if !present.iter().any(|p| regex.is_match(p)) {
            problems.push(format!("no file matches {pattern} among {present:?}"));
        }
    }
    problems
}

/// The value of `name{k="v",...}` (labels in any order) among the parsed samples.
fn metric_value(scrape: &prometheus_parse::Scrape, sample: &str) -> Option<f64> {
    let (name, labels) = sample.split_once('{').map_or((sample, ""), |(n, l)| (n, l.trim_end_matches('}')));
    let want: BTreeMap<String, String> = labels.split(',').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string())).collect();
    scrape.samples.iter().find(|s| s.metric == name && s.labels.len() == want.len() && want.iter().all(|(k, v)| s.labels.get(k) == Some(v.as_str()))).map(|s| match s.value {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
        _ => f64::NAN,
    })
}

/// Why the file is not a valid HAR 1.2 document (nothing when it is).
fn har_problems(path: &Path) -> Vec<String> {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join("schema/har/har-1.2.schema.json")).expect("HAR schema")).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("HAR schema compiles");
    match std::fs::read_to_string(path).map(|t| serde_json::from_str::<Value>(&t)) {
        Ok(Ok(har)) => validator.iter_errors(&har).map(|e| format!("{}: {e} at {}", path.display(), e.instance_path())).collect(),
        other => vec![format!("{}: not a JSON file: {other:?}", path.display())],
    }
}

/// The host's name, as `utils.nodeName()` gives it offline.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Paths under `dir`, relative and with `/`, the per-stream PCAPs left out.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(dir).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
            if rel == "pcaps" {
                continue;
            }
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(rel);
        }
    }
    out
}

#[test]
fn every_reference_example_runs_as_documented() {
    let text = std::fs::read_to_string(repo_root().join("conformance/cases.json")).expect("cases.json");
    let cases: Value = serde_json::from_str(&text).expect("cases.json is JSON");
    let cases = cases["cases"].as_array().expect("cases");
    let mut scripts_on_disk: Vec<String> = ["scripts", "repaired", "extended"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo_root().join("conformance").join(d)).expect("folder").flatten().map(move |e| format!("{d}/{}", e.file_name().to_string_lossy())))
        .collect();
    scripts_on_disk.sort();
    let mut listed: Vec<String> = cases.iter().filter_map(|c| c["script"].as_str().map(str::to_string)).collect();
    listed.sort();
    assert_eq!(listed, scripts_on_disk, "every script in conformance/ has exactly one case");
    assert!(cases.len() >= 60, "the reference has about 40 snippets plus repairs");

    let peers = Peers::start();
    let mut report = Vec::new();
    for case in cases {
        let data = tempfile::tempdir().expect("temp dir");
        let run = run_case(case, data.path(), &peers);
        for problem in check(case, &run, data.path()) {
            report.push(format!("{}: {problem}", case["script"].as_str().unwrap_or("?")));
        }
    }
    assert!(report.is_empty(), "conformance differences:\n{}", report.join("\n"));
}
