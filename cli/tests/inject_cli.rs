//! `remora inject` and `remora uninject` as a user runs them: a file or standard input in,
//! YAML documents out (the goldens of injector/tests/manifests), the webhook's warnings and
//! a count on stderr, and a clear error for a file that is not YAML.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn manifests(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../injector/tests/manifests").join(name)
}

fn docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text).map(|d| serde::Deserialize::deserialize(d).expect("YAML")).filter(|v: &Value| !v.is_null()).collect()
}

fn remora(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_remora")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("remora");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write");
    }
    drop(input);
    let out = child.wait_with_output().expect("remora");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn inject_a_file_and_uninject_it_through_a_pipe() {
    let input = manifests("workloads.in.yaml");
    let (ok, stdout, stderr) = remora(&["inject", "-f", input.to_str().expect("path")], None);
    assert!(ok, "{stderr}");
    let golden = std::fs::read_to_string(manifests("workloads.out.yaml")).expect("golden");
    assert_eq!(docs(&stdout), docs(&golden), "the same as the core's golden");
    assert!(stderr.ends_with("injected 8 of 9 pod template(s)\n"), "{stderr}");

    let (ok, back, stderr) = remora(&["uninject", "-f", "-"], Some(&stdout));
    assert!(ok, "{stderr}");
    let original = std::fs::read_to_string(&input).expect("input");
    assert_eq!(docs(&back), docs(&original), "uninject gives the manifests back");
    assert!(stderr.ends_with("uninjected 8 of 9 pod template(s)\n"), "{stderr}");
}

#[test]
fn what_the_webhook_would_say_goes_to_stderr_and_bad_input_is_named() {
    let host_network = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: node-exporter\n  namespace: monitoring\nspec:\n  hostNetwork: true\n  containers:\n  - name: exporter\n    image: prom/node-exporter:v1.8.2\n";
    let (ok, stdout, stderr) = remora(&["inject", "-f", "-"], Some(host_network));
    assert!(ok, "{stderr}");
    assert!(stderr.starts_with("Pod monitoring/node-exporter: remora: sidecar not injected (host_network)"), "{stderr}");
    assert_eq!(docs(&stdout), docs(host_network), "left as it is");

    let (ok, _, stderr) = remora(&["inject", "-f", "-"], Some("kind: Pod\n  bad: [indentation\n"));
    assert!(!ok);
    assert!(stderr.contains("-f -: document 1 is not YAML or JSON"), "{stderr}");
    let (ok, _, stderr) = remora(&["inject", "-f", "/nonexistent/deploy.yaml"], None);
    assert!(!ok && stderr.contains("-f /nonexistent/deploy.yaml"), "{stderr}");
}
