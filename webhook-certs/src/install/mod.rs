//! `remora certs install`: the Helm hook of installs without cert-manager. It runs before
//! each install/upgrade (the Secret the injector mounts must exist before its pod starts)
//! and after it (the webhook configuration, created by the release, gets its caBundle),
//! so every run does both steps and changes only what is not right already.

mod error;
pub mod renew;
mod secret;
mod webhook;

use std::fmt;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use time::OffsetDateTime;

pub use error::{InstallError, Op, Target};

use crate::{check_label, dns_names, issue, Bundle, CaFiles, CertError, Request};
use secret::{Plan, Wanted};

/// The name the API server records as the writer of the fields this sets.
pub const FIELD_MANAGER: &str = "remora-certs";

#[derive(Debug, Clone)]
pub struct Options {
    /// The webhook's Service (and its namespace, where the Secret lives) and lifetimes.
    pub request: Request,
    /// The Secret the injector mounts.
    pub secret: String,
    /// The MutatingWebhookConfiguration whose caBundle must trust the CA.
    pub webhook: String,
    /// A serving certificate with fewer days left than this is renewed.
    pub renew_before_days: u32,
}

/// What a run did, one line each for the Secret and the webhook configuration.
#[derive(Debug)]
pub struct Report {
    pub secret: String,
    pub secret_action: SecretAction,
    pub webhook: String,
    pub webhook_action: WebhookAction,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SecretAction {
    Kept {
        not_after: OffsetDateTime,
        renew_before_days: u32,
    },
    Created {
        dns_names: Vec<String>,
        not_after: OffsetDateTime,
        ca: CaOrigin,
    },
    Replaced {
        why: String,
        dns_names: Vec<String>,
        not_after: OffsetDateTime,
        ca: CaOrigin,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum CaOrigin {
    /// The CA already in the Secret signed the new certificate.
    Reused,
    New {
        why: String,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum WebhookAction {
    /// Not created yet: the pre-install run comes before the release's objects.
    Absent,
    Current {
        webhooks: usize,
    },
    Patched {
        patched: usize,
        webhooks: usize,
    },
}

/// A client from the pod's ServiceAccount, or from KUBECONFIG outside a cluster.
pub async fn client() -> Result<Client, InstallError> {
    // kube's TLS needs a process-wide crypto provider; a second install is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Client::try_default()
        .await
        .map_err(|e| InstallError::no_client(&e))
}

/// `remora certs uninstall`, the chart's post-delete hook: deletes the Secret `install`
/// made. Helm does not own it (a hook made it), so `helm uninstall` would leave it
/// behind, with the CA's private key in it. Returns whether it was there.
pub async fn uninstall(client: Client, namespace: &str, secret: &str) -> Result<bool, InstallError> {
    let target = Target { namespace: Some(namespace), name: secret };
    match Api::<Secret>::namespaced(client, namespace).delete(secret, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(InstallError::api(Op::DeleteSecret, target, e)),
    }
}

/// Makes the Secret hold a valid serving certificate and the webhook trust its CA.
pub async fn install(client: Client, options: &Options) -> Result<Report, InstallError> {
    let req = &options.request;
    if options.renew_before_days >= req.cert_days {
        return Err(InstallError::RenewWindow {
            renew_before: options.renew_before_days,
            days: req.cert_days,
        });
    }
    check_label("service", &req.service)?;
    check_label("namespace", &req.namespace)?;

    let secrets = Api::<Secret>::namespaced(client.clone(), &req.namespace);
    let (secret_action, ca_cert) = ensure_secret(&secrets, options).await?;
    let webhooks = Api::<MutatingWebhookConfiguration>::all(client);
    let webhook_action = trust_ca(&webhooks, &options.webhook, &ca_cert).await?;
    Ok(Report {
        secret: format!("{}/{}", req.namespace, options.secret),
        secret_action,
        webhook: options.webhook.clone(),
        webhook_action,
    })
}

/// Keeps, creates or renews the Secret; returns what it did and the CA it now holds.
async fn ensure_secret(
    api: &Api<Secret>,
    options: &Options,
) -> Result<(SecretAction, String), InstallError> {
    let req = &options.request;
    let target = Target {
        namespace: Some(&req.namespace),
        name: &options.secret,
    };
    let names = dns_names(&req.service, &req.namespace);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let mut retried = false;
    loop {
        let existing = api
            .get_opt(&options.secret)
            .await
            .map_err(|e| InstallError::api(Op::GetSecret, target, e))?;
        let wanted = Wanted {
            dns_names: &names,
            renew_before_days: options.renew_before_days,
            now: OffsetDateTime::now_utc(),
        };
        let (why, ca) = match secret::plan(existing.as_ref(), &format!("Secret {target}"), &wanted)
        {
            Plan::Keep { not_after, ca_cert } => {
                let kept = SecretAction::Kept {
                    not_after,
                    renew_before_days: options.renew_before_days,
                };
                return Ok((kept, ca_cert));
            }
            Plan::Issue { why, ca } => (why, ca),
        };
        let (bundle, ca) = issue_with(req, ca)?;
        let (op, written) = match &existing {
            None => (
                Op::CreateSecret,
                api.create(
                    &params,
                    &secret::created(&options.secret, &req.namespace, &bundle),
                )
                .await,
            ),
            Some(found) => {
                if found.type_.as_deref() != Some(crate::TLS_SECRET_TYPE) {
                    return Err(InstallError::WrongType {
                        target: target.to_string(),
                        found: found.type_.clone().unwrap_or_else(|| "(none)".into()),
                        namespace: req.namespace.clone(),
                        name: options.secret.clone(),
                    });
                }
                (
                    Op::ReplaceSecret,
                    api.replace(&options.secret, &params, &secret::renewed(found, &bundle))
                        .await,
                )
            }
        };
        match written {
            Ok(_) => {
                let action = match existing {
                    None => SecretAction::Created {
                        dns_names: bundle.dns_names,
                        not_after: bundle.not_after,
                        ca,
                    },
                    Some(_) => SecretAction::Replaced {
                        why,
                        dns_names: bundle.dns_names,
                        not_after: bundle.not_after,
                        ca,
                    },
                };
                return Ok((action, bundle.ca_cert));
            }
            // Another writer got there first (two hook runs, or someone by hand): what
            // it wrote may well be fine, so read again rather than overwrite it.
            Err(e) if InstallError::is_conflict(&e) && !retried => retried = true,
            Err(e) if InstallError::is_conflict(&e) => {
                return Err(InstallError::Conflict {
                    target: target.to_string(),
                })
            }
            Err(e) => return Err(InstallError::api(op, target, e)),
        }
    }
}

/// Signs with the Secret's CA when there is one that outlives the new certificate, so the
/// caBundle stays valid; else makes a new CA (and the caBundle is patched after).
fn issue_with(
    req: &Request,
    ca: Result<CaFiles, String>,
) -> Result<(Bundle, CaOrigin), InstallError> {
    let why = match ca {
        Ok(ca) => match issue(req, Some(&ca)) {
            Ok(bundle) => return Ok((bundle, CaOrigin::Reused)),
            Err(CertError::CaTooOld { expires, .. }) => {
                format!("the CA expires {expires}, before a new certificate would")
            }
            Err(e) => return Err(e.into()),
        },
        Err(why) => why,
    };
    Ok((issue(req, None)?, CaOrigin::New { why }))
}

/// Sets the caBundle on every webhook of the configuration that does not have it yet.
async fn trust_ca(
    api: &Api<MutatingWebhookConfiguration>,
    name: &str,
    ca_cert: &str,
) -> Result<WebhookAction, InstallError> {
    let target = Target {
        namespace: None,
        name,
    };
    let Some(config) = api
        .get_opt(name)
        .await
        .map_err(|e| InstallError::api(Op::GetWebhook, target, e))?
    else {
        return Ok(WebhookAction::Absent);
    };
    let plan = webhook::ca_bundle_patch(&config, ca_cert);
    if plan.stale == 0 {
        return Ok(WebhookAction::Current {
            webhooks: plan.webhooks,
        });
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Json::<()>(plan.patch))
        .await
        .map_err(|e| InstallError::api(Op::PatchWebhook, target, e))?;
    Ok(WebhookAction::Patched {
        patched: plan.stale,
        webhooks: plan.webhooks,
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = &self.secret;
        match &self.secret_action {
            SecretAction::Kept {
                not_after,
                renew_before_days,
            } => writeln!(
                f,
                "kept Secret {secret}: tls.crt valid until {}, more than {renew_before_days} days away",
                not_after.date()
            )?,
            SecretAction::Created {
                dns_names,
                not_after,
                ca,
            } => writeln!(
                f,
                "created Secret {secret}: tls.crt for {} valid until {}; {ca}",
                dns_names.join(", "),
                not_after.date()
            )?,
            SecretAction::Replaced {
                why,
                dns_names,
                not_after,
                ca,
            } => writeln!(
                f,
                "replaced Secret {secret} ({why}): tls.crt for {} valid until {}; {ca}",
                dns_names.join(", "),
                not_after.date()
            )?,
        }
        let webhook = &self.webhook;
        match self.webhook_action {
            WebhookAction::Absent => write!(
                f,
                "MutatingWebhookConfiguration {webhook} does not exist yet; the post-install run sets its caBundle"
            ),
            WebhookAction::Current { webhooks } => write!(
                f,
                "MutatingWebhookConfiguration {webhook}: caBundle already current on {webhooks} webhook(s); nothing changed"
            ),
            WebhookAction::Patched { patched, webhooks } => write!(
                f,
                "MutatingWebhookConfiguration {webhook}: set caBundle on {patched} of {webhooks} webhook(s)"
            ),
        }
    }
}

impl fmt::Display for CaOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaOrigin::Reused => f.write_str("kept the CA (the caBundle stays valid)"),
            CaOrigin::New { why } => write!(f, "new CA ({why})"),
        }
    }
}
