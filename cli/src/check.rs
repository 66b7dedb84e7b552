//! `remora check`: whether Remora's install works (the webhook, its Service and
//! certificate, opted-in namespaces, coverage, a dry-run probe pod per opted-in namespace,
//! quota headroom, the API server's calls to the webhook), against the kubeconfig's cluster.

use std::process::ExitCode;

use remora_cluster::check::{check, Install, Level};

use crate::hub_api::block_on;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Remora's namespace.
    #[arg(long, default_value = "remora")]
    namespace: String,
    /// The MutatingWebhookConfiguration.
    #[arg(long, default_value = "remora")]
    webhook: String,
    /// The Secret with the injector's serving certificate.
    #[arg(long, default_value = "remora-injector-tls")]
    secret: String,
    /// A certificate ending within this many days is a warning.
    #[arg(long, default_value_t = 30)]
    warn_days: i64,
    /// The hub's Deployment.
    #[arg(long, default_value = "remora-hub")]
    hub: String,
    /// The hub's TLS Secret (none: the hub serves without TLS).
    #[arg(long, default_value = "remora-hub-tls")]
    hub_secret: String,
    /// The injector's settings ConfigMap: the sidecar image this install injects.
    #[arg(long, default_value = "remora-injector")]
    injector_config: String,
    /// The application image of the probe pod dry-run created in each opted-in namespace
    /// (never pulled); one your image policies admit.
    #[arg(long, default_value = remora_cluster::probe::DEFAULT_IMAGE)]
    probe_image: String,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let findings = block_on(async {
        let client = remora_cluster::client().await.map_err(|e| anyhow::anyhow!("no cluster to check (KUBECONFIG or in-cluster config): {e}"))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
        let install = Install {
            namespace: args.namespace.clone(),
            webhook: args.webhook.clone(),
            secret: args.secret.clone(),
            expiry_warning_days: args.warn_days,
            now,
            probe_image: args.probe_image.clone(),
            hub: args.hub.clone(),
            hub_tls_secret: args.hub_secret.clone(),
            injector_config: args.injector_config.clone(),
        };
        anyhow::Ok(check(client, &install).await)
    })?;
    let mut counts = [0usize; 3];
    for finding in &findings {
        let label = match finding.level {
            Level::Ok => "ok  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        counts[finding.level as usize] += 1;
        println!("{label} {}: {}", finding.subject, finding.detail);
        if let Some(fix) = &finding.fix {
            println!("     fix: {fix}");
        }
    }
    eprintln!("{} ok, {} warning(s), {} failure(s)", counts[0], counts[1], counts[2]);
    Ok(if counts[2] == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
