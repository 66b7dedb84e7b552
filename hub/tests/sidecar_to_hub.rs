//! End to end: a "pod" (a network namespace this test creates) with the real
//! `remora-sidecar`, the real `remora-hub` in the peer namespace, real traffic from the
//! pod to an HTTP server beside the hub. Items must reach the hub and come back from a
//! KFL query over its API; a wrong token is refused; a hub restart mid-way keeps what it
//! had stored and loses no item the sidecar captured while it was down. Needs root, iproute2, curl, python3.
//!
//! The sidecar binary is the one `cargo build`/`cargo nextest run --workspace` puts beside
//! `remora-hub` in the target directory.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use remora_testkit::process::{workspace_binary, Logged};
use remora_testkit::{output, Netns, CLIENT_V4, SERVER_V4};
use serde_json::Value;

const TOKEN: &str = "e2e-token-3f9c";

fn sidecar_binary() -> PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora-sidecar")
}

fn spawn(net: &Netns, ns: &str, args: &[&str], env: &[(&str, &str)]) -> Logged {
    let mut command = net.exec(ns, args);
    command.envs(env.iter().copied()).stdout(Stdio::null());
    Logged::spawn(command)
}

fn start_hub(net: &Netns, token_file: &str, data_dir: &str) -> Logged {
    let hub = spawn(
        net,
        &net.server,
        &[
            env!("CARGO_BIN_EXE_remora-hub"), "--listen", "192.0.2.2:8898", "--api-listen", "192.0.2.2:8899",
            "--token-file", token_file, "--data-dir", data_dir,
        ],
        &[],
    );
    hub.wait_for("API (/api/items", &mut Vec::new());
    hub
}

/// `GET /api/items`, as a user's CLI would, from the hub's own namespace (from the pod's,
/// the queries would be captured as the pod's traffic).
fn query(net: &Netns, kfl: &str, token: &str) -> (u16, Value) {
    let out = output(net.exec(
        &net.server,
        &[
            "curl", "-s", "-G", "-w", "\n%{http_code}", "-H", &format!("Authorization: Bearer {token}"),
            "--data-urlencode", &format!("kfl={kfl}"), "http://192.0.2.2:8899/api/items",
        ],
    ));
    let (body, code) = out.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("code"), serde_json::from_str(body).unwrap_or(Value::Null))
}

fn paths(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["request"]["path"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

#[test]
fn items_reach_the_hub_and_survive_its_restart() {
    let sidecar_bin = sidecar_binary();
    let mut net = Netns::new();
    let work = tempfile::tempdir().expect("tempdir");
    let token_file = work.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let token_path = token_file.to_str().expect("path").to_string();
    for name in ["a", "b", "during-1", "during-2"] {
        std::fs::write(work.path().join(name), name).expect("write");
    }
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", SERVER_V4, "--directory", work.path().to_str().expect("path")]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/");

    let data_dir = work.path().join("hub-data");
    let data_path = data_dir.to_str().expect("path").to_string();
    let hub = start_hub(&net, &token_path, &data_path);
    let scripts = work.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("watch.js"), "function onItemCaptured(data) { console.log('saw ' + data.request.path); }\n").expect("write");
    let sidecar = spawn(
        &net,
        &net.client,
        &[sidecar_bin.to_str().expect("path"), "--health-listen", "127.0.0.1:15090", "--scripts-dir", scripts.to_str().expect("path")],
        &[
            ("REMORA_HUB", "ws://192.0.2.2:8898"),
            ("REMORA_HUB_TOKEN_FILE", &token_path),
            ("REMORA_POD_NAME", "checkout-1"),
            ("REMORA_POD_NAMESPACE", "shop"),
            ("REMORA_POD_IP", CLIENT_V4),
        ],
    );
    let mut sidecar_log = Vec::new();
    sidecar.wait_for("connected to the hub", &mut sidecar_log);
    sidecar.wait_for("capturing on", &mut sidecar_log);
    let filter_line = sidecar_log.iter().find(|l| l.contains("capturing on")).cloned().unwrap_or_default();
    assert!(filter_line.contains("not ((host 192.0.2.2 and tcp port 8898))"), "the hub session must be filtered out: {filter_line}");

    let client = net.client.clone();
    for path in ["/a", "/b", "/missing"] {
        output(net.exec(&client, &["curl", "-s", "-o", "/dev/null", &format!("http://192.0.2.2:8080{path}")]));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let (code, page) = query(&net, "http and request.path != \"/\"", TOKEN);
        assert_eq!(code, 200, "{page}");
        if paths(&page).len() >= 3 {
            break page;
        }
        assert!(Instant::now() < deadline, "items did not reach the hub: {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(paths(&page), ["/missing", "/b", "/a"], "newest first");
    assert_eq!(page["items"][0]["response"]["status"], 404);
    assert_eq!(page["items"][0]["worker"], "checkout-1");
    assert_eq!(page["items"][0]["namespace"], "shop");
    let (_, only_404) = query(&net, "response.status == 404", TOKEN);
    assert_eq!(paths(&only_404), ["/missing"]);
    // No item of the sidecar's own session with the hub.
    let (_, all) = query(&net, "dst.port == \"8898\" or src.port == \"8898\"", TOKEN);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(0), "{all}");

    // The scripts' console lines reach the hub's console stream, labelled with the pod.
    let stream = net
        .exec(&net.server, &["curl", "-s", "-N", "--max-time", "2", "-H", &format!("Authorization: Bearer {TOKEN}"), "http://192.0.2.2:8899/api/console"])
        .output()
        .expect("curl");
    let console = String::from_utf8_lossy(&stream.stdout);
    assert!(console.contains("[shop/checkout-1] [watch.js] saw /missing"), "{console}");

    // Wrong or no token: refused, for the API and for a sidecar session.
    assert_eq!(query(&net, "http", "wrong").0, 401);
    let (code, bad) = query(&net, "http and (", TOKEN);
    assert_eq!(code, 400);
    assert!(bad["error"].as_str().unwrap_or("").contains("kfl"), "{bad}");

    // The hub goes away; the sidecar keeps capturing and sends everything once it is back.
    drop(hub);
    std::thread::sleep(Duration::from_millis(300));
    for path in ["/during-1", "/during-2"] {
        output(net.exec(&client, &["curl", "-s", "-o", "/dev/null", &format!("http://192.0.2.2:8080{path}")]));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _hub = start_hub(&net, &token_path, &data_path);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = query(&net, "request.path.startsWith(\"/during\")", TOKEN);
        let found = paths(&page);
        if found.len() == 2 {
            assert_eq!(found, ["/during-2", "/during-1"]);
            break;
        }
        assert!(Instant::now() < deadline, "items captured while the hub was down never arrived: {page}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // What the hub stored before its restart is still there (its journal).
    let (_, before) = query(&net, "request.path == \"/a\" or request.path == \"/missing\"", TOKEN);
    assert_eq!(paths(&before), ["/missing", "/a"], "{before}");
    drop(sidecar);
}

#[test]
fn a_sidecar_with_a_wrong_token_is_refused() {
    let sidecar_bin = sidecar_binary();
    let net = Netns::new();
    let work = tempfile::tempdir().expect("tempdir");
    let token_file = work.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let wrong = work.path().join("wrong");
    std::fs::write(&wrong, "not-the-token\n").expect("write");
    let hub = start_hub(&net, token_file.to_str().expect("path"), work.path().join("data").to_str().expect("path"));
    let sidecar = spawn(
        &net,
        &net.client,
        &[sidecar_bin.to_str().expect("path"), "--health-listen", "127.0.0.1:15091"],
        &[("REMORA_HUB", "ws://192.0.2.2:8898"), ("REMORA_HUB_TOKEN_FILE", wrong.to_str().expect("path"))],
    );
    let mut sidecar_log = Vec::new();
    sidecar.wait_for("401", &mut sidecar_log);
    let mut hub_log = Vec::new();
    hub.wait_for("sidecar session refused", &mut hub_log);
}
