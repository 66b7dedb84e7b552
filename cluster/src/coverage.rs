//! Coverage: pods of opted-in namespaces that run without the sidecar (created while the
//! webhook was down or before the namespace opted in), with the command that recreates
//! them through the webhook. Shared by `remora check` and the hub's metric. Also what
//! `hub.targeted()` tells the hub's scripts: the pods that run the sidecar, and those of
//! opted-in namespaces that do not.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::ResourceExt;

/// The label (on a namespace: opt in; on a pod: opt out) and the sidecar's name, as the
/// injector uses them.
pub const INJECT: &str = "remora.dev/inject";
pub const SIDECAR: &str = "remora-sidecar";

/// A pod that should have the sidecar and does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub namespace: String,
    pub pod: String,
    /// `deployment/web`, `statefulset/db`, `daemonset/x`, `job/x`, or `pod/NAME`.
    pub owner: String,
    /// What recreates it with the sidecar.
    pub command: String,
}

pub fn opted_in(namespace: &Namespace) -> bool {
    namespace.labels().get(INJECT).is_some_and(|v| v == "enabled")
}

pub fn has_sidecar(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    spec.into_iter().flat_map(|s| s.init_containers.iter().flatten().chain(s.containers.iter())).any(|c| c.name == SIDECAR)
}

/// Whether the webhook would have injected this pod: running or about to, not on the
/// host's network, not opted out.
pub fn wants_sidecar(pod: &Pod) -> bool {
    let opted_out = |value: Option<&String>| value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "disabled"));
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    matches!(phase, "Running" | "Pending")
        && pod.metadata.deletion_timestamp.is_none()
        && !host_network
        && !opted_out(pod.labels().get(INJECT))
        && !opted_out(pod.annotations().get(INJECT))
}

/// The workload that owns a pod, as `kind/name` (a ReplicaSet's pods belong to its
/// Deployment: the ReplicaSet is named after it plus the pod-template-hash).
pub fn owner(pod: &Pod) -> String {
    let controller = pod.owner_references().iter().find(|o| o.controller == Some(true));
    match controller {
        Some(o) if o.kind == "ReplicaSet" => {
            let hash = pod.labels().get("pod-template-hash");
            match hash.and_then(|h| o.name.strip_suffix(&format!("-{h}"))) {
                Some(deployment) => format!("deployment/{deployment}"),
                None => format!("replicaset/{}", o.name),
            }
        }
        Some(o) => format!("{}/{}", o.kind.to_ascii_lowercase(), o.name),
        None => format!("pod/{}", pod.name_any()),
    }
}

pub fn restart_command(namespace: &str, owner: &str) -> String {
    match owner.split_once('/') {
        Some(("deployment" | "statefulset" | "daemonset", _)) => format!("kubectl -n {namespace} rollout restart {owner}"),
        Some(("replicaset" | "job", _)) | Some(("pod", _)) | None => format!("kubectl -n {namespace} delete pod NAME (its {owner} makes a new one; a bare pod must be created again)"),
        Some((_, _)) => format!("kubectl -n {namespace} delete pod NAME (its controller {owner} makes a new one)"),
    }
}

/// The pods of opted-in namespaces that want the sidecar and run without it, by
/// namespace and name.
pub fn uncovered(namespaces: &[Namespace], pods: &[Pod]) -> Vec<Uncovered> {
    let opted: Vec<String> = namespaces.iter().filter(|n| opted_in(n)).map(|n| n.name_any()).collect();
    let mut found: Vec<Uncovered> = pods
        .iter()
        .filter(|p| opted.contains(&p.namespace().unwrap_or_default()) && wants_sidecar(p) && !has_sidecar(p))
        .map(|p| {
            let namespace = p.namespace().unwrap_or_default();
            let owner = owner(p);
            let command = restart_command(&namespace, &owner).replace("NAME", &p.name_any());
            Uncovered { namespace, pod: p.name_any(), owner, command }
        })
        .collect();
    found.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    found
}

/// `hub.targeted()`: `{"targets": [...], "excluded": [...]}`, pods running the sidecar
/// and pods of opted-in namespaces running without it (opted out, on the host's network,
/// created before the webhook ran, ...), by namespace and name, each as
/// [`pod_summary`].
pub fn targeted(namespaces: &[Namespace], pods: &[Pod]) -> serde_json::Value {
    let opted: Vec<String> = namespaces.iter().filter(|n| opted_in(n)).map(|n| n.name_any()).collect();
    let mut sorted: Vec<&Pod> = pods.iter().collect();
    sorted.sort_by_key(|p| (p.namespace().unwrap_or_default(), p.name_any()));
    let targets: Vec<serde_json::Value> = sorted.iter().filter(|p| has_sidecar(p)).map(|p| pod_summary(p)).collect();
    let excluded: Vec<serde_json::Value> = sorted.iter().filter(|p| !has_sidecar(p) && opted.contains(&p.namespace().unwrap_or_default())).map(|p| pod_summary(p)).collect();
    serde_json::json!({ "targets": targets, "excluded": excluded })
}

/// A pod as `hub.targeted()` lists it: `metadata` (name, namespace, uid, labels),
/// `spec.nodeName`, `status` (phase, podIP, hostIP).
pub fn pod_summary(pod: &Pod) -> serde_json::Value {
    let status = pod.status.as_ref();
    serde_json::json!({
        "metadata": {
            "name": pod.name_any(),
            "namespace": pod.namespace().unwrap_or_default(),
            "uid": pod.metadata.uid.clone().unwrap_or_default(),
            "labels": pod.labels(),
        },
        "spec": { "nodeName": pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default() },
        "status": {
            "phase": status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            "podIP": status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
            "hostIP": status.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod targeted_tests {
    use super::*;

    fn object<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
        serde_json::from_value(json).expect("object")
    }

    #[test]
    fn targets_run_the_sidecar_and_excluded_are_the_opted_in_rest() {
        let namespaces: Vec<Namespace> = vec![
            object(serde_json::json!({"metadata": {"name": "shop", "labels": {INJECT: "enabled"}}})),
            object(serde_json::json!({"metadata": {"name": "kube-system"}})),
        ];
        let pod = |ns: &str, name: &str, sidecar: bool| -> Pod {
            let init = if sidecar { serde_json::json!([{"name": SIDECAR}]) } else { serde_json::json!([]) };
            object(serde_json::json!({
                "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "labels": {"app": name}},
                "spec": {"nodeName": "node-1", "initContainers": init, "containers": [{"name": "app"}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.0.2.1"}
            }))
        };
        let pods = vec![pod("shop", "web", true), pod("shop", "db", false), pod("kube-system", "dns", false), pod("other", "tool", true)];
        let answer = targeted(&namespaces, &pods);
        let names = |list: &str| -> Vec<String> { answer[list].as_array().expect("list").iter().map(|p| format!("{}/{}", p["metadata"]["namespace"].as_str().unwrap_or(""), p["metadata"]["name"].as_str().unwrap_or(""))).collect() };
        assert_eq!(names("targets"), ["other/tool", "shop/web"]);
        assert_eq!(names("excluded"), ["shop/db"]);
        assert_eq!(
            answer["targets"][1],
            serde_json::json!({"metadata": {"name": "web", "namespace": "shop", "uid": "uid-web", "labels": {"app": "web"}}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.0.2.1"}})
        );
        assert_eq!(targeted(&[], &[]), serde_json::json!({"targets": [], "excluded": []}));
    }
}
