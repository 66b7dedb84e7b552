//! Shared by the injector's integration tests: real AdmissionReview bodies.
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

pub fn read_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read input");
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("yaml"))
        .collect()
}

/// The AdmissionReview the API server would send for creating `pod`.
pub fn admission_review(uid: &str, pod: &Value) -> Value {
    remora_injector::review::pod_create_review(uid, pod)
}

/// Every object must be valid for the API server: checked with the Kubernetes JSON
/// schemas (PyPI kubernetes-validate, strict: unknown fields are errors) of each version.
/// `(name, object)` pairs; a generateName pod is named first, as the API server does
/// before storing it (the validator needs a name). JSON files, because YAML 1.1 readers
/// turn unquoted timestamps into dates.
pub fn validate_with_kubernetes_schemas(objects: &[(String, Value)], versions: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (name, object) in objects {
        let mut object = object.clone();
        if object["metadata"]["name"].is_null() {
            let prefix = object["metadata"]["generateName"].as_str().unwrap_or("pod-").to_string();
            object["metadata"]["name"] = format!("{prefix}x7k2p").into();
        }
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(&object).expect("json")).expect("write");
        files.push(path);
    }
    for version in versions {
        let output = std::process::Command::new("kubernetes-validate")
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .output()
            .expect("kubernetes-validate is not installed: run `bash scripts/setup.sh --test`");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "kubernetes-validate {version} rejected an object:\n{stdout}\n{stderr}");
        let passed = stdout.lines().filter(|l| l.starts_with("INFO") && l.contains(" passed ")).count();
        assert_eq!(passed, files.len(), "kubernetes-validate {version} did not pass every file:\n{stdout}");
    }
}
