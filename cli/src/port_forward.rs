//! Reaching an in-cluster hub when none is named, as `linkerd viz dashboard` and
//! Kubeshark's `tap` do: the kubeconfig's cluster, the hub's pod in its namespace, and a
//! local port forwarded to the hub's API port through the API server (pods/portforward);
//! the token from the install's Secret and, for a hub serving TLS, the CA from its
//! certificate Secret, when the kubeconfig may read them (and a note saying so when not).

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

/// The hub's API port in the chart.
const API_PORT: u16 = 8899;

/// A hub reached through a forwarded local port.
pub struct Forwarded {
    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` for a hub serving TLS (its
    /// certificate names localhost for this).
    pub address: String,
    pub pod: String,
    pub token: Option<String>,
    /// The hub's CA (PEM), for a hub serving TLS.
    pub ca_pem: Option<Vec<u8>>,
    /// What could not be read, and what to give instead.
    pub notes: Vec<String>,
}

/// Finds the hub in `namespace` through the kubeconfig and forwards a local port to it,
/// for as long as the process runs. `Ok(None)`: there is no cluster to ask.
pub fn forward(namespace: &str) -> anyhow::Result<Option<Forwarded>> {
    let (found, receive) = std::sync::mpsc::channel();
    let namespace = namespace.to_string();
    std::thread::Builder::new().name("port-forward".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return drop(found.send(Err(anyhow::anyhow!("port-forward: {e}")))),
        };
        runtime.block_on(async move {
            let Ok(client) = remora_cluster::client().await else { return drop(found.send(Ok(None))) };
            match prepare(&client, &namespace).await {
                Ok((forwarded, listener)) => {
                    let pod = forwarded.pod.clone();
                    let _ = found.send(Ok(Some(forwarded)));
                    serve(client, &namespace, listener, &pod).await;
                }
                Err(e) => drop(found.send(Err(e))),
            }
        });
    })?;
    receive.recv().map_err(|_| anyhow::anyhow!("the port-forward thread ended"))?
}

/// The hub's pod, its token and CA, and the local listener.
async fn prepare(client: &kube::Client, namespace: &str) -> anyhow::Result<(Forwarded, tokio::net::TcpListener)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let listed = pods.list(&ListParams::default().labels("app.kubernetes.io/component=hub")).await.map_err(|e| anyhow::anyhow!("looking for the hub's pod in namespace {namespace}: {e} (or name the hub with --hub)"))?;
    let ready = |p: &Pod| p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let Some(pod) = listed.items.iter().find(|p| ready(p)) else {
        anyhow::bail!("no ready hub pod in namespace {namespace} (label app.kubernetes.io/component=hub): is Remora installed there? (--hub-namespace, or name the hub with --hub)");
    };
    let name = pod.name_any();
    let args: Vec<String> = pod.spec.iter().flat_map(|s| s.containers.iter()).flat_map(|c| c.args.iter().flatten()).cloned().collect();
    let tls = args.iter().any(|a| a.starts_with("--tls-dir"));
    let secret_of = |flag: &str| args.iter().find_map(|a| a.strip_prefix(flag).map(str::to_string));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut notes = Vec::new();
    let tokens_secret = secret_of("--token-secret=").unwrap_or_else(|| "remora-hub-tokens".into());
    let token = match secrets.get_opt(&tokens_secret).await {
        Ok(Some(secret)) => secret.data.as_ref().and_then(|d| d.get("tokens")).and_then(|t| remora_model::tokens::token_lines(&String::from_utf8_lossy(&t.0)).next().map(|l| l.token.to_string())),
        Ok(None) => {
            notes.push(format!("the Secret {namespace}/{tokens_secret} does not exist yet: give --token"));
            None
        }
        Err(e) => {
            notes.push(format!("cannot read the token from Secret {namespace}/{tokens_secret} ({e}): give --token or --token-file"));
            None
        }
    };
    let ca_pem = if tls {
        // The Secret the pod's `tls` volume mounts (the hub's certificate, with its CA).
        let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
        let tls_secret = volumes.filter(|v| v.name == "tls").find_map(|v| v.secret.as_ref().and_then(|s| s.secret_name.clone())).unwrap_or_else(|| "remora-hub-tls".into());
        match secrets.get_opt(&tls_secret).await {
            Ok(Some(secret)) => secret.data.as_ref().and_then(|d| d.get("ca.crt")).map(|c| c.0.clone()),
            other => {
                let why = match other {
                    Err(e) => e.to_string(),
                    _ => "it does not exist".into(),
                };
                notes.push(format!("cannot read the hub's CA from Secret {namespace}/{tls_secret} ({why}): give --ca-file"));
                None
            }
        }
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let address = if tls { format!("https://localhost:{port}") } else { format!("http://127.0.0.1:{port}") };
    Ok((Forwarded { address, pod: name, token, ca_pem, notes }, listener))
}

/// Each local connection gets its own forward to the pod's API port.
async fn serve(client: kube::Client, namespace: &str, listener: tokio::net::TcpListener, pod: &str) {
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    while let Ok((mut local, _)) = listener.accept().await {
        let pods = pods.clone();
        let pod = pod.to_string();
        tokio::spawn(async move {
            let Ok(mut forwarder) = pods.portforward(&pod, &[API_PORT]).await else { return };
            let Some(mut remote) = forwarder.take_stream(API_PORT) else { return };
            let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
            drop(remote);
            let _ = forwarder.join().await;
        });
    }
}
