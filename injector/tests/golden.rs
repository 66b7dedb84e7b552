//! Golden files: every `tests/golden/NAME.in.yaml` (a pod as the API server sends it,
//! optionally followed by its Namespace) is sent through the webhook's review handling;
//! the returned patch is applied and the result compared with `NAME.out.yaml`.
//!
//! Regenerate after an intended change:
//! `REMORA_UPDATE_GOLDEN=1 cargo test -p remora-injector --test golden`

mod common;

use std::collections::{BTreeMap, BTreeSet};
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

/// The sidecar's settings a reviewer expects with no annotation anywhere: the injector's
/// defaults (docs/INJECTOR.md, the chart's values).
const DEFAULT_ENV: [(&str, &str); 8] = [
    ("REMORA_CAPTURE_FILTER", ""),
    ("REMORA_INTERFACES", "all"),
    ("REMORA_PROTOCOLS", "all"),
    ("REMORA_SCRIPTS", "all"),
    ("REMORA_PCAP_RETENTION_BYTES", "536870912"),
    ("REMORA_REDACT", "request.headers.authorization,request.headers.proxy-authorization,request.headers.cookie,response.headers.set-cookie,secrets"),
    ("REMORA_LOG_LEVEL", "info"),
    ("REMORA_HEALTH_LISTEN", "0.0.0.0:15090"),
];

/// Every golden's outcome and the fields a reviewer would check, written out by hand:
/// the `.out.yaml` files are the code's own output, these are not. A new golden input
/// must be added here.
#[test]
fn every_golden_by_hand() {
    // (name, outcome, where the sidecar goes, settings that differ from DEFAULT_ENV,
    // a warning that must be there)
    type Case = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str)], &'static str);
    const CASES: &[Case] = &[
        ("already-injected", "skipped: already_injected", "", &[], ""),
        ("annotations-bad", "injected", "native", &[], "remora.dev/capture-filter on pod: libpcap rejects it"),
        (
            "annotations-good",
            "injected",
            "native",
            &[
                ("REMORA_CAPTURE_FILTER", "tcp port 8080 or udp port 53"),
                ("REMORA_INTERFACES", "eth0,lo"),
                ("REMORA_PROTOCOLS", "http,dns,grpc"),
                ("REMORA_SCRIPTS", "errors-and-slow-calls.js,traffic-per-minute.js"),
                ("REMORA_PCAP_RETENTION_BYTES", "2147483648"),
                ("REMORA_REDACT", "request.headers.authorization,request.headers.cookie"),
                ("REMORA_LOG_LEVEL", "debug"),
            ],
            "",
        ),
        ("bare-pod", "injected", "native", &[], ""),
        ("classic", "injected", "classic", &[], ""),
        ("control-plane-namespace", "skipped: control_plane_namespace", "", &[], "(control_plane_namespace)"),
        ("deployment-pod", "injected", "native", &[], ""),
        ("guaranteed-pod", "injected", "native", &[], ""),
        ("health-port-taken", "injected", "native", &[("REMORA_HEALTH_LISTEN", "0.0.0.0:15091")], "port 15090 is declared by the pod"),
        ("host-network", "skipped: host_network", "", &[], "(host_network)"),
        ("init-containers", "injected", "native", &[], ""),
        ("inject-value-unknown", "injected", "native", &[], "\"maybe\" is neither \"true\" nor \"false\""),
        ("job-pod", "injected", "native", &[], ""),
        ("job-pod-classic", "injected", "classic", &[], "keeps this Job's pod running"),
        ("limitrange-adjust", "injected", "native", &[], "for LimitRange shop/container-limits"),
        ("limitrange-skip", "skipped: limit_range", "", &[], "LimitRange shop/tiny"),
        ("mesh-istio", "injected", "native", &[("REMORA_HEALTH_LISTEN", "0.0.0.0:15091")], "Istio's proxy is in this pod"),
        ("mesh-linkerd", "injected", "classic", &[], "Linkerd's proxy is in this pod"),
        ("mounts-sidecar-volume", "skipped: mounts_sidecar_volume", "", &[], "(mounts_sidecar_volume)"),
        ("namespace-defaults", "injected", "native", &[("REMORA_PROTOCOLS", "http"), ("REMORA_PCAP_RETENTION_BYTES", "1073741824"), ("REMORA_LOG_LEVEL", "trace")], "on namespace shop"),
        ("namespace-not-enabled", "skipped: namespace_not_enabled", "", &[], "(namespace_not_enabled)"),
        ("namespace-unknown", "injected", "native", &[], ""),
        ("no-metadata", "injected", "native", &[], ""),
        ("opted-out-annotation", "skipped: opted_out", "", &[], ""),
        ("opted-out-label", "skipped: opted_out", "", &[], ""),
        ("pod-run-as-non-root", "injected", "native", &[], ""),
        ("pod-security-enforce-baseline", "skipped: pod_security_forbids_net_raw", "", &[], "(pod_security_forbids_net_raw)"),
        ("pod-security-warn-restricted", "injected", "native", &[], "Pod Security warn=\"restricted\""),
        ("requests-above-limits", "injected", "native", &[], "is above the cpu limit 500m; using 500m for both"),
        ("volume-name-taken", "skipped: name_conflict", "", &[], "(name_conflict)"),
        ("windows-affinity", "skipped: windows_pod", "", &[], "(windows_pod)"),
        ("windows-pod", "skipped: windows_pod", "", &[], "(windows_pod)"),
    ];
    let inputs: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .filter_map(|e| e.expect("entry").file_name().to_str()?.strip_suffix(".in.yaml").map(String::from))
        .collect();
    let covered: BTreeSet<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(inputs, covered, "every golden input has its row here");

    let injector = injector();
    for &(name, outcome, placement, env, warning) in CASES {
        let docs = read_docs(&golden_dir().join(format!("{name}.in.yaml")));
        let pod = &docs[0];
        let answer = admit(&injector, name, pod, namespace_of(&docs).as_ref());
        assert_eq!(answer.outcome, outcome, "{name}");
        if !warning.is_empty() {
            assert!(answer.warnings.iter().any(|w| w.contains(warning)), "{name}: no warning with {warning:?}: {:?}", answer.warnings);
        }
        let Some(after) = answer.pod else {
            assert!(placement.is_empty(), "{name}: no pod");
            continue;
        };
        // Where the sidecar is: first init container with restartPolicy Always (native), or
        // the last container (classic).
        let sidecar = match placement {
            "native" => {
                let first = &after["spec"]["initContainers"][0];
                assert_eq!(first["restartPolicy"], "Always", "{name}");
                first
            }
            "classic" => {
                let last = after["spec"]["containers"].as_array().and_then(|c| c.last()).expect("containers");
                assert!(last.get("restartPolicy").is_none(), "{name}");
                last
            }
            other => panic!("{name}: placement {other}"),
        };
        assert_eq!(sidecar["name"], "remora-sidecar", "{name}");
        let actual: BTreeMap<&str, &str> = sidecar["env"].as_array().expect("env").iter().filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?))).collect();
        for (key, default) in DEFAULT_ENV {
            let want = env.iter().find(|(k, _)| *k == key).map_or(default, |(_, v)| *v);
            assert_eq!(actual.get(key).copied(), Some(want), "{name}: {key}");
        }
        // NET_RAW and nothing else.
        assert_eq!(sidecar["securityContext"]["capabilities"], json!({"add": ["NET_RAW"], "drop": ["ALL"]}), "{name}");
        assert_eq!(sidecar["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
        // The application's own containers are untouched (a mesh's init container gains
        // Remora's ports, checked in do_no_harm_cases_by_hand), and so is the pod's
        // restart policy.
        for list in ["containers", "initContainers"] {
            for container in pod["spec"][list].as_array().into_iter().flatten() {
                if container["name"] == "istio-init" || container["name"] == "linkerd-init" {
                    continue;
                }
                let kept = after["spec"][list].as_array().and_then(|c| c.iter().find(|c| c["name"] == container["name"]));
                assert_eq!(kept, Some(container), "{name}: {} changed", container["name"]);
            }
        }
        assert_eq!(after["spec"]["restartPolicy"], pod["spec"]["restartPolicy"], "{name}");
        assert!(after["metadata"]["annotations"][remora_injector::annotations::STATUS].is_string(), "{name}: no status annotation");
    }
}

/// The redaction a golden locks in does what it says: `remora replay` with the
/// REMORA_REDACT of bare-pod.out.yaml's sidecar on a real capture whose three requests
/// carry cookies (tshark: `http.cookie`) shows them `[REDACTED]`, values and all.
#[test]
fn the_goldens_redaction_redacts_a_real_capture() {
    let golden: Value = serde_norway::from_str(&std::fs::read_to_string(golden_dir().join("bare-pod.out.yaml")).expect("golden")).expect("yaml");
    let sidecar = &golden["pod"]["spec"]["initContainers"][0];
    let redact = sidecar["env"].as_array().expect("env").iter().find(|e| e["name"] == "REMORA_REDACT").and_then(|e| e["value"].as_str()).expect("REMORA_REDACT");
    let remora = remora_testkit::process::workspace_binary(env!("CARGO_BIN_EXE_remora-injector"), "remora");
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/captures/http1__zeek__pipelined-requests.pcap");
    let replay = |extra: &[&str]| {
        let out = std::process::Command::new(&remora).args(["replay", "--output", "json", "-q"]).args(extra).arg(&capture).output().expect("remora replay");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    // The cookie's value, as tshark shows it, is in the capture ...
    const VALUE: &str = "150903082.601193709.1258578040";
    assert!(replay(&[]).contains(VALUE));
    // ... and gone with the golden's redaction.
    let redacted = replay(&["--redact", redact]);
    assert!(!redacted.contains(VALUE), "{redacted}");
    let cookies = redacted.lines().map(|l| serde_json::from_str::<Value>(l).expect("item")).filter(|i| i["request"]["headers"]["cookie"] == "[REDACTED]").count();
    assert_eq!(cookies, 3);
}
