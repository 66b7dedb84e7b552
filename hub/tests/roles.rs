//! Roles on every API route: a table of route × role → status, against the hub binary
//! (loopback). Without a token: 401; with too small a role: 403; with enough: what the
//! route answers. Script changes and job runs are in the audit log with who made them.

use std::path::Path;
use std::process::Command;

use remora_testkit::process::{start_hub, Logged};

const TOKENS: &str = "viewer:dashboard:view-7f1\neditor:alice:edit-3c9\nadmin:root:admin-5e2\n";

fn call(api: &str, method: &str, path: &str, token: Option<&str>) -> u16 {
    let mut command = Command::new("curl");
    command.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "-X", method]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if method == "PUT" {
        command.args(["--data-binary", "console.log('from the roles test');\n"]);
    }
    let out = command.arg(format!("http://{api}{path}")).output().expect("curl");
    // A stream answers its status and then runs past --max-time: its code is still printed.
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("{method} {path}: no status"))
}

fn start(work: &Path) -> (Logged, String, String) {
    let scripts = work.join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    std::fs::write(scripts.join("kept.js"), "// kept\n").expect("write");
    let token_file = work.join("tokens");
    std::fs::write(&token_file, TOKENS).expect("write");
    let hub = start_hub(env!("CARGO_BIN_EXE_remora-hub"), &token_file, &["--scripts-dir".as_ref(), scripts.as_os_str(), "--data-dir".as_ref(), work.join("data").as_os_str()]);
    (hub.process, hub.api, hub.listen)
}

#[test]
fn every_route_answers_by_role() {
    let work = tempfile::tempdir().expect("tempdir");
    let (_hub, api, _sidecars) = start(work.path());
    // (method, path, viewer, editor, admin); without a token every one is 401.
    let table: [(&str, &str, u16, u16, u16); 13] = [
        ("GET", "/api/items", 200, 200, 200),
        ("GET", "/api/tail", 200, 200, 200),
        ("GET", "/api/servicemap?window=900", 200, 200, 200),
        ("GET", "/api/console", 200, 200, 200),
        ("GET", "/api/jobs", 200, 200, 200),
        ("GET", "/api/sidecars", 200, 200, 200),
        ("GET", "/api/scripts", 200, 200, 200),
        ("GET", "/api/scripts/kept.js", 200, 200, 200),
        ("PUT", "/api/scripts/new.js", 403, 200, 200),
        ("DELETE", "/api/scripts/absent.js", 403, 404, 404),
        ("POST", "/api/jobs/nightly/run", 403, 404, 404),
        ("GET", "/api/pcap?kfl=http", 403, 403, 404),
        ("GET", "/api/audit", 403, 403, 200),
    ];
    let mut wrong = Vec::new();
    for (method, path, viewer, editor, admin) in table {
        for (token, want) in [(None, 401), (Some("view-7f1"), viewer), (Some("edit-3c9"), editor), (Some("admin-5e2"), admin)] {
            let got = call(&api, method, path, token);
            if got != want {
                wrong.push(format!("{method} {path} as {token:?}: {got}, not {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Health, readiness and metrics stay open.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(call(&api, "GET", path, None), 200, "{path}");
    }

    // Who changed what is on record: the editor's and the admin's puts of new.js.
    let out = Command::new("curl").args(["-s", "-H", "Authorization: Bearer admin-5e2"]).arg(format!("http://{api}/api/audit")).output().expect("curl");
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let entries: Vec<(String, String, String, String)> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (e["who"].as_str().unwrap_or("").into(), e["role"].as_str().unwrap_or("").into(), e["action"].as_str().unwrap_or("").into(), e["target"].as_str().unwrap_or("").into()))
        .collect();
    let put = |who: &str, role: &str| (who.to_string(), role.to_string(), "put script".to_string(), "new.js".to_string());
    assert_eq!(entries, [put("alice", "editor"), put("root", "admin")]);
    assert_eq!(audit["entries"][0]["sha256"].as_str().map(str::len), Some(64));
}

#[test]
fn a_persons_token_opens_no_sidecar_session_unless_an_admins() {
    let work = tempfile::tempdir().expect("tempdir");
    let (_hub, _api, sidecars) = start(work.path());
    let upgrade = |token: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "-H", "Connection: Upgrade", "-H", "Upgrade: websocket"])
            .args(["-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", &format!("Authorization: Bearer {token}")])
            .arg(format!("http://{sidecars}/sidecars"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(upgrade("view-7f1"), "401");
    assert_eq!(upgrade("edit-3c9"), "401");
    assert_eq!(upgrade("admin-5e2"), "101");
}
