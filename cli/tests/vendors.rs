//! The vendor helpers end to end: `remora replay --scripts` on real captures, each helper
//! talking to a real local server of its API (moto for S3 and Kinesis,
//! gcp-storage-emulator for GCS, fakellm for OpenAI's) or, where none installs here, to a
//! receiver that checks requests against the published API and answers as the service
//! does (remora_testkit::vendors). What arrives is read back and compared byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use remora_testkit::peers::{FakeLlm, GcsEmulator, Moto, Silent};
use remora_testkit::vendors::{parse_line, ElasticAuth, FieldValue, Receiver, Service};
use serde_json::Value;

use common::{data_dir, repo_root};

const HTTP: &str = "http1__zeek__pipelined-requests.pcap";
const DNS: &str = "dns__zeek__long-connection.pcap";

/// Runs `script` over `capture` with `env` (as `--env`) and extra process environment.
fn replay(script: &str, capture: &str, env: &[(&str, String)], process_env: &[(&str, &str)], extra: &[&str]) -> (Output, tempfile::TempDir) {
    let scripts = tempfile::tempdir().expect("temp dir");
    std::fs::write(scripts.path().join("vendor.js"), script).expect("script");
    let data = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_remora"));
    command.args(["replay", "-o", "none", "--scripts"]).arg(scripts.path()).arg("--data-dir").arg(data.path());
    for (key, value) in env {
        command.arg("--env").arg(format!("{key}={value}"));
    }
    command.args(extra).arg(data_dir().join(capture));
    // Never the machine's credentials or an instance metadata service.
    command.env_remove("AWS_PROFILE").env("AWS_EC2_METADATA_DISABLED", "true").env("AWS_CONFIG_FILE", "/dev/null").env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for (key, value) in process_env {
        command.env(key, value);
    }
    let out = command.output().expect("remora runs");
    (out, data)
}

fn lines(out: &Output) -> Vec<String> {
    let prefix = "[vendor.js] ";
    String::from_utf8_lossy(&out.stderr).lines().filter_map(|l| l.strip_prefix(prefix)).map(str::to_string).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname").trim().to_string()
}

/// `<host>_127.0.0.1_<run id>/<file>`: a replay runs as the local node.
fn assert_run_key(key: &str, file: &str) {
    let pattern = format!(r"^{}_127\.0\.0\.1_\d{{10}}/{}$", regex::escape(&host_name()), regex::escape(file));
    assert!(regex::Regex::new(&pattern).expect("regex").is_match(key), "{key} is not {pattern}");
}

#[test]
fn webhook_and_slack_reach_their_apis_and_say_why_when_refused() {
    let hook = Receiver::start(Service::Webhook);
    let slack = Receiver::start(Service::Slack { token: "xoxb-good-token".into(), channel: "C0ALERTS".into() });
    let script = r##"
var n = 0;
function onItemCaptured(data) {
  n++;
  var answer = vendor.webhook("POST", env.HOOK + "/items?n=" + n, JSON.stringify({ path: data.request.path }), { "content-type": "application/json", "X-Api-Key": "hook-secret-1" });
  console.log("webhook", answer);
  if (n === 1) {
    vendor.slack(env.SLACK + "/services/T0001/B0001/webhooksecret", "Server-side Error", "GET " + data.request.path, "#ff0000");
    var files = {};
    var dataPath = file.temp("data", "", "json");
    file.write(dataPath, JSON.stringify({ path: data.request.path }));
    files["data.json"] = dataPath;
    vendor.slackBot(env.SLACK_TOKEN, "C0ALERTS", "Pretext", "Text", "#ff0000", { "HTTP path": data.request.path }, files);
    try { vendor.slackBot("xoxb-wrong-token", "C0ALERTS", "p", "t", "#000"); } catch (e) { console.log(e.message); }
    try { vendor.slack(env.SLACK + "/services/T0001/nope", "p", "t", "#000"); } catch (e) { console.log(e.message); }
    try { vendor.webhook("POST", env.HOOK + "/fail", "x", {}); } catch (e) { console.log(e.message); }
    try { vendor.webhook("GET", "ftp://example.org/", "", {}); } catch (e) { console.log(e.message); }
    try { vendor.slackBot(env.SLACK_TOKEN, "C0ALERTS", "p", "t", "#000", {}, { "secret": "/etc/passwd" }); } catch (e) { console.log(e.message); }
  }
}"##;
    let env = [("HOOK", hook.url.clone()), ("SLACK", slack.url.clone()), ("SLACK_TOKEN", "xoxb-good-token".into()), ("SLACK_API_URL", format!("{}/api", slack.url))];
    let (out, data) = replay(script, HTTP, &env, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    assert_eq!(printed.iter().filter(|l| l.starts_with("webhook {\"received\":")).count(), 5, "{printed:?}");
    let server = slack.url.trim_start_matches("http://");
    let hook_server = hook.url.trim_start_matches("http://");
    for expected in [
        "vendor.slackBot: chat.postMessage refused: invalid_auth".to_string(),
        format!("vendor.slack: HTTP 404 from {server}: no_service"),
        format!("vendor.webhook: HTTP 500 from {hook_server}: boom"),
        "vendor.webhook: argument 2 (url) must be http or https, not ftp".to_string(),
        "vendor.slackBot: file \"secret\": \"/etc/passwd\" is neither in the data directory nor a per-stream PCAP; only those files can be sent".to_string(),
    ] {
        assert!(printed.contains(&expected), "missing {expected:?} in {printed:?}");
    }
    let all = stderr(&out);
    for secret in ["xoxb-wrong-token", "xoxb-good-token", "webhooksecret", "hook-secret-1"] {
        assert!(!all.contains(secret), "{secret} leaked into the output:\n{all}");
    }

    // The webhook: five POSTs, each the script's body and headers.
    let hooks: Vec<_> = hook.requests().into_iter().filter(|r| r.path() == "/items").collect();
    assert_eq!(hooks.len(), 5);
    assert_eq!(hooks[0].target, "/items?n=1");
    assert_eq!(hooks[0].json(), serde_json::json!({ "path": "/style/enhanced.css" }), "{}", hooks[0].text());
    assert_eq!(hooks[0].header("x-api-key"), Some("hook-secret-1"));
    assert_eq!(hooks[0].header("content-type"), Some("application/json"));

    // Slack: the webhook's attachment, then the bot's message, upload and completion.
    let requests = slack.requests();
    let webhook = requests.iter().find(|r| r.path() == "/services/T0001/B0001/webhooksecret").expect("webhook call");
    assert_eq!(webhook.json(), serde_json::json!({ "attachments": [{ "pretext": "Server-side Error", "text": "GET /style/enhanced.css", "color": "#ff0000" }] }));
    let posts: Vec<_> = requests.iter().filter(|r| r.path() == "/api/chat.postMessage").collect();
    assert_eq!(posts.len(), 2, "the good call and the wrong token");
    let message = posts[0].json();
    assert_eq!(posts[0].header("authorization"), Some("Bearer xoxb-good-token"));
    assert_eq!(message["channel"], "C0ALERTS");
    let fields = message["attachments"][0]["fields"].as_array().expect("fields");
    assert_eq!(fields[0], serde_json::json!({ "title": "HTTP path", "value": "/style/enhanced.css", "short": true }));
    assert_eq!(fields[1]["title"], "Timestamp");
    // The capture's own time (2009-11-18): replay runs on capture time.
    assert!(fields[1]["value"].as_str().is_some_and(|t| t.starts_with("20") && t.ends_with('Z')), "{}", fields[1]);
    let ask = requests.iter().find(|r| r.path() == "/api/files.getUploadURLExternal").expect("upload URL asked");
    assert_eq!(ask.form("filename").as_deref(), Some("data.json"));
    let upload = requests.iter().find(|r| r.path().starts_with("/upload/")).expect("file uploaded");
    assert_eq!(upload.text(), "{\"path\":\"/style/enhanced.css\"}");
    assert_eq!(ask.form("length"), Some(upload.body.len().to_string()));
    let complete = requests.iter().find(|r| r.path() == "/api/files.completeUploadExternal").expect("upload completed");
    let complete = complete.json();
    assert_eq!(complete["channel_id"], "C0ALERTS");
    assert_eq!(complete["files"][0]["title"], "data.json");
    assert_eq!(complete["thread_ts"], "1700000000.000002", "the files go into the message's thread");
    drop(data);
}

#[test]
fn influxdb_points_and_elastic_documents_with_each_way_of_authenticating() {
    let influx = Receiver::start(Service::InfluxDb { token: "influx-token".into(), org: "acme".into(), buckets: vec!["net".into()] });
    let basic = Receiver::start(Service::Elastic { auth: ElasticAuth::Basic { user: "elastic".into(), password: "changeme-pw".into() } });
    let api_key = Receiver::start(Service::Elastic { auth: ElasticAuth::ApiKey("a2V5OnNlY3JldA==".into()) });
    let service = Receiver::start(Service::Elastic { auth: ElasticAuth::ServiceToken("AAEAAWVsYXN0aWM".into()) });
    let certs = tempfile::tempdir().expect("temp dir");
    let fingerprint = self_signed(certs.path());
    let pinned = Receiver::start_tls(Service::Elastic { auth: ElasticAuth::ApiKey("a2V5OnNlY3JldA==".into()) }, certs.path());
    let script = r##"
var n = 0;
function onItemCaptured(data) {
  n++;
  if (n > 1) return;
  vendor.influxdb(env.INFLUX, "influx-token", "acme", "net", "Example Measurement", { status: data.response.status, path: data.request.path, ok: true }, { "example": "tag", "pod": "web 1" });
  try { vendor.influxdb(env.INFLUX, "influx-token", "acme", "missing", "m", { a: 1 }); } catch (e) { console.log(e.message); }
  try { vendor.influxdb(env.INFLUX, "bad-token", "acme", "net", "m", { a: 1 }); } catch (e) { console.log(e.message); }
  console.log(JSON.parse(vendor.elastic(env.BASIC, "remora", { path: data.request.path }, "elastic", "changeme-pw")).result);
  console.log(JSON.parse(vendor.elastic(env.APIKEY, "remora", { n: 1 }, "", "", "", "a2V5OnNlY3JldA==")).result);
  console.log(JSON.parse(vendor.elastic(env.SERVICE, "remora", { n: 2 }, "", "", "", "", "AAEAAWVsYXN0aWM")).result);
  console.log(JSON.parse(vendor.elastic(env.PINNED, "remora", { n: 3 }, "", "", "", "a2V5OnNlY3JldA==", "", env.FINGERPRINT)).result);
  // A fingerprint one byte off the right one (each run's certificate is new: its first byte may be 00).
  var wrong = (env.FINGERPRINT.substring(0, 2) === "00" ? "ff" : "00") + env.FINGERPRINT.substring(2);
  try { vendor.elastic(env.PINNED, "remora", { n: 4 }, "", "", "", "a2V5OnNlY3JldA==", "", wrong); } catch (e) { console.log(e.message); }
  try { vendor.elastic(env.PINNED, "remora", { n: 5 }, "", "", "", "a2V5OnNlY3JldA=="); } catch (e) { console.log(e.message.indexOf("vendor.elastic: cannot connect to") === 0); }
  try { vendor.elastic(env.BASIC, "remora", { n: 6 }, "elastic", "wrong-pw"); } catch (e) { console.log(e.message); }
}"##;
    let env = [
        ("INFLUX", influx.url.clone()),
        ("BASIC", basic.url.clone()),
        ("APIKEY", api_key.url.clone()),
        ("SERVICE", service.url.clone()),
        ("PINNED", pinned.url.clone()),
        ("FINGERPRINT", fingerprint.clone()),
    ];
    let (out, _data) = replay(script, HTTP, &env, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    let influx_server = influx.url.trim_start_matches("http://");
    let basic_server = basic.url.trim_start_matches("http://");
    assert_eq!(
        printed,
        [
            format!("vendor.influxdb: HTTP 404 from {influx_server}: {{\"code\":\"not found\",\"message\":\"bucket \\\"missing\\\" not found\"}}"),
            format!("vendor.influxdb: HTTP 401 from {influx_server}: {{\"code\":\"unauthorized\",\"message\":\"unauthorized access\"}}"),
            "created".into(),
            "created".into(),
            "created".into(),
            "created".into(),
            format!("vendor.elastic: cannot connect to {}: no certificate of the server matches the given fingerprint", pinned.url.trim_start_matches("https://")),
            "true".into(),
            format!("vendor.elastic: HTTP 401 from {basic_server}: {{\"error\":{{\"reason\":\"unable to authenticate with provided credentials\",\"root_cause\":[{{\"reason\":\"unable to authenticate with provided credentials\",\"type\":\"security_exception\"}}],\"type\":\"security_exception\"}},\"status\":401}}"),
        ],
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("wrong-pw") && !stderr(&out).contains("bad-token"));

    let writes: Vec<_> = influx.requests().into_iter().filter(|r| r.header("authorization") == Some("Token influx-token") && r.query("bucket").as_deref() == Some("net")).collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].query("org").as_deref(), Some("acme"));
    assert_eq!(writes[0].query("precision").as_deref(), Some("ns"));
    assert_eq!(writes[0].header("content-type"), Some("text/plain; charset=utf-8"));
    let point = parse_line(&writes[0].text()).expect("line protocol");
    assert_eq!(point.measurement, "Example Measurement");
    assert_eq!(point.tags, [("example".to_string(), "tag".to_string()), ("pod".to_string(), "web 1".to_string())]);
    assert_eq!(point.fields, [("ok".to_string(), FieldValue::Bool(true)), ("path".to_string(), FieldValue::String("/style/enhanced.css".into())), ("status".to_string(), FieldValue::Float(200.0))]);
    // Capture time of the first item's request, in ns (2009).
    let ts = point.timestamp.expect("timestamp");
    assert!((1_258_000_000_000_000_000..1_259_000_000_000_000_000).contains(&ts), "{ts}");

    let doc = &basic.requests()[0];
    assert_eq!(doc.method, "POST");
    assert_eq!(doc.path(), "/remora/_doc");
    assert_eq!(doc.json(), serde_json::json!({ "path": "/style/enhanced.css" }));
    assert_eq!(api_key.requests()[0].header("authorization"), Some("ApiKey a2V5OnNlY3JldA=="));
    assert_eq!(service.requests()[0].header("authorization"), Some("Bearer AAEAAWVsYXN0aWM"));
    assert_eq!(pinned.requests().len(), 1, "only the pinned call got through TLS");
}

/// A self-signed certificate for 127.0.0.1 in `dir` (tls.crt, tls.key); returns its
/// SHA-256 fingerprint as colon-separated hex, as Elasticsearch prints it.
fn self_signed(dir: &Path) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    std::fs::write(dir.join("tls.crt"), cert.pem()).expect("tls.crt");
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).expect("tls.key");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.der());
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The scripts' env for S3 on moto: bucket, region, keys, and the endpoint under `endpoint_key`.
fn aws_env(bucket: &str, endpoint_key: &'static str, moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("S3_BUCKET", bucket.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIAREMORATEST".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "remora-secret-key".to_string()),
        (endpoint_key, moto.endpoint.clone()),
    ]
}

#[test]
fn s3_and_kinesis_on_moto_hold_exactly_what_was_sent() {
    let moto = Moto::start();
    moto.create_bucket("captures");
    moto.create_stream("items");
    let script = r##"
var n = 0;
function onItemCaptured(data) {
  n++;
  if (n === 1) {
    var note = file.temp("note", "", "json");
    file.write(note, JSON.stringify({ stream: data.stream }));
    console.log("put", vendor.s3.put(env.S3_BUCKET, note, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY));
    console.log("irsa", vendor.s3.put(env.S3_BUCKET, note, env.AWS_REGION) !== "");
    // The older order published scripts use: region, keyID, accessKey, bucket, path.
    console.log("older", vendor.s3.put(env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.S3_BUCKET, note));
    console.log("kinesis", JSON.parse(vendor.kinesis.put("items", { path: data.request.path }, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY)).sequenceNumber !== undefined);
    vendor.kinesis.put("items", "plain text", env.AWS_REGION, "", "", "key-1");
    try { vendor.s3.put("no-such-bucket", note, env.AWS_REGION, "k", "s"); } catch (e) { console.log(e.message.indexOf("vendor.s3.put: upload to no-such-bucket/") === 0, e.message.indexOf("NoSuchBucket") > 0); }
    try { vendor.s3.put(env.S3_BUCKET, note, env.AWS_REGION, "only-the-id"); } catch (e) { console.log(e.message); }
  }
  if (n === 5) {
    console.log("stream", vendor.s3.put(env.S3_BUCKET, pcap.path(data.stream), env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY));
  }
}"##;
    let env = aws_env("captures", "AWS_ENDPOINT_URL", &moto);
    // The three-argument form finds its keys through the default chain: here the
    // process's environment, as IRSA's are on EKS.
    let (out, data) = replay(script, HTTP, &env, &[("AWS_ACCESS_KEY_ID", "AKIACHAIN"), ("AWS_SECRET_ACCESS_KEY", "chain-secret")], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    assert!(printed.contains(&"irsa true".to_string()) && printed.contains(&"kinesis true".to_string()), "{printed:?}");
    assert!(printed.contains(&"true true".to_string()), "a missing bucket is named with S3's reason: {printed:?}");
    assert!(printed.contains(&"vendor.s3.put: give both keyID and accessKey, or neither (the default credential chain)".to_string()), "{printed:?}");
    assert!(!stderr(&out).contains("remora-secret-key") && !stderr(&out).contains("chain-secret"));

    let keys = moto.keys("captures");
    assert_eq!(keys.len(), 2, "the note (twice, same key) and the stream: {keys:?}");
    let note_key = keys.iter().find(|k| k.ends_with(".json")).expect("note");
    let note_name = note_key.rsplit('/').next().expect("name");
    assert_run_key(note_key, note_name);
    let location = printed.iter().find_map(|l| l.strip_prefix("put ")).expect("location");
    assert_eq!(location, format!("{}/captures/{note_key}", moto.endpoint));
    assert_eq!(printed.iter().find_map(|l| l.strip_prefix("older ")), Some(location), "the older argument order uploads the same object: {printed:?}");
    let local_note = std::fs::read(data.path().join(note_name)).expect("the note stays in the data directory");
    assert_eq!(moto.object("captures", note_key).expect("note object"), local_note, "byte for byte");
    let stream_key = keys.iter().find(|k| k.ends_with(".pcap")).expect("stream PCAP");
    let stream_name = stream_key.rsplit('/').next().expect("name");
    let uploaded = moto.object("captures", stream_key).expect("stream object");
    let on_disk = std::fs::read(data.path().join("pcaps").join(stream_name)).expect("stream file");
    assert!(uploaded.len() > 24 && on_disk.starts_with(&uploaded), "the stream as it was at the fifth item is a prefix of the final file");

    let records = moto.records("items");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0], (host_name(), b"{\"path\":\"/style/enhanced.css\"}".to_vec()), "the node's name is the default partition key");
    assert_eq!(records[1], ("key-1".to_string(), b"plain text".to_vec()));

    // clear: every object of this node goes, whatever the run; others stay.
    let clear = "var n = 0; function onItemCaptured(data) { if (++n === 1) console.log('cleared', vendor.s3.clear(env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.S3_BUCKET)); }";
    let other = tempfile::NamedTempFile::new().expect("temp");
    let put_other = Command::new("curl")
        .args(["-s", "-X", "PUT", "-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKIATEST/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0", "--data-binary"])
        .arg(format!("@{}", other.path().display()))
        .arg(format!("{}/captures/other-node_10.0.0.9_1/x.pcap", moto.endpoint))
        .status()
        .expect("curl");
    assert!(put_other.success());
    let (out, _data) = replay(clear, HTTP, &env, &[], &[]);
    assert!(lines(&out).contains(&"cleared 2".to_string()), "{}", stderr(&out));
    assert_eq!(moto.keys("captures"), ["other-node_10.0.0.9_1/x.pcap"]);
}

#[test]
fn gcs_uploads_with_a_service_account_token_and_clears() {
    let gcs = GcsEmulator::start("pcaps");
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("RSA key");
    let tokens = Receiver::start(Service::GoogleToken { public_key_pem: key.public_key_pem() });
    let token_uri = format!("{}/token", tokens.url);
    let sa = serde_json::json!({
        "type": "service_account", "project_id": "remora-test", "private_key_id": "k1",
        "private_key": key.serialize_pem(), "client_email": "remora@remora-test.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    let script = r##"
var n = 0;
function onItemCaptured(data) {
  if (++n !== 1) return;
  var note = file.temp("note", "", "txt");
  file.write(note, "hello from " + data.request.path);
  console.log("put", vendor.gcs.put("pcaps", note, JSON.parse(env.GCS_SA_KEY_JSON)));
  console.log("put", vendor.gcs.put("pcaps", pcap.path(data.stream), env.GCS_SA_KEY_JSON));
  try { vendor.gcs.put("pcaps", note, { client_email: "x@y", private_key: "not a key" }); } catch (e) { console.log(e.message); }
}"##;
    let env = [("GCS_SA_KEY_JSON", sa.to_string()), ("STORAGE_EMULATOR_HOST", gcs.endpoint.clone())];
    let (out, data) = replay(script, HTTP, &env, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    assert!(printed.iter().any(|l| l.starts_with("vendor.gcs.put: the key's private_key is not an RSA key in PEM")), "{printed:?}");
    assert!(!stderr(&out).contains("PRIVATE KEY"), "the key never shows");
    let token_calls = tokens.requests();
    assert_eq!(token_calls.len(), 1, "one token, kept for the second upload");
    let names = gcs.names("pcaps");
    assert_eq!(names.len(), 2, "{names:?}");
    let note_name = names.iter().find(|n| n.ends_with(".txt")).expect("note");
    assert_run_key(note_name, note_name.rsplit('/').next().expect("base"));
    assert_eq!(gcs.object("pcaps", note_name).expect("object"), b"hello from /style/enhanced.css");
    assert!(printed.contains(&format!("put {}/pcaps/{note_name}", gcs.endpoint)), "{printed:?}");
    drop(data);

    let clear = "var n = 0; function onItemCaptured(data) { if (++n === 1) console.log('cleared', vendor.gcs.clear('pcaps', JSON.parse(env.GCS_SA_KEY_JSON))); }";
    let (out, _data) = replay(clear, HTTP, &env, &[], &[]);
    assert!(lines(&out).contains(&"cleared 2".to_string()), "{}", stderr(&out));
    assert!(gcs.names("pcaps").is_empty());
}

#[test]
fn chatgpt_prompt_on_an_openai_compatible_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("fakellm.yaml");
    std::fs::write(
        &rules,
        "version: 1\ndefaults:\n  fallback: deterministic_echo\nrules:\n  - name: failed\n    when:\n      messages_contain: \"Did the HTTP request failed\"\n    respond:\n      content: \"Yes, this is great evidence the request failed, good catch!\"\n  - name: limited\n    when:\n      messages_contain: \"rate limit me\"\n    respond:\n      status: 429\n      error: \"Rate limit exceeded (mock)\"\n",
    )
    .expect("rules");
    let llm = FakeLlm::start(&rules);
    let script = repo_root().join("conformance/scripts/helpers-39-chatgpt.js");
    let mut source = std::fs::read_to_string(script).expect("reference example");
    source.push_str("\ntry { chatgpt.prompt(env.OPENAI_API_KEY, 'rate limit me'); } catch (e) { console.log(e.message.indexOf('chatgpt.prompt: HTTP 429 from') === 0); }\ntry { chatgpt.prompt(env.OPENAI_API_KEY, 'x', 0.5); } catch (e) { console.log(e.message); }\n");
    let env = [("OPENAI_API_KEY", "sk-remora-test".to_string()), ("OPENAI_BASE_URL", llm.base_url.clone())];
    let (out, _data) = replay(&source, HTTP, &env, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    assert_eq!(printed.iter().filter(|l| l.as_str() == "ChatGPT: Yes, this is great evidence the request failed, good catch!").count(), 5, "{printed:?}");
    assert_eq!(printed.iter().filter(|l| l.starts_with("ALERT! ChatGPT is detected a failed HTTP request:")).count(), 5, "the answer scores positive: {printed:?}");
    assert!(printed.contains(&"true".to_string()), "{printed:?}");
    assert!(printed.contains(&"chatgpt.prompt: maxTokens must be a whole number of at least 1, not 0.5".to_string()), "{printed:?}");
    assert!(!stderr(&out).contains("sk-remora-test"));
    let stats = llm.stats();
    // Five prompts (one per item), the rate-limited one once (a 429 is not retried), and
    // none for the refused maxTokens.
    assert_eq!(stats["total_requests"], 6, "{stats}");
    assert_eq!(stats["by_rule"], serde_json::json!({"failed": 5, "limited": 1}), "{stats}");
}

#[test]
fn a_server_that_never_answers_costs_the_network_budget_not_the_run() {
    let silent = Silent::start();
    let script = r##"
var n = 0;
function onItemCaptured(data) {
  n++;
  try { vendor.webhook("POST", env.HANG, "x", {}); } catch (e) { console.log(n, e.message); }
  try { vendor.webhook("POST", env.HANG, "y", {}); } catch (e) { console.log(n, e.message); }
}"##;
    let (out, _data) = replay(script, HTTP, &[("HANG", silent.url.clone())], &[], &["--script-network-budget-ms", "300", "--script-budget-ms", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = lines(&out);
    let server = silent.url.trim_start_matches("http://");
    assert_eq!(printed.len(), 10, "two failures per item, every item: {printed:?}");
    for n in 1..=5 {
        assert!(printed.contains(&format!("{n} vendor.webhook: no answer from {server} within 0.3 s")), "{printed:?}");
        assert!(printed.contains(&format!("{n} vendor.webhook: this call's network budget (0.3 s) is spent; the request was not sent")), "{printed:?}");
    }
    assert!(!stderr(&out).contains("time budget"), "waiting is not running: no hook was stopped\n{}", stderr(&out));
    assert!(stderr(&out).contains("scripts: 1 loaded, 5 hook calls"), "{}", stderr(&out));
}

#[test]
fn kfl_pcap_s3_ships_repositories_with_their_content_and_progress_log() {
    let moto = Moto::start();
    moto.create_bucket("repos");
    let slack = Receiver::start(Service::Slack { token: "xoxb-t".into(), channel: "C1".into() });
    let script = r##"
function onItemCaptured(data) {
  wrapper.kflPcapS3(data, {
    kflArr: ["http and response.status == 500", "dns"],
    maxL4Streams: 2,
    verbose: true,
    slackWebhook: env.SLACK + "/services/T1/B1/x",
    slackAuthToken: "xoxb-t",
    slackChannelId: "C1",
  });
}"##;
    let mut env = aws_env("repos", "AWS_ENDPOINT_URL_S3", &moto);
    env.extend([("SLACK", slack.url.clone()), ("SLACK_API_URL", format!("{}/api", slack.url))]);
    let (out, data) = replay(script, DNS, &env, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("failed at"), "{}", stderr(&out));
    let keys = moto.keys("repos");
    let tarballs: Vec<&String> = keys.iter().filter(|k| k.ends_with(".tar.gz")).collect();
    // Five UDP streams in the capture; a repository ships when its second stream joins.
    assert_eq!(tarballs.len(), 4, "{keys:?}\n{}", stderr(&out));
    let progress_key = keys.iter().find(|k| k.ends_with("/kfl_pcap_s3_progress.json")).expect("progress log");
    let progress: Value = serde_json::from_slice(&moto.object("repos", progress_key).expect("log")).expect("JSON log");
    let entries = progress.as_array().expect("array");
    assert_eq!(entries.len(), 4);
    let tarball_name = regex::Regex::new(r"^kfl_1_remora_\d+\.tar\.gz$").expect("re");
    for (entry, key) in entries.iter().zip(&tarballs) {
        let name = entry["file"].as_str().expect("file");
        assert!(tarball_name.is_match(name), "{name}");
        assert_run_key(key, name);
        assert_eq!(entry["kfl_index"], 1);
        assert_eq!(entry["kfl_query"], "dns");
        assert_eq!(entry["s3_url"], format!("{}/repos/{key}", moto.endpoint));
        assert!(entry["time"].as_str().is_some_and(|t| t.ends_with(" GMT")), "{entry}");
    }
    // The first repository: content.json, the name history, and the two streams merged.
    let unpacked = tempfile::tempdir().expect("temp dir");
    let tarball = unpacked.path().join("repo.tar.gz");
    std::fs::write(&tarball, moto.object("repos", tarballs[0]).expect("tarball")).expect("write");
    assert!(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(unpacked.path()).status().expect("tar").success());
    let content: Value = serde_json::from_str(&std::fs::read_to_string(unpacked.path().join("content.json")).expect("content.json")).expect("JSON");
    assert_eq!(content["l4_streams"], serde_json::json!(["000000000001_udp.pcap", "000000000002_udp.pcap"]));
    assert_eq!(content["kfl_query"], "dns");
    let history: Value = serde_json::from_str(&std::fs::read_to_string(unpacked.path().join("name_resolution_history.json")).expect("history")).expect("JSON");
    assert_eq!(history, serde_json::json!({}), "offline, no names were resolved");
    let merged = unpacked.path().join(content["pcap_file_name"].as_str().expect("pcap name"));
    let tshark = Command::new("tshark").arg("-r").arg(&merged).args(["-Y", "dns", "-T", "fields", "-e", "dns.id"]).output().expect("tshark");
    assert!(tshark.status.success());
    let ids = String::from_utf8_lossy(&tshark.stdout).lines().count();
    // Shipped when stream 2 joined: stream 1's three exchanges and stream 2's first,
    // queries and answers (stream 2's second exchange goes to the next repository).
    assert_eq!(ids, 8, "{}", String::from_utf8_lossy(&tshark.stdout));
    // Each repository announced on both Slack paths; nothing left behind locally.
    let requests = slack.requests();
    assert_eq!(requests.iter().filter(|r| r.path() == "/services/T1/B1/x").count(), 4);
    assert_eq!(requests.iter().filter(|r| r.path() == "/api/chat.postMessage").count(), 4);
    let leftovers: Vec<PathBuf> = std::fs::read_dir(data.path()).expect("data").flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "gz")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
