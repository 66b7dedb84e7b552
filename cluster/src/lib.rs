//! What Remora learns from the Kubernetes API. Every watch is behind [`watch::Watch`]:
//! the kube implementation (list, then watch, re-listing after a 410 Gone) for a cluster,
//! and a directory of object files for tests and clusterless runs. On top: name
//! resolution (IP → pod or service), pod events for `onPodEvent`, the scripts ConfigMap,
//! coverage and `remora check`.

pub mod access_review;
pub mod check;
pub mod coverage;
pub mod hub_tokens;
pub mod names;
pub mod pod_events;
pub mod probe;
pub mod quota;
pub mod scripts;
pub mod token_review;
pub mod watch;
pub mod webhook_calls;

/// A client from the pod's ServiceAccount, or from KUBECONFIG outside a cluster.
pub async fn client() -> Result<kube::Client, kube::Error> {
    // kube's TLS needs a process-wide crypto provider; a second install is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    kube::Client::try_default().await
}
