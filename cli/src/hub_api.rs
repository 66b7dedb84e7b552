//! Where the hub's API is and the token it wants, for every command that talks to the
//! hub: from flags, then the environment, then a config file
//! (`$REMORA_CONFIG`, else `~/.config/remora/config.yaml`):
//!
//! ```yaml
//! hub: https://remora-hub.example:8899
//! tokenFile: /path/to/token        # or token: ...
//! caFile: /path/to/ca.crt          # an https hub's CA, when not a public one
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct HubArgs {
    /// The hub's API [default: the config file's `hub`, else the hub in the kubeconfig's
    /// cluster through a port-forward (--hub-namespace), else http://127.0.0.1:8899].
    #[arg(long, env = "REMORA_HUB_API")]
    hub: Option<String>,
    /// Where the hub runs, when it is reached through the kubeconfig's cluster.
    #[arg(long, env = "REMORA_HUB_NAMESPACE", default_value = "remora")]
    hub_namespace: String,
    /// The bearer token (or --token-file, or the config file's `token`/`tokenFile`).
    #[arg(long, env = "REMORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token.
    #[arg(long, env = "REMORA_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// CA certificates (PEM) an `https://` hub's certificate must chain to.
    #[arg(long, env = "REMORA_HUB_CA_FILE")]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    hub: Option<String>,
    token: Option<String>,
    token_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
}

/// The resolved address and token.
pub struct Hub {
    pub address: String,
    pub token: String,
    pub client: reqwest::Client,
    /// Reached through a port-forward this process keeps open.
    pub forwarded: bool,
}

const DEFAULT_HUB: &str = "http://127.0.0.1:8899";

fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REMORA_CONFIG") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/remora/config.yaml"))
}

fn read_config() -> anyhow::Result<ConfigFile> {
    let Some(path) = config_path() else { return Ok(ConfigFile::default()) };
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_norway::from_str(&text).with_context(|| format!("config file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("REMORA_CONFIG").is_none() => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("config file {}", path.display())),
    }
}

fn read_token(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path).with_context(|| format!("{what} {}", path.display()))?.trim().to_string())
}

impl HubArgs {
    /// The hub, when one is named (flag, environment or config file); `None` otherwise.
    pub fn resolve_if_named(&self) -> anyhow::Result<Option<Hub>> {
        if self.hub.is_none() && read_config()?.hub.is_none() {
            return Ok(None);
        }
        self.resolve().map(Some)
    }

    /// Flags and environment first, then the config file.
    pub fn resolve(&self) -> anyhow::Result<Hub> {
        let needs_config = self.hub.is_none() || (self.token.is_none() && self.token_file.is_none()) || self.ca_file.is_none();
        let config = if needs_config { read_config()? } else { ConfigFile::default() };
        let ca_file = self.ca_file.clone().or(config.ca_file);
        // No hub named: the one in the kubeconfig's cluster, through a port-forward.
        let forwarded = match self.hub.clone().or(config.hub.clone()) {
            Some(_) => None,
            None => crate::port_forward::forward(&self.hub_namespace)?,
        };
        if let Some(forwarded) = &forwarded {
            eprintln!("remora: the hub is pod {}/{}, reached through the API server's port-forward ({})", self.hub_namespace, forwarded.pod, forwarded.address);
            for note in &forwarded.notes {
                eprintln!("remora: {note}");
            }
        }
        let address = match (&forwarded, self.hub.clone().or(config.hub)) {
            (_, Some(named)) => named,
            (Some(forwarded), None) => forwarded.address.clone(),
            (None, None) => DEFAULT_HUB.to_string(),
        };
        let found_token = forwarded.as_ref().and_then(|f| f.token.clone());
        let token = match (&self.token, &self.token_file, config.token.or(found_token), config.token_file) {
            (Some(token), _, _, _) => token.clone(),
            (None, Some(path), _, _) => read_token(path, "--token-file")?,
            (None, None, Some(token), _) => token,
            (None, None, None, Some(path)) => read_token(&path, "the config file's tokenFile")?,
            (None, None, None, None) => bail!("the hub needs a token: --token, --token-file, REMORA_TOKEN, REMORA_TOKEN_FILE or `token:` in ~/.config/remora/config.yaml"),
        };
        let mut client = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(10));
        let ca = match (&ca_file, forwarded.as_ref().and_then(|f| f.ca_pem.clone())) {
            (Some(path), _) => Some((std::fs::read(path).with_context(|| format!("CA file {}", path.display()))?, format!("CA file {}", path.display()))),
            (None, Some(pem)) => Some((pem, "the hub's CA (from its certificate Secret)".to_string())),
            (None, None) => None,
        };
        if let Some((pem, what)) = ca {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| what.clone())?;
            if certs.is_empty() {
                bail!("{what}: no certificate in it");
            }
            client = client.tls_certs_only(certs);
        }
        let client = client.build()?;
        Ok(Hub { address: address.trim_end_matches('/').to_string(), token, client, forwarded: forwarded.is_some() })
    }
}

impl Hub {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&self.token)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path)).bearer_auth(&self.token)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(&self.token)
    }

    /// Sends a request, with an error that names the hub when it cannot be reached.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        request.send().await.with_context(|| format!("cannot reach the hub at {}", self.address))
    }

    /// Turns an answer that is not a success into the error a user can act on.
    pub fn check(&self, status: u16, body: &Value) -> anyhow::Result<()> {
        let said = body["error"].as_str().map(String::from).unwrap_or_else(|| body.to_string());
        match status {
            200..=299 => Ok(()),
            401 => bail!("the hub at {} refused the token (check --token or REMORA_TOKEN)", self.address),
            400 => bail!("{}\n{}", body["error"].as_str().unwrap_or("bad request"), body["caret"].as_str().unwrap_or("")),
            404 => bail!("{said}"),
            code => bail!("the hub at {} answered {code}: {said}", self.address),
        }
    }

    /// A JSON answer, checked.
    pub async fn json(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        self.check(status, &body)?;
        Ok(body)
    }
}

/// A path from segments, each percent-encoded as one segment: a job tag or a script name
/// with `/` or `?` in it stays one segment.
pub fn path_of(segments: &[&str]) -> String {
    let mut url = reqwest::Url::parse("http://hub/").expect("a valid base");
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear().extend(segments);
    }
    url.path().to_string()
}

/// Runs async work on the command's one runtime (a kube client made in one call keeps a
/// worker task on it that later calls need).
pub fn block_on<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> = std::sync::OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string()));
    match runtime {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => anyhow::bail!("cannot start the async runtime: {e}"),
    }
}
