//! Golden files: every `tests/golden/NAME.in.yaml` (a pod as the API server sends it,
//! optionally followed by its Namespace) is sent through the webhook's review handling;
//! the returned patch is applied and the result compared with `NAME.out.yaml`.
//!
//! Regenerate after an intended change:
//! `REMORA_UPDATE_GOLDEN=1 cargo test -p remora-injector --test golden`

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use remora_injector::{review, Injector, NamespaceInfo, Settings};
use common::{admission_review, read_docs};
use serde_json::{json, Value};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn updating() -> bool {
    std::env::var_os("REMORA_UPDATE_GOLDEN").is_some()
}

struct Answer {
    outcome: String,
    warnings: Vec<String>,
    pod: Option<Value>,
}

fn admit(injector: &Injector, uid: &str, pod: &Value, ns: Option<&NamespaceInfo>) -> Answer {
    let body = serde_json::to_vec(&admission_review(uid, pod)).expect("json");
    let request = review::parse(&body).expect("a valid review");
    let (answer, record) = review::respond(&request, injector, ns, None);
    let answer: Value = serde_json::from_slice(&answer).expect("answer is JSON");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    let response = &answer["response"];
    assert_eq!(response["uid"], uid, "uid must match the request");
    assert_eq!(response["allowed"], true, "a pod is never denied");
    let warnings: Vec<String> = response["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().expect("string").to_string()).collect())
        .unwrap_or_default();
    assert_eq!(warnings, record.warnings);
    let outcome = match record.decision {
        review::Decision::Injected => "injected".to_string(),
        review::Decision::Skipped(reason) => format!("skipped: {}", reason.code()),
        review::Decision::Error => "error".to_string(),
    };
    let pod = response["patch"].as_str().map(|encoded| {
        assert_eq!(response["patchType"], "JSONPatch");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64 patch");
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("RFC 6902 patch");
        let mut patched = pod.clone();
        json_patch::patch(&mut patched, &patch).expect("the patch applies to the pod as sent");
        patched
    });
    Answer {
        outcome,
        warnings,
        pod,
    }
}

fn namespace_info(value: &Value) -> NamespaceInfo {
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(value.clone()).expect("a Namespace");
    remora_injector::namespaces::info(&ns)
}

/// A case's namespace (its second document) with the LimitRanges that follow it.
fn namespace_of(docs: &[Value]) -> Option<NamespaceInfo> {
    let mut info = namespace_info(docs.get(1)?);
    for doc in docs.iter().skip(2) {
        let range: k8s_openapi::api::core::v1::LimitRange = serde_json::from_value(doc.clone()).expect("a LimitRange");
        info.limit_ranges.extend(remora_injector::limit_range::bounds(&range));
    }
    Some(info)
}

/// The injector as it runs in a cluster whose API server and kubelets are all v1.34
/// (`sidecar.mode: auto` then injects native sidecars; tests/nodes_api.rs decides it from
/// real node lists).
fn injector() -> Injector {
    let injector = Injector::new(Settings::default()).expect("default settings");
    injector.set_native_support(remora_model::native_sidecars::Support { native: true, reason: "a v1.34 cluster".into() });
    injector
}

#[test]
fn golden_pods() {
    let injector = injector();
    let dir = golden_dir();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".in.yaml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 20, "golden inputs missing");

    let mut failures = Vec::new();
    let mut injected = Vec::new();
    for input in &inputs {
        let name = input
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".in.yaml"))
            .expect("name")
            .to_string();
        let docs = read_docs(input);
        let pod = &docs[0];
        let ns = namespace_of(&docs);
        let answer = admit(&injector, &format!("uid-{name}"), pod, ns.as_ref());

        if let Some(after) = &answer.pod {
            // Reinvocation (or a second webhook call) changes nothing and says nothing.
            let again = admit(&injector, "uid-again", after, ns.as_ref());
            assert_eq!(again.outcome, "skipped: already_injected", "{name}: not idempotent");
            assert!(again.pod.is_none() && again.warnings.is_empty(), "{name}: reinjection spoke");
            let typed: k8s_openapi::api::core::v1::Pod =
                serde_json::from_value(after.clone()).expect("the injected pod reads as a Pod");
            let spec = typed.spec.expect("spec");
            let in_init = spec.init_containers.iter().flatten().position(|c| c.name == "remora-sidecar");
            let in_main = spec.containers.iter().position(|c| c.name == "remora-sidecar");
            assert!(in_init == Some(0) || in_main.is_some(), "{name}: sidecar misplaced");
            // The label the hub's NetworkPolicy admits sessions from, the pod's own kept.
            let labels = typed.metadata.labels.unwrap_or_default();
            assert_eq!(labels.get(remora_injector::annotations::INJECTED).map(String::as_str), Some("true"), "{name}: not labelled");
            let before = pod["metadata"]["labels"].as_object().cloned().unwrap_or_default();
            for (key, value) in &before {
                assert_eq!(labels.get(key).map(|v| json!(v)), Some(value.clone()), "{name}: label {key} changed");
            }
            assert_eq!(labels.len(), before.len() + usize::from(!before.contains_key(remora_injector::annotations::INJECTED)), "{name}");
            injected.push((name.clone(), after.clone()));
        }

        let actual = json!({
            "outcome": answer.outcome,
            "warnings": answer.warnings,
            "pod": answer.pod,
        });
        let expected_path = dir.join(format!("{name}.out.yaml"));
        if updating() {
            let header = format!(
                "# Expected webhook answer for {name}.in.yaml (outcome, warnings, the pod with the patch applied).\n\
                 # Regenerate: REMORA_UPDATE_GOLDEN=1 cargo test -p remora-injector --test golden\n"
            );
            let text = serde_norway::to_string(&actual).expect("yaml");
            std::fs::write(&expected_path, header + &text).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Err(_) => failures.push(format!("{name}: no {name}.out.yaml (run with REMORA_UPDATE_GOLDEN=1)")),
            Ok(text) => {
                let expected: Value = serde_norway::from_str(&text).expect("golden yaml");
                if expected != actual {
                    failures.push(format!(
                        "{name}: differs from {name}.out.yaml\n--- expected\n{}\n--- actual\n{}",
                        serde_norway::to_string(&expected).unwrap_or_default(),
                        serde_norway::to_string(&actual).unwrap_or_default()
                    ));
                }
            }
        }
    }

    // Orphans: an expected file whose input is gone pins nothing.
    for entry in std::fs::read_dir(&dir).expect("golden dir") {
        let path = entry.expect("entry").path();
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if let Some(name) = file.strip_suffix(".out.yaml") {
            if !dir.join(format!("{name}.in.yaml")).exists() {
                failures.push(format!("{file}: orphaned (no {name}.in.yaml); delete it"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(injected.len() >= 12, "expected most cases to inject");
    validate_with_kubernetes_schemas(&injected);
}

/// Every injected pod must be valid for the API server (common::validate_with_kubernetes_schemas).
fn validate_with_kubernetes_schemas(pods: &[(String, Value)]) {
    common::validate_with_kubernetes_schemas(pods, &["1.34.0", "1.37.0"]);
}

/// What a reviewer checks in the goldens of the do-no-harm cases, written out by hand
/// (the `.out.yaml` files are written by the code; these are not).
#[test]
fn do_no_harm_cases_by_hand() {
    let injector = injector();
    let answer = |name: &str| {
        let docs = read_docs(&golden_dir().join(format!("{name}.in.yaml")));
        let ns = namespace_of(&docs);
        admit(&injector, name, &docs[0], ns.as_ref())
    };
    for windows in ["windows-pod", "windows-affinity"] {
        let a = answer(windows);
        assert_eq!(a.outcome, "skipped: windows_pod", "{windows}");
        assert!(a.pod.is_none(), "{windows}: no patch");
        assert!(a.warnings[0].starts_with("remora: sidecar not injected (windows_pod): the pod runs on Windows nodes"), "{windows}: {:?}", a.warnings);
    }
    let guaranteed = answer("guaranteed-pod");
    assert_eq!(guaranteed.outcome, "injected");
    let pod = guaranteed.pod.expect("patched");
    let sidecar = pod["spec"]["initContainers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "remora-sidecar")).expect("sidecar");
    let resources = &sidecar["resources"];
    for resource in ["cpu", "memory"] {
        assert_eq!(resources["requests"][resource], resources["limits"][resource], "Guaranteed kept: {resources}");
    }
    assert_eq!(resources["limits"]["memory"], "256Mi");
    // A Burstable pod keeps the sidecar's smaller requests.
    let bare = answer("bare-pod").pod.expect("patched");
    let sidecar = bare["spec"]["initContainers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "remora-sidecar")).expect("sidecar");
    assert_eq!(sidecar["resources"]["requests"]["memory"], "64Mi");
    // The data volume's size is asked as ephemeral storage, equal to its size limit.
    let data = bare["spec"]["volumes"].as_array().and_then(|v| v.iter().find(|v| v["name"] == "remora-data")).expect("data volume");
    assert_eq!(sidecar["resources"]["requests"]["ephemeral-storage"], data["emptyDir"]["sizeLimit"]);
    assert_eq!(data["emptyDir"]["sizeLimit"], "640Mi", "512Mi of quota and a quarter more");

    // A LimitRange: the sidecar moved inside its bounds, each move said.
    let adjusted = answer("limitrange-adjust");
    assert_eq!(adjusted.outcome, "injected");
    let pod = adjusted.pod.expect("patched");
    let sidecar = pod["spec"]["initContainers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "remora-sidecar")).expect("sidecar");
    assert_eq!(sidecar["resources"]["limits"]["cpu"], "250m", "max cpu 250m");
    assert_eq!(sidecar["resources"]["requests"]["cpu"], "125m", "maxLimitRequestRatio 2");
    assert_eq!(sidecar["resources"]["requests"]["memory"], "128Mi", "min memory 128Mi");
    assert_eq!(adjusted.warnings.iter().filter(|w| w.contains("for LimitRange shop/container-limits")).count(), 3, "{:?}", adjusted.warnings);
    // No room: left alone, the bound named.
    let skipped = answer("limitrange-skip");
    assert_eq!(skipped.outcome, "skipped: limit_range");
    assert!(skipped.pod.is_none());
    assert!(skipped.warnings.iter().any(|w| w == "remora: LimitRange shop/tiny allows containers at most 32Mi of memory, below the 48Mi the sidecar needs"), "{:?}", skipped.warnings);

    // Istio already in the pod: the health port leaves Istio's range, both of Remora's
    // ports leave its redirection, in istio-init's flags and in the annotations its CNI
    // plugin reads, and the sidecar is told.
    let istio = answer("mesh-istio");
    assert_eq!(istio.outcome, "injected");
    let pod = istio.pod.expect("patched");
    let inits = pod["spec"]["initContainers"].as_array().expect("init containers");
    let sidecar = inits.iter().find(|c| c["name"] == "remora-sidecar").expect("sidecar");
    assert_eq!(sidecar["ports"][0]["containerPort"], 15091, "15090 is Envoy's Prometheus port");
    assert_eq!(sidecar["livenessProbe"]["httpGet"]["port"], 15091);
    let env = |container: &Value, name: &str| container["env"].as_array().and_then(|e| e.iter().find(|v| v["name"] == name)).map(|v| v["value"].clone());
    assert_eq!(env(sidecar, "REMORA_MESH"), Some(json!("istio")));
    assert_eq!(env(sidecar, "REMORA_HEALTH_LISTEN"), Some(json!("0.0.0.0:15091")));
    let istio_init = inits.iter().find(|c| c["name"] == "istio-init").expect("istio-init kept");
    let args: Vec<&str> = istio_init["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let after = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
    assert_eq!(after("-d"), Some("15090,15021,15020,15091"), "{args:?}");
    assert_eq!(after("-o"), Some("8898"), "{args:?}");
    assert_eq!(after("-p"), Some("15001"), "the rest of istio-init untouched: {args:?}");
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["traffic.sidecar.istio.io/excludeOutboundPorts"], "8898");
    assert_eq!(annotations["traffic.sidecar.istio.io/excludeInboundPorts"], "15091");
    assert!(istio.warnings.iter().any(|w| w == "remora: port 15090 is reserved by Istio (15000-15090); the sidecar's health port is 15091"), "{:?}", istio.warnings);
    assert!(istio.warnings.iter().any(|w| w.starts_with("remora: Istio's proxy is in this pod: the sidecar's hub port 8898 and health port 15091 are kept out of its redirection")), "{:?}", istio.warnings);

    // Linkerd, with a classic sidecar: linkerd-init's lists and Linkerd's annotation keep
    // what they had and gain Remora's ports; 15090 is outside Linkerd's range.
    let linkerd = answer("mesh-linkerd");
    assert_eq!(linkerd.outcome, "injected");
    let pod = linkerd.pod.expect("patched");
    let sidecar = pod["spec"]["containers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "remora-sidecar")).expect("classic sidecar");
    assert_eq!(env(sidecar, "REMORA_MESH"), Some(json!("linkerd")));
    assert_eq!(sidecar["ports"][0]["containerPort"], 15090);
    let init = pod["spec"]["initContainers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "linkerd-init")).expect("linkerd-init");
    let args: Vec<&str> = init["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let after = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
    assert_eq!(after("--outbound-ports-to-ignore"), Some("4567,4568,8898"));
    assert_eq!(after("--inbound-ports-to-ignore"), Some("4190,4191,4567,4568,15090"));
    assert_eq!(pod["metadata"]["annotations"]["config.linkerd.io/skip-outbound-ports"], "4567,4568,8898");
    assert_eq!(pod["metadata"]["annotations"]["config.linkerd.io/skip-inbound-ports"], "15090");
}
