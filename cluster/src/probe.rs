//! `remora check`'s probe: a server-side dry-run create (`dryRun=All`) of a small pod in an
//! opted-in namespace. The API server runs the whole admission chain on it — Remora's
//! webhook first, then whatever the platform enforces (Pod Security by a cluster-wide
//! default, OpenShift's SCCs, ResourceQuota, Kyverno, Gatekeeper, GKE's Warden) — and
//! stores nothing. Its answer tells what the webhook cannot see: whether a pod created
//! there gets the sidecar and is then admitted, and if not, who refused it and why.

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{json, Value};

use crate::coverage::SIDECAR;

/// The probe pods' name prefix (the API server adds five characters).
pub const NAME_PREFIX: &str = "remora-check-probe-";
/// The probe's application container: never pulled (nothing runs in a dry run).
pub const DEFAULT_IMAGE: &str = "registry.k8s.io/pause:3.10";

/// A pod as plain as a workload's, that Pod Security "restricted" admits by itself: any
/// refusal is then about what the webhook added, not about the probe.
pub fn probe_pod(image: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": NAME_PREFIX,
            "labels": {"app.kubernetes.io/name": "remora-check-probe", "app.kubernetes.io/managed-by": "remora-check"}
        },
        "spec": {
            // No runAsUser: OpenShift assigns one from the namespace's range.
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app",
                "image": image,
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                // Burstable, as most workloads are: the sidecar gets its usual requests (a
                // Guaranteed pod's sidecar asks its limits), which size the quota headroom.
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
            }]
        }
    })
}

/// What the API server answered to the dry-run create.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The `Warning` headers' texts (the webhook's warnings among them).
    pub warnings: Vec<String>,
    pub body: Value,
}

/// POSTs `pod` to `namespace` with `dryRun=All`; an error only when no answer came.
pub async fn dry_run_create(client: &kube::Client, namespace: &str, pod: &Value) -> Result<Answer, kube::Error> {
    let request = http::Request::post(format!("/api/v1/namespaces/{namespace}/pods?dryRun=All&fieldManager=remora-check"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(pod).map_err(kube::Error::SerdeError)?))
        .map_err(kube::Error::HttpError)?;
    let response = client.send(request).await?;
    let status = response.status().as_u16();
    let warnings = response.headers().get_all(http::header::WARNING).iter().filter_map(|v| v.to_str().ok()).map(warning_text).collect();
    let bytes = response.into_body().collect_bytes().await?;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Answer { status, warnings, body })
}

/// The text of a `Warning` header (`299 - "text"`, RFC 7234, as the API server writes it).
pub fn warning_text(header: &str) -> String {
    let quoted = header.splitn(3, ' ').nth(2).unwrap_or(header).trim();
    let Some(inner) = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')) else { return header.to_string() };
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    text
}

/// The sidecar container of an admitted probe, if the webhook added one.
pub fn sidecar(pod: &Value) -> Option<Container> {
    let pod: Pod = serde_json::from_value(pod.clone()).ok()?;
    let spec = pod.spec?;
    spec.init_containers.into_iter().flatten().chain(spec.containers).find(|c| c.name == SIDECAR)
}

/// Who refused the probe, from the refusal's text (the API server's own wording, and the
/// policy engines' as they come back through it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refuser {
    PodSecurity,
    SecurityContextConstraints,
    ResourceQuota(String),
    LimitRange,
    /// A validating or mutating webhook, by its name.
    Webhook(String),
    /// The caller may not create pods there: nothing was tried.
    NotAllowedToTry,
    /// A webhook that does not support dry runs: nothing could be tried.
    NoDryRun(String),
    Other,
}

pub fn refuser(message: &str) -> Refuser {
    let quoted_after = |marker: &str| message.split_once(marker).and_then(|(_, rest)| rest.split('"').nth(1)).map(str::to_string);
    if message.contains("cannot create resource \"pods\"") {
        Refuser::NotAllowedToTry
    } else if message.contains("does not support dry run") {
        Refuser::NoDryRun(quoted_after("webhook").unwrap_or_default())
    } else if let Some(name) = quoted_after("admission webhook") {
        Refuser::Webhook(name)
    } else if message.contains("violates PodSecurity") {
        Refuser::PodSecurity
    } else if message.contains("security context constraint") {
        Refuser::SecurityContextConstraints
    } else if let Some((_, rest)) = message.split_once("exceeded quota: ") {
        Refuser::ResourceQuota(rest.split(',').next().unwrap_or_default().trim().to_string())
    } else if message.contains("per Container is") || message.contains("per Pod is") || message.contains("LimitRange") {
        Refuser::LimitRange
    } else {
        Refuser::Other
    }
}

/// What to do about a refusal in `namespace`.
pub fn remedy(refuser: &Refuser, namespace: &str) -> String {
    match refuser {
        Refuser::PodSecurity => format!(
            "the sidecar needs NET_RAW, which Pod Security baseline and restricted forbid (here by the cluster's default level, not a namespace label): kubectl label namespace {namespace} pod-security.kubernetes.io/enforce=privileged --overwrite, or take {namespace} out of Remora (kubectl label namespace {namespace} remora.dev/inject-)"
        ),
        Refuser::SecurityContextConstraints => format!(
            "the sidecar runs as root with NET_RAW, which OpenShift's restricted-v2 SCC refuses: grant the namespace's service accounts an SCC that allows both (oc adm policy add-scc-to-group SCC system:serviceaccounts:{namespace}), or take {namespace} out of Remora"
        ),
        Refuser::ResourceQuota(name) => format!(
            "each injected pod also requests the sidecar's resources: raise the quota's hard limits (kubectl -n {namespace} edit resourcequota {name}) or lower the sidecar's (remora.dev/cpu-request and remora.dev/memory-request annotations, or sidecar.resources in the chart)"
        ),
        Refuser::LimitRange => format!("the injector fits the sidecar to LimitRanges it can read: check its log for a LimitRange warning, and kubectl -n {namespace} get limitranges -o yaml"),
        Refuser::Webhook(name) if name.contains("kyverno") => format!(
            "a Kyverno policy refuses the sidecar: add a PolicyException for the container remora-sidecar in {namespace} (kubectl get policyexceptions -A), or exclude {namespace} from that policy"
        ),
        Refuser::Webhook(name) if name.contains("gatekeeper") => format!(
            "a Gatekeeper constraint refuses the sidecar: exempt its image (parameters.exemptImages) or {namespace} (spec.match.excludedNamespaces) in that constraint"
        ),
        Refuser::Webhook(name) if name.contains("gke.io") => "GKE's Warden (Autopilot) refuses the sidecar: Remora needs a Standard node pool, or an Autopilot allowlist for it".to_string(),
        Refuser::Webhook(name) => format!("ask whoever runs the webhook {name} to admit the container remora-sidecar in {namespace}"),
        Refuser::NotAllowedToTry => format!("run remora check as someone who may create pods in {namespace} (a dry run stores nothing)"),
        Refuser::NoDryRun(name) => format!("the webhook {name} has side effects: nothing can be tried without creating a pod; create one by hand in {namespace} and read its events"),
        Refuser::Other => format!("kubectl -n {namespace} run remora-probe --image=registry.k8s.io/pause:3.10 --dry-run=server -o yaml shows the same"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_headers_are_unquoted() {
        assert_eq!(warning_text(r#"299 - "remora: not injected: \"payments\" enforces restricted""#), r#"remora: not injected: "payments" enforces restricted"#);
        assert_eq!(warning_text("garbage"), "garbage");
    }

    #[test]
    fn refusers_are_told_apart_by_their_wording() {
        assert_eq!(refuser(r#"admission webhook "validate.kyverno.svc-fail" denied the request: resource Pod/x/y was blocked"#), Refuser::Webhook("validate.kyverno.svc-fail".into()));
        assert_eq!(refuser(r#"pods "p" is forbidden: exceeded quota: compute, requested: requests.cpu=60m"#), Refuser::ResourceQuota("compute".into()));
        assert_eq!(refuser(r#"pods is forbidden: User "jane" cannot create resource "pods" in API group "" in the namespace "x""#), Refuser::NotAllowedToTry);
        assert_eq!(refuser("something else"), Refuser::Other);
    }
}
