//! `remora replay` as a user runs it: link types, hostile orderings of real captures,
//! per-stream PCAP files, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pcap::{Capture, Linktype, Packet};
use serde_json::Value;

use common::{capture_files, data_dir, parse_items, remora, replay_items};

/// The frames of a capture: (header, bytes).
fn read_frames(path: &Path) -> (i32, Vec<(pcap::PacketHeader, Vec<u8>)>) {
    let mut cap = Capture::from_file(path).expect("capture opens");
    let link = cap.get_datalink().0;
    let mut frames = Vec::new();
    while let Ok(p) = cap.next_packet() {
        frames.push((*p.header, p.data.to_vec()));
    }
    (link, frames)
}

fn write_frames(path: &Path, link: i32, frames: &[(pcap::PacketHeader, Vec<u8>)]) {
    let mut out = Capture::dead(Linktype(link)).expect("dead capture").savefile(path).expect("savefile");
    for (header, data) in frames {
        let mut header = *header;
        header.caplen = data.len() as u32;
        header.len = header.len.max(header.caplen);
        out.write(&Packet::new(&header, data));
    }
    out.flush().expect("flush");
}

/// A summary of items that ignores stream numbering: protocol, request and status.
fn digest(items: &[Value]) -> Vec<String> {
    let mut d: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {} {} {} -> {}",
                i["protocol"]["name"],
                i["src"]["ip"],
                i["src"]["port"],
                i["request"]["method"],
                i["request"]["url"],
                i["request"]["questions"],
                if i["response"].is_null() { "none".to_string() } else { format!("{}{} {}", i["response"]["status"], i["response"]["rcode"], i["response"]["content"]["size"]) }
            )
        })
        .collect();
    d.sort();
    d
}

fn pcap(name: &str) -> PathBuf {
    data_dir().join(name)
}

/// Ethernet frames re-wrapped in each other supported link layer carry the same items.
#[test]
fn every_link_type_gives_the_same_items() {
    let source = pcap("http1__zeek__pipelined-requests.pcap");
    let (link, frames) = read_frames(&source);
    assert_eq!(link, 1, "the source capture is Ethernet");
    let expected = digest(&replay_items(&source));
    assert_eq!(expected.len(), 5);
    let dir = tempfile::tempdir().expect("temp dir");
    // (link type, name, how to turn an Ethernet frame into it)
    type Wrap = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let wraps: Vec<(i32, &str, Wrap)> = vec![
        (113, "linux cooked v1", Box::new(|f: &[u8]| [&[0, 0, 0, 1, 0, 6][..], &f[6..12], &[0, 0], &f[12..]].concat())),
        (276, "linux cooked v2", Box::new(|f: &[u8]| [&f[12..14], &[0, 0, 0, 0, 0, 2, 0, 1, 0, 6][..], &f[6..12], &[0, 0], &f[14..]].concat())),
        (12, "raw IP", Box::new(|f: &[u8]| f[14..].to_vec())),
        (228, "IPv4", Box::new(|f: &[u8]| f[14..].to_vec())),
        (0, "BSD loopback", Box::new(|f: &[u8]| [&2u32.to_le_bytes()[..], &f[14..]].concat())),
        (108, "OpenBSD loopback", Box::new(|f: &[u8]| [&2u32.to_be_bytes()[..], &f[14..]].concat())),
        (1, "802.1Q + 802.1ad tagged Ethernet", Box::new(|f: &[u8]| [&f[..12], &[0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 7][..], &f[12..]].concat())),
    ];
    for (link, name, wrap) in wraps {
        let wrapped: Vec<_> = frames.iter().map(|(h, f)| (*h, wrap(f))).collect();
        let path = dir.path().join(format!("link-{link}-{}.pcap", name.replace(' ', "_")));
        write_frames(&path, link, &wrapped);
        assert_eq!(digest(&replay_items(&path)), expected, "items through {name} (link type {link})");
    }
}

/// Reordered, duplicated and overlapping segments of a real capture reassemble to the
/// same items; a lost segment costs at most the message it was in.
/// What arrives out of order and what arrives again, per direction, for frames of one
/// TCP connection over Ethernet and IPv4, counted from their sequence numbers: a data
/// segment past the next byte expected (and not yet seen) is out of order, one already
/// delivered or already waiting is a retransmission.
fn arrival_counts(frames: &[(pcap::PacketHeader, Vec<u8>)]) -> (u64, u64) {
    use std::collections::{BTreeMap, HashMap};
    let mut next: HashMap<u16, u32> = HashMap::new();
    let mut waiting: HashMap<u16, BTreeMap<u32, u32>> = HashMap::new();
    let (mut reordered, mut repeated) = (0, 0);
    for (_, frame) in frames {
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..];
        let (port, seq) = (u16::from_be_bytes([tcp[0], tcp[1]]), u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]));
        let length = (total - ihl - usize::from(tcp[12] >> 4) * 4) as u32;
        if tcp[13] & 0x02 != 0 {
            next.entry(port).or_insert(seq + 1);
            continue;
        }
        let (Some(expected), true) = (next.get(&port).copied(), length > 0) else { continue };
        let queue = waiting.entry(port).or_default();
        if seq < expected || queue.contains_key(&seq) {
            repeated += 1;
        } else if seq > expected {
            reordered += 1;
            queue.insert(seq, length);
        } else {
            let mut at = seq + length;
            while let Some(more) = queue.remove(&at) {
                at += more;
            }
            next.insert(port, at);
        }
    }
    (reordered, repeated)
}

#[test]
fn hostile_segment_order_is_reassembled() {
    let source = pcap("http1__zeek__pipelined-requests.pcap");
    let (link, frames) = read_frames(&source);
    let expected = digest(&replay_items(&source));
    let dir = tempfile::tempdir().expect("temp dir");

    // Every data packet after the handshake swapped with its neighbour, every third sent twice.
    let mut shuffled = frames.clone();
    for i in (4..shuffled.len() - 1).step_by(2) {
        shuffled.swap(i, i + 1);
    }
    let mut doubled = Vec::new();
    for (n, frame) in shuffled.iter().enumerate() {
        doubled.push(frame.clone());
        if n % 3 == 0 {
            doubled.push(frame.clone());
        }
    }
    let path = dir.path().join("shuffled.pcap");
    write_frames(&path, link, &doubled);
    let out = remora(&["replay", "-o", "json", path.to_str().expect("path")]);
    assert!(out.status.success());
    assert_eq!(digest(&parse_items(&out.stdout)), expected);
    let summary = String::from_utf8_lossy(&out.stderr);
    let (reordered, repeated) = arrival_counts(&doubled);
    assert!(reordered > 5 && repeated > 5, "the shuffle reorders and repeats data: {reordered} {repeated}");
    assert!(summary.contains(&format!("reassembly: {reordered} out of order, {repeated} retransmitted, 0 overlapping, 0 gaps")), "{summary}");

    // Drop the largest server segment: the response it belonged to is incomplete,
    // every other exchange is still found.
    let largest = (0..frames.len()).max_by_key(|&i| frames[i].1.len()).expect("frames");
    let mut lossy = frames.clone();
    lossy.remove(largest);
    let path = dir.path().join("lossy.pcap");
    write_frames(&path, link, &lossy);
    let items = replay_items(&path);
    assert_eq!(items.len(), 5, "all five requests still become items");
    let damaged: Vec<&Value> = items.iter().filter(|i| !i["error"].is_null()).collect();
    assert_eq!(damaged.len(), 1, "only the exchange that lost bytes says so");
    assert_eq!(damaged[0]["error"]["type"], "dissection");
}

/// `--pcap-dir` writes one file per stream, named by the items' `stream`; tshark reads
/// them back and together they hold every TCP/UDP packet of the input.
#[test]
fn pcap_dir_files_read_back_in_tshark() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = [pcap("http1__zeek__docker-http-upgrade.pcap"), pcap("dns__zeek__long-connection.pcap")];
    let mut args = vec!["replay", "-o", "json", "--pcap-dir", dir.path().to_str().expect("path")];
    args.extend(inputs.iter().map(|p| p.to_str().expect("path")));
    let out = remora(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let items = parse_items(&out.stdout);
    let count = |file: &Path| {
        let out = Command::new("tshark").args(["-r", file.to_str().expect("path"), "-T", "fields", "-e", "frame.number"]).output().expect("tshark runs");
        assert!(out.status.success(), "tshark reads {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    for item in &items {
        let file = dir.path().join(item["stream"].as_str().expect("stream"));
        assert!(file.exists(), "the stream file {} of item {} exists", file.display(), item["id"]);
    }
    let written: usize = std::fs::read_dir(dir.path()).expect("dir").map(|e| count(&e.expect("entry").path())).sum();
    let tcp_udp: usize = inputs.iter().map(|p| {
        let out = Command::new("tshark").args(["-r", p.to_str().expect("path"), "-Y", "tcp or udp", "-T", "fields", "-e", "frame.number"]).output().expect("tshark");
        String::from_utf8_lossy(&out.stdout).lines().count()
    }).sum();
    assert_eq!(written, tcp_udp, "the stream files hold every TCP/UDP packet");
    // The upgrade capture's 6 exchanges sit on 3 connections: one file each.
    let streams: std::collections::BTreeSet<&str> = items.iter().filter(|i| i["protocol"]["name"] == "http").filter_map(|i| i["stream"].as_str()).collect();
    assert_eq!(streams.len(), 3);
}

fn stderr_of(args: &[&str]) -> (bool, String) {
    let out = remora(args);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn bad_files_get_one_line_errors_and_a_failing_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.pcap");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a capture file, it is a note\n").expect("write");
    let good = pcap("http1__zeek__get.pcap");
    let bytes = std::fs::read(&good).expect("read");
    let truncated = dir.path().join("truncated.pcap");
    std::fs::write(&truncated, &bytes[..bytes.len() - 700]).expect("write");
    let usb = dir.path().join("usb.pcap");
    write_frames(&usb, 189, &[]);

    let cases: [(&Path, &str); 4] = [
        (&missing, "no such file"),
        (&text, "not a pcap or pcapng capture"),
        (&truncated, "cut short after"),
        (&usb, "unsupported link type 189"),
    ];
    for (path, what) in cases {
        let (ok, stderr) = stderr_of(&["replay", "-o", "none", "-q", path.to_str().expect("path")]);
        assert!(!ok, "{} must fail", path.display());
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("remora: error:")).collect();
        assert_eq!(errors.len(), 1, "one error line for {}: {stderr}", path.display());
        assert!(errors[0].contains(path.to_str().expect("path")) && errors[0].contains(what), "names the file and the problem: {}", errors[0]);
    }

    // A bad file among good ones: the good ones are still replayed.
    let out = remora(&["replay", "-o", "json", "-q", missing.to_str().expect("path"), good.to_str().expect("path")]);
    assert!(!out.status.success());
    assert_eq!(parse_items(&out.stdout).len(), 1);

    // The truncated file keeps the items before the cut.
    let out = remora(&["replay", "-o", "json", "-q", truncated.to_str().expect("path")]);
    let items = parse_items(&out.stdout);
    assert_eq!(items.len(), 1, "the request before the cut is kept");
}

#[test]
fn malformed_packets_are_counted_and_skipped() {
    let source = pcap("http1__zeek__get.pcap");
    let (link, mut frames) = read_frames(&source);
    let good = frames.len();
    // Cut frames at every length inside their headers, and garble an IP header.
    let template = frames[3].clone();
    for len in [0usize, 5, 13, 20, 33, 40, 53] {
        frames.push((template.0, template.1[..len].to_vec()));
    }
    let mut bad_ihl = template.clone();
    bad_ihl.1[14] = 0x41;
    frames.push(bad_ihl);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("malformed.pcap");
    write_frames(&path, link, &frames);
    let out = remora(&["replay", "-o", "json", path.to_str().expect("path")]);
    assert!(out.status.success());
    assert_eq!(parse_items(&out.stdout).len(), 1);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains(&format!("{} packets", good + 8)), "{summary}");
    assert!(summary.contains("8 malformed"), "{summary}");
}

#[test]
fn every_capture_replays_with_valid_items_and_a_summary() {
    for path in capture_files() {
        let out = remora(&["replay", "-o", "json", path.to_str().expect("path")]);
        assert!(out.status.success(), "{}", path.display());
        let items = parse_items(&out.stdout);
        assert!(!items.is_empty(), "{} has items", path.display());
        let summary = String::from_utf8_lossy(&out.stderr);
        assert!(summary.contains(&format!("items: {} (", items.len())), "the summary counts the items: {summary}");
    }
}

#[test]
fn table_output_shows_each_exchange() {
    let out = remora(&["replay", "-o", "table", "-q", pcap("dns__deepflow__nxdomain.pcap").to_str().expect("path")]);
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three exchanges:\n{table}");
    assert!(lines[0].starts_with("TIME") && lines[0].contains("STATUS"));
    assert!(lines[1].contains("NXDOMAIN") && lines[1].contains("AAAA prod-fcdt-e02.int.frontnode.net"), "{}", lines[1]);
    assert!(lines[2].contains("100.103.26.52"), "{}", lines[2]);
}

/// pcapng (converted by Wireshark's editcap) gives the same items as the pcap original.
#[test]
fn pcapng_reads_like_pcap() {
    let source = pcap("http1__zeek__100-continue.pcap");
    let dir = tempfile::tempdir().expect("temp dir");
    let converted = dir.path().join("100-continue.pcapng");
    let status = Command::new("editcap").args(["-F", "pcapng", source.to_str().expect("path"), converted.to_str().expect("path")]).status().expect("editcap runs (it comes with tshark)");
    assert!(status.success());
    assert_eq!(&std::fs::read(&converted).expect("read")[..4], b"\x0a\x0d\x0d\x0a", "a pcapng section header");
    let items = replay_items(&converted);
    assert_eq!(digest(&items), digest(&replay_items(&source)));
    assert_eq!(items[0]["response"]["interim"], serde_json::json!([100]), "the interim 100 Continue is recorded");
}

/// `--max-body` cuts bodies and the items say so.
#[test]
fn max_body_truncates_and_says_so() {
    let path = pcap("http1__zeek__pipelined-requests.pcap");
    let out = remora(&["replay", "-o", "json", "--max-body", "100", path.to_str().expect("path")]);
    assert!(out.status.success());
    let items = parse_items(&out.stdout);
    let mut cut = 0;
    for item in &items {
        let content = &item["response"]["content"];
        let wire = item["response"]["bodySize"].as_u64().expect("bodySize");
        assert_eq!(content["truncated"], wire > 100, "{}", item["request"]["url"]);
        assert!(content["size"].as_u64().expect("size") <= 100);
        cut += usize::from(wire > 100);
    }
    assert_eq!(cut, 4, "four of the five bodies are over 100 bytes");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("bodies truncated: 4"), "{summary}");
}

#[test]
fn protocols_select_which_dissectors_run() {
    // The PostgreSQL capture whose SSLRequest hands over to TLS: both protocols, then each.
    let capture = data_dir().join("postgres__zeek__psql-aws-ssl-require.pcap");
    let names = |list: &str| -> Vec<String> {
        let out = remora(&["replay", "-o", "json", "--protocols", list, capture.to_str().expect("path")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        parse_items(&out.stdout).iter().map(|i| i["protocol"]["name"].as_str().unwrap_or("").to_string()).collect()
    };
    assert_eq!(names("all"), ["postgres", "tls"]);
    assert_eq!(names("postgres"), ["postgres", "tls"], "TLS inside PostgreSQL comes with it");
    assert!(names("http,dns").is_empty(), "the flow is left undissected");
    let out = remora(&["replay", "--protocols", "http,gopher", capture.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"gopher\" is not a protocol Remora knows"), "{stderr}");
    // A TLS capture with TLS left out, then in.
    let tls = data_dir().join("tls__zeek__tls12-decryption.pcap");
    let count = |list: &str| parse_items(&remora(&["replay", "-o", "json", "--protocols", list, tls.to_str().expect("path")]).stdout).len();
    assert_eq!((count("http"), count("tls")), (0, 1));
}

#[test]
fn redact_replaces_the_fields_it_names_and_refuses_the_ones_it_cannot() {
    let capture = common::repo_root().join("examples/captures/http1__zeek__pipelined-requests.pcap");
    let capture = capture.to_str().expect("path");
    let out = remora(&["replay", "-o", "json", "--redact", "request.headers.user-agent", capture]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let items = parse_items(&out.stdout);
    assert!(!items.is_empty());
    for item in &items {
        assert_eq!(item["request"]["headers"]["user-agent"], "[REDACTED]", "{item}");
    }
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains(&format!("redacted: {} values", items.len())), "{summary}");
    // Without --redact nothing is: replay shows the capture as it is.
    let plain = parse_items(&remora(&["replay", "-o", "json", capture]).stdout);
    assert!(plain.iter().all(|i| i["request"]["headers"]["user-agent"] != "[REDACTED]"));
    let bad = remora(&["replay", "--redact", "request.body", capture]);
    assert!(!bad.status.success());
    let error = String::from_utf8_lossy(&bad.stderr);
    assert!(error.contains("\"request.body\" is not a field Remora can redact") && error.contains("request.postData.text"), "{error}");
}
