//! `remora-hub`: argument parsing and wiring; the work is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use remora_hub::auth::Tokens;
use remora_hub::journal::Journal;
use remora_hub::server::{self, Hub};
use remora_cluster::scripts::ScriptsInCluster;
use remora_cluster::access_review::AccessReviewer;
use remora_cluster::token_review::TokenReviewer;
use remora_hub::{cluster, cluster_watch, script_store};
use remora_hub::store::ItemStore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Remora's hub: sidecar sessions, the item store, KFL queries.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address of the sidecar sessions (WebSocket /sidecars).
    #[arg(long, env = "REMORA_HUB_LISTEN", default_value = "0.0.0.0:8898")]
    listen: SocketAddr,
    /// Address of the API (/api/items, /healthz, /readyz, /metrics).
    #[arg(long, env = "REMORA_HUB_API_LISTEN", default_value = "0.0.0.0:8899")]
    api_listen: SocketAddr,
    /// Valid bearer tokens, one per line.
    #[arg(long, env = "REMORA_HUB_TOKEN_FILE", required_unless_present = "print_settings")]
    token_file: Option<PathBuf>,
    /// With --kube: the Secret (in --namespace) the token file is mounted from; the hub
    /// makes it, with one random token, if it does not exist, and uses its tokens until
    /// the mount shows them (the chart renders no random value).
    #[arg(long, env = "REMORA_HUB_TOKEN_SECRET")]
    token_secret: Option<String>,
    /// Items kept (the newest).
    #[arg(long, default_value_t = 100_000)]
    max_items: usize,
    /// Bytes of memory the kept items may take: their JSON text, as the store keeps
    /// them, and 72 bytes each for their slot, index entry and counts.
    #[arg(long, default_value_t = 512 << 20)]
    max_bytes: usize,
    /// Where the item journal is kept (the store survives a restart); empty: memory only.
    #[arg(long, env = "REMORA_HUB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Scripts the sidecars and the hub run (`*.js`; the scripts ConfigMap's mount),
    /// read again every 2 s and pushed to every sidecar on change. Empty: the sidecars
    /// run their own mounts and the hub runs no scripts.
    #[arg(long, env = "REMORA_HUB_SCRIPTS_DIR")]
    scripts_dir: Option<PathBuf>,
    /// `env` for the scripts: one file per variable (the env Secret's mount).
    #[arg(long, env = "REMORA_HUB_ENV_DIR")]
    env_dir: Option<PathBuf>,
    /// Serve both ports over TLS with `tls.crt` and `tls.key` from this directory (a
    /// Secret mount; reloaded when it changes). Sidecars then use `wss://`.
    #[arg(long, env = "REMORA_HUB_TLS_DIR")]
    tls_dir: Option<PathBuf>,
    /// Follow pods, services and endpoint slices through the API server (in-cluster
    /// config, or KUBECONFIG): names for the items' `src.name`/`dst.name`, and pod events
    /// for `onPodEvent`.
    #[arg(long, env = "REMORA_HUB_KUBE", conflicts_with = "objects_dir")]
    kube: bool,
    /// The same from a directory of object files (JSON or YAML, `kubectl get -o json`
    /// lists too), read every half second: tests and clusterless runs.
    #[arg(long, env = "REMORA_HUB_OBJECTS_DIR")]
    objects_dir: Option<PathBuf>,
    /// With --kube: the scripts ConfigMap to follow and write (instead of --scripts-dir);
    /// changes reach every sidecar within seconds.
    #[arg(long, env = "REMORA_HUB_SCRIPTS_CONFIGMAP", requires = "kube")]
    scripts_configmap: Option<String>,
    /// With --scripts-configmap: the Secret holding the scripts' `env`.
    #[arg(long, env = "REMORA_HUB_ENV_SECRET", default_value = "remora-env")]
    env_secret: String,
    /// The namespace of the ConfigMap and Secret: the hub's own.
    #[arg(long, env = "REMORA_POD_NAMESPACE", default_value = "remora")]
    namespace: String,
    /// With --kube: also admit sidecars presenting a projected service-account token for
    /// this audience (the injector's `remora-hub`), checked with a TokenReview; the
    /// session is then bound to the token's pod.
    #[arg(long, env = "REMORA_HUB_TOKEN_REVIEW_AUDIENCE", requires = "kube")]
    token_review_audience: Option<String>,
    /// With --kube: also accept people's own Kubernetes tokens on the API port (kubectl's,
    /// an OIDC ID token, `kubectl create token`): a TokenReview says who they are, and a
    /// SubjectAccessReview which role RBAC grants them (a verb on `hubs.remora.dev` in
    /// --namespace).
    #[arg(long, env = "REMORA_HUB_KUBERNETES_USERS", requires = "kube")]
    kubernetes_users: bool,
    /// The hub pod's address (downward API): the hub's scripts see it as their node's
    /// address, and their uploads go under `hub_<IP>_<run>/`.
    #[arg(long, env = "REMORA_POD_IP", default_value = "127.0.0.1")]
    pod_ip: String,
    /// Log filter (tracing syntax).
    #[arg(long, env = "REMORA_LOG", default_value = "info")]
    log: String,
    /// Print the settings this binary reads (flags, environment variables, default
    /// paths) as JSON, and exit.
    #[arg(long)]
    print_settings: bool,
}

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
    let result = async {
        let token_file = args.token_file.as_ref().ok_or_else(|| anyhow::anyhow!("--token-file is required"))?;
        let kube = if args.kube {
            Some(remora_cluster::client().await.map_err(|e| anyhow::anyhow!("--kube: no Kubernetes API to talk to: {e}"))?)
        } else {
            None
        };
        let seed = match (&args.token_secret, &kube) {
            (Some(name), Some(client)) => {
                let ensured = remora_cluster::hub_tokens::ensure(client.clone(), &args.namespace, name)
                    .await
                    .map_err(|e| anyhow::anyhow!("--token-secret {}/{name}: {e}", args.namespace))?;
                if ensured.created {
                    tracing::info!(secret = %format!("{}/{name}", args.namespace), "made the API tokens Secret, with one random admin token");
                }
                Some(ensured.tokens)
            }
            (Some(_), None) => anyhow::bail!("--token-secret needs --kube (the hub reads and makes the Secret through the API)"),
            (None, _) => None,
        };
        let tokens = Tokens::from_file_or(token_file, seed)?;
        let mut store = ItemStore::new(args.max_items, args.max_bytes);
        let journal = match &args.data_dir {
            None => None,
            Some(dir) => {
                let (journal, unreadable) = Journal::open(dir, &mut store).map_err(|e| anyhow::anyhow!("--data-dir {}: {e}", dir.display()))?;
                tracing::info!(items = store.len(), unreadable, dir = %dir.display(), "item journal loaded");
                Some(journal)
            }
        };
        let hub = Arc::new(Hub::new(store, journal, tokens));
        if let Some(dir) = &args.data_dir {
            // Exports are assembled on the data volume: the chart's root filesystem is
            // read-only and gives no /tmp. Leftovers of a crashed run go first.
            let exports = dir.join("exports");
            let _ = std::fs::remove_dir_all(&exports);
            let _ = hub.scratch_dir.set(exports);
        }
        let store = match (&args.scripts_configmap, &args.scripts_dir, &kube) {
            (Some(configmap), _, Some(client)) => {
                let source = ScriptsInCluster::new(client.clone(), &args.namespace, configmap, &args.env_secret);
                Some(Arc::new(script_store::ScriptStore::ConfigMap(Arc::new(script_store::ConfigMapStore::new(source)))))
            }
            (Some(_), _, None) => anyhow::bail!("--scripts-configmap needs --kube (the hub reads the ConfigMap through the API)"),
            (None, Some(scripts_dir), _) => {
                // No env mount: an empty env (a path that does not exist reads as empty).
                let env_dir = args.env_dir.clone().unwrap_or_default();
                Some(Arc::new(script_store::ScriptStore::Dir(Arc::new(script_store::DirStore::new(scripts_dir.clone(), env_dir)))))
            }
            (None, None, _) => None,
        };
        if let Some(store) = store {
            let scripts_data = match &args.data_dir {
                Some(dir) => dir.join("scripts"),
                None => std::env::temp_dir().join("remora-hub-scripts"),
            };
            cluster::start_hub_scripts(&hub, scripts_data, args.pod_ip.clone()).map_err(|e| anyhow::anyhow!("cannot start the hub's scripts: {e}"))?;
            let _ = hub.script_store.set(store.clone());
            tracing::info!(source = %store.describe(), "scripts");
            store.follow(&hub).map_err(|e| anyhow::anyhow!("cannot watch --scripts-dir: {e}"))?;
        }
        if let (Some(client), Some(audience)) = (&kube, &args.token_review_audience) {
            let _ = hub.token_reviewer.set(TokenReviewer::new(client.clone(), audience));
        }
        if let (Some(client), true) = (&kube, args.kubernetes_users) {
            let _ = hub.access_reviewer.set(AccessReviewer::new(client.clone(), &args.namespace, remora_hub::auth::ROLE_VERBS));
            tracing::info!(namespace = %args.namespace, "people's Kubernetes tokens accepted, their roles from RBAC (hubs.remora.dev)");
        }
        if let Some(client) = kube {
            cluster_watch::follow(&hub, cluster_watch::Watches::kube(client));
        } else if let Some(dir) = &args.objects_dir {
            cluster_watch::follow(&hub, cluster_watch::Watches::dir(dir.clone()));
        }
        let tls = match &args.tls_dir {
            Some(dir) => Some(tls_acceptor(dir)?),
            None => None,
        };
        server::serve(hub, args.listen, args.api_listen, tls, remora_service::shutdown_signal()).await
    };
    match result.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The TLS side of both ports: the certificate in `dir`, which must load now, and is
/// reloaded when the directory changes.
fn tls_acceptor(dir: &std::path::Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use remora_service::tls::{self, CertStore, Reload};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = Arc::new(CertStore::new(dir, provider));
    certs.reload().map_err(|e| anyhow::anyhow!("--tls-dir: {e}"))?;
    tracing::info!(dir = %dir.display(), "TLS certificate loaded");
    tls::spawn_watcher(certs.clone(), |result| match result {
        Ok(Reload::Unchanged) => {}
        Ok(Reload::Loaded) => tracing::info!("TLS certificate reloaded"),
        Err(e) => tracing::warn!("TLS certificate not reloaded (the one in force stays): {e}"),
    });
    let mut config = tls::server_config(certs)?;
    // WebSocket sessions upgrade HTTP/1.1; the API speaks both.
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
