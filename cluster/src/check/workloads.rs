//! The install's own workloads and the sidecars it put in pods: the Kubernetes version
//! against the chart's, the hub (available, its TLS certificate), and every injected
//! sidecar that crash-loops, is not ready, or runs an image older than the install's —
//! each with the command that fixes it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::{Api, ResourceExt};

use super::{api_error, certificates, expiry, Findings, Install, Level};
use crate::coverage::{has_sidecar, owner, restart_command, SIDECAR};

/// The oldest Kubernetes the chart installs on (its Chart.yaml `kubeVersion`).
pub const MIN_KUBERNETES: (u32, u32) = (1, 29);

/// `v1.34.1` (or `1.29.0-gke.1`) as (major, minor).
fn minor_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

pub(super) async fn check_kubernetes(client: &kube::Client, findings: &mut Findings) {
    let Ok(info) = client.apiserver_version().await else { return };
    let (major, minor) = MIN_KUBERNETES;
    match minor_version(&info.git_version) {
        Some(found) if found < MIN_KUBERNETES => findings.add(
            Level::Fail,
            "kubernetes",
            format!("the API server is {}: the chart needs {major}.{minor} or later", info.git_version),
            Some(format!("upgrade the cluster to {major}.{minor} or later")),
        ),
        Some(_) => findings.add(Level::Ok, "kubernetes", format!("{} (the chart needs {major}.{minor} or later)", info.git_version), None),
        None => findings.add(Level::Warn, "kubernetes", format!("cannot read the version {:?}", info.git_version), None),
    }
}

/// The hub: its Deployment available, and its TLS certificate (when it has one) not near
/// its end.
pub(super) async fn check_hub(client: &kube::Client, install: &Install, findings: &mut Findings) {
    let subject = format!("hub {}/{}", install.namespace, install.hub);
    let logs = format!("kubectl -n {} describe deployment {}; kubectl -n {} logs deployment/{}", install.namespace, install.hub, install.namespace, install.hub);
    match Api::<Deployment>::namespaced(client.clone(), &install.namespace).get_opt(&install.hub).await {
        Ok(Some(deployment)) => {
            let available = deployment.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0);
            if available > 0 {
                findings.add(Level::Ok, subject, format!("{available} available"), None);
            } else {
                let why = deployment.status.iter().flat_map(|s| s.conditions.iter().flatten()).find(|c| c.type_ == "Available").and_then(|c| c.message.clone()).unwrap_or_else(|| "no condition".into());
                findings.add(Level::Fail, subject, format!("not available ({why}): sidecars cannot report, queries and jobs stop"), Some(logs));
            }
        }
        Ok(None) => findings.add(Level::Fail, subject, "the Deployment does not exist", Some("helm upgrade --install remora charts/remora -n remora".into())),
        Err(e) => findings.add(Level::Warn, subject, format!("cannot read it: {}", api_error(&e)), None),
    }
    let secret = match Api::<Secret>::namespaced(client.clone(), &install.namespace).get_opt(&install.hub_tls_secret).await {
        Ok(Some(secret)) => secret,
        // No TLS on the hub's ports (hub.tls off): nothing to check.
        Ok(None) => return,
        Err(e) => return findings.add(Level::Warn, format!("hub certificate {}/{}", install.namespace, install.hub_tls_secret), format!("cannot read it: {}", api_error(&e)), None),
    };
    let subject = format!("hub certificate {}/{}", install.namespace, install.hub_tls_secret);
    let leaf = secret.data.as_ref().and_then(|d| d.get("tls.crt")).and_then(|pem| certificates(&pem.0).into_iter().next());
    let Some(not_after) = leaf.as_deref().and_then(|der| x509_parser::parse_x509_certificate(der).ok()).map(|(_, c)| c.validity().not_after.timestamp()) else {
        return findings.add(Level::Fail, subject, "tls.crt holds no readable certificate", None);
    };
    let renew = format!("kubectl -n {} describe certificate {} (cert-manager renews it)", install.namespace, install.hub_tls_secret);
    expiry(findings, install, subject, not_after, "sidecars and clients refuse the hub", renew);
}

/// The sidecar image this install injects now: the injector's settings `image`.
pub(super) async fn installed_sidecar_image(client: &kube::Client, install: &Install, findings: &mut Findings) -> Option<String> {
    let subject = format!("injector settings {}/{}", install.namespace, install.injector_config);
    let config = match Api::<ConfigMap>::namespaced(client.clone(), &install.namespace).get_opt(&install.injector_config).await {
        Ok(Some(config)) => config,
        Ok(None) => {
            findings.add(Level::Warn, subject, "the ConfigMap does not exist: sidecar images not compared with the install's", None);
            return None;
        }
        Err(e) => {
            findings.add(Level::Warn, subject, format!("cannot read it: {}", api_error(&e)), None);
            return None;
        }
    };
    let text = config.data.as_ref().and_then(|d| d.get("settings.yaml"))?;
    let settings: serde_json::Value = serde_norway::from_str(text).ok()?;
    settings.get("image").and_then(|i| i.as_str()).map(str::to_string)
}

/// Injected sidecars that crash-loop, are not ready, or run an image other than the
/// install's (injected before an upgrade), grouped by workload with the fix.
pub(super) fn check_sidecars(pods: &[Pod], installed: Option<&str>, findings: &mut Findings) {
    // Workload (namespace, owner) → pods, per kind of trouble.
    let mut crashing: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut not_ready: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut older: BTreeMap<(String, String), (Vec<String>, String)> = BTreeMap::new();
    for pod in pods.iter().filter(|p| has_sidecar(p)) {
        let namespace = pod.namespace().unwrap_or_default();
        let key = (namespace, owner(pod));
        let name = pod.name_any();
        let Some(status) = &pod.status else { continue };
        let sidecar = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten()).find(|c| c.name == SIDECAR);
        let Some(sidecar) = sidecar else { continue };
        let waiting = sidecar.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref());
        if waiting == Some("CrashLoopBackOff") {
            crashing.entry(key.clone()).or_default().push(format!("{name} ({} restarts)", sidecar.restart_count));
        } else if status.phase.as_deref() == Some("Running") && !sidecar.ready {
            not_ready.entry(key.clone()).or_default().push(name.clone());
        }
        let image = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten().chain(s.containers.iter())).find(|c| c.name == SIDECAR).and_then(|c| c.image.clone()).unwrap_or_default();
        if let Some(installed) = installed {
            if !image.is_empty() && image != installed {
                let entry = older.entry(key).or_insert_with(|| (Vec::new(), image.clone()));
                entry.0.push(name);
            }
        }
    }
    for ((namespace, owner), pods) in crashing {
        findings.add(
            Level::Fail,
            format!("sidecars of {namespace}/{owner}"),
            format!("crash-looping in {}: {}", pods.len(), pods.join(", ")),
            Some(format!("kubectl -n {namespace} logs {} -c {SIDECAR} --previous", pods[0].split(' ').next().unwrap_or_default())),
        );
    }
    for ((namespace, owner), pods) in not_ready {
        findings.add(
            Level::Warn,
            format!("sidecars of {namespace}/{owner}"),
            format!("not ready in {}: {} (capture has not started)", pods.len(), pods.join(", ")),
            Some(format!("kubectl -n {namespace} logs {} -c {SIDECAR}", pods[0])),
        );
    }
    let installed = installed.unwrap_or_default();
    for ((namespace, owner), (pods, image)) in older {
        findings.add(
            Level::Warn,
            format!("sidecars of {namespace}/{owner}"),
            format!("{} pod(s) run {image}, injected before the install's {installed}: {}", pods.len(), pods.join(", ")),
            Some(restart_command(&namespace, &owner)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_api_servers_write_them() {
        assert_eq!(minor_version("v1.34.1"), Some((1, 34)));
        assert_eq!(minor_version("v1.29.0-gke.1200"), Some((1, 29)));
        assert_eq!(minor_version("v1.28+"), Some((1, 28)));
        assert_eq!(minor_version("nonsense"), None);
    }
}
