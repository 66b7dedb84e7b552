//! Settings the webhook's patch gives the sidecar, read and acted on: `REMORA_REDACT`
//! (fields replaced before anything leaves the pod) and `REMORA_LOG_LEVEL`, on the sample
//! captures through `--replay` (no capture privileges needed).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn pipelined_capture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/captures/http1__zeek__pipelined-requests.pcap")
}

/// Runs the sidecar on the sample capture with `env` until it printed its HTTP items;
/// returns them and its log.
fn replay(env: &[(&str, &str)]) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_remora-sidecar"))
        .args(["--health-listen", "127.0.0.1:0", "--output", "json", "--replay"])
        .arg(pipelined_capture())
        .env("REMORA_DATA_DIR", dir.path().join("data"))
        .env("REMORA_SCRIPTS_DIR", dir.path().join("no-scripts"))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("remora-sidecar");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut items = Vec::new();
    // The capture holds 4 pipelined exchanges.
    while items.len() < 4 {
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("an item within 20 s");
        items.push(serde_json::from_str::<Value>(&line).expect("an item as JSON"));
    }
    let _ = child.kill();
    let mut log = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut log).expect("log");
    let _ = child.wait();
    (items, log)
}

#[test]
fn the_redaction_and_the_log_level_it_is_given_apply() {
    let (items, log) = replay(&[("REMORA_REDACT", "request.headers.user-agent"), ("REMORA_LOG_LEVEL", "warn")]);
    for item in &items {
        assert_eq!(item["request"]["headers"]["user-agent"], "[REDACTED]", "{item}");
        assert_ne!(item["request"]["headers"]["host"], "[REDACTED]", "only what was asked: {item}");
    }
    assert!(!log.contains("health on") && !log.contains("redacting"), "info lines are left out at warn:\n{log}");
}

#[test]
fn by_default_credentials_are_redacted_and_a_bad_setting_is_reported() {
    let (items, log) = replay(&[("REMORA_REDACT", "request.headers.user-agent,requests.header"), ("REMORA_LOG_LEVEL", "loud")]);
    assert!(log.contains("REMORA_LOG_LEVEL \"loud\" is not one of error, warn, info, debug, trace; logging at info"), "{log}");
    assert!(log.contains("REMORA_REDACT: \"requests.header\" is not a field Remora can redact"), "{log}");
    assert!(log.contains("redacting the default (request.headers.authorization,request.headers.proxy-authorization,request.headers.cookie,response.headers.set-cookie,secrets) instead"), "{log}");
    assert!(log.contains("health on"), "info lines at the default level:\n{log}");
    for item in &items {
        assert_ne!(item["request"]["headers"]["user-agent"], "[REDACTED]", "the default, not the bad list: {item}");
    }
}

#[test]
fn turning_redaction_off_is_said_at_start() {
    let (items, log) = replay(&[("REMORA_REDACT", "none")]);
    assert!(log.contains("redaction is off (REMORA_REDACT=\"none\")"), "{log}");
    assert!(!items.is_empty(), "items still flow");
}
