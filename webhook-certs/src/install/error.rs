//! What went wrong talking to the API server, said so that whoever reads the hook's log
//! knows what to fix: a 403 names the RBAC rule the hook's ServiceAccount lacks.

use crate::CertError;

/// The API calls `install` makes, each needing one RBAC verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    GetSecret,
    CreateSecret,
    ReplaceSecret,
    DeleteSecret,
    GetWebhook,
    PatchWebhook,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::GetSecret | Op::GetWebhook => "get",
            Op::CreateSecret => "create",
            Op::ReplaceSecret => "update",
            Op::DeleteSecret => "delete",
            Op::PatchWebhook => "patch",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Op::GetSecret => "reading Secret",
            Op::CreateSecret => "creating Secret",
            Op::ReplaceSecret => "replacing Secret",
            Op::DeleteSecret => "deleting Secret",
            Op::GetWebhook => "reading MutatingWebhookConfiguration",
            Op::PatchWebhook => "patching MutatingWebhookConfiguration",
        }
    }

    fn is_secret(self) -> bool {
        matches!(self, Op::GetSecret | Op::CreateSecret | Op::ReplaceSecret | Op::DeleteSecret)
    }
}

/// The object a call was about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `None` for the cluster-scoped webhook configuration.
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl std::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(self.name),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("no Kubernetes API server to talk to ({detail}); run in a pod with a mounted ServiceAccount token, or set KUBECONFIG")]
    NoClient { detail: String },
    #[error("{doing} {target}: forbidden: the hook's ServiceAccount needs RBAC `{verb} {resource}` {rule} (API server: {message})")]
    Forbidden {
        doing: &'static str,
        target: String,
        verb: &'static str,
        resource: &'static str,
        rule: String,
        message: String,
    },
    #[error("{doing} {target}: the API server answered {code} {reason}: {message}{hint}")]
    Api {
        doing: &'static str,
        target: String,
        code: u16,
        reason: String,
        message: String,
        hint: String,
    },
    #[error("{doing} {target}: no answer from the API server ({detail}); check that it is reachable from this pod")]
    Unreachable {
        doing: &'static str,
        target: String,
        detail: String,
    },
    #[error("Secret {target} has type {found}, not kubernetes.io/tls, and a Secret's type cannot change: delete it (kubectl delete secret -n {namespace} {name}) and run again")]
    WrongType {
        target: String,
        found: String,
        namespace: String,
        name: String,
    },
    #[error("Secret {target} changed between reading and writing twice (409 Conflict); is another `remora certs install` running? Run again")]
    Conflict { target: String },
    #[error("--renew-before-days ({renew_before}) must be less than --days ({days}), or every run would renew")]
    RenewWindow { renew_before: u32, days: u32 },
    #[error(transparent)]
    Cert(#[from] CertError),
}

impl InstallError {
    pub(crate) fn api(op: Op, target: Target<'_>, error: kube::Error) -> InstallError {
        let kube::Error::Api(status) = error else {
            return InstallError::Unreachable {
                doing: op.doing(),
                target: target.to_string(),
                detail: chain(&error),
            };
        };
        if status.code == 403 {
            return InstallError::Forbidden {
                doing: op.doing(),
                target: target.to_string(),
                verb: op.verb(),
                resource: if op.is_secret() {
                    "secrets"
                } else {
                    "mutatingwebhookconfigurations"
                },
                rule: rule(op, target),
                message: status.message,
            };
        }
        InstallError::Api {
            doing: op.doing(),
            target: target.to_string(),
            code: status.code,
            reason: status.reason,
            message: status.message,
            hint: hint(op, target, status.code),
        }
    }

    /// An error before the client exists (no kubeconfig, no in-cluster token).
    pub(crate) fn no_client(error: &kube::Error) -> InstallError {
        InstallError::NoClient {
            detail: chain(error),
        }
    }

    /// The API server refused a write because the object changed since it was read.
    pub(crate) fn is_conflict(error: &kube::Error) -> bool {
        matches!(error, kube::Error::Api(status) if status.code == 409)
    }
}

/// The RBAC rule that grants `op`, as it would be written in the chart.
fn rule(op: Op, target: Target<'_>) -> String {
    match target.namespace {
        Some(ns) => format!(
            "in namespace {ns} (Role rule: apiGroups [\"\"], resources [secrets], verbs [{}])",
            op.verb()
        ),
        None => format!(
            "(ClusterRole rule: apiGroups [admissionregistration.k8s.io], resources [mutatingwebhookconfigurations], resourceNames [{}], verbs [{}])",
            target.name,
            op.verb()
        ),
    }
}

fn hint(op: Op, target: Target<'_>, code: u16) -> String {
    match (op, code) {
        (_, 401) => "; the credentials were refused (expired ServiceAccount token or wrong kubeconfig user)".into(),
        (Op::CreateSecret, 404) => format!(
            "; does namespace {} exist?",
            target.namespace.unwrap_or_default()
        ),
        (Op::ReplaceSecret, 422) => format!(
            "; if the Secret is immutable, delete it (kubectl delete secret -n {} {}) and run again",
            target.namespace.unwrap_or_default(),
            target.name
        ),
        (_, 500..) => "; the API server is failing: run again later".into(),
        _ => String::new(),
    }
}

/// An error and its causes on one line: kube's own message hides the cause (connection
/// refused, certificate unknown) in its source chain.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
