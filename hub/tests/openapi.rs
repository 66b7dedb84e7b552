//! docs/openapi.yaml against the hub as it is: every route the API router declares is
//! documented and every documented one exists; asked as documented (without a token,
//! then with one), each answers a status its documentation lists; and, on a hub with
//! data, each call answers exactly the status expected with a body valid against the
//! spec's schema for it (every documented status of the JSON routes is asked for, but
//! for a few a test hub cannot reach, listed).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use serde_json::Value;

const TOKEN: &str = "openapi-token";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf()
}

fn spec() -> Value {
    let text = std::fs::read_to_string(repo().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    serde_norway::from_str(&text).expect("docs/openapi.yaml is YAML")
}

/// The paths `.route("...")` declares in the API router's source and the dashboard's,
/// which it merges.
fn declared_routes() -> BTreeSet<String> {
    ["hub/src/api.rs", "hub/src/dashboard.rs"]
        .iter()
        .flat_map(|file| {
            let source = std::fs::read_to_string(repo().join(file)).expect(file);
            source.split(".route(\"").skip(1).filter_map(|rest| rest.split('"').next().map(String::from)).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_answers_as_documented() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().expect("paths");
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(declared_routes(), documented, "hub/src/api.rs and docs/openapi.yaml disagree");

    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, TOKEN).expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", api.local_addr().expect("addr"));
        tokio::spawn(serve_listeners(hub, sidecars, api, None, std::future::pending()));
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().expect("client");
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().expect("operations").iter().filter(|(m, _)| *m != "parameters") {
                let listed: BTreeSet<u16> = operation["responses"].as_object().expect("responses").keys().map(|k| k.parse().expect("status")).collect();
                let open = operation["security"].as_array().is_some_and(Vec::is_empty);
                let url = format!("{base}{}", path.replace("{tag}", "no-such-job").replace("{name}", "no-such.js"));
                let request = |token: Option<&str>| {
                    let mut r = client.request(method.to_uppercase().parse().expect("method"), &url);
                    if let Some(token) = token {
                        r = r.bearer_auth(token);
                    }
                    r
                };
                let anonymous = request(None).send().await.expect("answer").status().as_u16();
                if open {
                    assert_eq!(anonymous, 200, "{method} {path}");
                } else {
                    assert_eq!(anonymous, 401, "{method} {path} must refuse anonymous access");
                    assert!(listed.contains(&401), "{method} {path}: 401 is not documented");
                    let wrong = request(Some("wrong")).send().await.expect("answer").status().as_u16();
                    assert_eq!(wrong, 401, "{method} {path}");
                }
                let status = request(Some(TOKEN)).send().await.expect("answer").status().as_u16();
                assert!(listed.contains(&status), "{method} {path} answered {status}, documented: {listed:?}");
            }
        }
        let bad = client.get(format!("{base}/api/items?kfl=http%20and%20(")).bearer_auth(TOKEN).send().await.expect("answer");
        assert_eq!(bad.status().as_u16(), 400);
        let body: Value = bad.json().await.expect("json");
        assert!(body["error"].as_str().is_some_and(|e| e.starts_with("kfl:")) && body["caret"].is_string(), "{body}");
        assert!(body["position"].as_u64().is_some_and(|p| p <= 10), "the error's position in the query: {body}");
    });
}

/// `#/a/b` of the spec.
fn pointer<'a>(spec: &'a Value, reference: &str) -> &'a Value {
    spec.pointer(reference.trim_start_matches('#')).unwrap_or_else(|| panic!("{reference} is not in the spec"))
}

/// Problems of a JSON `body` against the schema the spec gives `METHOD path`'s `status`
/// (nothing when it has no JSON schema there). The spec's components ride along in the
/// schema document, so its `#/components/...` references resolve.
fn body_problems(spec: &Value, method: &str, path: &str, status: u16, body: &str) -> Vec<String> {
    let mut response = &spec["paths"][path][method]["responses"][status.to_string()];
    if let Some(reference) = response["$ref"].as_str() {
        response = pointer(spec, reference);
    }
    let schema = &response["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Vec::new();
    }
    let mut document = schema.clone();
    document["components"] = spec["components"].clone();
    let validator = jsonschema::validator_for(&document).unwrap_or_else(|e| panic!("{method} {path} {status}: the schema does not compile: {e}"));
    let value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(e) => return vec![format!("not JSON ({e}): {body}")],
    };
    validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

/// One call per documented answer, on a hub with stored items (the example captures'), a
/// job, a script folder, and an admin's and a viewer's token: each gets exactly the status
/// expected, and its body is valid against the spec's schema for that status.
#[test]
fn each_route_answers_its_one_status_with_a_documented_body() {
    let spec = spec();
    let dir = tempfile::tempdir().expect("tempdir");
    let remora = remora_testkit::process::workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora");
    let captures: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/captures")).expect("examples").map(|e| e.expect("entry").path()).filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")).collect();
    let replay = std::process::Command::new(&remora).args(["replay", "-o", "json", "-q"]).args(&captures).output().expect("remora replay");
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("items.jsonl"), &replay.stdout).expect("journal");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("errors.js"), "jobs.schedule('hourly', '0 0 * * * *', function () { console.log('hourly'); });\n").expect("write");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "admin:alice:openapi-admin\nviewer:vera:openapi-viewer\n").expect("write");
    let hub = remora_testkit::process::start_hub(
        env!("CARGO_BIN_EXE_remora-hub"),
        &tokens,
        &[data.as_os_str(), scripts.as_os_str()].iter().zip(["--data-dir", "--scripts-dir"]).flat_map(|(v, f)| [std::ffi::OsStr::new(f), v]).collect::<Vec<_>>(),
    );
    let base = format!("http://{}", hub.api);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().expect("client");
    let send = |request: reqwest::RequestBuilder| -> Option<(u16, String)> {
        runtime.block_on(async {
            let response = request.send().await.ok()?;
            let status = response.status().as_u16();
            Some((status, response.text().await.unwrap_or_default()))
        })
    };
    // The hub has loaded its journal and its script's job.
    remora_testkit::eventually(std::time::Duration::from_secs(10), "the job scheduled", || {
        let (_, jobs) = send(client.get(format!("{base}/api/jobs")).bearer_auth("openapi-admin"))?;
        jobs.contains("\"hourly\"").then_some(())
    });

    const ADMIN: &str = "openapi-admin";
    const VIEWER: &str = "openapi-viewer";
    let big = "x".repeat(600 << 10);
    // (method, documented path, URL path and query, token, body, status)
    type Call<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, u16);
    let calls: &[Call] = &[
        ("get", "/api/items", "/api/items?limit=3&summary=true", VIEWER, None, 200),
        ("get", "/api/items", "/api/items?kfl=http%20and%20(", VIEWER, None, 400),
        ("get", "/api/items", "/api/items", "wrong", None, 401),
        ("get", "/api/tail", "/api/tail?kfl=(", VIEWER, None, 400),
        ("get", "/api/servicemap", "/api/servicemap", VIEWER, None, 200),
        ("get", "/api/servicemap", "/api/servicemap?window=0", VIEWER, None, 400),
        ("get", "/api/jobs", "/api/jobs", VIEWER, None, 200),
        ("post", "/api/jobs/{tag}/run", "/api/jobs/hourly/run", ADMIN, None, 202),
        ("post", "/api/jobs/{tag}/run", "/api/jobs/hourly/run", VIEWER, None, 403),
        ("post", "/api/jobs/{tag}/run", "/api/jobs/no-such-job/run", ADMIN, None, 404),
        ("get", "/api/pcap", "/api/pcap?kfl=(", ADMIN, None, 400),
        ("get", "/api/pcap", "/api/pcap?kfl=dns", VIEWER, None, 403),
        ("get", "/api/pcap", "/api/pcap?kfl=redis", ADMIN, None, 404),
        ("get", "/api/pcap", "/api/pcap?kfl=dns", ADMIN, None, 502),
        ("get", "/api/audit", "/api/audit", ADMIN, None, 200),
        ("get", "/api/audit", "/api/audit", VIEWER, None, 403),
        ("get", "/api/sidecars", "/api/sidecars", VIEWER, None, 200),
        ("get", "/api/scripts", "/api/scripts", VIEWER, None, 200),
        ("get", "/api/scripts/{name}", "/api/scripts/errors.js", VIEWER, None, 200),
        ("get", "/api/scripts/{name}", "/api/scripts/no-such.js", VIEWER, None, 404),
        ("put", "/api/scripts/{name}", "/api/scripts/new.js", ADMIN, Some("console.log('new');\n"), 200),
        ("put", "/api/scripts/{name}", "/api/scripts/bad%20name.js", ADMIN, Some("1"), 400),
        ("put", "/api/scripts/{name}", "/api/scripts/new.js", VIEWER, Some("1"), 403),
        ("put", "/api/scripts/{name}", "/api/scripts/big.js", ADMIN, Some(&big), 413),
        ("delete", "/api/scripts/{name}", "/api/scripts/new.js", ADMIN, None, 200),
        ("delete", "/api/scripts/{name}", "/api/scripts/new.js", VIEWER, None, 403),
        ("delete", "/api/scripts/{name}", "/api/scripts/no-such.js", ADMIN, None, 404),
        ("get", "/", "/", "", None, 200),
        ("get", "/healthz", "/healthz", "", None, 200),
        ("get", "/readyz", "/readyz", "", None, 200),
        ("get", "/metrics", "/metrics", "", None, 200),
    ];
    let mut problems = Vec::new();
    let mut answered: BTreeSet<(String, String, u16)> = BTreeSet::new();
    for &(method, path, url, token, body, want) in calls {
        let mut request = client.request(method.to_uppercase().parse().expect("method"), format!("{base}{url}"));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let (status, text) = send(request).expect("answer");
        if status != want {
            problems.push(format!("{method} {url}: {status} (want {want}): {}", text.chars().take(300).collect::<String>()));
            continue;
        }
        for problem in body_problems(&spec, method, path, status, &text) {
            problems.push(format!("{method} {url} {status}: {problem}"));
        }
        answered.insert((method.to_string(), path.to_string(), status));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every documented status of the JSON routes was asked for, but the ones that need
    // what a test hub cannot have (a hub without a script folder, an export past 512 MiB).
    let untested: BTreeSet<(&str, &str, u16)> = BTreeSet::from([
        ("get", "/api/scripts", 409),
        ("get", "/api/scripts/{name}", 409),
        ("put", "/api/scripts/{name}", 409),
        ("delete", "/api/scripts/{name}", 409),
        ("get", "/api/pcap", 200),
        ("get", "/api/pcap", 401),
        ("get", "/api/pcap", 413),
    ]);
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/") || path == "/api/tail" || path == "/api/console" {
            continue;
        }
        for (method, operation) in operations.as_object().expect("operations").iter().filter(|(m, _)| *m != "parameters") {
            for status in operation["responses"].as_object().expect("responses").keys().map(|k| k.parse::<u16>().expect("status")) {
                let key = (method.clone(), path.clone(), status);
                if status != 401 && !answered.contains(&key) && !untested.contains(&(method.as_str(), path.as_str(), status)) {
                    problems.push(format!("{method} {path} {status}: documented, never asked for"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let _ = &hub;
}
