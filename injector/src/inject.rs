//! The pure core: given a pod and its namespace, decide whether to inject and build the
//! RFC 6902 patch. No I/O, so the webhook, the golden tests and the fuzzer share it.

use std::collections::BTreeMap;

use json_patch::{Patch, PatchOperation};
use k8s_openapi::api::core::v1::{Container, LocalObjectReference, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::pod_shape;
use remora_model::native_sidecars::Support;
use crate::annotations::{Layer, SidecarConfig, SidecarMode, INJECT, INJECTED, STATUS};
use crate::mesh::{self, Mesh};
use crate::pod_security;
use crate::reason::SkipReason;
use crate::settings::Settings;
use crate::sidecar::{self, CONTAINER_NAME, VOLUMES};

/// The label (on a namespace) that opts its pods in.
pub const NAMESPACE_LABEL_VALUE: &str = "enabled";
/// At most this many warnings go back to the API server, which truncates long lists.
const MAX_WARNINGS: usize = 20;

/// What the webhook knows about the pod's namespace (from the API, when reachable).
#[derive(Debug, Clone, Default)]
pub struct NamespaceInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The `Container` bounds of its LimitRanges.
    pub limit_ranges: Vec<crate::limit_range::ContainerBounds>,
    /// Why its LimitRanges could not be read, when they could not.
    pub limit_ranges_unread: Option<String>,
}

#[derive(Debug)]
pub enum Outcome {
    Injected {
        patch: Patch,
        config: Box<SidecarConfig>,
    },
    Skipped(SkipReason),
}

/// The decision with everything the user should hear about it.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
}

pub struct Injector {
    settings: Settings,
    defaults: SidecarConfig,
    /// The hub's CA (PEM) for `REMORA_HUB_CA`, as last read from `hubCaFile`.
    hub_ca: std::sync::RwLock<Option<String>>,
    /// Whether the cluster runs native sidecars, for `auto` (the nodes' follower sets it).
    native: std::sync::RwLock<Support>,
}

impl Injector {
    /// Fails when the settings' sidecar defaults are themselves invalid.
    pub fn new(settings: Settings) -> Result<Injector, String> {
        let defaults = SidecarConfig::from_defaults(&settings.sidecar)?;
        let native = std::sync::RwLock::new(Support::unknown("the injector has not seen the cluster's nodes"));
        Ok(Injector { settings, defaults, hub_ca: std::sync::RwLock::new(None), native })
    }

    /// What `auto` decides from now on.
    pub fn set_native_support(&self, support: Support) {
        *self.native.write().unwrap_or_else(|p| p.into_inner()) = support;
    }

    pub fn native_support(&self) -> Support {
        self.native.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the hub CA every sidecar injected from now on gets.
    pub fn set_hub_ca(&self, pem: Option<String>) {
        *self.hub_ca.write().unwrap_or_else(|p| p.into_inner()) = pem;
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Decides for `pod` in `namespace`; `ns` carries the namespace's labels and
    /// annotations when the API could be asked.
    pub fn inject(&self, pod: &Pod, namespace: &str, ns: Option<&NamespaceInfo>) -> Report {
        let mut warnings = Vec::new();
        let outcome = match self.decide(pod, namespace, ns, &mut warnings) {
            Err(reason) => {
                if reason != SkipReason::AlreadyInjected {
                    warnings.insert(
                        0,
                        format!("remora: sidecar not injected ({}): {}", reason.code(), reason.explain()),
                    );
                }
                Outcome::Skipped(reason)
            }
            Ok(config) => {
                let patch = self.patch(pod, &config, &mut warnings);
                Outcome::Injected {
                    patch,
                    config: Box::new(config),
                }
            }
        };
        if warnings.len() > MAX_WARNINGS {
            let more = warnings.len() - (MAX_WARNINGS - 1);
            warnings.truncate(MAX_WARNINGS - 1);
            warnings.push(format!("remora: {more} more warnings not shown"));
        }
        Report { outcome, warnings }
    }

    fn decide(
        &self,
        pod: &Pod,
        namespace: &str,
        ns: Option<&NamespaceInfo>,
        warnings: &mut Vec<String>,
    ) -> Result<SidecarConfig, SkipReason> {
        // First: a reinvocation (or a copied spec) must change nothing and say nothing.
        let spec = pod.spec.as_ref();
        if all_containers(pod).any(|c| c.name == CONTAINER_NAME) {
            return Err(SkipReason::AlreadyInjected);
        }
        if namespace == self.settings.control_plane_namespace {
            return Err(SkipReason::ControlPlaneNamespace);
        }
        let meta = &pod.metadata;
        let label = meta.labels.as_ref().and_then(|l| l.get(INJECT));
        let annotation = meta.annotations.as_ref().and_then(|a| a.get(INJECT));
        for (value, place) in [(label, "label"), (annotation, "annotation")] {
            match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
                None | Some("true" | "enabled") => {}
                Some("false" | "disabled") => return Err(SkipReason::OptedOut),
                Some(_) => warnings.push(format!(
                    "{INJECT} {place} on pod: {:?} is neither \"true\" nor \"false\"; injecting",
                    value.map(String::as_str).unwrap_or_default()
                )),
            }
        }
        if let Some(ns) = ns {
            if ns.labels.get(INJECT).map(String::as_str) != Some(NAMESPACE_LABEL_VALUE) {
                return Err(SkipReason::NamespaceNotEnabled);
            }
        }
        if spec.and_then(|s| s.host_network) == Some(true) {
            return Err(SkipReason::HostNetwork);
        }
        if pod_shape::runs_on_windows(pod) {
            return Err(SkipReason::WindowsPod);
        }
        let volume_taken = spec
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| VOLUMES.contains(&v.name.as_str())));
        if volume_taken {
            return Err(SkipReason::NameConflict);
        }
        // A mount of a volume the pod does not have yet, named like the sidecar's, would
        // become valid once the sidecar's volume is added.
        let mounts_ours = spec.is_some_and(|s| {
            let containers = s.init_containers.iter().flatten().chain(s.containers.iter());
            let mounts = containers.flat_map(|c| c.volume_mounts.iter().flatten().map(|m| m.name.as_str()).chain(c.volume_devices.iter().flatten().map(|d| d.name.as_str())));
            let ephemeral = s.ephemeral_containers.iter().flatten().flat_map(|c| c.volume_mounts.iter().flatten().map(|m| m.name.as_str()));
            mounts.chain(ephemeral).any(|name| VOLUMES.contains(&name))
        });
        if mounts_ours {
            return Err(SkipReason::MountsSidecarVolume);
        }
        if let Some(ns) = ns {
            match pod_security::check(ns) {
                pod_security::Verdict::Allowed => {}
                pod_security::Verdict::Warned(w) => warnings.push(w),
                pod_security::Verdict::Rejected(w) => {
                    warnings.push(w);
                    return Err(SkipReason::PodSecurityForbidsNetRaw);
                }
            }
        }

        let mut config = self.defaults.clone();
        if let Some(ns) = ns {
            config.apply_layer(&ns.annotations, Layer::Namespace(&ns.name), warnings);
        }
        if let Some(annotations) = &meta.annotations {
            config.apply_layer(annotations, Layer::Pod, warnings);
        }
        config.reconcile_resources(warnings);
        if config.mode == SidecarMode::Auto {
            config.mode = if self.native_support().native { SidecarMode::Native } else { SidecarMode::Classic };
        }
        if let Some(ns) = ns {
            if let Some(why) = &ns.limit_ranges_unread {
                warnings.push(format!("remora: the LimitRanges of namespace {} could not be read ({why}); the sidecar's resources are not checked against them", ns.name));
            }
            if let Err(bound) = crate::limit_range::fit(&mut config, &ns.limit_ranges, warnings) {
                warnings.push(format!("remora: {bound}"));
                return Err(SkipReason::LimitRange);
            }
        }
        if pod_shape::is_guaranteed(pod) {
            // The sidecar at its limits keeps the pod Guaranteed (last evicted, exclusive
            // CPUs under the static CPU manager); limits are within any LimitRange by now.
            config.cpu_request = config.cpu_limit.clone();
            config.memory_request = config.memory_limit.clone();
        }
        if config.mode == SidecarMode::Classic && owned_by_job(pod) {
            warnings.push(
                "remora: a classic sidecar keeps this Job's pod running after its work is done; \
                 use remora.dev/sidecar-mode: native"
                    .to_string(),
            );
        }
        Ok(config)
    }

    fn patch(&self, pod: &Pod, config: &SidecarConfig, warnings: &mut Vec<String>) -> Patch {
        let mesh = mesh::detect(pod);
        let health_port = free_port(pod, self.settings.health_port, mesh, warnings);
        let hub_ca = self.hub_ca.read().unwrap_or_else(|p| p.into_inner()).clone();
        let container = sidecar::container(&self.settings, config, health_port, hub_ca.as_deref(), mesh);
        let before = changed_parts(pod, config.mode, mesh.is_some());
        let mut after = before.clone();
        let spec = after.spec.get_or_insert_with(Default::default);
        let mode = match config.mode {
            SidecarMode::Native => {
                // Appended here and moved to index 0 in the patch (see below).
                spec.init_containers.get_or_insert_with(Vec::new).push(container);
                "native"
            }
            // `auto` was resolved in `decide`; were it not, classic runs everywhere.
            SidecarMode::Classic | SidecarMode::Auto => {
                spec.containers.push(container);
                "classic"
            }
        };
        spec.volumes
            .get_or_insert_with(Vec::new)
            .extend(sidecar::volumes(&self.settings, config));
        // Pull secrets for the sidecar's image; recorded in the status (what was added
        // is what an uninjection removes).
        let mut pull_secrets_added = Vec::new();
        if !self.settings.image_pull_secrets.is_empty() {
            let secrets = spec.image_pull_secrets.get_or_insert_with(Vec::new);
            for name in &self.settings.image_pull_secrets {
                if !secrets.iter().any(|s| s.name == *name) {
                    secrets.push(LocalObjectReference { name: name.clone() });
                    pull_secrets_added.push(name.clone());
                }
            }
        }
        let mut status = serde_json::json!({
            "version": 1,
            "container": CONTAINER_NAME,
            "mode": mode,
            "volumes": VOLUMES,
            "image": self.settings.image,
        });
        if !pull_secrets_added.is_empty() {
            status["imagePullSecrets"] = serde_json::json!(pull_secrets_added);
        }
        if let Some(mesh) = mesh {
            let hub_port = mesh::hub_port(&config.hub_address);
            let done = mesh::exclude_ports(&mut after, mesh, hub_port, health_port);
            warnings.push(format!(
                "remora: {}'s proxy is in this pod: the sidecar's hub port {hub_port} and health port {health_port} are kept out of its redirection ({}), and the sidecar also captures the plaintext on lo",
                mesh.name(),
                done.join("; ")
            ));
            // What an uninjection takes back out of the mesh's settings.
            status["mesh"] = serde_json::json!({"name": mesh.code(), "outboundPort": hub_port, "inboundPort": health_port});
        }
        after
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(STATUS.to_string(), status.to_string());
        after.metadata.labels.get_or_insert_with(BTreeMap::new).insert(INJECTED.to_string(), "true".to_string());

        let before = serde_json::to_value(&before).unwrap_or_default();
        let after = serde_json::to_value(&after).unwrap_or_default();
        let mut patch = json_patch::diff(&before, &after);
        if config.mode == SidecarMode::Native {
            first_init_container(&mut patch);
        }
        patch
    }
}

/// The parts of the pod the sidecar changes, at their places in a Pod: annotations,
/// labels, volumes, pull secrets and the container list it joins. The diff of these equals the diff of the
/// whole pods, without cloning, serialising and comparing everything else.
/// With a mesh, its init container's arguments change too.
fn changed_parts(pod: &Pod, mode: SidecarMode, mesh: bool) -> Pod {
    let spec = pod.spec.as_ref().map(|spec| PodSpec {
        containers: match mode {
            SidecarMode::Classic | SidecarMode::Auto => spec.containers.clone(),
            SidecarMode::Native => Vec::new(),
        },
        init_containers: match mode {
            SidecarMode::Native => spec.init_containers.clone(),
            SidecarMode::Classic | SidecarMode::Auto if mesh => spec.init_containers.clone(),
            SidecarMode::Classic | SidecarMode::Auto => None,
        },
        volumes: spec.volumes.clone(),
        image_pull_secrets: spec.image_pull_secrets.clone(),
        ..Default::default()
    });
    Pod {
        metadata: ObjectMeta {
            annotations: pod.metadata.annotations.clone(),
            labels: pod.metadata.labels.clone(),
            ..Default::default()
        },
        spec,
        status: None,
    }
}

/// json-patch diffs arrays index by index, so the sidecar is appended to
/// `initContainers` (one `add` at the end) and that operation is then pointed at index
/// 0. A diff of the insertion itself would rewrite every existing init container field
/// by field, and could leave fields this build does not know on the wrong container.
fn first_init_container(patch: &mut Patch) {
    for op in patch.0.iter_mut() {
        if let PatchOperation::Add(add) = op {
            let path = add.path.to_string();
            let is_appended_init = path
                .strip_prefix("/spec/initContainers/")
                .is_some_and(|index| index.bytes().all(|b| b.is_ascii_digit()));
            if is_appended_init {
                if let Ok(first) = "/spec/initContainers/0".parse() {
                    add.path = first;
                }
            }
        }
    }
}

fn owned_by_job(pod: &Pod) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "Job" && o.api_version.starts_with("batch/"))
}

/// Every container of the pod, init containers included.
fn all_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
}

/// The first port from `wanted` up that no container of the pod declares: pods share
/// one network namespace, and a taken port would keep the sidecar's probe failing.
fn free_port(pod: &Pod, wanted: u16, mesh: Option<Mesh>, warnings: &mut Vec<String>) -> u16 {
    let declared: Vec<i32> = all_containers(pod)
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| p.container_port)
        .collect();
    let reserved = |port: u16| mesh.is_some_and(|m| m.reserved().contains(&port));
    let mut port = wanted;
    while (declared.contains(&i32::from(port)) || reserved(port)) && port < u16::MAX {
        port += 1;
    }
    if port != wanted {
        let by = match mesh.filter(|_| reserved(wanted)) {
            Some(mesh) => format!("reserved by {} ({}-{})", mesh.name(), mesh.reserved().start(), mesh.reserved().end()),
            None => "declared by the pod".to_string(),
        };
        warnings.push(format!("remora: port {wanted} is {by}; the sidecar's health port is {port}"));
    }
    port
}
