//! `remora check`: is Remora installed so that it works? The webhook configuration is
//! there and calls a Service with ready endpoints; the serving certificate is valid, not
//! near its end, and signed by the CA in the webhook's caBundle; opted-in namespaces do
//! not enforce a Pod Security level that forbids NET_RAW; every pod of an opted-in
//! namespace that should have the sidecar has it (coverage), with the command that
//! recreates those that do not, and no sidecar image fails to pull. Then what the webhook
//! cannot see (admission.rs): a dry-run probe pod in each opted-in namespace, quota
//! headroom, and the API server's account of its calls to the webhook. And the install's
//! own workloads (workloads.rs): the Kubernetes version, the hub and its certificate,
//! sidecars that crash-loop, are not ready or are older than the install.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use crate::coverage::{opted_in, uncovered, SIDECAR};

mod admission;
mod workloads;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// What was checked: `webhook remora`, `certificate remora/remora-injector-tls`, ...
    pub subject: String,
    pub detail: String,
    /// What to do about it.
    pub fix: Option<String>,
}

/// Where Remora is installed (the chart's names by default).
#[derive(Debug, Clone)]
pub struct Install {
    pub namespace: String,
    pub webhook: String,
    pub secret: String,
    /// A certificate ending within this many days is a warning.
    pub expiry_warning_days: i64,
    /// UNIX seconds of "now" (a test sets it).
    pub now: i64,
    /// The probe pod's application image (never pulled: the probe is a dry run).
    pub probe_image: String,
    /// The hub's Deployment, its TLS Secret (absent: no TLS), and the injector's
    /// settings ConfigMap (the sidecar image this install injects).
    pub hub: String,
    pub hub_tls_secret: String,
    pub injector_config: String,
}

impl Install {
    pub fn chart_defaults(now: i64) -> Install {
        Install {
            namespace: "remora".into(),
            webhook: "remora".into(),
            secret: "remora-injector-tls".into(),
            expiry_warning_days: 30,
            now,
            probe_image: crate::probe::DEFAULT_IMAGE.into(),
            hub: "remora-hub".into(),
            hub_tls_secret: "remora-hub-tls".into(),
            injector_config: "remora-injector".into(),
        }
    }
}

pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, level: Level, subject: impl Into<String>, detail: impl Into<String>, fix: Option<String>) {
        self.0.push(Finding { level, subject: subject.into(), detail: detail.into(), fix });
    }
}

fn api_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        e => e.to_string(),
    }
}

/// DER of every certificate in a PEM bundle.
fn certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem).filter_map(Result::ok).filter(|p| p.label == "CERTIFICATE").map(|p| p.contents).collect()
}

fn authority_key_id(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
        _ => None,
    })
}

fn subject_key_id(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
        _ => None,
    })
}

/// Runs every check; the findings in the order checked.
pub async fn check(client: kube::Client, install: &Install) -> Vec<Finding> {
    let mut findings = Findings(Vec::new());
    workloads::check_kubernetes(&client, &mut findings).await;
    let webhooks = check_webhook(&client, install, &mut findings).await;
    check_certificate(&client, install, webhooks.ca_bundle.as_deref(), &mut findings).await;
    workloads::check_hub(&client, install, &mut findings).await;
    let installed = workloads::installed_sidecar_image(&client, install, &mut findings).await;
    let opted = check_namespaces_and_coverage(&client, installed.as_deref(), &mut findings).await;
    if !opted.is_empty() {
        let sidecar = admission::check_probes(&client, install, &opted, &mut findings).await;
        admission::check_quotas(&client, &opted, sidecar.as_ref(), &mut findings).await;
    }
    admission::check_webhook_calls(&client, &webhooks.hooks, &mut findings).await;
    check_sidecar_mode(&client, &mut findings).await;
    findings.0
}

/// Which sidecars `sidecar.mode: auto` injects here: native only when the API server and
/// every node's kubelet run them (remora_model::native_sidecars), as the injector decides.
async fn check_sidecar_mode(client: &kube::Client, findings: &mut Findings) {
    use remora_model::native_sidecars::support;
    let subject = "sidecar mode auto".to_string();
    let api = match client.apiserver_version().await {
        Ok(info) => Some(info.git_version),
        Err(e) => {
            findings.add(Level::Warn, subject.clone(), format!("cannot read the API server's version: {}", api_error(&e)), None);
            None
        }
    };
    let nodes = match Api::<k8s_openapi::api::core::v1::Node>::all(client.clone()).list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            findings.add(Level::Warn, subject, format!("cannot list the nodes: {}", api_error(&e)), Some("run remora check with a kubeconfig that may list nodes".into()));
            return;
        }
    };
    let kubelets: Vec<(String, String)> = nodes
        .iter()
        .map(|n| (n.metadata.name.clone().unwrap_or_default(), n.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.clone()).unwrap_or_default()))
        .collect();
    let decided = support(api.as_deref(), &kubelets);
    if decided.native {
        findings.add(Level::Ok, subject, format!("native sidecars: {}", decided.reason), None);
    } else {
        findings.add(
            Level::Warn,
            subject,
            format!("classic sidecars: {}", decided.reason),
            Some("upgrade those kubelets to 1.29 or later; until then each sidecar is a regular container (a Job's pod then ends only when it does)".into()),
        );
    }
}

/// What the webhook configuration says: its caBundle, and each webhook's name and timeout.
#[derive(Default)]
struct Webhooks {
    ca_bundle: Option<Vec<u8>>,
    hooks: Vec<(String, i32)>,
}

/// The webhook configuration and the Service it calls.
async fn check_webhook(client: &kube::Client, install: &Install, findings: &mut Findings) -> Webhooks {
    let subject = format!("webhook {}", install.webhook);
    let configuration = match Api::<MutatingWebhookConfiguration>::all(client.clone()).get_opt(&install.webhook).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            findings.add(Level::Fail, subject, "the MutatingWebhookConfiguration does not exist: no pod gets a sidecar", Some("helm install remora charts/remora -n remora --create-namespace".into()));
            return Webhooks::default();
        }
        Err(e) => {
            findings.add(Level::Fail, subject, format!("cannot read it: {}", api_error(&e)), None);
            return Webhooks::default();
        }
    };
    let mut bundle = None;
    let mut hooks = Vec::new();
    for hook in configuration.webhooks.iter().flatten() {
        hooks.push((hook.name.clone(), hook.timeout_seconds.unwrap_or(10)));
        let subject = format!("webhook {}/{}", install.webhook, hook.name);
        let policy = hook.failure_policy.clone().unwrap_or_else(|| "Fail".into());
        let Some(service) = &hook.client_config.service else {
            findings.add(Level::Warn, subject, "calls a URL, not a Service: not checked", None);
            continue;
        };
        bundle = hook.client_config.ca_bundle.as_ref().map(|b| b.0.clone());
        let services: Api<Service> = Api::namespaced(client.clone(), &service.namespace);
        match services.get_opt(&service.name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                findings.add(Level::Fail, subject, format!("calls the Service {}/{}, which does not exist", service.namespace, service.name), None);
                continue;
            }
            Err(e) => {
                findings.add(Level::Fail, subject, format!("cannot read the Service {}/{}: {}", service.namespace, service.name, api_error(&e)), None);
                continue;
            }
        }
        let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &service.namespace);
        let params = ListParams::default().labels(&format!("kubernetes.io/service-name={}", service.name));
        let ready = match slices.list(&params).await {
            Ok(list) => list.items.iter().flat_map(|s| s.endpoints.iter()).filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false)).count(),
            Err(e) => {
                findings.add(Level::Fail, subject, format!("cannot read the endpoints of {}/{}: {}", service.namespace, service.name, api_error(&e)), None);
                continue;
            }
        };
        if ready == 0 {
            let consequence = if policy == "Ignore" { "pods are created without a sidecar (failurePolicy Ignore)" } else { "pod creation fails in opted-in namespaces (failurePolicy Fail)" };
            findings.add(
                Level::Fail,
                subject,
                format!("the Service {}/{} has no ready endpoint: {consequence}", service.namespace, service.name),
                Some(format!("kubectl -n {} get pods -l app.kubernetes.io/component=injector; kubectl -n {} describe pods -l app.kubernetes.io/component=injector", service.namespace, service.namespace)),
            );
        } else {
            findings.add(Level::Ok, subject, format!("calls {}/{} with {ready} ready endpoint(s), failurePolicy {policy}", service.namespace, service.name), None);
        }
    }
    Webhooks { ca_bundle: bundle, hooks }
}

async fn check_certificate(client: &kube::Client, install: &Install, ca_bundle: Option<&[u8]>, findings: &mut Findings) {
    let subject = format!("certificate {}/{}", install.namespace, install.secret);
    let secret = match Api::<Secret>::namespaced(client.clone(), &install.namespace).get_opt(&install.secret).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            findings.add(Level::Fail, subject, "the Secret does not exist: the injector serves no certificate", Some("check cert-manager's Certificate (kubectl -n remora describe certificate), or run `remora certs install`".into()));
            return;
        }
        Err(e) => {
            findings.add(Level::Fail, subject, format!("cannot read it: {}", api_error(&e)), None);
            return;
        }
    };
    let data: BTreeMap<String, Vec<u8>> = secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    let Some(leaf) = data.get("tls.crt").map(|pem| certificates(pem)).and_then(|c| c.into_iter().next()) else {
        findings.add(Level::Fail, subject, "tls.crt holds no certificate", None);
        return;
    };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&leaf) else {
        findings.add(Level::Fail, subject, "tls.crt does not parse as X.509", None);
        return;
    };
    let renew = format!("kubectl -n {} delete secret {} (cert-manager or `remora certs install` issues a new one)", install.namespace, install.secret);
    expiry(findings, install, subject.clone(), parsed.validity().not_after.timestamp(), "the API server refuses the webhook's TLS", renew);
    // The caBundle must hold the CA that signed the serving certificate.
    let bundle = match ca_bundle {
        Some(bundle) if !bundle.is_empty() => certificates(bundle),
        _ => {
            findings.add(Level::Fail, format!("caBundle of webhook {}", install.webhook), "empty: the API server cannot trust the injector", Some("cert-manager's cainjector sets it (the chart's annotation), or `remora certs install`".into()));
            return;
        }
    };
    let issuer = parsed.issuer().to_string();
    let authority_key = authority_key_id(&parsed);
    // The CA that signed it: its subject is the issuer, and its key id the one the
    // certificate names (when both say).
    let signs = bundle.iter().any(|der| {
        x509_parser::parse_x509_certificate(der).is_ok_and(|(_, ca)| {
            let subject_key = subject_key_id(&ca);
            ca.subject().to_string() == issuer && (authority_key.is_none() || subject_key.is_none() || authority_key == subject_key)
        })
    });
    if signs {
        findings.add(Level::Ok, format!("caBundle of webhook {}", install.webhook), format!("holds the CA that signed the serving certificate ({issuer})"), None);
    } else {
        findings.add(
            Level::Fail,
            format!("caBundle of webhook {}", install.webhook),
            format!("no CA in it signed the serving certificate (issued by {issuer}): the API server refuses the webhook's TLS"),
            Some("restart cert-manager's cainjector, or run `remora certs install` again".into()),
        );
    }
}

/// A certificate ending at `not_after` (UNIX seconds): failed once it has ended (`then`
/// says what breaks), a warning within `--warn-days` of its end, with `renew` as the fix.
fn expiry(findings: &mut Findings, install: &Install, subject: String, not_after: i64, then: &str, renew: String) {
    let days = (not_after - install.now).div_euclid(86_400);
    if not_after <= install.now {
        findings.add(Level::Fail, subject, format!("expired {} day(s) ago: {then}", -days), Some(renew));
    } else if days < install.expiry_warning_days {
        findings.add(Level::Warn, subject, format!("ends in {days} day(s); is renewal running?"), Some(renew));
    } else {
        findings.add(Level::Ok, subject, format!("valid for {days} more day(s)"), None);
    }
}

/// The opted-in namespaces, their Pod Security labels, coverage and sidecar images;
/// returns the opted-in namespaces' names.
async fn check_namespaces_and_coverage(client: &kube::Client, installed: Option<&str>, findings: &mut Findings) -> Vec<String> {
    let namespaces = match Api::<Namespace>::all(client.clone()).list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            findings.add(Level::Fail, "namespaces", format!("cannot list them: {}", api_error(&e)), None);
            return Vec::new();
        }
    };
    let opted: Vec<&Namespace> = namespaces.iter().filter(|n| opted_in(n)).collect();
    if opted.is_empty() {
        findings.add(Level::Warn, "namespaces", "no namespace is opted in: no pod gets a sidecar", Some("kubectl label namespace NAME remora.dev/inject=enabled".into()));
        return Vec::new();
    }
    let names: Vec<String> = opted.iter().map(|n| n.name_any()).collect();
    for namespace in &opted {
        let name = namespace.name_any();
        let enforce = namespace.labels().get("pod-security.kubernetes.io/enforce").map(String::as_str);
        match enforce {
            Some(level @ ("baseline" | "restricted")) => findings.add(
                Level::Warn,
                format!("namespace {name}"),
                format!("opted in, but enforces Pod Security {level:?}, which forbids NET_RAW: its pods are admitted without a sidecar"),
                Some(format!("kubectl label namespace {name} pod-security.kubernetes.io/enforce=privileged --overwrite (or take it out of Remora)")),
            ),
            _ => findings.add(Level::Ok, format!("namespace {name}"), "opted in", None),
        }
    }
    let pods = match Api::<Pod>::all(client.clone()).list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            findings.add(Level::Fail, "coverage", format!("cannot list pods: {}", api_error(&e)), None);
            return names;
        }
    };
    let missing = uncovered(&namespaces, &pods);
    let in_scope = pods.iter().filter(|p| opted.iter().any(|n| Some(n.name_any()) == p.namespace()) && crate::coverage::wants_sidecar(p)).count();
    for pod in &missing {
        findings.add(Level::Warn, format!("pod {}/{}", pod.namespace, pod.pod), format!("runs without the sidecar ({})", pod.owner), Some(pod.command.clone()));
    }
    let level = if missing.is_empty() { Level::Ok } else { Level::Warn };
    findings.add(level, "coverage", format!("{} of {in_scope} pod(s) in opted-in namespaces have the sidecar", in_scope - missing.len()), None);
    check_sidecar_images(&pods, findings);
    workloads::check_sidecars(&pods, installed, findings);
    names
}

/// A sidecar image the nodes cannot pull holds its pods back: a native sidecar is an init
/// container, so the application never starts.
fn check_sidecar_images(pods: &[Pod], findings: &mut Findings) {
    let mut held: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        let statuses = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
        for container in statuses.filter(|c| c.name == SIDECAR) {
            let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) else { continue };
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if !matches!(reason, "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull") {
                continue;
            }
            let entry = held.entry(container.image.clone()).or_insert_with(|| (Vec::new(), String::new()));
            entry.0.push(format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any()));
            if entry.1.is_empty() {
                entry.1 = format!("{reason}: {}", waiting.message.as_deref().unwrap_or("no message"));
            }
        }
    }
    for (image, (held_pods, why)) in held {
        findings.add(
            Level::Fail,
            format!("sidecar image {image}"),
            format!("cannot be pulled ({why}); it holds back {} pod(s): {}", held_pods.len(), held_pods.join(", ")),
            Some("give the nodes the image: sidecar.imagePullSecrets for a private registry, or global.imageRegistry for a mirror they reach (helm upgrade remora charts/remora -n remora --reuse-values --set ...); kubectl describe pod shows the pull error".into()),
        );
    }
}
