//! The settings contract: every environment variable, flag and mounted path that the
//! rendered chart or the webhook's patch gives a Remora container is one its binary
//! reads. Each binary says what it reads (`--print-settings`, from its own argument
//! definitions); a setting nobody reads — a promise nothing keeps — fails here.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use remora_injector::{review, Injector, Settings};
use remora_testkit::chart;
use remora_testkit::process::workspace_binary;
use serde_json::Value;

/// What one binary reads, from `BINARY --print-settings`.
struct Reads {
    binary: String,
    settings: Value,
}

impl Reads {
    fn of(binary: &str) -> Reads {
        let path = match binary {
            "remora-injector" => PathBuf::from(env!("CARGO_BIN_EXE_remora-injector")),
            other => workspace_binary(env!("CARGO_BIN_EXE_remora-injector"), other),
        };
        let out = Command::new(&path).arg("--print-settings").output().expect("run --print-settings");
        assert!(out.status.success(), "{binary} --print-settings: {}", String::from_utf8_lossy(&out.stderr));
        let settings: Value = serde_json::from_slice(&out.stdout).expect("--print-settings prints JSON");
        Reads { binary: binary.to_string(), settings }
    }

    fn command(&self, path: &str) -> &Value {
        let command = &self.settings["commands"][path];
        assert!(command.is_object(), "{} has no command {path:?}", self.binary);
        command
    }

    fn strings(value: &Value) -> BTreeSet<String> {
        value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
    }

    /// The problems with `container` (a Kubernetes container spec) run by this binary.
    fn check(&self, what: &str, container: &Value) -> Vec<String> {
        let args: Vec<String> = container["args"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
        // `remora certs install --service=...`: the words before the first flag pick the command.
        let words: Vec<&str> = args.iter().take_while(|a| !a.starts_with('-')).map(String::as_str).collect();
        let command = self.command(&words.join(" "));
        let flags = Self::strings(&command["flags"]);
        let mut env = Self::strings(&command["env"]);
        env.extend(Self::strings(&self.settings["env"]));
        let mut problems = Vec::new();
        for arg in args.iter().skip(words.len()) {
            let flag = arg.split('=').next().unwrap_or(arg);
            if flag.starts_with("--") && !flags.contains(flag) {
                problems.push(format!("{what}: {} does not read the flag {flag}", self.binary));
            }
        }
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().unwrap_or_default();
            if !env.contains(name) {
                problems.push(format!("{what}: {} does not read the environment variable {name}", self.binary));
            }
        }
        // A mount is read when a flag, a variable or a default names it or a file in it.
        let mut named: Vec<String> = args.iter().filter_map(|a| a.split_once('=').map(|(_, v)| v.to_string())).collect();
        named.extend(container["env"].as_array().into_iter().flatten().filter_map(|v| v["value"].as_str().map(String::from)));
        named.extend(command["defaults"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str().map(String::from)));
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let path = mount["mountPath"].as_str().unwrap_or_default();
            let read = named.iter().any(|n| n == path || n.starts_with(&format!("{path}/")));
            if !read {
                problems.push(format!("{what}: nothing {} reads names the mount {path}", self.binary));
            }
        }
        problems
    }
}

/// Every container of the chart's Deployments, Jobs and Pods (`helm test`), with the
/// binary its image runs.
fn chart_containers(rendered: &chart::Rendered) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for object in &rendered.objects {
        let spec = match object["kind"].as_str() {
            Some("Deployment" | "Job") => &object["spec"]["template"]["spec"],
            Some("Pod") => &object["spec"],
            _ => continue,
        };
        for list in ["initContainers", "containers"] {
            for container in spec[list].as_array().into_iter().flatten() {
                let image = container["image"].as_str().unwrap_or_default();
                let repository = image.rsplit('/').next().unwrap_or(image).split(':').next().unwrap_or_default();
                let binary = match repository {
                    "remora-injector" | "remora-hub" | "remora-sidecar" => repository.to_string(),
                    "remora" => "remora".to_string(),
                    other => panic!("{}: an image of no Remora binary: {other}", object["metadata"]["name"]),
                };
                let what = format!("{} {} container {}", object["kind"].as_str().unwrap_or_default(), object["metadata"]["name"].as_str().unwrap_or_default(), container["name"].as_str().unwrap_or_default());
                found.push((what, binary, container.clone()));
            }
        }
    }
    found
}

/// The sidecar the injector adds to the golden input `pod`, with the settings the chart
/// gives the injector.
fn injected_sidecar(rendered: &chart::Rendered, pod: &str) -> Value {
    let config = rendered
        .objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "remora-injector")
        .expect("the injector's ConfigMap");
    let settings = Settings::from_yaml(config["data"]["settings.yaml"].as_str().expect("settings.yaml")).expect("the injector reads its rendered settings");
    let injector = Injector::new(settings).expect("settings");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let pod = common::read_docs(&dir.join(format!("{pod}.in.yaml"))).remove(0);
    let body = serde_json::to_vec(&common::admission_review("contract", &pod)).expect("json");
    let request = review::parse(&body).expect("a review");
    let (answer, _) = review::respond(&request, &injector, None, None);
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    let patch = answer["response"]["patch"].as_str().expect("a patch");
    let patch: json_patch::Patch = serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::STANDARD, patch).expect("base64")).expect("RFC 6902");
    let mut patched = pod.clone();
    json_patch::patch(&mut patched, &patch).expect("applies");
    ["initContainers", "containers"]
        .iter()
        .flat_map(|list| patched["spec"][*list].as_array().cloned().unwrap_or_default())
        .find(|c| c["name"] == "remora-sidecar")
        .expect("the sidecar")
}

#[test]
fn every_setting_the_chart_and_the_patch_give_is_read() {
    let ci = chart::repo().join("charts/remora/ci");
    let mut problems = Vec::new();
    let mut checked = BTreeSet::new();
    for values in [vec![], vec![ci.join("hub-tls-values.yaml")], vec![ci.join("no-cert-manager-values.yaml")]] {
        let rendered = chart::render(&values).expect("the chart renders");
        let mut containers = chart_containers(&rendered);
        // A plain pod, and one with a mesh's proxy (the sidecar is then told which).
        for pod in ["deployment-pod", "mesh-istio"] {
            containers.push((format!("the sidecar injected into {pod}"), "remora-sidecar".into(), injected_sidecar(&rendered, pod)));
        }
        for (what, binary, container) in containers {
            problems.extend(Reads::of(&binary).check(&what, &container));
            checked.insert(binary);
        }
    }
    assert_eq!(checked.into_iter().collect::<Vec<_>>(), ["remora", "remora-hub", "remora-injector", "remora-sidecar"], "every binary is checked");
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "settings given and never read:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_setting_nobody_reads() {
    let reads = Reads::of("remora-sidecar");
    let container = serde_json::json!({
        "args": ["--interfaces=all", "--no-such-flag"],
        "env": [{"name": "REMORA_REDACT", "value": ""}, {"name": "REMORA_NO_SUCH_SETTING", "value": "1"}],
        "volumeMounts": [{"name": "d", "mountPath": "/var/run/remora/data"}, {"name": "x", "mountPath": "/nowhere"}],
    });
    assert_eq!(
        reads.check("test", &container),
        [
            "test: remora-sidecar does not read the flag --no-such-flag",
            "test: remora-sidecar does not read the environment variable REMORA_NO_SUCH_SETTING",
            "test: nothing remora-sidecar reads names the mount /nowhere",
        ]
    );
}
