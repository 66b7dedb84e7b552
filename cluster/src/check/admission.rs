//! What happens to a pod after the webhook patched it: the dry-run probe in each opted-in
//! namespace (who admits or refuses an injected pod, and why), the ResourceQuota headroom
//! for sidecars, and how the API server's calls to the webhook went (its metrics).

use futures_util::{stream, StreamExt};
use k8s_openapi::api::core::v1::{Container, ResourceQuota};
use kube::api::ListParams;
use kube::Api;

use super::{api_error, Findings, Install, Level};
use crate::probe::{self, Refuser};
use crate::quota;
use crate::webhook_calls;

/// Namespaces probed at once.
const PROBES_AT_ONCE: usize = 8;

/// Dry-run creates a probe pod in each namespace; returns the sidecar one of them got
/// (what one injected pod asks of a quota).
pub(super) async fn check_probes(client: &kube::Client, install: &Install, namespaces: &[String], findings: &mut Findings) -> Option<Container> {
    let pod = probe::probe_pod(&install.probe_image);
    let answers: Vec<_> = stream::iter(namespaces.iter().cloned())
        .map(|namespace| {
            let pod = &pod;
            async move {
                let answer = probe::dry_run_create(client, &namespace, pod).await;
                (namespace, answer)
            }
        })
        .buffered(PROBES_AT_ONCE)
        .collect()
        .await;
    let mut sidecar = None;
    for (namespace, answer) in answers {
        let subject = format!("probe pod in {namespace}");
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                findings.add(Level::Warn, subject, format!("the dry-run create got no answer: {}", api_error(&e)), None);
                continue;
            }
        };
        let remora_warnings: Vec<&String> = answer.warnings.iter().filter(|w| w.starts_with("remora:")).collect();
        if answer.status < 300 {
            match probe::sidecar(&answer.body) {
                Some(container) => {
                    let said = if remora_warnings.is_empty() { String::new() } else { format!("; the webhook said: {}", join(&remora_warnings)) };
                    findings.add(Level::Ok, subject, format!("a pod created here gets the sidecar and is admitted (dry run){said}"), None);
                    sidecar.get_or_insert(container);
                }
                None if !remora_warnings.is_empty() => {
                    findings.add(Level::Warn, subject, format!("a pod created here is admitted without the sidecar: {}", join(&remora_warnings)), None);
                }
                None => findings.add(
                    Level::Fail,
                    subject,
                    "a pod created here is admitted without the sidecar and without a word from the webhook: the API server did not reach it, or the call failed or timed out (failurePolicy Ignore)",
                    Some(format!(
                        "kubectl -n {} logs deploy/remora-injector; the control plane must reach the injector's pods on their port (README: Reaching the webhook; on GKE private clusters a firewall rule for port 10250)",
                        install.namespace
                    )),
                ),
            }
            continue;
        }
        let message = answer.body.get("message").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| answer.body.to_string());
        let refuser = probe::refuser(&message);
        let level = if matches!(refuser, Refuser::NotAllowedToTry | Refuser::NoDryRun(_)) { Level::Warn } else { Level::Fail };
        let what = match &refuser {
            Refuser::NotAllowedToTry | Refuser::NoDryRun(_) => "cannot be tried",
            _ => "an injected pod is refused here",
        };
        findings.add(level, subject, format!("{what} ({}): {}", answer.status, message.trim()), Some(probe::remedy(&refuser, &namespace)));
    }
    sidecar
}

fn join(warnings: &[&String]) -> String {
    warnings.iter().map(|w| w.as_str()).collect::<Vec<_>>().join("; ")
}

/// Room for more sidecars in each opted-in namespace's quotas.
pub(super) async fn check_quotas(client: &kube::Client, namespaces: &[String], sidecar: Option<&Container>, findings: &mut Findings) {
    let quotas = match Api::<ResourceQuota>::all(client.clone()).list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            findings.add(Level::Warn, "quotas", format!("cannot list ResourceQuotas: {}", api_error(&e)), None);
            return;
        }
    };
    for namespace in namespaces {
        let here: Vec<ResourceQuota> = quotas.iter().filter(|q| q.metadata.namespace.as_deref() == Some(namespace)).cloned().collect();
        if here.is_empty() {
            continue;
        }
        let Some(sidecar) = sidecar else {
            findings.add(Level::Warn, format!("quotas in {namespace}"), "not sized: no probe pod got a sidecar to measure", None);
            continue;
        };
        for room in quota::headroom(&here, sidecar) {
            let (resource, used, hard, ask) = &room.tightest;
            let subject = format!("quota {namespace}/{}", room.quota);
            let detail = format!("room for {} more injected pod(s)' sidecars ({resource}: {used} of {hard} used; each sidecar asks {ask})", room.sidecars);
            if room.sidecars == 0 {
                findings.add(Level::Warn, subject, format!("{detail}: the next injected pod is refused"), Some(probe::remedy(&Refuser::ResourceQuota(room.quota.clone()), namespace)));
            } else {
                findings.add(Level::Ok, subject, detail, None);
            }
        }
    }
}

/// The API server's own account of its calls to each of Remora's webhooks.
pub(super) async fn check_webhook_calls(client: &kube::Client, hooks: &[(String, i32)], findings: &mut Findings) {
    if hooks.is_empty() {
        return;
    }
    let Ok(request) = http::Request::get("/metrics").body(Vec::new()) else { return };
    let text = match client.request_text(request).await {
        Ok(text) => text,
        Err(e) => {
            findings.add(
                Level::Warn,
                "webhook calls",
                format!("cannot read the API server's /metrics: {}", api_error(&e)),
                Some("run remora check as someone who may get the non-resource URL /metrics (cluster-admin may)".into()),
            );
            return;
        }
    };
    for (hook, timeout) in hooks {
        let subject = format!("calls to webhook {hook}");
        // Calls over half the timeout are close to failing.
        let Some(calls) = webhook_calls::calls(&text, hook, f64::from(*timeout) / 2.0) else {
            findings.add(Level::Ok, subject, "this API server has not called it since it started", None);
            continue;
        };
        let fix = Some("the control plane must reach the injector's pods on their port (README: Reaching the webhook; on GKE private clusters a firewall rule for port 10250); kubectl -n remora top pods shows whether the injector is short of CPU".to_string());
        // A call that fails counts as a calling_webhook_error whatever the policy; the
        // fail-opens are those of them the pod was admitted after.
        let failed = calls.call_errors.max(calls.failed_open);
        if failed > 0.0 {
            let refused = failed - calls.failed_open;
            let refused = if refused > 0.0 { format!(", {refused} refused (failurePolicy Fail)") } else { String::new() };
            findings.add(
                Level::Fail,
                subject,
                format!(
                    "{failed} of {} call(s) failed (timed out or could not connect): {} pod(s) admitted without the sidecar (failurePolicy Ignore){refused}",
                    calls.total, calls.failed_open
                ),
                fix,
            );
        } else if calls.slow > 0.0 {
            findings.add(Level::Warn, subject, format!("{} of {} call(s) took over {} s (the timeout is {timeout} s)", calls.slow, calls.total, calls.slow_seconds), fix);
        } else {
            findings.add(Level::Ok, subject, format!("{} call(s), none failed or slow (timeout {timeout} s)", calls.total), None);
        }
    }
}
