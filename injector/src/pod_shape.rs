//! What the pod itself says about where and how it runs, read as the scheduler and the
//! kubelet read it: a pod that can only land on Windows nodes (no libpcap sidecar image
//! runs there), and a pod of the Guaranteed QoS class (which the sidecar must not lower).

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::quantity;

const OS_LABEL: &str = "kubernetes.io/os";

/// The pod runs on Windows: `spec.os.name: windows`, a nodeSelector on
/// `kubernetes.io/os: windows`, or a required node affinity whose every term admits only
/// Windows nodes.
pub fn runs_on_windows(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else { return false };
    if spec.os.as_ref().is_some_and(|os| os.name.eq_ignore_ascii_case("windows")) {
        return true;
    }
    if spec.node_selector.as_ref().and_then(|s| s.get(OS_LABEL)).is_some_and(|os| os.eq_ignore_ascii_case("windows")) {
        return true;
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|r| r.node_selector_terms.as_slice())
        .unwrap_or_default();
    // Terms are alternatives: the pod is Windows-only when each one demands Windows.
    !terms.is_empty()
        && terms.iter().all(|term| {
            term.match_expressions.iter().flatten().any(|e| {
                e.key == OS_LABEL && e.operator == "In" && e.values.as_ref().is_some_and(|v| !v.is_empty() && v.iter().all(|os| os.eq_ignore_ascii_case("windows")))
            })
        })
}

/// Every container (init ones too) has cpu and memory limits and requests equal to them
/// (absent requests default to the limits): the kubelet's Guaranteed class.
pub fn is_guaranteed(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else { return false };
    let mut containers = spec.containers.iter().chain(spec.init_containers.iter().flatten()).peekable();
    containers.peek().is_some() && containers.all(guaranteed)
}

fn guaranteed(container: &Container) -> bool {
    let Some(resources) = &container.resources else { return false };
    ["cpu", "memory"].iter().all(|resource| {
        let Some(limit) = resources.limits.as_ref().and_then(|l| l.get(*resource)) else { return false };
        let request = resources.requests.as_ref().and_then(|r| r.get(*resource)).unwrap_or(limit);
        matches!((quantity::parse(&request.0), quantity::parse(&limit.0)), (Ok(r), Ok(l)) if r == l)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "spec": spec})).expect("pod")
    }

    #[test]
    fn windows_pods_by_os_selector_or_affinity() {
        let app = serde_json::json!([{"name": "app", "image": "x"}]);
        assert!(runs_on_windows(&pod(serde_json::json!({"containers": app, "os": {"name": "windows"}}))));
        assert!(runs_on_windows(&pod(serde_json::json!({"containers": app, "nodeSelector": {"kubernetes.io/os": "windows"}}))));
        let affinity = |terms: serde_json::Value| pod(serde_json::json!({"containers": app, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}));
        let windows = serde_json::json!({"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]});
        let linux = serde_json::json!({"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]});
        assert!(runs_on_windows(&affinity(serde_json::json!([windows]))));
        assert!(!runs_on_windows(&affinity(serde_json::json!([windows, linux]))), "a Linux node may take it");
        assert!(!runs_on_windows(&pod(serde_json::json!({"containers": app, "nodeSelector": {"kubernetes.io/os": "linux"}}))));
        assert!(!runs_on_windows(&pod(serde_json::json!({"containers": app}))));
    }

    #[test]
    fn guaranteed_needs_every_container_at_its_limits() {
        let at_limits = serde_json::json!({"name": "app", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}}});
        let limits_only = serde_json::json!({"name": "init", "image": "x", "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}});
        let burstable = serde_json::json!({"name": "log", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}});
        assert!(is_guaranteed(&pod(serde_json::json!({"containers": [at_limits], "initContainers": [limits_only]}))));
        assert!(!is_guaranteed(&pod(serde_json::json!({"containers": [at_limits, burstable]}))));
        assert!(!is_guaranteed(&pod(serde_json::json!({"containers": [{"name": "app", "image": "x"}]}))), "best effort");
    }
}
