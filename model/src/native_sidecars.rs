//! Whether a cluster runs native sidecars (init containers with `restartPolicy: Always`):
//! the API server and every node's kubelet at Kubernetes 1.29 or later, where the
//! SidecarContainers feature is on by default (GA in 1.33). On an older kubelet the
//! sidecar is an init container that never ends, and the app never starts; an older API
//! server drops `restartPolicy` or refuses the pod. The injector's `auto` mode and
//! `remora check` decide with this.

/// The first Kubernetes release whose kubelet and API server run native sidecars by default.
pub const MINIMUM: (u32, u32) = (1, 29);

/// The decision and why, in words for logs, metrics and `remora check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    pub native: bool,
    pub reason: String,
}

impl Support {
    /// Before anything was seen: classic, the mode every cluster runs.
    pub fn unknown(why: &str) -> Support {
        Support { native: false, reason: why.to_string() }
    }
}

/// `(major, minor)` of a Kubernetes version as the API reports it: `v1.30.2`,
/// `v1.29.4-eks-036c24b`, `v1.28.3+k3s1`, `1.31`.
pub fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches('+').parse().ok()?;
    Some((major, minor))
}

/// Native when the API server's version and every node's kubelet version (`(node,
/// version)`) are at least [`MINIMUM`].
pub fn support(api_server: Option<&str>, kubelets: &[(String, String)]) -> Support {
    let minimum = format!("{}.{}", MINIMUM.0, MINIMUM.1);
    let Some(api) = api_server else {
        return Support::unknown("the API server's version is not known");
    };
    match parse_version(api) {
        Some(v) if v >= MINIMUM => {}
        Some(_) => return Support { native: false, reason: format!("the API server is {api} (native sidecars need {minimum})") },
        None => return Support::unknown(&format!("the API server's version {api:?} cannot be read")),
    }
    if kubelets.is_empty() {
        return Support::unknown("no node has been seen yet");
    }
    let old: Vec<String> = kubelets
        .iter()
        .filter(|(_, version)| parse_version(version).is_none_or(|v| v < MINIMUM))
        .map(|(node, version)| format!("{node} ({version})"))
        .collect();
    if let Some(first) = old.first() {
        let more = if old.len() > 1 { format!(" and {} more", old.len() - 1) } else { String::new() };
        return Support { native: false, reason: format!("kubelet older than {minimum} on {first}{more}") };
    }
    Support { native: true, reason: format!("the API server ({api}) and the kubelets of all {} nodes are {minimum} or later", kubelets.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(versions: &[&str]) -> Vec<(String, String)> {
        versions.iter().enumerate().map(|(i, v)| (format!("node-{i}"), v.to_string())).collect()
    }

    #[test]
    fn versions_as_distributions_write_them() {
        assert_eq!(parse_version("v1.30.2"), Some((1, 30)));
        assert_eq!(parse_version("v1.29.4-eks-036c24b"), Some((1, 29)));
        assert_eq!(parse_version("v1.28.3+k3s1"), Some((1, 28)));
        assert_eq!(parse_version("1.31"), Some((1, 31)));
        assert_eq!(parse_version("v1.27+"), Some((1, 27)));
        assert_eq!(parse_version("banana"), None);
    }

    #[test]
    fn native_only_when_every_kubelet_and_the_api_server_can() {
        let all = support(Some("v1.34.1"), &nodes(&["v1.34.1", "v1.33.5", "v1.29.0-gke.1"]));
        assert!(all.native, "{}", all.reason);
        assert!(all.reason.contains("all 3 nodes"));
        let skewed = support(Some("v1.31.0"), &nodes(&["v1.31.0", "v1.28.9", "v1.27.3"]));
        assert!(!skewed.native);
        assert_eq!(skewed.reason, "kubelet older than 1.29 on node-1 (v1.28.9) and 1 more");
        assert!(!support(Some("v1.28.0"), &nodes(&["v1.28.0"])).native);
        assert!(!support(None, &nodes(&["v1.34.0"])).native);
        assert!(!support(Some("v1.34.0"), &[]).native);
        assert!(!support(Some("v1.34.0"), &nodes(&["weird"])).native, "an unreadable kubelet version is not trusted");
    }
}
