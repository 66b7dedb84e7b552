//! `remora capture` on a veth this test makes (between two network namespaces, documentation
//! addresses that exist only inside them): HTTP requests from the client namespace to a
//! server in the other, captured on the client's veth, come out as items as `replay`
//! prints them; `-w` writes a pcap file that `replay` reads back to the same items; the
//! summary says what each interface's kernel dropped. Needs root, iproute2, curl, python3.

mod common;

use std::process::Stdio;

use remora_testkit::{output, Netns, SERVER_V4};
use serde_json::Value;

fn paths(items: &[Value]) -> Vec<String> {
    let mut paths: Vec<String> = items.iter().filter(|i| i["protocol"]["name"] == "http").filter_map(|i| i["request"]["path"].as_str().map(String::from)).collect();
    paths.sort();
    paths
}

/// Two namespaces joined by a veth, and an HTTP server in the server's serving `files`
/// (each holding its own name) on port 8080.
fn serving(files: &[&str]) -> (Netns, tempfile::TempDir) {
    let mut net = Netns::new();
    let work = tempfile::tempdir().expect("tempdir");
    for name in files {
        std::fs::write(work.path().join(name), name).expect("write");
    }
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", SERVER_V4, "--directory", work.path().to_str().expect("path")]);
    net.wait_for_http(&net.client, &format!("http://{SERVER_V4}:8080/"));
    (net, work)
}

#[test]
fn live_packets_become_items_and_a_pcap_file() {
    let (net, work) = serving(&["menu", "cart"]);

    // Capture on the client's veth for a while, in its namespace, while curl asks.
    let pcap = work.path().join("live.pcap");
    let capture = net
        .exec(&net.client, &[env!("CARGO_BIN_EXE_remora"), "capture", "-i", &net.client_dev, "--filter", "tcp port 8080", "--duration", "6", "-o", "json", "-w", pcap.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("remora capture");
    std::thread::sleep(std::time::Duration::from_secs(2));
    for name in ["menu", "cart"] {
        let body = output(net.exec(&net.client, &["curl", "-s", "--max-time", "3", &format!("http://{SERVER_V4}:8080/{name}")]));
        assert_eq!(body, name);
    }
    let done = capture.wait_with_output().expect("capture ends at --duration");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let items: Vec<Value> = String::from_utf8_lossy(&done.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON item")).collect();
    assert_eq!(paths(&items), ["/cart", "/menu"], "{stderr}");
    assert!(items.iter().all(|i| i["worker"] == "capture" && i["response"]["status"] == 200), "{items:#?}");
    assert!(stderr.contains(&format!("captured on {} for ", net.client_dev)), "{stderr}");
    assert!(stderr.contains(&format!("{}: ", net.client_dev)) && stderr.contains("dropped by the kernel (no buffer room)"), "{stderr}");
    assert!(stderr.contains(&format!("packets to {}", pcap.display())), "{stderr}");

    // The file holds what was captured: replay finds the same exchanges.
    let replayed = common::replay_items(&pcap);
    assert_eq!(paths(&replayed), ["/cart", "/menu"]);
}

#[test]
fn an_unknown_interface_is_named_with_those_there_are() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_remora")).args(["capture", "-i", "no-such0", "--duration", "1"]).output().expect("remora");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-i no-such0: no interface \"no-such0\" here (there are: "), "{stderr}");
}

/// Ctrl-C (SIGINT) ends the capture, not the process: what was captured is printed and
/// the summary written, and the exit is clean.
#[test]
fn ctrl_c_ends_the_capture_with_its_summary() {
    let (net, _work) = serving(&["menu"]);
    let capture = net
        .exec(&net.client, &[env!("CARGO_BIN_EXE_remora"), "capture", "-i", &net.client_dev, "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("remora capture");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(output(net.exec(&net.client, &["curl", "-s", "--max-time", "3", &format!("http://{SERVER_V4}:8080/menu")])), "menu");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let interrupted = std::process::Command::new("kill").args(["-INT", &capture.id().to_string()]).status().expect("kill");
    assert!(interrupted.success());
    let done = capture.wait_with_output().expect("capture ends at SIGINT");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let items: Vec<Value> = String::from_utf8_lossy(&done.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON item")).collect();
    assert_eq!(paths(&items), ["/menu"], "{stderr}");
    assert!(stderr.contains(&format!("captured on {} for ", net.client_dev)) && stderr.contains("items: "), "{stderr}");
}
