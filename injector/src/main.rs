//! `remora-injector`: argument parsing and wiring; the work is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use remora_injector::namespaces::{self, NamespaceSource};
use remora_injector::server::{self, Config};
use remora_injector::{Injector, Settings};

/// Remora's mutating admission webhook: adds the capture sidecar to the pods of
/// namespaces labelled remora.dev/inject=enabled.
// Every review builds and drops a few thousand small JSON values; glibc's allocator
// was a third of the time (bench: cargo bench -p remora-injector --bench review).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Directory with tls.crt and tls.key (a cert-manager Secret mount); reloaded when
    /// they change.
    #[arg(long, env = "REMORA_CERT_DIR", default_value = "/etc/remora/certs")]
    cert_dir: PathBuf,
    /// Address of the HTTPS webhook (POST /mutate).
    #[arg(long, env = "REMORA_LISTEN", default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Address of /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, env = "REMORA_ADMIN_LISTEN", default_value = "0.0.0.0:8080")]
    admin_listen: SocketAddr,
    /// Settings file (YAML): sidecar image and the defaults of every remora.dev/*
    /// annotation. Without it, built-in defaults.
    #[arg(long, env = "REMORA_INJECTOR_CONFIG")]
    config: Option<PathBuf>,
    /// Where namespace labels and annotations come from: `kube` (the API server, the
    /// in-cluster default), `none`, or a YAML file of Namespace objects.
    #[arg(long, env = "REMORA_NAMESPACES", default_value = "kube")]
    namespaces: String,
    /// Seconds `/prestop` (the pod's preStop hook) keeps answering reviews while not ready,
    /// before SIGTERM closes the listener: time for the API servers to stop sending
    /// reviews here during a rollout.
    #[arg(long, env = "REMORA_DRAIN_SECONDS", default_value_t = 10)]
    drain_seconds: u64,
    /// Without cert-manager: the Secret --cert-dir mounts, which the injector keeps
    /// renewed itself (a third of the certificate's life before its end, the CA kept),
    /// along with the caBundle of --renew-webhook; the hook Jobs alone renew only at
    /// `helm upgrade`. Needs the API (--namespaces=kube).
    #[arg(long, env = "REMORA_RENEW_SECRET")]
    renew_secret: Option<String>,
    /// The MutatingWebhookConfiguration whose caBundle must trust the Secret's CA.
    #[arg(long, default_value = "remora")]
    renew_webhook: String,
    /// The webhook's Service (the certificate's names), in --renew-namespace.
    #[arg(long, default_value = "remora-injector")]
    renew_service: String,
    /// The namespace of the Secret and the Service: the injector's own.
    #[arg(long, env = "REMORA_POD_NAMESPACE", default_value = "remora")]
    renew_namespace: String,
    /// Days a renewed serving certificate lasts.
    #[arg(long, default_value_t = 365)]
    cert_days: u32,
    /// Log filter (tracing syntax: info, debug, remora_injector=debug, ...).
    #[arg(long, env = "REMORA_LOG", default_value = "info")]
    log: String,
    /// Print the settings this binary reads (flags, environment variables, default
    /// paths) as JSON, and exit.
    #[arg(long)]
    print_settings: bool,
}

/// How often the injector looks at its certificate (with --renew-secret).
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Environment variables read by something other than a flag: the allocator's (the
/// images set it), and the in-cluster API address the kubelet gives every pod.
const READ_OUTSIDE_FLAGS: [&str; 3] = ["MIMALLOC_ARENA_EAGER_COMMIT", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"];

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.print_settings {
        println!("{}", remora_service::settings::describe(&Args::command(), &READ_OUTSIDE_FLAGS));
        return std::process::ExitCode::SUCCESS;
    }
    remora_service::init_logging(&args.log);
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    // One TLS provider for the process: the webhook's server and kube's client.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let settings = match &args.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let injector = Injector::new(settings).map_err(|e| anyhow::anyhow!(e))?;
    let namespaces = namespace_source(&args.namespaces).await?;
    // `auto` follows the nodes when there is an API to ask (the same as for namespaces).
    let nodes = match args.namespaces.as_str() {
        "kube" => kube::Client::try_default().await.ok(),
        _ => None,
    };
    if nodes.is_none() {
        tracing::info!("no Kubernetes API to follow the nodes: sidecar mode auto injects classic sidecars");
    }
    if let Some(secret) = &args.renew_secret {
        let Some(client) = nodes.clone() else { anyhow::bail!("--renew-secret needs the Kubernetes API (--namespaces=kube in a cluster)") };
        let options = remora_certs::install::Options {
            request: remora_certs::Request { service: args.renew_service.clone(), namespace: args.renew_namespace.clone(), cert_days: args.cert_days, ca_days: 3650 },
            secret: secret.clone(),
            webhook: args.renew_webhook.clone(),
            renew_before_days: remora_certs::install::renew::renew_before_days(args.cert_days),
        };
        tracing::info!(secret = %format!("{}/{secret}", args.renew_namespace), every_hours = RENEW_EVERY.as_secs() / 3600, "keeping the serving certificate renewed (a third of its life before the end)");
        tokio::spawn(remora_certs::install::renew::keep_renewed(client, options, RENEW_EVERY, |result| match result {
            Ok(report) if matches!(report.secret_action, remora_certs::install::SecretAction::Kept { .. }) => tracing::debug!("{report}"),
            Ok(report) => tracing::info!("{report}"),
            Err(e) => tracing::warn!("the serving certificate could not be renewed ({e}); trying again in {} h", RENEW_EVERY.as_secs() / 3600),
        }));
    }
    let config = Config {
        cert_dir: args.cert_dir,
        listen: args.listen,
        admin_listen: args.admin_listen,
        injector,
        namespaces,
        nodes,
        drain: std::time::Duration::from_secs(args.drain_seconds),
    };
    server::run(config, remora_service::shutdown_signal()).await
}

async fn namespace_source(spec: &str) -> anyhow::Result<Arc<dyn NamespaceSource>> {
    Ok(match spec {
        "none" => Arc::new(namespaces::Unknown),
        "kube" => match kube::Client::try_default().await {
            Ok(client) => Arc::new(namespaces::FromApi::new(client)),
            Err(e) => {
                tracing::warn!(
                    "no Kubernetes API configuration ({e}); namespace defaults and the Pod Security check are off"
                );
                Arc::new(namespaces::Unknown)
            }
        },
        path => Arc::new(namespaces::FromFile::load(std::path::Path::new(path))?),
    })
}
