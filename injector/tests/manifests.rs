//! `remora inject` / `uninject`'s core (remora_injector::manifest) on manifests of every
//! kind with a pod template: each `tests/manifests/NAME.in.yaml` injected equals
//! `NAME.out.yaml`; every injected object is valid for the API server (kubernetes-validate,
//! strict); injecting again changes nothing; uninjecting gives back the input exactly. A
//! pod that a mesh's webhook already injected (the webhook goldens' `mesh-istio`) round-trips too.
//!
//! Regenerate after an intended change:
//! `REMORA_UPDATE_GOLDEN=1 cargo test -p remora-injector --test manifests`

mod common;

use std::path::{Path, PathBuf};

use remora_injector::manifest::{inject, uninject};
use remora_injector::{Injector, NamespaceInfo, Settings};
use remora_model::native_sidecars::Support;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests")
}

fn injector() -> Injector {
    let injector = Injector::new(Settings::default()).expect("default settings");
    injector.set_native_support(Support { native: true, reason: "a v1.34 cluster".into() });
    injector
}

fn no_namespaces(_: &str) -> Option<NamespaceInfo> {
    None
}

fn yaml(docs: &[Value]) -> String {
    docs.iter().map(|d| format!("---\n{}", serde_norway::to_string(d).expect("YAML"))).collect()
}

/// kubernetes-validate --strict over every object of `docs` (a List's items each).
fn validate(name: &str, docs: &[Value]) {
    let mut objects = Vec::new();
    for doc in docs {
        match doc["items"].as_array() {
            Some(items) if doc["kind"] == "List" => objects.extend(items.iter().cloned()),
            _ => objects.push(doc.clone()),
        }
    }
    let named: Vec<(String, Value)> = objects.into_iter().enumerate().map(|(i, o)| (format!("{name}-{i}"), o)).collect();
    common::validate_with_kubernetes_schemas(&named, &["1.34.0"]);
}

#[test]
fn every_kind_injects_validates_and_uninjects_back() {
    let injector = injector();
    let mut cases: Vec<(String, Vec<Value>)> = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("tests/manifests") {
        let path = entry.expect("entry").path();
        if let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".in.yaml")) {
            cases.push((name.to_string(), common::read_docs(&path)));
        }
    }
    // A pod a mesh's webhook already changed, as the webhook goldens have it.
    let mesh = common::read_docs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mesh-istio.in.yaml"));
    cases.push(("mesh-istio-pod".into(), vec![mesh[0].clone()]));
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(cases.len() >= 2);
    for (name, input) in cases {
        let mut injected = input.clone();
        let changes = inject(&injector, &mut injected, "default", &no_namespaces);
        assert!(changes.changed > 0, "{name}: nothing injected");
        let golden = dir().join(format!("{name}.out.yaml"));
        if std::env::var_os("REMORA_UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, yaml(&injected)).expect("write golden");
        }
        let expected = common::read_docs(&golden);
        assert_eq!(injected, expected, "{name}: differs from {} (REMORA_UPDATE_GOLDEN=1 to accept)", golden.display());
        validate(&name, &injected);

        let mut again = injected.clone();
        let second = inject(&injector, &mut again, "default", &no_namespaces);
        assert_eq!((second.changed, &again), (0, &injected), "{name}: injecting twice changes nothing");

        let mut back = injected.clone();
        let undone = uninject(&mut back);
        assert_eq!(undone.changed, changes.changed, "{name}");
        assert_eq!(back, input, "{name}: uninject takes out exactly what inject added");
    }
}

/// What a reviewer checks by hand in the goldens.
#[test]
fn the_sidecar_lands_in_each_kinds_template() {
    let mut docs = common::read_docs(&dir().join("workloads.in.yaml"));
    let changes = inject(&injector(), &mut docs, "default", &no_namespaces);
    // Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, and the List's
    // cart; the List's opted-out Deployment and the ConfigMap are left alone.
    assert_eq!((changes.changed, changes.templates), (8, 9), "{:?}", changes.warnings);
    let first_init = |template: &Value| template["spec"]["initContainers"][0]["name"].as_str().map(str::to_string);
    assert_eq!(first_init(&docs[0]).as_deref(), Some("remora-sidecar"), "the Pod itself");
    assert_eq!(first_init(&docs[1]["spec"]["template"]).as_deref(), Some("remora-sidecar"), "a Deployment's template");
    assert_eq!(first_init(&docs[6]["spec"]["jobTemplate"]["spec"]["template"]).as_deref(), Some("remora-sidecar"), "a CronJob's");
    assert_eq!(docs[1]["spec"]["template"]["metadata"]["labels"]["remora.dev/injected"], "true");
    assert!(docs[7].get("spec").is_none() && docs[7]["data"]["LOG_LEVEL"] == "info", "a ConfigMap passes through");
    let cart = &docs[8]["items"][0]["spec"]["template"];
    let env = cart["spec"]["initContainers"][0]["env"].as_array().expect("env");
    assert!(env.iter().any(|e| e["name"] == "REMORA_PROTOCOLS" && e["value"] == "http,redis"), "the template's annotations apply: {env:?}");
    assert!(docs[8]["items"][1]["spec"]["template"]["spec"].get("initContainers").is_none(), "opted out");
}

/// A namespace's `remora.dev/*` defaults apply as in the cluster; a document's own
/// namespace comes before the flag's.
#[test]
fn namespace_defaults_apply() {
    let mut docs = common::read_docs(&dir().join("workloads.in.yaml"));
    let shop = NamespaceInfo {
        name: "shop".into(),
        labels: [("remora.dev/inject".to_string(), "enabled".to_string())].into(),
        annotations: [("remora.dev/protocols".to_string(), "dns".to_string())].into(),
        ..Default::default()
    };
    let lookup = |name: &str| (name == "shop").then(|| shop.clone());
    let changes = inject(&injector(), &mut docs, "elsewhere", &lookup);
    assert_eq!(changes.changed, 8, "{:?}", changes.warnings);
    let env = docs[1]["spec"]["template"]["spec"]["initContainers"][0]["env"].as_array().expect("env");
    assert!(env.iter().any(|e| e["name"] == "REMORA_PROTOCOLS" && e["value"] == "dns"), "{env:?}");
}
