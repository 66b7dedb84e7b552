//! AdmissionReview in, AdmissionReview out. Whatever happens inside, the pod is admitted:
//! an error leaves it unchanged with a warning that says why.

use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::Engine;
use serde::Deserialize;

use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::core::DynamicObject;

use k8s_openapi::api::core::v1::Pod;

use crate::inject::{Injector, NamespaceInfo, Outcome};
use crate::reason::SkipReason;

/// What happened to one review, for the log line and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Injected,
    Skipped(SkipReason),
    /// Admitted unchanged because something failed; the warning says what.
    Error,
}

impl Decision {
    pub fn outcome(self) -> &'static str {
        match self {
            Decision::Injected => "injected",
            Decision::Skipped(_) => "skipped",
            Decision::Error => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub decision: Decision,
    pub uid: String,
    pub namespace: String,
    /// The pod's name, or its generateName followed by `*`.
    pub pod: String,
    pub dry_run: bool,
    pub warnings: Vec<String>,
    pub patch_ops: usize,
}

/// A review that can be answered.
pub struct Request {
    pub inner: AdmissionRequest<DynamicObject>,
    /// `request.object` exactly as sent: the patch must apply to this.
    raw_object: Option<serde_json::Value>,
}

impl Request {
    /// The namespace the pod is created in.
    pub fn namespace(&self) -> Option<&str> {
        self.inner
            .namespace
            .as_deref()
            .or_else(|| self.raw_object.as_ref()?.pointer("/metadata/namespace")?.as_str())
    }

    pub fn is_pod_create(&self) -> bool {
        let r = &self.inner;
        r.kind.group.is_empty()
            && r.kind.kind == "Pod"
            && r.resource.resource == "pods"
            && r.sub_resource.is_none()
            && matches!(r.operation, Operation::Create)
            && self.raw_object.is_some()
    }
}

/// Reads an AdmissionReview body; the error says what is wrong with it.
pub fn parse(body: &[u8]) -> Result<Request, String> {
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not an AdmissionReview: {e}"))?;
    let raw_object = value
        .pointer_mut("/request/object")
        .map(serde_json::Value::take)
        .filter(|o| !o.is_null());
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(value)
        .map_err(|e| format!("the body is not an AdmissionReview: {e}"))?;
    if review.types.kind != "AdmissionReview" {
        return Err(format!(
            "kind is {:?}, not AdmissionReview",
            review.types.kind
        ));
    }
    let inner: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| "the AdmissionReview has no request".to_string())?;
    // The object stays raw JSON (the patch must apply to it as sent); it is read as a
    // typed Pod once, when deciding.
    Ok(Request { inner, raw_object })
}

/// The answer to `request`: the patch when the sidecar is injected, warnings always.
/// `lookup_warning` says why the namespace could not be read, when it could not.
pub fn respond(
    request: &Request,
    injector: &Injector,
    ns: Option<&NamespaceInfo>,
    lookup_warning: Option<String>,
) -> (Vec<u8>, Record) {
    let req = &request.inner;
    let namespace = request.namespace().unwrap_or_default().to_string();
    let mut record = Record {
        decision: Decision::Skipped(SkipReason::NotPodCreate),
        uid: req.uid.clone(),
        namespace: namespace.clone(),
        pod: pod_name(req, request.raw_object.as_ref()),
        dry_run: req.dry_run,
        warnings: Vec::new(),
        patch_ops: 0,
    };
    let mut response = AdmissionResponse::from(req);
    if request.is_pod_create() {
        let raw = request.raw_object.as_ref();
        let decided = catch_unwind(AssertUnwindSafe(|| decide(raw, &namespace, injector, ns)));
        let decided = decided.unwrap_or_else(|_| Err("internal error (panic)".to_string()));
        match decided {
            Ok((decision, patch, warnings)) => {
                record.decision = decision;
                record.warnings = warnings;
                if let Some(patch) = patch {
                    record.patch_ops = patch.0.len();
                    match response.clone().with_patch(patch) {
                        Ok(patched) => response = patched,
                        Err(e) => {
                            record.decision = Decision::Error;
                            record.warnings = vec![format!(
                                "remora: sidecar not injected: the patch could not be written: {e}"
                            )];
                        }
                    }
                }
            }
            Err(e) => {
                record.decision = Decision::Error;
                record.warnings = vec![format!("remora: sidecar not injected: {e}")];
            }
        }
        if let Some(w) = lookup_warning {
            record.warnings.push(w);
        }
    }
    if !record.warnings.is_empty() {
        response.warnings = Some(record.warnings.clone());
    }
    (to_body(response), record)
}

type Decided = (Decision, Option<json_patch::Patch>, Vec<String>);

fn decide(
    raw: Option<&serde_json::Value>,
    namespace: &str,
    injector: &Injector,
    ns: Option<&NamespaceInfo>,
) -> Result<Decided, String> {
    let raw = raw.ok_or("the request has no object")?;
    let pod = Pod::deserialize(raw).map_err(|e| format!("the pod could not be read: {e}"))?;
    let report = injector.inject(&pod, namespace, ns);
    Ok(match report.outcome {
        Outcome::Injected { mut patch, .. } => {
            // The patch is a diff of typed pods; the API server applies it to the JSON
            // it sent. Where the two differ an op could miss its target and fail the
            // pod's creation: a pod sent without `metadata` (which the typed pod has,
            // empty) gets it first, and the whole patch is checked before answering.
            if !raw.get("metadata").is_some_and(serde_json::Value::is_object) {
                let metadata = json_patch::AddOperation { path: json_patch::jsonptr::PointerBuf::from_tokens(["metadata"]), value: serde_json::json!({}) };
                patch.0.insert(0, json_patch::PatchOperation::Add(metadata));
            }
            let mut applied = raw.clone();
            json_patch::patch(&mut applied, &patch).map_err(|e| {
                format!("the patch does not apply to the pod as sent ({e}); the pod is admitted unchanged")
            })?;
            (Decision::Injected, Some(patch), report.warnings)
        }
        Outcome::Skipped(reason) => (Decision::Skipped(reason), None, report.warnings),
    })
}

fn pod_name(req: &AdmissionRequest<DynamicObject>, object: Option<&serde_json::Value>) -> String {
    let field = |name: &str| object?.get("metadata")?.get(name)?.as_str();
    match (field("name"), field("generateName")) {
        (Some(name), _) => name.to_string(),
        (None, Some(prefix)) => format!("{prefix}*"),
        (None, None) => req.name.clone(),
    }
}

/// The AdmissionReview v1 the API server sends when `pod` is created (as the
/// ReplicaSet controller creates it): for tests, the fuzzer and the load generator.
pub fn pod_create_review(uid: &str, pod: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": pod["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {
                "username": "system:serviceaccount:kube-system:replicaset-controller",
                "uid": "9f2b6a0e-1c3d-4e5f-8a7b-6c5d4e3f2a1b",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
            },
            "object": pod,
            "oldObject": null,
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    })
}

/// A well-formed AdmissionReview for a body that could not be read: allowed (the pod,
/// if any, is never blocked by Remora), with the reason in the status and a warning.
pub fn unreadable(message: &str) -> Vec<u8> {
    let mut response = AdmissionResponse::invalid(message);
    response.allowed = true;
    response.warnings = Some(vec![format!("remora: sidecar not injected: {message}")]);
    to_body(response)
}

/// kube serialises the patch bytes as a JSON array of numbers; the API documents (and
/// every other webhook sends) a base64 string, a quarter the size.
fn to_body(mut response: AdmissionResponse) -> Vec<u8> {
    let patch = response.patch.take();
    let mut review = match serde_json::to_value(response.into_review()) {
        Ok(review) => review,
        // Serialising these types cannot fail in practice; still, answer something valid.
        Err(_) => serde_json::json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": "", "allowed": true}
        }),
    };
    if let (Some(bytes), Some(response)) = (patch, review.get_mut("response").and_then(|r| r.as_object_mut())) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        response.insert("patch".to_string(), encoded.into());
    }
    serde_json::to_vec(&review).unwrap_or_default()
}
