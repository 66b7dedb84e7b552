//! `remora query` and `remora console` against a real hub server (the remora-hub library serving on loopback
//! ports this test binds) holding the items of a real capture.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::{data_dir, parse_items, remora};
use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;

const TOKEN: &str = "query-test-token";

/// Starts a hub with `items` on a thread of its own; returns its API address.
fn hub_with(items: Vec<serde_json::Value>) -> (SocketAddr, Arc<Hub>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, TOKEN).expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(10_000, 64 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    hub.ingest(items).expect("ingest");
    let handle = hub.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(api.local_addr().expect("addr")).expect("send");
            let _ = serve_listeners(hub, sidecars, api, None, std::future::pending()).await;
        });
        drop(dir);
    });
    (rx.recv().expect("hub address"), handle)
}

#[test]
fn query_pages_through_the_hub_newest_first() {
    let capture = data_dir().join("http1__zeek__docker-http-upgrade.pcap");
    let replayed = remora(&["replay", "-o", "json", capture.to_str().expect("path")]);
    assert!(replayed.status.success());
    let items = parse_items(&replayed.stdout);
    assert!(items.len() >= 6);
    let hub = format!("http://{}", hub_with(items.clone()).0);

    // The four newest HTTP items.
    let out = remora(&["query", "--hub", &hub, "--token", TOKEN, "--limit", "4", "http"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = parse_items(&out.stdout);
    assert_eq!(got.len(), 4);
    let newest: Vec<&serde_json::Value> = items.iter().rev().take(4).collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), newest, "newest first");
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 item(s) from"));

    let out = remora(&["query", "--hub", &hub, "--token", TOKEN, "-o", "table", "response.status == 201"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("TIME"), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains("201"), "{table}");

    // On a terminal (a pseudo-terminal from util-linux's `script`), both commands print
    // the table unless told otherwise; on a pipe (above) JSON.
    let binary = env!("CARGO_BIN_EXE_remora");
    for command in [format!("{binary} query --hub {hub} --token {TOKEN} --limit 2 http"), format!("{binary} replay {}", capture.to_str().expect("path"))] {
        let out = std::process::Command::new("script").args(["-qec", &command, "/dev/null"]).output().expect("script (util-linux)");
        let shown = String::from_utf8_lossy(&out.stdout);
        // (The terminal shows stderr too: replay's progress comes first.)
        assert!(out.status.success() && shown.contains("TIME") && shown.contains("PROTO SOURCE") && !shown.contains("{\""), "{command}:\n{shown}");
    }

    let out = remora(&["query", "--hub", &hub, "--token", "wrong", "http"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the token"));

    let out = remora(&["query", "--hub", &hub, "--token", TOKEN, "http and ("]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kfl:") && stderr.contains('^'), "{stderr}");

    let out = remora(&["query", "--hub", "http://127.0.0.1:9", "--token", TOKEN, "http"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the hub at http://127.0.0.1:9"));
}

#[test]
fn console_shows_recent_lines_then_new_ones_with_their_source() {
    use std::io::{BufRead, BufReader};

    let (address, hub) = hub_with(Vec::new());
    hub.console_line("shop/checkout-1", "[watch.js] before");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
        .args(["console", "--hub", &format!("http://{address}"), "--token", TOKEN])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("remora console");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("[shop/checkout-1] [watch.js] before"));
    hub.console_line("shop/cart-2", "[watch.js] after");
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("[shop/cart-2] [watch.js] after"));
    let _ = child.kill();
    let _ = child.wait();

    let out = remora(&["console", "--hub", &format!("http://{address}"), "--token", "wrong"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the token"));
}

/// `remora` with the environment cleared of hub settings and `REMORA_CONFIG` set.
fn remora_with_config(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
        .args(args)
        .env_remove("REMORA_HUB_API")
        .env_remove("REMORA_TOKEN")
        .env_remove("REMORA_TOKEN_FILE")
        .env("REMORA_CONFIG", config)
        .output()
        .expect("remora runs")
}

#[test]
fn jobs_list_and_run_take_the_hub_from_a_config_file() {
    use remora_model::wire::JobRequest;

    let (address, hub) = hub_with(Vec::new());
    hub.job_requests(
        vec![
            JobRequest::Schedule { tag: "upload-pcaps".into(), cron: "0 */5 * * * *".into(), limit: 3 },
            JobRequest::Schedule { tag: "count".into(), cron: "0 * * * * *".into(), limit: 0 },
        ],
        "test",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, format!("hub: http://{address}\ntokenFile: {}\n", token_file.display())).expect("write");

    let out = remora_with_config(&config, &["jobs", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["TAG", "CRON", "LIMIT", "RUNS", "PER", "NODE"]);
    assert_eq!(rows[1], ["count", "0", "*", "*", "*", "*", "*", "-"], "{table}");
    assert_eq!(rows[2], ["upload-pcaps", "0", "*/5", "*", "*", "*", "*", "3"], "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 job(s) at http://"));

    let out = remora_with_config(&config, &["jobs", "run", "count"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = remora_with_config(&config, &["jobs", "run", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job is scheduled with the tag \"nope\""));

    // Flags win over the file; a file with an unknown key is named.
    let out = remora_with_config(&config, &["jobs", "list", "--token", "wrong"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the token"));
    std::fs::write(&config, "hub: http://127.0.0.1:1\ntokne: x\n").expect("write");
    let out = remora_with_config(&config, &["jobs", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("config.yaml") && stderr.contains("tokne"), "{stderr}");

    // An export that matches nothing says so.
    let out = remora(&["pcap", "export", "--kfl", "http", "-o", dir.path().join("x.pcap").to_str().expect("path"), "--hub", &format!("http://{address}"), "--token", TOKEN]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stored item matches the query"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.path().join("x.pcap").exists());
}

#[test]
fn query_follow_prints_new_items_as_they_are_stored() {
    use std::io::{BufRead, BufReader};

    let capture = data_dir().join("http1__zeek__docker-http-upgrade.pcap");
    let replayed = remora(&["replay", "-o", "json", capture.to_str().expect("path")]);
    let items = parse_items(&replayed.stdout);
    let (address, hub) = hub_with(items[..2].to_vec());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_remora"))
        .args(["query", "http", "--follow", "--hub", &format!("http://{address}"), "--token", TOKEN])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("remora query --follow");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut errors = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // The stored page first, then the tail is open.
    let first: Vec<serde_json::Value> = (0..2).map(|_| serde_json::from_str(&lines.next().expect("line").expect("text")).expect("json")).collect();
    assert_eq!(first.len(), 2);
    while !errors.next().expect("stderr line").expect("text").starts_with("following") {}
    hub.ingest(items[2..4].to_vec()).expect("ingest");
    let followed: Vec<serde_json::Value> = (0..2).map(|_| serde_json::from_str(&lines.next().expect("line").expect("text")).expect("json")).collect();
    assert_eq!(followed, items[2..4].to_vec(), "new items, in the order they were stored");
    let _ = child.kill();
    let _ = child.wait();
}