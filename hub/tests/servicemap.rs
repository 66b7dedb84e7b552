//! `GET /api/servicemap` against the hub binary (loopback): the example captures' items
//! (as `remora replay` makes them) and a small shop's (support/shop.rs) in the hub's
//! journal, the shop's pods in `--objects-dir`. Every count, error and percentile below
//! is worked out by hand from those items (support/shop.rs has the shop's table; the
//! captures' are in the comments).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use remora_testkit::process::{start_hub, workspace_binary};
use serde_json::Value;

#[path = "support/shop.rs"]
mod shop;

const TOKEN: &str = "servicemap-viewer-2b7";

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn remora() -> std::path::PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora")
}

/// The example captures' 26 items, as `remora replay` prints them.
fn capture_items() -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("examples/captures")).expect("captures").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "pcap")).collect();
    files.sort();
    let out = Command::new(remora()).args(["replay", "-q", "-o", "json"]).args(&files).output().expect("remora replay");
    assert!(out.status.success(), "remora replay: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("an item")).collect()
}

/// `GET path` with the query's parameters: (status, JSON body).
fn get(api: &str, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut command = Command::new("curl");
    command.args(["-s", "-G", "-w", "\n%{http_code}", "-H", &format!("Authorization: Bearer {TOKEN}")]);
    for (key, value) in params {
        command.args(["--data-urlencode", &format!("{key}={value}")]);
    }
    let out = command.arg(format!("http://{api}{path}")).output().expect("curl");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.parse().expect("status"), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// An edge as (source, target, protocol, count, errors, answered, p50, p95, p99).
type Row = (String, String, String, u64, u64, u64, Option<u64>, Option<u64>, Option<u64>);

fn edges(map: &Value) -> Vec<Row> {
    let n = |e: &Value, k: &str| e[k].as_u64();
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_string();
    map["edges"].as_array().expect("edges").iter().map(|e| (s(e, "source"), s(e, "target"), s(e, "protocol"), n(e, "count").unwrap_or(0), n(e, "errors").unwrap_or(0), n(e, "answered").unwrap_or(0), n(e, "p50"), n(e, "p95"), n(e, "p99"))).collect()
}

fn row(source: &str, target: &str, protocol: &str, counts: (u64, u64, u64), latency: (u64, u64, u64)) -> Row {
    (source.into(), target.into(), protocol.into(), counts.0, counts.1, counts.2, Some(latency.0), Some(latency.1), Some(latency.2))
}

#[test]
fn the_map_counts_calls_errors_and_latency_per_workload_edge() {
    let work = tempfile::tempdir().expect("tempdir");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let mut items = capture_items();
    assert_eq!(items.len(), 26);
    items.extend(shop::items(now, &shop::templates(&remora(), repo())));
    shop::write_journal(&work.path().join("data"), &items);
    shop::write_objects(&work.path().join("objects"));
    let token_file = work.path().join("tokens");
    std::fs::write(&token_file, format!("viewer:map:{TOKEN}\n")).expect("tokens");
    let (data, objects) = (work.path().join("data"), work.path().join("objects"));
    let hub = start_hub(env!("CARGO_BIN_EXE_remora-hub"), &token_file, &["--data-dir".as_ref(), data.as_os_str(), "--objects-dir".as_ref(), objects.as_os_str()]);
    let api = hub.api.as_str();

    // Every stored item, once the hub has read its pods (db-0 is then the StatefulSet db).
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let (status, map) = get(api, "/api/servicemap", &[]);
        assert_eq!(status, 200, "{map}");
        if map["nodes"].as_array().is_some_and(|nodes| nodes.iter().any(|n| n["id"] == "shop/db")) {
            break map;
        }
        assert!(Instant::now() < deadline, "the hub did not read its pods' owners: {map}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(all["items"], 42);
    assert_eq!((all["from"].clone(), all["to"].clone()), (Value::Null, Value::Null));
    assert_eq!(
        edges(&all),
        [
            // dns__zeek__long-connection: 11 answers, one NXDOMAIN; 0 0 16 16 48 72 139 212 233 237 832 ms.
            row("192.168.170.8", "192.168.170.20", "dns", (11, 1, 11), (72, 832, 832)),
            row("shop/web", "shop/checkout", "http", (7, 2, 6), (20, 50, 50)),
            // docker-http-upgrade: 0 (the 101) 0 1 278 631 30935 ms.
            row("192.168.122.1", "192.168.122.87", "http", (6, 0, 6), (1, 30935, 30935)),
            // pipelined-requests: 5 5 7 12 18 ms.
            row("192.168.1.104", "63.245.209.11", "http", (5, 0, 5), (7, 18, 18)),
            row("shop/checkout", "shop/db", "postgres", (4, 1, 4), (4, 8, 8)),
            row("shop/web", "kube-system/kube-dns", "dns", (3, 1, 3), (1, 3, 3)),
            // dns__deepflow__nxdomain: two NXDOMAINs of three, answered at once.
            row("172.18.34.76", "172.25.7.97", "dns", (3, 2, 3), (0, 0, 0)),
            row("shop/checkout", "93.184.216.34", "http", (2, 0, 2), (100, 300, 300)),
            row("192.168.3.103", "128.146.216.51", "http", (1, 0, 1), (1054, 1054, 1054)),
        ]
    );
    assert_eq!(all["nodes"].as_array().map(Vec::len), Some(15));
    assert_eq!(all["omitted"], serde_json::json!({"nodes": 0, "edges": 0, "items": 0}));
    let node = |map: &Value, id: &str| map["nodes"].as_array().and_then(|nodes| nodes.iter().find(|n| n["id"] == id).cloned()).unwrap_or_else(|| panic!("no node {id}: {map}"));
    let web = node(&all, "shop/web");
    assert_eq!(web["members"], serde_json::json!([shop::WEB_2, shop::WEB_1]));
    assert_eq!((web["kind"].as_str(), web["name"].as_str(), web["namespace"].as_str(), web["sent"].as_u64(), web["received"].as_u64()), (Some("workload"), Some("web"), Some("shop"), Some(10), Some(0)));
    assert_eq!(node(&all, "shop/checkout")["members"], serde_json::json!(["checkout", shop::CHECKOUT_POD]));
    assert_eq!(node(&all, "shop/db")["members"], serde_json::json!(["db-0"]));
    assert_eq!(node(&all, "93.184.216.34")["kind"], "address");
    let rate = all["edges"][1]["errorRate"].as_f64().expect("errorRate");
    assert!((rate - 2.0 / 7.0).abs() < 1e-9, "{rate}");

    // The last hour: the shop's recent items; the old call and the captures are out.
    let (status, hour) = get(api, "/api/servicemap", &[("window", "3600")]);
    assert_eq!(status, 200);
    assert_eq!(hour["items"].as_u64(), Some(15), "the shop's 16 items but the old one");
    let from = hour["from"].as_i64().expect("from");
    assert!((now - 3_600_000..=now - 3_600_000 + 60_000).contains(&from), "from {from}, now {now}");
    assert_eq!(
        edges(&hour),
        [
            row("shop/web", "shop/checkout", "http", (6, 2, 5), (30, 50, 50)),
            row("shop/checkout", "shop/db", "postgres", (4, 1, 4), (4, 8, 8)),
            row("shop/web", "kube-system/kube-dns", "dns", (3, 1, 3), (1, 3, 3)),
            row("shop/checkout", "93.184.216.34", "http", (2, 0, 2), (100, 300, 300)),
        ]
    );
    assert_eq!(hour["nodes"].as_array().map(Vec::len), Some(5));

    // KFL narrows it, with and without a window; from/to in milliseconds.
    let (_, dns) = get(api, "/api/servicemap", &[("kfl", "dns")]);
    let dns_edges: Vec<(String, u64)> = edges(&dns).into_iter().map(|r| (r.1, r.3)).collect();
    assert_eq!(dns_edges, [("192.168.170.20".to_string(), 11), ("kube-system/kube-dns".into(), 3), ("172.25.7.97".into(), 3)]);
    assert_eq!(dns["items"], 17);
    let (_, recent_errors) = get(api, "/api/servicemap", &[("kfl", "response.status >= 500 or error != nil"), ("window", "300")]);
    assert_eq!(edges(&recent_errors).iter().map(|r| (r.0.as_str(), r.3, r.4)).collect::<Vec<_>>(), [("shop/web", 2, 2)]);
    let (_, zeek) = get(api, "/api/servicemap", &[("from", "1112172470501"), ("to", "1112172737661")]);
    assert_eq!(edges(&zeek).iter().map(|r| (r.1.as_str(), r.3)).collect::<Vec<_>>(), [("192.168.170.20", 11)]);
    assert_eq!((zeek["from"].as_i64(), zeek["to"].as_i64()), (Some(1112172470501), Some(1112172737661)));

    // The filter the dashboard builds for an edge selects exactly its items.
    let edge_kfl = format!(
        r#"src.namespace == "shop" and src.name in ["{}", "{}"] and dst.namespace == "shop" and dst.name in ["checkout", "{}"] and protocol.macro == "http""#,
        shop::WEB_2,
        shop::WEB_1,
        shop::CHECKOUT_POD
    );
    let (status, page) = get(api, "/api/items", &[("kfl", &edge_kfl), ("limit", "1000"), ("summary", "true")]);
    assert_eq!(status, 200, "{page}");
    let requests: Vec<&str> = page["items"].as_array().expect("items").iter().map(|i| i["summary"]["request"].as_str().unwrap_or("not an item the model reads")).collect();
    assert_eq!(requests, ["GET checkout/api/cart"; 7], "the shop's items read as any item");

    // Bad input is a 400 that says what is wrong.
    let (status, bad) = get(api, "/api/servicemap", &[("kfl", "dns and")]);
    assert_eq!((status, bad["position"].as_u64()), (400, Some(7)), "{bad}");
    let (status, both) = get(api, "/api/servicemap", &[("window", "60"), ("from", "0")]);
    assert_eq!(status, 400);
    assert!(both["error"].as_str().is_some_and(|e| e.contains("not both")), "{both}");
    assert_eq!(get(api, "/api/servicemap", &[("window", "0")]).0, 400);
    assert_eq!(get(api, "/api/servicemap", &[("window", "soon")]).0, 400);
}
