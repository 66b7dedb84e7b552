//! Pod Security admission runs after mutating webhooks: a namespace that enforces
//! `baseline` or `restricted` rejects a pod whose container adds NET_RAW. Knowing that
//! here lets the injector leave the pod alone (and say why) instead of getting it refused.

use crate::inject::NamespaceInfo;

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const WARN: &str = "pod-security.kubernetes.io/warn";
const AUDIT: &str = "pod-security.kubernetes.io/audit";

pub enum Verdict {
    Allowed,
    /// Admitted, but the namespace will warn about or audit the capability.
    Warned(String),
    /// The pod would be refused if injected.
    Rejected(String),
}

fn forbids_net_raw(level: Option<&String>) -> Option<&str> {
    match level.map(|l| l.trim()) {
        Some(level @ ("baseline" | "restricted")) => Some(level),
        _ => None,
    }
}

pub fn check(ns: &NamespaceInfo) -> Verdict {
    if let Some(level) = forbids_net_raw(ns.labels.get(ENFORCE)) {
        return Verdict::Rejected(format!(
            "remora: namespace {} enforces Pod Security {level:?}, which rejects the sidecar's NET_RAW \
             capability; label it {ENFORCE}=privileged to capture its pods",
            ns.name
        ));
    }
    for key in [WARN, AUDIT] {
        if let Some(level) = forbids_net_raw(ns.labels.get(key)) {
            let mode = &key["pod-security.kubernetes.io/".len()..];
            return Verdict::Warned(format!(
                "remora: namespace {} has Pod Security {mode}={level:?}: the sidecar's NET_RAW \
                 capability will be reported (the pod is admitted)",
                ns.name
            ));
        }
    }
    Verdict::Allowed
}
