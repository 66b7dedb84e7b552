//! `remora inject` and `remora uninject`: the webhook's decision applied to manifests, as
//! `istioctl kube-inject` and `linkerd inject` do — for GitOps, for reviewing what the
//! webhook would do, and for clusters where no webhook can be installed.
//!
//! Every pod template of a document is injected exactly as the webhook would inject a
//! pod made from it (the same core, settings and namespace defaults): a Pod itself, the
//! `spec.template` of a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController
//! or Job, a CronJob's `spec.jobTemplate.spec.template`, and the items of a `List`. Other
//! documents pass through untouched. The webhook's patch is applied to the template's own
//! JSON, so fields this build does not know are kept. Injecting twice changes nothing.
//!
//! Uninjection removes what the `remora.dev/status` annotation says was added: the
//! sidecar container, its volumes, the pull secrets it added, a mesh's port exclusions,
//! and the annotation and the `remora.dev/injected` label themselves.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Map, Value};

use crate::annotations::{INJECTED, STATUS};
use crate::inject::{Injector, NamespaceInfo, Outcome};

/// Where the pod templates of a document of `kind` are (JSON pointers; "" the document).
fn template_pointers(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[""],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => &["/spec/template"],
        "CronJob" => &["/spec/jobTemplate/spec/template"],
        _ => &[],
    }
}

/// What was done to a set of documents.
#[derive(Debug, Default)]
pub struct Changes {
    /// Pod templates changed.
    pub changed: usize,
    /// Pod templates seen.
    pub templates: usize,
    /// What the user should hear, each naming its document (`Deployment shop/web: ...`).
    pub warnings: Vec<String>,
}

fn describe(doc: &Value) -> String {
    let kind = doc["kind"].as_str().unwrap_or("document");
    let name = doc["metadata"]["name"].as_str().or_else(|| doc["metadata"]["generateName"].as_str()).unwrap_or("(unnamed)");
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Calls `each` with every pod template in `doc` (and in a List's items) and the
/// document that holds it.
fn for_each_template(doc: &mut Value, each: &mut dyn FnMut(&mut Value, &str, Option<&str>)) {
    if doc["kind"] == "List" {
        for item in doc.get_mut("items").and_then(Value::as_array_mut).into_iter().flatten() {
            for_each_template(item, each);
        }
        return;
    }
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    let what = describe(doc);
    let namespace = doc["metadata"]["namespace"].as_str().map(str::to_string);
    for pointer in template_pointers(&kind) {
        if let Some(template) = doc.pointer_mut(pointer) {
            each(template, &what, namespace.as_deref());
        }
    }
}

/// Injects every pod template of `docs` as the webhook would in `namespace` (a
/// document's own namespace comes first), with `namespaces`' labels and annotations.
pub fn inject(injector: &Injector, docs: &mut [Value], namespace: &str, namespaces: &dyn Fn(&str) -> Option<NamespaceInfo>) -> Changes {
    let mut changes = Changes::default();
    for doc in docs.iter_mut() {
        for_each_template(doc, &mut |template, what, own_namespace| {
            changes.templates += 1;
            let namespace = own_namespace.unwrap_or(namespace);
            // The pod the template would make: its metadata and spec.
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": template.get("metadata").cloned().unwrap_or_else(|| json!({})), "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))});
            let typed: Pod = match serde_json::from_value(pod.clone()) {
                Ok(typed) => typed,
                Err(e) => return changes.warnings.push(format!("{what}: not a pod template Kubernetes would read ({e}); left as it is")),
            };
            let info = namespaces(namespace);
            let report = injector.inject(&typed, namespace, info.as_ref());
            changes.warnings.extend(report.warnings.iter().map(|w| format!("{what}: {w}")));
            let Outcome::Injected { patch, .. } = report.outcome else { return };
            if let Err(e) = json_patch::patch(&mut pod, &patch) {
                return changes.warnings.push(format!("{what}: the sidecar could not be added ({e}); left as it is"));
            }
            let object = template.as_object_mut();
            if let Some(object) = object {
                object.insert("metadata".into(), pod["metadata"].take());
                object.insert("spec".into(), pod["spec"].take());
                changes.changed += 1;
            }
        });
    }
    changes
}

/// Removes from every pod template of `docs` what injection added, as its
/// `remora.dev/status` annotation records it.
pub fn uninject(docs: &mut [Value]) -> Changes {
    let mut changes = Changes::default();
    for doc in docs.iter_mut() {
        for_each_template(doc, &mut |template, what, _| {
            changes.templates += 1;
            let Some(status) = template["metadata"]["annotations"][STATUS].as_str() else { return };
            let status: Value = match serde_json::from_str(status) {
                Ok(status) => status,
                Err(e) => return changes.warnings.push(format!("{what}: its {STATUS} annotation is not Remora's ({e}); left as it is")),
            };
            remove_added(template, &status);
            changes.changed += 1;
        });
    }
    changes
}

/// Takes the names in `names` out of the list at `spec[key]` (by `name`, or the string
/// itself), and the list itself when nothing else is left in it.
fn remove_named(spec: &mut Map<String, Value>, key: &str, names: &[&str]) {
    let Some(Value::Array(list)) = spec.get_mut(key) else { return };
    list.retain(|item| !names.contains(&item["name"].as_str().or(item.as_str()).unwrap_or_default()));
    if list.is_empty() {
        spec.remove(key);
    }
}

fn remove_added(template: &mut Value, status: &Value) {
    let strings = |key: &str| -> Vec<&str> { status[key].as_array().into_iter().flatten().filter_map(Value::as_str).collect() };
    let container = status["container"].as_str().unwrap_or(crate::sidecar::CONTAINER_NAME).to_string();
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        remove_named(spec, "initContainers", &[&container]);
        remove_named(spec, "containers", &[&container]);
        remove_named(spec, "volumes", &strings("volumes"));
        remove_named(spec, "imagePullSecrets", &strings("imagePullSecrets"));
    }
    if let (Some(code), Some(outbound), Some(inbound)) = (status["mesh"]["name"].as_str(), status["mesh"]["outboundPort"].as_u64(), status["mesh"]["inboundPort"].as_u64()) {
        crate::mesh::restore_ports(template, code, [outbound, inbound]);
    }
    // `get_mut`, not indexing: indexing a missing key would add it as null.
    let Some(metadata) = template.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    for (key, name) in [("annotations", STATUS), ("labels", INJECTED)] {
        if let Some(map) = metadata.get_mut(key).and_then(Value::as_object_mut) {
            map.remove(name);
            if map.is_empty() {
                metadata.remove(key);
            }
        }
    }
    // A template that had no metadata gets none back.
    if metadata.is_empty() {
        template.as_object_mut().map(|t| t.remove("metadata"));
    }
}
