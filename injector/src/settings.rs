//! The injector's own configuration: what every sidecar gets unless a namespace or pod
//! annotation says otherwise. Read from a YAML file (the chart renders it from values).

use serde::Deserialize;

/// Cluster-wide settings; every field has a default so an empty file is valid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// The sidecar's image.
    pub image: String,
    pub image_pull_policy: String,
    /// Secrets (in the pod's namespace) added to an injected pod's `imagePullSecrets`, to
    /// pull the sidecar's image from a private registry; the pod's own are kept.
    pub image_pull_secrets: Vec<String>,
    /// The namespace Remora itself runs in; its pods are never injected.
    pub control_plane_namespace: String,
    /// Port of the sidecar's /healthz, /readyz and /metrics.
    pub health_port: u16,
    /// ConfigMap and Secret (in the pod's namespace, optional) with namespace-local
    /// scripts and `env`, mounted read-only beside what the hub distributes.
    pub scripts_config_map: String,
    pub env_secret: String,
    /// Audience of the projected service-account token the sidecar presents to the hub.
    pub hub_token_audience: String,
    /// A PEM file (in the injector's container) whose CA certificates every sidecar gets
    /// as `REMORA_HUB_CA`, to trust a `wss://` hub. Read at start and whenever the
    /// certificate directory changes; empty: none.
    pub hub_ca_file: String,
    /// Defaults of the per-pod settings (the `remora.dev/*` annotations).
    pub sidecar: SidecarDefaults,
}

/// The defaults behind each `remora.dev/*` annotation, as the annotations spell them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SidecarDefaults {
    pub capture_filter: String,
    pub interfaces: String,
    pub protocols: String,
    pub scripts: String,
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    pub pcap_retention: String,
    pub redact: String,
    pub sidecar_mode: String,
    pub log_level: String,
    pub hub_address: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            image: "ghcr.io/remora-dev/remora-sidecar:0.1.0".into(),
            image_pull_policy: "IfNotPresent".into(),
            image_pull_secrets: Vec::new(),
            control_plane_namespace: "remora".into(),
            health_port: 15090,
            scripts_config_map: "remora-scripts".into(),
            env_secret: "remora-env".into(),
            hub_token_audience: "remora-hub".into(),
            hub_ca_file: "/etc/remora/certs/ca.crt".into(),
            sidecar: SidecarDefaults::default(),
        }
    }
}

impl Default for SidecarDefaults {
    fn default() -> Self {
        SidecarDefaults {
            capture_filter: String::new(),
            interfaces: "all".into(),
            protocols: "all".into(),
            scripts: "all".into(),
            cpu_request: "50m".into(),
            cpu_limit: "500m".into(),
            memory_request: "64Mi".into(),
            memory_limit: "256Mi".into(),
            pcap_retention: "512Mi".into(),
            redact: remora_model::redact::DEFAULT_PATHS.into(),
            sidecar_mode: "auto".into(),
            log_level: "info".into(),
            hub_address: "wss://remora-hub.remora.svc:8898".into(),
        }
    }
}

impl Settings {
    /// Reads the YAML file at `path`; a missing or bad file is an error that names it.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Settings::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn from_yaml(text: &str) -> Result<Settings, serde_norway::Error> {
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        serde_norway::from_str(text)
    }
}
