//! Coverage: pods of opted-in namespaces that run without the sidecar (created while the
//! webhook was down or before the namespace opted in), with the command that recreates
//! them through the webhook. Shared by `remora check` and the hub's metric.

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

fn restart_command(namespace: &str, owner: &str) -> String {
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
