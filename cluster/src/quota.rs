//! ResourceQuota headroom for sidecars: every injected pod also asks for the sidecar's
//! requests and limits (and, since the data volume is counted, its ephemeral storage), so
//! a quota sized for the application can refuse the next pod once Remora is on. How many
//! more sidecars fit in each quota, and which resource runs out first.

use k8s_openapi::api::core::v1::{Container, ResourceQuota};
use remora_model::quantity;

/// What one sidecar adds to a quota's `used`, per quota resource name.
fn sidecar_asks(sidecar: &Container, resource: &str) -> Option<(f64, String)> {
    let resources = sidecar.resources.as_ref()?;
    let requests = resources.requests.as_ref();
    let limits = resources.limits.as_ref();
    // A request left out defaults to the limit, as the API server fills it in.
    let request = |name: &str| requests.and_then(|r| r.get(name)).or_else(|| limits.and_then(|l| l.get(name)));
    let limit = |name: &str| limits.and_then(|l| l.get(name));
    let asked = match resource {
        "cpu" | "requests.cpu" => request("cpu"),
        "memory" | "requests.memory" => request("memory"),
        "ephemeral-storage" | "requests.ephemeral-storage" => request("ephemeral-storage"),
        "limits.cpu" => limit("cpu"),
        "limits.memory" => limit("memory"),
        "limits.ephemeral-storage" => limit("ephemeral-storage"),
        _ => None,
    }?;
    let value = quantity::parse(&asked.0).ok().filter(|v| *v > 0.0)?;
    Some((value, asked.0.clone()))
}

/// One quota's room for sidecars.
#[derive(Debug, Clone, PartialEq)]
pub struct Headroom {
    pub quota: String,
    /// How many more sidecars fit before one of its resources runs out.
    pub sidecars: u64,
    /// The resource that runs out first: (name, used, hard, what one sidecar asks).
    pub tightest: (String, String, String, String),
}

/// The room in each quota that limits something the sidecar asks for.
pub fn headroom(quotas: &[ResourceQuota], sidecar: &Container) -> Vec<Headroom> {
    let mut found = Vec::new();
    for quota in quotas {
        let name = quota.metadata.name.clone().unwrap_or_default();
        let hard = quota.status.as_ref().and_then(|s| s.hard.as_ref()).or(quota.spec.as_ref().and_then(|s| s.hard.as_ref()));
        let used = quota.status.as_ref().and_then(|s| s.used.as_ref());
        let mut tightest: Option<Headroom> = None;
        for (resource, hard_value) in hard.into_iter().flatten() {
            let Some((ask, ask_text)) = sidecar_asks(sidecar, resource) else { continue };
            let Ok(hard_number) = quantity::parse(&hard_value.0) else { continue };
            let used_text = used.and_then(|u| u.get(resource)).map(|q| q.0.clone()).unwrap_or_else(|| "0".into());
            let used_number = quantity::parse(&used_text).unwrap_or(0.0);
            // In thousandths, as whole numbers: 150m / 50m must be 3, not 2.999….
            let milli = |v: f64| (v * 1000.0).round() as i128;
            let room = ((milli(hard_number) - milli(used_number)).max(0) / milli(ask).max(1)) as u64;
            if tightest.as_ref().is_none_or(|t| room < t.sidecars) {
                tightest = Some(Headroom { quota: name.clone(), sidecars: room, tightest: (resource.clone(), used_text, hard_value.0.clone(), ask_text) });
            }
        }
        found.extend(tightest);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar() -> Container {
        serde_json::from_value(serde_json::json!({
            "name": "remora-sidecar",
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "1Gi"}, "limits": {"memory": "256Mi"}}
        }))
        .expect("container")
    }

    fn quota(hard: serde_json::Value, used: serde_json::Value) -> ResourceQuota {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "compute"}, "spec": {"hard": hard}, "status": {"hard": hard, "used": used}})).expect("quota")
    }

    #[test]
    fn the_resource_that_runs_out_first_bounds_the_room() {
        let q = quota(serde_json::json!({"requests.cpu": "2", "limits.memory": "8Gi", "pods": "20"}), serde_json::json!({"requests.cpu": "1850m", "limits.memory": "4Gi", "pods": "9"}));
        let room = headroom(&[q], &sidecar());
        // 150m left / 50m = 3; (8Gi - 4Gi) / 256Mi = 16; pods are not the sidecar's.
        assert_eq!(room, vec![Headroom { quota: "compute".into(), sidecars: 3, tightest: ("requests.cpu".into(), "1850m".into(), "2".into(), "50m".into()) }]);
    }

    #[test]
    fn a_full_quota_has_no_room_and_unrelated_quotas_say_nothing() {
        let full = quota(serde_json::json!({"requests.ephemeral-storage": "10Gi"}), serde_json::json!({"requests.ephemeral-storage": "9800Mi"}));
        assert_eq!(headroom(&[full], &sidecar())[0].sidecars, 0);
        let objects = quota(serde_json::json!({"count/configmaps": "10"}), serde_json::json!({"count/configmaps": "3"}));
        assert!(headroom(&[objects], &sidecar()).is_empty());
    }
}
