//! Real traffic between two network namespaces this test creates (veth, documentation
//! addresses 192.0.2.0/24 and 2001:db8::/64 that exist only inside them): a Python HTTP
//! server and dnsmasq in one, curl and dig in the other, tcpdump capturing on the
//! client's veth (Ethernet) and on `any` (Linux cooked v2). `remora replay` of both
//! captures must find every exchange. Needs root, iproute2, tcpdump, dnsmasq, dig, curl
//! (bash scripts/setup.sh --test installs them).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use common::replay_items;
use remora_testkit::{output, run, Netns};

/// Starts tcpdump and waits until it says it is listening.
fn start_tcpdump(net: &mut Netns, iface: &str, file: &Path) -> usize {
    let client = net.client.clone();
    let at = net.spawn(&client, &["tcpdump", "-i", iface, "--immediate-mode", "-U", "-n", "-w", file.to_str().expect("path"), "tcp or udp"]);
    let stderr = net.children[at].stderr.take().expect("stderr");
    // It may first say which link type it chose.
    let mut lines = BufReader::new(stderr).lines();
    let said: Vec<String> = lines.by_ref().map_while(Result::ok).take(3).take_while(|l| !l.contains("listening on")).collect();
    assert!(said.len() < 3, "tcpdump on {iface} did not start: {said:?}");
    // Keep reading, so that tcpdump never blocks or dies on a closed stderr.
    std::thread::spawn(move || lines.for_each(drop));
    at
}

#[test]
fn live_http_and_dns_between_namespaces() {
    let mut net = Netns::new();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("index.html"), "<h1>shop</h1>\n").expect("write");
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", "::", "--directory", dir.path().to_str().expect("path")]);
    net.spawn(&server, &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--listen-address=192.0.2.2", "--bind-interfaces", "--address=/shop.test/192.0.2.80", "--address=/shop.test/2001:db8::80", "--local=/test/", "--port=53"]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/ready");

    let ethernet = dir.path().join("veth.pcap");
    let cooked = dir.path().join("any.pcap");
    let client = net.client.clone();
    let veth = net.client_dev.clone();
    let dumps = [start_tcpdump(&mut net, &veth, &ethernet), start_tcpdump(&mut net, "any", &cooked)];

    let body = output(net.exec(&client, &["curl", "-s", "http://192.0.2.2:8080/index.html"]));
    assert_eq!(body, "<h1>shop</h1>\n");
    output(net.exec(&client, &["curl", "-s", "-g", "-o", "/dev/null", "http://[2001:db8::2]:8080/missing?q=1"]));
    let a = output(net.exec(&client, &["dig", "+short", "+tries=1", "+time=2", "@192.0.2.2", "shop.test", "A"]));
    assert_eq!(a.trim(), "192.0.2.80");
    output(net.exec(&client, &["dig", "+tcp", "+short", "+tries=1", "+time=2", "@192.0.2.2", "shop.test", "AAAA"]));
    output(net.exec(&client, &["dig", "+tries=1", "+time=2", "@192.0.2.2", "nothing.test", "A"]));

    // tcpdump runs in immediate mode; give it a moment for the last packets, then stop it.
    std::thread::sleep(Duration::from_millis(500));
    for at in dumps {
        let pid = net.children[at].id().to_string();
        run(&["kill", "-INT", &pid]);
        let _ = net.children[at].wait();
    }

    let from_veth = summarise(&replay_items(&ethernet));
    let from_any = summarise(&replay_items(&cooked));
    let expected = [
        "dns tcp 192.0.2.1 -> 192.0.2.2:53 AAAA shop.test NOERROR [2001:db8::80]",
        "dns udp 192.0.2.1 -> 192.0.2.2:53 A nothing.test NXDOMAIN []",
        "dns udp 192.0.2.1 -> 192.0.2.2:53 A shop.test NOERROR [192.0.2.80]",
        "http tcp 192.0.2.1 -> 192.0.2.2:8080 GET /index.html 200 text/html 14",
        "http tcp 2001:db8::1 -> 2001:db8::2:8080 GET /missing?q=1 404 text/html;charset=utf-8 *",
    ];
    assert_eq!(from_veth, expected, "Ethernet capture on the veth");
    assert_eq!(from_any, expected, "Linux cooked v2 capture on any");
}

fn summarise(items: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = items
        .iter()
        .filter(|i| !(i["protocol"]["name"] == "http" && i["request"]["path"] == "/ready"))
        .map(|i| {
            let head = format!("{} {} {} -> {}:{}", i["protocol"]["name"].as_str().unwrap_or(""), i["protocol"]["layer4"].as_str().unwrap_or(""), i["src"]["ip"].as_str().unwrap_or(""), i["dst"]["ip"].as_str().unwrap_or(""), i["dst"]["port"].as_str().unwrap_or(""));
            if i["protocol"]["name"] == "dns" {
                let q = &i["request"]["questions"][0];
                let answers: Vec<&str> = i["response"]["answers"].as_array().map(|a| a.iter().filter_map(|r| r["data"].as_str()).collect()).unwrap_or_default();
                format!("{head} {} {} {} [{}]", q["type"].as_str().unwrap_or(""), q["name"].as_str().unwrap_or(""), i["response"]["rcodeName"].as_str().unwrap_or("-"), answers.join(", "))
            } else {
                let content = &i["response"]["content"];
                // The 404 page's size depends on the Python version: not compared.
                let size = if i["response"]["status"] == 200 { content["size"].to_string() } else { "*".into() };
                format!("{head} {} {} {} {} {size}", i["request"]["method"].as_str().unwrap_or(""), i["request"]["url"].as_str().unwrap_or(""), i["response"]["status"], content["mimeType"].as_str().unwrap_or(""))
            }
        })
        .collect();
    lines.sort();
    lines
}
