//! The sidecar container and its volumes, as typed Kubernetes objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, ObjectFieldSelector, Probe, ProjectedVolumeSource,
    ResourceRequirements, SeccompProfile, SecretVolumeSource, SecurityContext,
    ServiceAccountTokenProjection, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::annotations::{SidecarConfig, SidecarMode};
use crate::mesh::Mesh;
use crate::settings::Settings;

pub const CONTAINER_NAME: &str = "remora-sidecar";
pub const DATA_VOLUME: &str = "remora-data";
pub const SCRIPTS_VOLUME: &str = "remora-scripts";
pub const ENV_VOLUME: &str = "remora-env";
pub const TOKEN_VOLUME: &str = "remora-hub-token";
pub const VOLUMES: [&str; 4] = [DATA_VOLUME, SCRIPTS_VOLUME, ENV_VOLUME, TOKEN_VOLUME];

pub const DATA_DIR: &str = "/var/run/remora/data";
pub const SCRIPTS_DIR: &str = "/etc/remora/scripts";
pub const ENV_DIR: &str = "/etc/remora/env";
pub const TOKEN_DIR: &str = "/var/run/secrets/remora";

/// The emptyDir's sizeLimit is the retention plus a quarter: the kubelet evicts a pod
/// whose emptyDir passes its limit, and the sidecar only keeps PCAPs under retention.
pub fn data_size_limit(retention_bytes: u64) -> u64 {
    let limit = retention_bytes.saturating_add(retention_bytes / 4);
    // Whole MiB read better in `kubectl describe`.
    limit.div_ceil(1 << 20) << 20
}

pub fn container(settings: &Settings, config: &SidecarConfig, health_port: u16, hub_ca: Option<&str>, mesh: Option<Mesh>) -> Container {
    let field = |path: &str| EnvVar {
        name: String::new(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let named = |name: &str, mut var: EnvVar| {
        var.name = name.to_string();
        var
    };
    let value = |name: &str, value: &str| EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        ..Default::default()
    };
    let env = vec![
        named("REMORA_POD_NAME", field("metadata.name")),
        named("REMORA_POD_NAMESPACE", field("metadata.namespace")),
        named("REMORA_POD_IP", field("status.podIP")),
        named("REMORA_NODE_NAME", field("spec.nodeName")),
        named("REMORA_NODE_IP", field("status.hostIP")),
        value("REMORA_HUB", &config.hub_address),
        value("REMORA_HUB_TOKEN_FILE", &format!("{TOKEN_DIR}/token")),
        value("REMORA_CAPTURE_FILTER", &config.capture_filter),
        value("REMORA_INTERFACES", &config.interfaces),
        value("REMORA_PROTOCOLS", &config.protocols),
        value("REMORA_SCRIPTS", &config.scripts),
        value("REMORA_SCRIPTS_DIR", SCRIPTS_DIR),
        value("REMORA_ENV_DIR", ENV_DIR),
        value("REMORA_DATA_DIR", DATA_DIR),
        value(
            "REMORA_PCAP_RETENTION_BYTES",
            &config.pcap_retention_bytes.to_string(),
        ),
        value("REMORA_REDACT", &config.redact),
        value("REMORA_LOG_LEVEL", &config.log_level),
        value("REMORA_HEALTH_LISTEN", &format!("0.0.0.0:{health_port}")),
    ];
    // The hub's CA travels in the pod spec: a Secret in the hub's namespace cannot be
    // mounted in the application's.
    let env: Vec<EnvVar> = env
        .into_iter()
        .chain(hub_ca.map(|pem| value("REMORA_HUB_CA", pem)))
        // The mesh whose proxy shares the pod (mesh.rs): the sidecar captures lo too.
        .chain(mesh.map(|m| value("REMORA_MESH", m.code())))
        .collect();
    let probe = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(i32::from(health_port)),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(1),
        ..Default::default()
    };
    let mount = |name: &str, path: &str, read_only: bool| VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..Default::default()
    };
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
        ])
    };
    Container {
        name: CONTAINER_NAME.to_string(),
        image: Some(settings.image.clone()),
        image_pull_policy: Some(settings.image_pull_policy.clone()),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("remora-health".to_string()),
            container_port: i32::from(health_port),
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some({
                // The data volume's size, asked of the scheduler: it then counts the disk
                // the PCAPs take, and the kubelet does not pick this pod first to evict
                // under disk pressure for using more than it asked.
                // Not past a LimitRange's ephemeral-storage max: that would refuse the pod.
                let mut requests = quantities(&config.cpu_request, &config.memory_request);
                let size = data_size_limit(config.pcap_retention_bytes);
                if config.ephemeral_storage_max.is_none_or(|max| size as f64 <= max) {
                    requests.insert("ephemeral-storage".to_string(), data_size_quantity(config.pcap_retention_bytes));
                }
                requests
            }),
            limits: Some(quantities(&config.cpu_limit, &config.memory_limit)),
            ..Default::default()
        }),
        // libpcap needs NET_RAW and nothing else. The process runs as root with every
        // other capability dropped: a non-root process cannot use an added capability
        // without file capabilities, which no_new_privs (allowPrivilegeEscalation:
        // false) disables.
        security_context: Some(SecurityContext {
            capabilities: Some(Capabilities {
                add: Some(vec!["NET_RAW".to_string()]),
                drop: Some(vec!["ALL".to_string()]),
            }),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // Passes once capture runs (or once the sidecar has given up on it and says
        // why): a native sidecar's startupProbe holds the app back until then.
        startup_probe: Some(probe("/readyz", 1, 120)),
        liveness_probe: Some(probe("/healthz", 10, 3)),
        volume_mounts: Some(vec![
            mount(DATA_VOLUME, DATA_DIR, false),
            mount(SCRIPTS_VOLUME, SCRIPTS_DIR, true),
            mount(ENV_VOLUME, ENV_DIR, true),
            mount(TOKEN_VOLUME, TOKEN_DIR, true),
        ]),
        restart_policy: (config.mode == SidecarMode::Native).then(|| "Always".to_string()),
        termination_message_policy: Some("FallbackToLogsOnError".to_string()),
        ..Default::default()
    }
}

/// The data volume's size limit as a quantity, in whole MiB.
fn data_size_quantity(retention_bytes: u64) -> Quantity {
    Quantity(format!("{}Mi", data_size_limit(retention_bytes) >> 20))
}

pub fn volumes(settings: &Settings, config: &SidecarConfig) -> Vec<Volume> {
    vec![
        Volume {
            name: DATA_VOLUME.to_string(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(data_size_quantity(config.pcap_retention_bytes)),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: SCRIPTS_VOLUME.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: settings.scripts_config_map.clone(),
                optional: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: ENV_VOLUME.to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(settings.env_secret.clone()),
                optional: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
        // A token the kubelet rotates, bound to this pod, for the hub alone: the hub
        // checks it with a TokenReview. No Secret has to be copied into the namespace.
        Volume {
            name: TOKEN_VOLUME.to_string(),
            projected: Some(ProjectedVolumeSource {
                sources: Some(vec![VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        audience: Some(settings.hub_token_audience.clone()),
                        expiration_seconds: Some(3600),
                        path: "token".to_string(),
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(container: &Container, name: &str) -> Option<String> {
        container.env.as_ref()?.iter().find(|e| e.name == name).and_then(|e| e.value.clone())
    }

    #[test]
    fn the_hub_ca_travels_in_the_environment_when_there_is_one() {
        let settings = Settings::default();
        let config = SidecarConfig::from_defaults(&settings.sidecar).expect("defaults");
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(env_of(&container(&settings, &config, 15090, Some(pem), None), "REMORA_HUB_CA").as_deref(), Some(pem));
        assert_eq!(env_of(&container(&settings, &config, 15090, None, None), "REMORA_HUB_CA"), None);
    }

    #[test]
    fn size_limit_leaves_headroom_in_whole_mib() {
        assert_eq!(super::data_size_limit(512 << 20), 640 << 20);
        assert_eq!(super::data_size_limit((8 << 20) + 1), 11 << 20);
    }
}
