//! A small shop for the service map's tests (tests/servicemap.rs, tests/dashboard.rs):
//! items between named pods and services, and the pods the hub follows (owners), with the
//! map's numbers worked out by hand.
//!
//! | edge | items | errors | answered latencies (ms) | p50 / p95 / p99 |
//! | --- | --- | --- | --- | --- |
//! | shop/web → shop/checkout, http | 6 (+1 two hours old) | 2: a 500, a timeout (the 404 is not one) | 10 20 30 40 50 (+5) | 30 / 50 / 50 (20 / 50 / 50 with the old one) |
//! | shop/checkout → shop/db, postgres | 4 | 1: an error response | 2 4 6 8 | 4 / 8 / 8 |
//! | shop/web → kube-system/kube-dns, dns | 3 | 1: NXDOMAIN | 1 1 3 | 1 / 3 / 3 |
//! | shop/checkout → 93.184.216.34, http | 2 | 0 | 100 300 | 100 / 300 / 300 |
//!
//! `shop/web` is two pods of a Deployment's ReplicaSet (known to the hub: owners),
//! `shop/checkout` a service and a pod the hub does not follow (its name's generated
//! suffixes taken off), `shop/db` the StatefulSet of pod `db-0` (known to the hub; without
//! it the node would be `shop/db-0`), `93.184.216.34` an address no one named.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

pub const WEB_1: &str = "web-7d4b9c8f6d-x2kqz";
pub const WEB_2: &str = "web-7d4b9c8f6d-b4c5d";
pub const CHECKOUT_POD: &str = "checkout-5c9f8b7d-4xk2p";

fn end(ip: &str, port: &str, name: &str, namespace: &str) -> Value {
    json!({"ip": ip, "port": port, "name": name, "namespace": namespace})
}

/// Real items the shop's are made from (an HTTP GET, a DNS query, a PostgreSQL SELECT,
/// as `remora replay` reads them from real captures), so that they read as any item.
pub struct Templates {
    http: Value,
    dns: Value,
    postgres: Value,
}

/// The templates, through the `remora` binary.
pub fn templates(remora: &Path, repo: &Path) -> Templates {
    let first = |capture: &str, pick: &dyn Fn(&Value) -> bool| -> Value {
        let out = Command::new(remora).args(["replay", "-q", "-o", "json"]).arg(repo.join(capture)).output().expect("remora replay");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        text.lines().filter_map(|l| serde_json::from_str(l).ok()).find(|i| pick(i)).unwrap_or_else(|| panic!("no template item in {capture}"))
    };
    Templates {
        http: first("examples/captures/http1__zeek__pipelined-requests.pcap", &|i| i["response"]["status"] == 200),
        dns: first("examples/captures/dns__zeek__long-connection.pcap", &|i| i["response"]["rcode"] == 0),
        postgres: first("tests/data/pcaps/postgres__zeek__psql-create-insert-select-delete-drop.pcap", &|i| i["request"]["query"].as_str().is_some_and(|q| q.starts_with("SELECT"))),
    }
}

/// Sets the fields at JSON pointers (the parents must exist).
fn set(item: &mut Value, fields: &[(&str, Value)]) {
    for (pointer, value) in fields {
        let slot = item.pointer_mut(pointer).unwrap_or_else(|| panic!("a template without {pointer}"));
        *slot = value.clone();
    }
}

/// The shop's items; `now` in milliseconds since the epoch.
pub fn items(now: i64, templates: &Templates) -> Vec<Value> {
    let web = |pod: &str| end(if pod == WEB_1 { "10.1.0.11" } else { "10.1.0.12" }, "41000", pod, "shop");
    let checkout_service = end("10.96.0.20", "80", "checkout", "shop");
    let checkout = end("10.1.0.21", "43000", CHECKOUT_POD, "shop");
    let db = end("10.1.0.31", "5432", "db-0", "shop");
    let dns = end("10.96.0.10", "53", "kube-dns", "kube-system");
    let outside = end("93.184.216.34", "443", "", "");
    let mut items = Vec::new();
    let mut add = |template: &Value, src: Value, dst: Value, elapsed: u64, ago_ms: i64, fields: &[(&str, Value)]| {
        let n = items.len();
        let at = now - ago_ms;
        let start = chrono::DateTime::from_timestamp_millis(at).expect("time").to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut item = template.clone();
        set(&mut item, &[("/id", json!(format!("shop-fixture/000000000001.pcap-{n}"))), ("/index", json!(n)), ("/src", src), ("/dst", dst)]);
        set(&mut item, &[("/timestamp", json!(at)), ("/startTime", json!(start)), ("/elapsedTime", json!(elapsed)), ("/worker", json!("shop-fixture")), ("/namespace", json!("shop"))]);
        set(&mut item, fields);
        items.push(item);
    };
    let http = |path: &str, host: &str, status: u16, text: &str| {
        vec![("/request/url", json!(path)), ("/request/path", json!(path)), ("/request/headers/host", json!(host)), ("/response/status", json!(status)), ("/response/statusText", json!(text))]
    };
    for (pod, status, text, elapsed) in [(WEB_1, 200, "OK", 10), (WEB_1, 200, "OK", 20), (WEB_1, 500, "Internal Server Error", 30), (WEB_2, 200, "OK", 40), (WEB_2, 404, "Not Found", 50)] {
        add(&templates.http, web(pod), checkout_service.clone(), elapsed, 60_000 - elapsed as i64, &http("/api/cart", "checkout", status, text));
    }
    let timeout = [("/request/url", json!("/api/cart")), ("/request/headers/host", json!("checkout")), ("/response", Value::Null), ("/error", json!({"type": "timeout", "msg": "no response in time"}))];
    add(&templates.http, web(WEB_2), checkout_service.clone(), 0, 55_000, &timeout);
    for (elapsed, failed) in [(2, false), (4, false), (6, true), (8, false)] {
        let error = if failed { json!({"severity": "ERROR", "code": "40001", "message": "could not serialize access"}) } else { Value::Null };
        add(&templates.postgres, checkout.clone(), db.clone(), elapsed, 50_000, &[("/request/query", json!("SELECT * FROM orders WHERE cart = $1;")), ("/response/error", error)]);
    }
    for (rcode, name, code, elapsed) in [(0, "NOERROR", "No Error", 1), (3, "NXDOMAIN", "Non-Existent Domain", 1), (0, "NOERROR", "No Error", 3)] {
        let question = json!([{"name": "checkout.shop.svc.cluster.local", "type": "A", "class": "IN"}]);
        let fields = [("/request/questions", question), ("/response/rcode", json!(rcode)), ("/response/rcodeName", json!(name)), ("/response/code", json!(code)), ("/response/answers", json!([]))];
        add(&templates.dns, web(WEB_1), dns.clone(), elapsed, 45_000, &fields);
    }
    for elapsed in [100, 300] {
        add(&templates.http, checkout.clone(), outside.clone(), elapsed, 40_000, &http("/v1/charges", "payments.example.com", 200, "OK"));
    }
    add(&templates.http, web(WEB_1), checkout_service, 5, 2 * 3600 * 1000, &http("/api/cart", "checkout", 200, "OK"));
    items
}

/// The hub's journal (`--data-dir`) holding `items`, as a hub that stored them before a
/// restart has it.
pub fn write_journal(data_dir: &Path, items: &[Value]) {
    std::fs::create_dir_all(data_dir).expect("mkdir");
    let lines: String = items.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(data_dir.join("items.jsonl"), lines).expect("journal");
}

/// The pods the hub follows (`--objects-dir`): the web Deployment's two and `db-0` of the
/// StatefulSet `db`; the checkout pod is left out.
pub fn write_objects(dir: &Path) {
    let pod = |name: &str, ip: &str, owner: Value, labels: Value| {
        json!({"kind": "Pod", "apiVersion": "v1",
               "metadata": {"name": name, "namespace": "shop", "resourceVersion": "1", "labels": labels, "ownerReferences": [owner]},
               "spec": {"containers": [{"name": "app", "image": "registry.example/shop:1"}]},
               "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
    };
    let owner = |kind: &str, name: &str| json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": format!("uid-{name}"), "controller": true});
    let web_labels = json!({"app": "web", "pod-template-hash": "7d4b9c8f6d"});
    let list = json!({"kind": "List", "apiVersion": "v1", "items": [
        pod(WEB_1, "10.1.0.11", owner("ReplicaSet", "web-7d4b9c8f6d"), web_labels.clone()),
        pod(WEB_2, "10.1.0.12", owner("ReplicaSet", "web-7d4b9c8f6d"), web_labels),
        pod("db-0", "10.1.0.31", owner("StatefulSet", "db"), json!({"app": "db"})),
    ]});
    std::fs::create_dir_all(dir).expect("mkdir");
    let temp = dir.join(".pods.json.new");
    std::fs::write(&temp, list.to_string()).expect("write");
    std::fs::rename(&temp, dir.join("pods.json")).expect("rename");
}
