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
