//! The Helm chart rendered and linted by Helm's own Go SDK, through
//! charts/tests/render.py (PyPI helm-python-sdk; no helm binary).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub const RELEASE: &str = "remora";
pub const NAMESPACE: &str = "remora";

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A chart rendered by Helm: its objects (NOTES.txt left out) and the lint report.
pub struct Rendered {
    pub objects: Vec<Value>,
    pub lint: Value,
}

/// Renders the chart with `values` files; Err carries Helm's refusal.
pub fn render(values: &[PathBuf]) -> Result<Rendered, String> {
    let mut command = Command::new("python3");
    command
        .arg(repo().join("charts/tests/render.py"))
        .arg(repo().join("charts/remora"))
        .args(["--release", RELEASE, "--namespace", NAMESPACE]);
    for file in values {
        command.arg("--values").arg(file);
    }
    let output = command.output().expect("python3");
    assert!(
        output.status.success(),
        "render.py failed (is helm-python-sdk installed? run `bash scripts/setup.sh --test`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).expect("render.py prints JSON");
    if let Some(error) = out["error"].as_str() {
        return Err(error.to_string());
    }
    let mut objects = Vec::new();
    let manifests = out["manifests"].as_object().expect("manifests");
    for (template, text) in manifests {
        if template.ends_with("NOTES.txt") {
            continue;
        }
        let text = text.as_str().expect("text");
        for document in serde_norway::Deserializer::from_str(text) {
            let value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|e| panic!("{template}: not YAML: {e}\n{text}"));
            if !value.is_null() {
                objects.push(value);
            }
        }
    }
    Ok(Rendered {
        objects,
        lint: out["lint"].clone(),
    })
}


/// The `--flag` names among `args` that `binary --help` (run with `help_args`) does
/// not list: the chart and the binaries must not drift apart.
pub fn unknown_flags(binary: &str, help_args: &[&str], args: &[String]) -> Vec<String> {
    let out = Command::new(binary).args(help_args).arg("--help").output().expect("run --help");
    let help = String::from_utf8_lossy(&out.stdout);
    args.iter()
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .filter(|flag| !help.contains(&format!("--{flag}")))
        .collect()
}

/// The container port that port `port` of Service `name` leads to: the Service's
/// `targetPort`, named on the first container of the Deployment of the same name.
pub fn service_port_to_container(rendered: &Rendered, name: &str, port: &str) -> u16 {
    let find = |kind: &str| rendered.objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| panic!("no {kind} {name} rendered"));
    let ports = find("Service")["spec"]["ports"].as_array().expect("Service ports");
    let target = &ports.iter().find(|p| p["name"] == port).unwrap_or_else(|| panic!("Service {name} has no port {port}"))["targetPort"];
    let container = &find("Deployment")["spec"]["template"]["spec"]["containers"][0];
    let declared = container["ports"].as_array().expect("container ports");
    let number = declared.iter().find(|p| &p["name"] == target).unwrap_or_else(|| panic!("{name}'s container has no port {target}"))["containerPort"].as_u64();
    number.and_then(|n| u16::try_from(n).ok()).expect("a port number")
}

/// The args of the first container of the Deployment or Job named `name`.
pub fn container_args(rendered: &Rendered, kind: &str, name: &str) -> Vec<String> {
    let object = rendered
        .objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"));
    object["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str().map(String::from))
        .collect()
}
