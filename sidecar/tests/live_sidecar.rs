//! The `remora-sidecar` binary capturing a "pod": a network namespace this test creates,
//! joined by a veth pair to a peer namespace with an HTTP server and dnsmasq. The
//! sidecar runs inside the pod's namespace with the environment the injector sets;
//! curl and dig make real traffic. Needs root, iproute2, curl, dig, dnsmasq, python3.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use remora_testkit::process::Logged;
use remora_testkit::{output, run, Netns, CLIENT_V4, SERVER_V4};
use serde_json::Value;

const HEALTH: &str = "127.0.0.1:15090";

struct Sidecar {
    process: Logged,
    items: mpsc::Receiver<Value>,
}

fn start_sidecar(net: &Netns, extra: &[&str]) -> Sidecar {
    let mut command = net.exec(&net.client, &[env!("CARGO_BIN_EXE_remora-sidecar"), "--health-listen", HEALTH]);
    command
        .args(extra)
        // What the injector's patch sets from the downward API.
        .env("REMORA_POD_NAME", "checkout-7c9f8d6b5-x7k2p")
        .env("REMORA_POD_NAMESPACE", "shop")
        .env("REMORA_POD_IP", CLIENT_V4)
        .env("REMORA_NODE_NAME", "node-1")
        .env("REMORA_NODE_IP", "198.51.100.7")
        .stdout(Stdio::piped());
    let mut process = Logged::spawn(command);
    let (item_tx, items) = mpsc::channel();
    let stdout = process.child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let item: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if item_tx.send(item).is_err() {
                break;
            }
        }
    });
    Sidecar { process, items }
}

fn get(net: &Netns, path: &str) -> (u16, String) {
    let out = net
        .exec(&net.client, &["curl", "-s", "-w", "\n%{http_code}", &format!("http://{HEALTH}{path}")])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn wait_ready(net: &Netns) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, body) = get(net, "/readyz");
        if code == 200 {
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz not 200 within 15 s (last: {code} {body})");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[test]
fn sidecar_captures_its_pod_and_reports_health() {
    let mut net = Netns::new();
    let www = tempfile::tempdir().expect("tempdir");
    std::fs::write(www.path().join("cart.json"), r#"{"items": 3}"#).expect("write");
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", SERVER_V4, "--directory", www.path().to_str().expect("path")]);
    net.spawn(&server, &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--listen-address=192.0.2.2", "--bind-interfaces", "--address=/payments.shop.test/192.0.2.80", "--port=53"]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/");

    // The scripts and env mounts, laid out as the kubelet lays out a ConfigMap and a
    // Secret volume (files behind a `..data` symlink).
    let mounts = tempfile::tempdir().expect("tempdir");
    let (scripts, env, data) = (mounts.path().join("scripts"), mounts.path().join("env"), mounts.path().join("data"));
    for (dir, name, text) in [
        (
            &scripts,
            "watch.js",
            "function onItemCaptured(data) {\n  if (data.protocol.name !== 'http') return;\n  console.log(env.GREETING + ' ' + data.request.path + ' ' + data.response.status);\n  \
             prometheus.vector('shop_http_answers', 'HTTP answers by path', 1, 1, {path: data.request.path});\n  console.clear();\n}\n\
             jobs.schedule('tick', '* * * * * *', function () { console.log('tick'); });\nconsole.log('node ' + utils.nodeName());\n",
        ),
        (&scripts, "skipped.js", "function onItemCaptured(data) { console.log('must not run'); }\n"),
        (&env, "GREETING", "hello"),
    ] {
        let versioned = dir.join("..2026_11_28_10_00_00.1");
        std::fs::create_dir_all(&versioned).expect("mkdir");
        std::fs::write(versioned.join(name), text).expect("write");
        let _ = std::os::unix::fs::symlink("..2026_11_28_10_00_00.1", dir.join("..data"));
        std::os::unix::fs::symlink(format!("..data/{name}"), dir.join(name)).expect("symlink");
    }
    let dirs = [scripts.to_str().expect("path"), env.to_str().expect("path"), data.to_str().expect("path")];
    let sidecar = start_sidecar(
        &net,
        &["--scripts-dir", dirs[0], "--env-dir", dirs[1], "--data-dir", dirs[2], "--scripts", "watch"],
    );
    let ready = wait_ready(&net);
    assert_eq!(ready.trim(), "capturing");
    assert_eq!(get(&net, "/healthz").0, 200);

    let client = net.client.clone();
    let body = output(net.exec(&client, &["curl", "-s", "http://192.0.2.2:8080/cart.json"]));
    assert_eq!(body, r#"{"items": 3}"#);
    let answer = output(net.exec(&client, &["dig", "+short", "+tries=1", "+time=2", "@192.0.2.2", "payments.shop.test", "A"]));
    assert_eq!(answer.trim(), "192.0.2.80");

    // Items arrive while capture goes on (the DNS one as soon as it is answered, the
    // HTTP one once its response is complete).
    let mut http = None;
    let mut dns = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while (http.is_none() || dns.is_none()) && Instant::now() < deadline {
        let Ok(item) = sidecar.items.recv_timeout(Duration::from_millis(200)) else { continue };
        match item["protocol"]["name"].as_str() {
            Some("http") if item["request"]["path"] == "/cart.json" => http = Some(item),
            Some("dns") if item["request"]["questions"][0]["name"] == "payments.shop.test" => dns = Some(item),
            _ => {}
        }
    }
    let http = http.expect("no HTTP item for /cart.json within 10 s");
    assert_eq!(http["response"]["status"], 200);
    assert_eq!(http["src"]["ip"], CLIENT_V4);
    assert_eq!(http["dst"]["ip"], SERVER_V4);
    assert_eq!(http["dst"]["port"], "8080");
    assert_eq!(http["outgoing"], true, "the pod's own address is the source");
    assert_eq!(http["namespace"], "shop");
    assert_eq!(http["worker"], "checkout-7c9f8d6b5-x7k2p");
    assert_eq!(http["node"]["name"], "node-1");
    let dns = dns.expect("no DNS item within 10 s");
    assert_eq!(dns["response"]["answers"][0]["data"], "192.0.2.80", "{dns}");

    // Counters: what the kernel passed on the pod's interface, nothing dropped.
    // libpcap's counters are read about once a second: wait for them to move.
    let dev = &net.client_dev;
    let received = format!("remora_sidecar_kernel_received_total{{interface=\"{dev}\"}}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (code, metrics) = get(&net, "/metrics");
        assert_eq!(code, 200);
        if metric(&metrics, &received) >= 10 {
            break metrics;
        }
        assert!(Instant::now() < deadline, "kernel counters did not move in 10 s:\n{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(metric(&metrics, &format!("remora_sidecar_kernel_dropped_total{{interface=\"{dev}\"}}")), 0);
    assert!(metric(&metrics, "remora_sidecar_items_total") >= 2);
    assert_eq!(metric(&metrics, "remora_sidecar_capturing"), 1);
    // The script's metric, after the sidecar's own, as a Prometheus parser reads them.
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text");
    let answers = scrape.samples.iter().find(|s| s.metric == "shop_http_answers" && s.labels.get("path") == Some("/cart.json"));
    assert_eq!(answers.map(|s| s.value.clone()), Some(prometheus_parse::Value::Counter(1.0)), "{metrics}");
    assert_eq!(scrape.docs.get("shop_http_answers").map(String::as_str), Some("HTTP answers by path"));

    // The job runs every second on the wall clock, traffic or not.
    let mut log: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while log.iter().filter(|l| l.contains("[watch.js] tick")).count() < 2 {
        assert!(Instant::now() < deadline, "the every-second job did not run twice in 5 s: {log:?}");
        if let Ok(line) = sidecar.process.log.recv_timeout(Duration::from_millis(200)) {
            log.push(line);
        }
    }

    // SIGTERM: stops within seconds and says what it did.
    let mut sidecar = sidecar;
    run(&["kill", "-TERM", &sidecar.process.child.id().to_string()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = sidecar.process.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // The rest of stderr, up to its end (the process is gone, so the pipe closes).
    while let Ok(line) = sidecar.process.log.recv_timeout(Duration::from_secs(5)) {
        log.push(line);
    }
    assert!(log.iter().any(|l| l.contains(&format!("capturing on {dev}"))), "{log:?}");
    assert!(log.iter().any(|l| l.contains("scripts (mounted): 1 loaded (watch.js)")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("[watch.js] hello /cart.json 200")), "{log:?}");
    // utils.nodeName() is the node of the downward API (REMORA_NODE_NAME).
    assert!(log.iter().any(|l| l.ends_with("[watch.js] node node-1")), "{log:?}");
    assert!(!log.iter().any(|l| l.contains("must not run")), "{log:?}");
    // console.clear() is for the console stream: the sidecar's own log keeps its lines.
    assert!(!log.iter().any(|l| l.contains('\u{c}')), "{log:?}");
    assert!(log.iter().any(|l| l.contains("stopped after")), "{log:?}");
}

#[test]
fn a_sidecar_that_cannot_capture_still_lets_the_pod_start() {
    let net = Netns::new();
    for (args, why) in [
        (vec!["--interfaces", "eth9"], "no interface \"eth9\""),
        (vec!["--capture-filter", "tcp port eighty"], "capture filter"),
    ] {
        let mut sidecar = start_sidecar(&net, &args);
        let ready = wait_ready(&net);
        assert!(ready.starts_with("not capturing:") && ready.contains(why), "{args:?}: {ready}");
        let (_, metrics) = get(&net, "/metrics");
        assert_eq!(metric(&metrics, "remora_sidecar_capturing"), 0);
        run(&["kill", "-TERM", &sidecar.process.child.id().to_string()]);
        let status = sidecar.process.child.wait().expect("wait");
        assert!(status.success(), "{status}");
    }
}

#[test]
fn pcap_files_per_stream_stay_within_the_retention_limit() {
    let mut net = Netns::new();
    let www = tempfile::tempdir().expect("tempdir");
    std::fs::write(www.path().join("page.html"), "x".repeat(2000)).expect("write");
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", SERVER_V4, "--directory", www.path().to_str().expect("path")]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/");

    let data = tempfile::tempdir().expect("tempdir");
    let limit: u64 = 12_000;
    let sidecar = start_sidecar(
        &net,
        &["--data-dir", data.path().to_str().expect("path"), "--pcap-retention-bytes", &limit.to_string(), "--output", "none"],
    );
    wait_ready(&net);
    let client = net.client.clone();
    for _ in 0..20 {
        output(net.exec(&client, &["curl", "-s", "-o", "/dev/null", "http://192.0.2.2:8080/page.html"]));
    }
    let pcaps = data.path().join("pcaps");
    let total = |dir: &std::path::Path| -> (u64, usize) {
        let sizes: Vec<u64> = std::fs::read_dir(dir)
            .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).collect())
            .unwrap_or_default();
        (sizes.iter().sum(), sizes.len())
    };
    // The files are flushed about once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (written, files) = total(&pcaps);
        if files >= 10 && written > limit {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expected a file per stream and more than {limit} bytes in all, found {files} files, {written} bytes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Retention passes every 2 s and spares files written in the last 5 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let kept = loop {
        let (bytes, files) = total(&pcaps);
        if bytes <= limit {
            break files;
        }
        assert!(Instant::now() < deadline, "still {bytes} bytes in {files} PCAPs after 20 s (limit {limit})");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(kept >= 1, "the newest streams are kept");
    // What is kept is a whole capture file tshark reads: one HTTP exchange per TCP stream
    // file (the interfaces' own ICMPv6 chatter has `_icmp` files).
    let newest = std::fs::read_dir(&pcaps)
        .expect("pcaps")
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.to_string_lossy().contains('_'))
        .max()
        .expect("a file");
    let mut tshark = std::process::Command::new("tshark");
    tshark.args(["-r", newest.to_str().expect("path"), "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"]);
    let read = output(tshark);
    assert_eq!(read.trim(), "/page.html");
    drop(sidecar);
}

#[test]
fn a_hook_waiting_on_the_network_does_not_stall_capture() {
    let mut net = Netns::new();
    let server = net.server.clone();
    net.spawn(&server, &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--listen-address=192.0.2.2", "--bind-interfaces", "--address=/payments.shop.test/192.0.2.80", "--port=53"]);
    // A webhook that accepts connections and never answers.
    let hang = "import socket, time\ns = socket.socket()\ns.bind(('192.0.2.2', 9999))\ns.listen(64)\nheld = []\nwhile True:\n    held.append(s.accept())\n";
    net.spawn(&server, &["python3", "-c", hang]);
    let probe = "import socket, time\nfor _ in range(100):\n    try:\n        socket.create_connection(('192.0.2.2', 9999), 1).close()\n        break\n    except OSError:\n        time.sleep(0.05)\n";
    output(net.exec(&net.client, &["python3", "-c", probe]));
    let mounts = tempfile::tempdir().expect("tempdir");
    let (scripts, env, data) = (mounts.path().join("scripts"), mounts.path().join("env"), mounts.path().join("data"));
    std::fs::create_dir_all(&scripts).expect("scripts dir");
    std::fs::create_dir_all(&env).expect("env dir");
    std::fs::write(
        scripts.join("alert.js"),
        "function onItemCaptured(data) {\n  if (data.protocol.name !== 'dns') return;\n  try { vendor.webhook('POST', 'http://192.0.2.2:9999/alert', 'x', {}); } catch (e) { console.log('waited: ' + e.message); }\n}\n",
    )
    .expect("script");
    let dirs = [scripts.to_str().expect("path"), env.to_str().expect("path"), data.to_str().expect("path")];
    let sidecar = start_sidecar(&net, &["--scripts-dir", dirs[0], "--env-dir", dirs[1], "--data-dir", dirs[2], "--script-network-budget-ms", "6000"]);
    wait_ready(&net);
    let client = net.client.clone();
    let answer = output(net.exec(&client, &["dig", "+short", "+tries=1", "+time=2", "@192.0.2.2", "payments.shop.test", "A"]));
    assert_eq!(answer.trim(), "192.0.2.80");
    let asked = Instant::now();

    // While the hook waits on the webhook, a burst of 5,000 datagrams: the pipeline takes
    // every one of them.
    let (_, before) = get(&net, "/metrics");
    let before = metric(&before, "remora_sidecar_packets_total");
    let burst = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(5000):\n    s.sendto(b'x' * 200, ('192.0.2.2', 7777))\n";
    output(net.exec(&client, &["python3", "-c", burst]));
    let dev = &net.client_dev;
    let taken = loop {
        let (_, metrics) = get(&net, "/metrics");
        let packets = metric(&metrics, "remora_sidecar_packets_total") - before;
        if packets >= 5000 {
            assert_eq!(metric(&metrics, &format!("remora_sidecar_kernel_dropped_total{{interface=\"{dev}\"}}")), 0);
            break asked.elapsed();
        }
        assert!(asked.elapsed() < Duration::from_secs(5), "the pipeline took {packets} of the burst's 5000 packets while the hook waited");
        std::thread::sleep(Duration::from_millis(100));
    };
    // The burst to a closed port draws ICMP port-unreachable items; the DNS item waits.
    let early: Vec<Value> = sidecar.items.try_iter().collect();
    assert!(early.iter().all(|i| i["protocol"]["name"] == "icmp"), "the DNS item waits for its hook ({taken:?} after the query): {early:?}");

    // The hook's wait ends with the network budget; then its item goes out.
    let mut log = Vec::new();
    sidecar.process.wait_for("waited: vendor.webhook: no answer from 192.0.2.2:9999 within 6.0 s", &mut log);
    let item = std::iter::from_fn(|| sidecar.items.recv_timeout(Duration::from_secs(5)).ok()).find(|i| i["protocol"]["name"] != "icmp").expect("the DNS item after its hook");
    assert_eq!(item["protocol"]["name"], "dns");
    assert!(asked.elapsed() >= Duration::from_secs(6), "the item went out after the hook's wait");
}

/// The hub's name moves to another address (its Service recreated): the sidecar resolves
/// it again and leaves the new address out of capture, and captures the old one again.
/// The name resolves through the pod namespace's own hosts file (`ip netns exec` puts
/// /etc/netns/NAME/hosts in place of /etc/hosts), which the test rewrites.
#[test]
fn the_hub_session_stays_out_of_capture_when_its_address_changes() {
    let mut net = Netns::new();
    let server = net.server.clone();
    run(&["ip", "-n", &server, "addr", "add", "192.0.2.3/24", "dev", &net.server_dev]);
    let www = tempfile::tempdir().expect("tempdir");
    for page in ["a", "b", "c", "d"] {
        std::fs::write(www.path().join(page), page).expect("write");
    }
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", www.path().to_str().expect("path")]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/a");
    net.wait_for_http(&net.client, "http://192.0.2.3:8080/a");

    let etc = remora_testkit::NetnsHosts::new(&net.client, "192.0.2.3", "hub.test");
    let hosts = etc.file();

    let data = tempfile::tempdir().expect("tempdir");
    let sidecar = start_sidecar(
        &net,
        &["--hub", "ws://hub.test:8080", "--hub-recheck-seconds", "1", "--output", "json", "--data-dir", data.path().to_str().expect("path")],
    );
    wait_ready(&net);
    let client = net.client.clone();
    let fetch = |address: &str, page: &str| output(net.exec(&client, &["curl", "-s", &format!("http://{address}:8080/{page}")]));
    assert_eq!(fetch("192.0.2.2", "a"), "a");
    assert_eq!(fetch("192.0.2.3", "b"), "b");

    // The hub moves to 192.0.2.2 (written in place: the namespace's view is a bind mount).
    std::fs::write(&hosts, "127.0.0.1 localhost\n192.0.2.2 hub.test\n").expect("hosts");
    sidecar.process.wait_for("is now at [192.0.2.2:8080]", &mut Vec::new());
    // The readers put the new filter in place between packets: within a poll.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fetch("192.0.2.3", "c"), "c");
    assert_eq!(fetch("192.0.2.2", "d"), "d");

    let mut paths = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(item) = sidecar.items.recv_timeout(Duration::from_millis(200)) {
            if let Some(path) = item["request"]["path"].as_str().filter(|p| ["/a", "/b", "/c", "/d"].contains(p)) {
                paths.push(path.to_string());
            }
        }
    }
    paths.sort();
    assert_eq!(paths, ["/a", "/c"], "the hub's address, old then new, left out of capture");
}

/// The mesh's two proxies, standing in for Envoy. `proxy LISTEN PEER_PORT`, in the pod:
/// accepts what iptables redirected to it, reads the original destination
/// (SO_ORIGINAL_DST) and carries the bytes there over TLS to the peer's proxy port, as the
/// mesh's mTLS does. `peer PORT APP_PORT CERT KEY`, at the peer: TLS in, plaintext to the
/// application on its loopback.
const MESH_RELAY: &str = r#"
import socket, ssl, struct, sys, threading
def pipe(a, b):
    try:
        while (data := a.recv(65536)): b.sendall(data)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def relay(downstream, upstream):
    threading.Thread(target=pipe, args=(downstream, upstream), daemon=True).start()
    pipe(upstream, downstream)
def proxy(app):
    port, ip = struct.unpack('!2xH4s8x', app.getsockopt(socket.SOL_IP, 80, 16))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); tls.check_hostname = False; tls.verify_mode = ssl.CERT_NONE
    relay(app, tls.wrap_socket(socket.create_connection((socket.inet_ntoa(ip), int(sys.argv[3])))))
def peer(conn):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); tls.load_cert_chain(sys.argv[4], sys.argv[5])
    try: conn = tls.wrap_socket(conn, server_side=True)
    except OSError: return
    relay(conn, socket.create_connection(('127.0.0.1', int(sys.argv[3]))))
mode, port = sys.argv[1], int(sys.argv[2])
server = socket.create_server(('127.0.0.1' if mode == 'proxy' else '0.0.0.0', port))
while True:
    threading.Thread(target=proxy if mode == 'proxy' else peer, args=(server.accept()[0],), daemon=True).start()
"#;

/// The iptables rules istio-iptables sets up for the outbound side from istio-init's
/// arguments (REDIRECT mode): the proxy's own user and the `-o` ports return, the rest of
/// the pod's TCP goes to the `-p` port.
fn istio_outbound_rules(args: &[String]) -> Vec<Vec<String>> {
    let after = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let proxy_port = after("-p").expect("istio-init's -p");
    let uid = after("-u").expect("istio-init's -u");
    let mut rules = vec![
        vec!["-t", "nat", "-N", "ISTIO_OUTPUT"],
        vec!["-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "ISTIO_OUTPUT"],
        vec!["-t", "nat", "-A", "ISTIO_OUTPUT", "-m", "owner", "--uid-owner", &uid, "-j", "RETURN"],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(String::from).collect::<Vec<String>>())
    .collect::<Vec<_>>();
    for port in after("-o").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        rules.push(["-t", "nat", "-A", "ISTIO_OUTPUT", "-p", "tcp", "--dport", port, "-j", "RETURN"].map(String::from).to_vec());
    }
    rules.push(["-t", "nat", "-A", "ISTIO_OUTPUT", "-d", "127.0.0.1/32", "-j", "RETURN"].map(String::from).to_vec());
    rules.push(["-t", "nat", "-A", "ISTIO_OUTPUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", &proxy_port].map(String::from).to_vec());
    rules
}

/// The pod the injector made from an Istio pod (its golden answer): istio-init's
/// arguments and the sidecar's environment.
fn injected_istio_pod() -> (Vec<String>, Vec<(String, String)>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../injector/tests/golden/mesh-istio.out.yaml");
    let answer: Value = serde_norway::from_str(&std::fs::read_to_string(&path).expect("the injector's golden answer")).expect("YAML");
    let inits = answer["pod"]["spec"]["initContainers"].as_array().expect("init containers").clone();
    let istio_init = inits.iter().find(|c| c["name"] == "istio-init").expect("istio-init");
    let args = istio_init["args"].as_array().expect("args").iter().filter_map(|a| a.as_str().map(String::from)).collect();
    let sidecar = inits.iter().find(|c| c["name"] == "remora-sidecar").expect("the sidecar");
    let env = sidecar["env"].as_array().expect("env").iter().filter_map(|v| Some((v["name"].as_str()?.to_string(), v["value"].as_str()?.to_string()))).collect();
    (args, env)
}

/// Istio in the pod, as the injector left it: istio-init's rules (built from the arguments
/// the injector gave it) redirect the application's TCP to a proxy that carries it over
/// TLS. The sidecar, told by REMORA_MESH, captures the plaintext on lo and shows the
/// peer the application asked for; its own hub session stays out of the redirection (the
/// injector's `-o`) and so out of the items.
#[test]
fn a_mesh_proxy_in_the_pod_is_seen_through() {
    let (init_args, env) = injected_istio_pod();
    let env_value = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let mesh = env_value("REMORA_MESH").expect("the injector tells the sidecar about the mesh");
    let hub_port = env_value("REMORA_HUB").and_then(|hub| hub.rsplit(':').next().map(String::from)).expect("a hub port");
    assert_eq!(hub_port, "8898");

    let mut net = Netns::new();
    let (client, server) = (net.client.clone(), net.server.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("menu"), "soup").expect("write");
    let (_, cert, key) = remora_testkit::api_server::ip_certificate(SERVER_V4);
    let (cert_file, key_file) = (dir.path().join("peer.crt"), dir.path().join("peer.key"));
    std::fs::write(&cert_file, cert).expect("write");
    std::fs::write(&key_file, key).expect("write");
    let path = |name: &str| dir.path().join(name).to_str().expect("path").to_string();
    // The peer: the application on 8080 (loopback only: reached through its proxy), its
    // proxy on 15008, and a stand-in hub on the hub's port (answered directly).
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory", &path("")]);
    let hub = net.spawn(&server, &["python3", "-m", "http.server", &hub_port, "--bind", SERVER_V4, "--directory", &path("")]);
    let hub_log = net.children[hub].stderr.take().expect("the hub stand-in's log");
    let (hub_tx, hub_requests) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(hub_log).lines().map_while(Result::ok) {
            let _ = hub_tx.send(line);
        }
    });
    net.spawn(&server, &["python3", "-c", MESH_RELAY, "peer", "15008", "8080", &path("peer.crt"), &path("peer.key")]);
    net.wait_for_http(&net.client, &format!("http://{SERVER_V4}:{hub_port}/menu"));
    // The pod: the proxy runs as Istio's proxy user, whose traffic the rules let through.
    let proxy_port = init_args.iter().position(|a| a == "-p").map(|i| init_args[i + 1].clone()).expect("-p");
    let uid = init_args.iter().position(|a| a == "-u").map(|i| init_args[i + 1].clone()).expect("-u");
    // Its source on the command line, and Debian's python3: neither the test's directory
    // nor a python under /root is the proxy user's to read.
    let python = "/usr/bin/python3";
    assert!(std::path::Path::new(python).exists(), "{python} is missing (bash scripts/setup.sh --test)");
    net.spawn(&client, &["setpriv", "--reuid", &uid, "--regid", &uid, "--clear-groups", python, "-c", MESH_RELAY, "proxy", &proxy_port, "15008"]);
    for rule in istio_outbound_rules(&init_args) {
        let mut args = vec!["ip", "netns", "exec", &client, "iptables"];
        args.extend(rule.iter().map(String::as_str));
        run(&args);
    }
    let data = tempfile::tempdir().expect("tempdir");
    let mut command = net.exec(&client, &[env!("CARGO_BIN_EXE_remora-sidecar"), "--health-listen", HEALTH]);
    command
        .args(["--hub", &format!("ws://{SERVER_V4}:{hub_port}"), "--output", "json", "--data-dir", data.path().to_str().expect("path")])
        .env("REMORA_MESH", &mesh)
        .env("REMORA_POD_IP", CLIENT_V4)
        .stdout(Stdio::piped());
    let mut process = Logged::spawn(command);
    let stdout = process.child.stdout.take().expect("stdout");
    let (item_tx, items) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(item) = serde_json::from_str(&line) {
                let _ = item_tx.send(item);
            }
        }
    });
    wait_ready(&net);
    // The application asks for the peer's address; the proxy carries it (once it listens).
    // Tries made: a slow machine may need more than one, each its own request.
    let mut tries = 0;
    let body = remora_testkit::eventually(Duration::from_secs(10), "an answer through the mesh's proxy", || {
        tries += 1;
        let out = net.exec(&client, &["curl", "-s", "--max-time", "5", &format!("http://{SERVER_V4}:8080/menu")]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
    });
    assert_eq!(body, "soup", "through the mesh's proxy");

    let mut http = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        if let Ok(item) = items.recv_timeout(Duration::from_millis(200)) {
            if item["protocol"]["name"] == "http" {
                http.push(item);
            }
        }
    }
    let shown: Vec<String> = http
        .iter()
        .map(|i| format!("{} {}:{} -> {}:{} outgoing={}", i["request"]["path"].as_str().unwrap_or(""), i["src"]["ip"].as_str().unwrap_or(""), i["src"]["port"].as_str().unwrap_or(""), i["dst"]["ip"].as_str().unwrap_or(""), i["dst"]["port"].as_str().unwrap_or(""), i["outgoing"]))
        .collect();
    let menu: Vec<&Value> = http.iter().filter(|i| i["request"]["path"] == "/menu").collect();
    // Each request seen once (on lo; eth0 carries TLS): one item per client port, no more
    // items than tries.
    let ports: std::collections::BTreeSet<&str> = menu.iter().filter_map(|i| i["src"]["port"].as_str()).collect();
    assert!(!menu.is_empty() && menu.len() <= tries && ports.len() == menu.len(), "each of {tries} tries seen at most once: {shown:#?}");
    // The try that was answered is the last.
    let answered = menu[menu.len() - 1];
    assert_eq!((answered["src"]["ip"].as_str(), answered["dst"]["ip"].as_str(), answered["dst"]["port"].as_str()), (Some(CLIENT_V4), Some(SERVER_V4), Some("8080")), "the peer the application asked for: {shown:#?}");
    assert_eq!(answered["outgoing"], true);
    assert_eq!(answered["response"]["status"], 200);
    assert!(http.iter().all(|i| i["dst"]["port"] != hub_port.as_str() && i["dst"]["port"] != proxy_port.as_str()), "neither the hub session nor the proxy's address: {shown:#?}");
    // The sidecar reached the hub itself, from the pod's address: not through the proxy
    // (which would have carried it to the peer's application instead).
    let direct = remora_testkit::eventually(Duration::from_secs(10), "the sidecar's hub session at the hub", || {
        // (wait_for_http asked for /menu before the rules were in place.)
        hub_requests.try_iter().find(|line| line.starts_with(&format!("{CLIENT_V4} - - ")) && line.contains("\"GET /") && !line.contains("/menu"))
    });
    assert!(direct.contains(" 404 ") || direct.contains(" 200 "), "{direct}");
}
