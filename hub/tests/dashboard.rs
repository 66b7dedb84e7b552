//! The dashboard in Debian's headless Chromium, driven by playwright-core
//! (`dashboard/e2e/dashboard.mjs`), against the real `remora-hub` fed by the real
//! `remora-sidecar --replay` of the example captures: sign-in, the list filling live,
//! pass/fail colours from the hub script's `onItemQueried`, KFL filters and their errors,
//! item detail and PCAP download, scripts edited in the page taking effect, the console
//! and jobs; the service map (exact counts per edge, windows, an edge clicked opening its
//! items); and a list of 99,990 items paged in with the rows virtualised. Screenshots
//! of each view are left in `target/tmp/dashboard/<scenario>/`.
//!
//! Needs node, `npm ci` in dashboard/ and Debian's chromium (scripts/setup.sh --test
//! installs them); everything listens on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use remora_testkit::peers::free_port;
use remora_testkit::process::{workspace_binary, Logged};

#[path = "support/shop.rs"]
mod shop;

const TOKEN: &str = "dashboard-e2e-7d41";

/// Fails what an item's answer says is wrong; passes the rest. Its console lines and job
/// are what the console and jobs views must show.
const VERDICT: &str = r#"function onItemQueried(data) {
  var dns = data.protocol.name == "dns";
  if (data.error || (data.response && ((dns && data.response.rcode != 0) || data.response.status >= 400))) {
    test.fail(data);
  } else {
    test.pass(data);
  }
  return data;
}
function onItemCaptured(data) {
  console.log("captured " + data.protocol.name);
}
jobs.schedule("hourly-report", "0 0 * * * *", function () {
  console.log("hourly report ran");
});
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sidecar_binary() -> PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora-sidecar")
}

fn remora_binary() -> PathBuf {
    workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), "remora")
}

fn check_browser_tools() {
    let playwright = repo().join("dashboard/node_modules/playwright-core");
    assert!(playwright.exists(), "{} is missing: run `npm ci` in dashboard/ (scripts/setup.sh --test does)", playwright.display());
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: apt-get install chromium (scripts/setup.sh --test does)");
}

struct TestHub {
    _process: Logged,
    sidecar_url: String,
    api: String,
    token_file: PathBuf,
}

fn start_hub(work: &Path, scripts: Option<&Path>, objects: Option<&Path>) -> TestHub {
    let token_file = work.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token");
    let (sessions, api) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_remora-hub"));
    command
        .args(["--listen", &format!("127.0.0.1:{sessions}"), "--api-listen", &format!("127.0.0.1:{api}")])
        .arg("--token-file")
        .arg(&token_file)
        .arg("--data-dir")
        .arg(work.join("hub-data"))
        // Room for the long list's 99,990 parsed DNS items (about 9 KB each in memory).
        .args(["--max-bytes", &(1u64 << 30).to_string()])
        .stdout(Stdio::null());
    if let Some(dir) = scripts {
        command.arg("--scripts-dir").arg(dir);
    }
    if let Some(dir) = objects {
        command.arg("--objects-dir").arg(dir);
    }
    let process = Logged::spawn(command);
    process.wait_for("API (/api/items", &mut Vec::new());
    TestHub { _process: process, sidecar_url: format!("ws://127.0.0.1:{sessions}"), api: format!("http://127.0.0.1:{api}"), token_file }
}

/// A sidecar that replays `files` to the hub as pod `shop/demo-1` and stays connected.
fn sidecar_command(hub: &TestHub, work: &Path, scripts: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut args = vec![
        sidecar_binary().display().to_string(),
        "--health-listen".into(),
        format!("127.0.0.1:{}", free_port()),
        "--hub".into(),
        hub.sidecar_url.clone(),
        "--hub-token-file".into(),
        hub.token_file.display().to_string(),
        "--pod-name".into(),
        "demo-1".into(),
        "--pod-namespace".into(),
        "shop".into(),
        "--node-name".into(),
        "node-a".into(),
        "--data-dir".into(),
        work.join("sidecar-data").display().to_string(),
        "--scripts-dir".into(),
        scripts.display().to_string(),
        "--env-dir".into(),
        work.join("no-env").display().to_string(),
        "--output".into(),
        "none".into(),
        "--replay".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args
}

fn screenshots(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard").join(scenario)
}

/// Runs one scenario of the browser script; its step lines go to the test's output.
fn run_browser(scenario: &str, hub: &TestHub, items: usize, sidecar: Option<Vec<String>>, signed_in: &str) {
    let shots = screenshots(scenario);
    let _ = std::fs::remove_dir_all(&shots);
    let mut command = Command::new("node");
    command
        .current_dir(repo().join("dashboard"))
        .args(["e2e/dashboard.mjs", scenario])
        .env("REMORA_E2E_HUB", &hub.api)
        .env("REMORA_E2E_TOKEN", TOKEN)
        .env("REMORA_E2E_SIGNED_IN", signed_in)
        .env("REMORA_E2E_ITEMS", items.to_string())
        .env("REMORA_E2E_SCREENSHOTS", &shots)
        .env("REMORA_E2E_EXAMPLE", repo().join("examples/scripts/errors-and-slow-calls.js"));
    if let Some(sidecar) = sidecar {
        command.env("REMORA_E2E_SIDECAR", serde_json::to_string(&sidecar).expect("json"));
    }
    let status = command.status().expect("node (scripts/setup.sh --test installs it)");
    println!("screenshots: {}", shots.display());
    assert!(status.success(), "the browser scenario {scenario} failed (screenshots and sidecar.log in {})", shots.display());
}

fn example_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/captures"))
        .expect("examples/captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_dashboard_shows_items_scripts_console_and_jobs() {
    check_browser_tools();
    let work = tempfile::tempdir().expect("tempdir");
    let scripts = work.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("verdict.js"), VERDICT).expect("script");
    let hub = start_hub(work.path(), Some(&scripts), None);
    // The five example captures make 26 items: 14 DNS, 12 HTTP (`bash scripts/demo.sh`).
    let sidecar = sidecar_command(&hub, work.path(), &scripts, &example_captures());
    run_browser("views", &hub, 26, Some(sidecar), "");
}

/// The body of `GET path` from the hub's API (empty when it cannot be reached).
fn fetch(api: &str, path: &str) -> String {
    let address = api.trim_start_matches("http://");
    let Ok(mut stream) = TcpStream::connect(address) else { return String::new() };
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// `remora_hub_items_stored` from the hub's /metrics.
fn stored(api: &str) -> usize {
    fetch(api, "/metrics").lines().find_map(|l| l.strip_prefix("remora_hub_items_stored ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

#[test]
fn a_long_list_pages_in_and_stays_virtualised() {
    const ITEMS: usize = 99_990;
    check_browser_tools();
    let work = tempfile::tempdir().expect("tempdir");
    let hub = start_hub(work.path(), None, None);
    // The 11 exchanges of the long DNS capture, replayed 9,090 times: 99,990 items.
    let capture = repo().join("examples/captures/dns__zeek__long-connection.pcap");
    let files = vec![capture; 9090];
    let mut args = sidecar_command(&hub, work.path(), &work.path().join("no-scripts"), &files);
    args.splice(1..1, ["--pcap-retention-bytes".to_string(), "0".to_string()]);
    let mut sidecar = Command::new(&args[0]);
    sidecar.args(&args[1..]).stdout(Stdio::null());
    let _sidecar = Logged::spawn(sidecar);
    let deadline = Instant::now() + Duration::from_secs(300);
    while stored(&hub.api) < ITEMS {
        assert!(Instant::now() < deadline, "the hub stored {} of {ITEMS} items", stored(&hub.api));
        std::thread::sleep(Duration::from_millis(200));
    }
    // `remora dashboard` gives the address to open, signed in.
    let remora = remora_binary();
    let printed = Command::new(&remora).args(["dashboard", "--hub", &hub.api, "--token", TOKEN]).output().expect("remora dashboard");
    assert!(printed.status.success(), "remora dashboard: {}", String::from_utf8_lossy(&printed.stderr));
    let address = String::from_utf8(printed.stdout).expect("utf-8").trim().to_string();
    assert_eq!(address, format!("{}/#token={TOKEN}", hub.api));
    run_browser("volume", &hub, ITEMS, None, &address);
}

/// The Map view: a small shop's items (support/shop.rs: named pods and services, one
/// unnamed address) in the hub's journal with its pods in `--objects-dir`, and the example
/// captures replayed by a sidecar; exact counts per edge, windows, the KFL box, and an
/// edge clicked opening Items filtered to exactly its items.
#[test]
fn the_service_map_shows_workloads_and_an_edge_opens_its_items() {
    check_browser_tools();
    let work = tempfile::tempdir().expect("tempdir");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let shop_items = shop::items(now, &shop::templates(&remora_binary(), &repo()));
    shop::write_journal(&work.path().join("hub-data"), &shop_items);
    let objects = work.path().join("objects");
    shop::write_objects(&objects);
    let hub = start_hub(work.path(), None, Some(&objects));
    let mut args = sidecar_command(&hub, work.path(), &work.path().join("no-scripts"), &example_captures());
    args.splice(1..1, ["--pcap-retention-bytes".to_string(), "0".to_string()]);
    let mut sidecar = Command::new(&args[0]);
    sidecar.args(&args[1..]).stdout(Stdio::null());
    let _sidecar = Logged::spawn(sidecar);
    let items = shop_items.len() + 26;
    let deadline = Instant::now() + Duration::from_secs(60);
    // Every item stored, and the pods read (db-0 is then the StatefulSet db).
    while stored(&hub.api) < items || !fetch(&hub.api, "/api/servicemap").contains(r#""id":"shop/db""#) {
        assert!(Instant::now() < deadline, "the hub stored {} of {items} items, or did not read its pods", stored(&hub.api));
        std::thread::sleep(Duration::from_millis(200));
    }
    run_browser("map", &hub, items, None, &format!("{}/#token={TOKEN}", hub.api));
}

/// hub/dashboard/ (what the binary serves) is the build of dashboard/ as it is now:
/// vite builds it again into a temporary directory and every file must be the same.
#[test]
fn the_served_dashboard_is_built_from_its_sources() {
    check_browser_tools();
    let out = tempfile::tempdir().expect("tempdir");
    let status = Command::new("node")
        .current_dir(repo().join("dashboard"))
        .args(["node_modules/vite/bin/vite.js", "build", "--logLevel", "warn", "--emptyOutDir", "--outDir"])
        .arg(out.path())
        .status()
        .expect("node");
    assert!(status.success(), "vite build failed");
    for file in ["index.html", "assets/app.js", "assets/app.css"] {
        let built = std::fs::read(out.path().join(file)).expect("built file");
        let served = std::fs::read(repo().join("hub/dashboard").join(file)).expect("served file");
        assert!(built == served, "hub/dashboard/{file} is not the build of dashboard/: run `npm run build` in dashboard/ and commit hub/dashboard/");
    }
}

/// The dashboard's pure modules under Node's test runner (dashboard/test/), the KFL it
/// builds from clicks read by the real parser (`remora kfl check`).
#[test]
fn the_dashboard_modules_pass_their_tests() {
    check_browser_tools();
    let remora = remora_binary();
    let status = Command::new("node").current_dir(repo().join("dashboard")).args(["--test", "test/"]).env("REMORA_BIN", &remora).status().expect("node");
    assert!(status.success(), "node --test test/ in dashboard/ failed");
}
