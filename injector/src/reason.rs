//! Why a pod was not injected: one code shared by the AdmissionResponse warning, the log
//! line and the `remora_injector_skips_total{reason}` metric.

/// A pod the webhook saw and left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Not a pod CREATE (the webhook configuration should not send it).
    NotPodCreate,
    /// The pod is in Remora's own namespace.
    ControlPlaneNamespace,
    /// `remora.dev/inject: "false"` as a label or annotation.
    OptedOut,
    /// The namespace is not labelled `remora.dev/inject=enabled`.
    NamespaceNotEnabled,
    /// `hostNetwork: true`: the sidecar would capture the whole node.
    HostNetwork,
    /// The sidecar is already there (reinvocation, or a copied pod spec).
    AlreadyInjected,
    /// The pod already uses a container or volume name the sidecar needs.
    NameConflict,
    /// A container of the pod mounts a volume by one of the sidecar's volume names:
    /// injecting would hand it the sidecar's captures, token or scripts' env.
    MountsSidecarVolume,
    /// The namespace enforces a Pod Security level that forbids NET_RAW; injecting
    /// would get the pod rejected after mutation.
    PodSecurityForbidsNetRaw,
    /// The pod can only run on Windows nodes, where the sidecar's image does not run.
    WindowsPod,
    /// The namespace's LimitRange leaves the sidecar no cpu or memory it can run with.
    LimitRange,
}

impl SkipReason {
    pub const ALL: [SkipReason; 11] = [
        SkipReason::NotPodCreate,
        SkipReason::ControlPlaneNamespace,
        SkipReason::OptedOut,
        SkipReason::NamespaceNotEnabled,
        SkipReason::HostNetwork,
        SkipReason::AlreadyInjected,
        SkipReason::NameConflict,
        SkipReason::MountsSidecarVolume,
        SkipReason::PodSecurityForbidsNetRaw,
        SkipReason::WindowsPod,
        SkipReason::LimitRange,
    ];

    /// The stable code used in logs, metrics and warnings.
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::NotPodCreate => "not_pod_create",
            SkipReason::ControlPlaneNamespace => "control_plane_namespace",
            SkipReason::OptedOut => "opted_out",
            SkipReason::NamespaceNotEnabled => "namespace_not_enabled",
            SkipReason::HostNetwork => "host_network",
            SkipReason::AlreadyInjected => "already_injected",
            SkipReason::NameConflict => "name_conflict",
            SkipReason::MountsSidecarVolume => "mounts_sidecar_volume",
            SkipReason::PodSecurityForbidsNetRaw => "pod_security_forbids_net_raw",
            SkipReason::WindowsPod => "windows_pod",
            SkipReason::LimitRange => "limit_range",
        }
    }

    /// What it means, for the person reading the warning.
    pub fn explain(self) -> &'static str {
        match self {
            SkipReason::NotPodCreate => "only pod creation is injected",
            SkipReason::ControlPlaneNamespace => "Remora's own namespace is never injected",
            SkipReason::OptedOut => "the pod says remora.dev/inject: \"false\"",
            SkipReason::NamespaceNotEnabled => {
                "the namespace is not labelled remora.dev/inject=enabled"
            }
            SkipReason::HostNetwork => {
                "hostNetwork pods share the node's network; capturing it is not per-pod"
            }
            SkipReason::AlreadyInjected => "the sidecar is already in the pod",
            SkipReason::NameConflict => {
                "the pod already has a container or volume named like the sidecar's"
            }
            SkipReason::MountsSidecarVolume => {
                "a container mounts a volume named like the sidecar's (remora-data, remora-scripts, remora-env, remora-hub-token): injected, it would read the sidecar's captures and secrets"
            }
            SkipReason::PodSecurityForbidsNetRaw => {
                "the namespace's Pod Security level would reject the sidecar's NET_RAW capability"
            }
            SkipReason::LimitRange => {
                "the namespace's LimitRange leaves no cpu or memory the sidecar can run with (the next warning names the bound); injected, the pod would be refused"
            }
            SkipReason::WindowsPod => {
                "the pod runs on Windows nodes (spec.os, a kubernetes.io/os nodeSelector or required affinity), where the Linux capture sidecar cannot run"
            }
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
