//! The namespace's LimitRanges, applied to the sidecar as the LimitRanger admission
//! plugin will after the webhook: a sidecar whose cpu or memory lies outside a
//! `Container` limit's `min`/`max`, or whose limit/request ratio passes
//! `maxLimitRequestRatio`, would get the whole pod refused. The sidecar's requests and
//! limits are moved inside the bounds, each move named in a warning; when no values fit
//! (a max below the sidecar's floor, a max below a min), the pod is left alone and the
//! warning names the bound.

use k8s_openapi::api::core::v1::LimitRange;

use crate::annotations::SidecarConfig;
use crate::quantity;

/// Below this the sidecar does not run (idle, with a script): a LimitRange max under it
/// skips the pod rather than starving the sidecar.
pub const MEMORY_FLOOR: f64 = 48.0 * 1024.0 * 1024.0;
/// The sidecar's CPU floor (it still captures, slowly).
pub const CPU_FLOOR: f64 = 0.01;

/// One LimitRange's `Container` bounds, with its name for messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerBounds {
    pub name: String,
    pub min: [Option<f64>; 2],
    pub max: [Option<f64>; 2],
    pub ratio: [Option<f64>; 2],
    /// `max` of `ephemeral-storage`.
    pub ephemeral_storage_max: Option<f64>,
}

const RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The `Container` items of a LimitRange (`Pod` and storage items do not bound one
/// container's cpu and memory).
pub fn bounds(range: &LimitRange) -> Vec<ContainerBounds> {
    let name = format!("{}/{}", range.metadata.namespace.clone().unwrap_or_default(), range.metadata.name.clone().unwrap_or_default());
    let items = range.spec.as_ref().map(|s| s.limits.as_slice()).unwrap_or_default();
    items
        .iter()
        .filter(|item| item.type_ == "Container")
        .map(|item| {
            let read = |map: &Option<std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
                RESOURCES.map(|r| map.as_ref().and_then(|m| m.get(r)).and_then(|q| quantity::parse(&q.0).ok()))
            };
            let storage_max = item.max.as_ref().and_then(|m| m.get("ephemeral-storage")).and_then(|q| quantity::parse(&q.0).ok());
            ContainerBounds { name: name.clone(), min: read(&item.min), max: read(&item.max), ratio: read(&item.max_limit_request_ratio), ephemeral_storage_max: storage_max }
        })
        .collect()
}

/// Moves the sidecar's requests and limits inside every bound; `Err` names the bound no
/// value can meet.
pub fn fit(config: &mut SidecarConfig, all: &[ContainerBounds], warnings: &mut Vec<String>) -> Result<(), String> {
    for b in all {
        if let Some(max) = b.ephemeral_storage_max {
            config.ephemeral_storage_max = Some(config.ephemeral_storage_max.map_or(max, |m| m.min(max)));
            let volume = crate::sidecar::data_size_limit(config.pcap_retention_bytes) as f64;
            if volume > max {
                warnings.push(format!(
                    "remora: the sidecar's data volume ({}) is not asked as ephemeral storage: LimitRange {} allows containers at most {}",
                    show(1, volume),
                    b.name,
                    show(1, max)
                ));
            }
        }
        for (at, resource) in RESOURCES.iter().enumerate() {
            let (request_text, limit_text) = match at {
                0 => (&mut config.cpu_request, &mut config.cpu_limit),
                _ => (&mut config.memory_request, &mut config.memory_limit),
            };
            let (Ok(mut request), Ok(mut limit)) = (quantity::parse(request_text), quantity::parse(limit_text)) else { continue };
            let (before_request, before_limit) = (request, limit);
            let floor = if at == 0 { CPU_FLOOR } else { MEMORY_FLOOR };
            if let Some(max) = b.max[at] {
                if max < floor {
                    return Err(format!("LimitRange {} allows containers at most {} of {resource}, below the {} the sidecar needs", b.name, show(at, max), show(at, floor)));
                }
                if let Some(min) = b.min[at] {
                    if max < min {
                        return Err(format!("LimitRange {} asks containers for {resource} between {} and {}: nothing fits", b.name, show(at, min), show(at, max)));
                    }
                }
                limit = limit.min(max);
                request = request.min(limit);
            }
            if let Some(min) = b.min[at] {
                request = request.max(min);
                limit = limit.max(request);
            }
            if let Some(ratio) = b.ratio[at].filter(|r| *r > 0.0) {
                if limit / request > ratio {
                    request = limit / ratio;
                }
            }
            if request != before_request {
                warnings.push(format!("remora: the sidecar's {resource} request {request_text} is moved to {} for LimitRange {}", show(at, request), b.name));
                *request_text = show(at, request);
            }
            if limit != before_limit {
                warnings.push(format!("remora: the sidecar's {resource} limit {limit_text} is moved to {} for LimitRange {}", show(at, limit), b.name));
                *limit_text = show(at, limit);
            }
        }
    }
    Ok(())
}

/// A quantity as Kubernetes would write it: millicores for cpu, Mi (or bytes) for memory,
/// rounded up so a bound is met, never missed by a rounding.
fn show(at: usize, value: f64) -> String {
    if at == 0 {
        format!("{}m", (value * 1000.0).ceil() as u64)
    } else {
        let mib = 1024.0 * 1024.0;
        if (value / mib).fract() == 0.0 {
            format!("{}Mi", (value / mib) as u64)
        } else {
            format!("{}", value.ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SidecarDefaults;

    fn config() -> SidecarConfig {
        SidecarConfig::from_defaults(&SidecarDefaults::default()).expect("defaults")
    }

    fn range(json: serde_json::Value) -> Vec<ContainerBounds> {
        bounds(&serde_json::from_value(json).expect("a LimitRange"))
    }

    #[test]
    fn the_sidecar_is_moved_inside_the_bounds() {
        // The defaults: cpu 50m..500m, memory 64Mi..256Mi.
        let limits = range(serde_json::json!({"metadata": {"name": "limits", "namespace": "shop"}, "spec": {"limits": [
            {"type": "Pod", "max": {"memory": "1Mi"}},
            {"type": "Container", "min": {"memory": "128Mi"}, "max": {"cpu": "250m"}, "maxLimitRequestRatio": {"cpu": "2"}}
        ]}}));
        let mut c = config();
        let mut warnings = Vec::new();
        fit(&mut c, &limits, &mut warnings).expect("fits");
        assert_eq!((c.cpu_request.as_str(), c.cpu_limit.as_str()), ("125m", "250m"), "max cpu, then the ratio");
        assert_eq!((c.memory_request.as_str(), c.memory_limit.as_str()), ("128Mi", "256Mi"), "min memory");
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|w| w == "remora: the sidecar's cpu limit 500m is moved to 250m for LimitRange shop/limits"), "{warnings:?}");
    }

    #[test]
    fn no_room_for_the_sidecar_skips_the_pod_naming_the_bound() {
        let tight = range(serde_json::json!({"metadata": {"name": "tiny", "namespace": "shop"}, "spec": {"limits": [{"type": "Container", "max": {"memory": "32Mi"}}]}}));
        let refused = fit(&mut config(), &tight, &mut Vec::new()).expect_err("no room");
        assert_eq!(refused, "LimitRange shop/tiny allows containers at most 32Mi of memory, below the 48Mi the sidecar needs");
        let crossed = range(serde_json::json!({"metadata": {"name": "odd", "namespace": "shop"}, "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]}}));
        assert!(fit(&mut config(), &crossed, &mut Vec::new()).expect_err("nothing fits").contains("nothing fits"));
        let storage = range(serde_json::json!({"metadata": {"name": "disk", "namespace": "shop"}, "spec": {"limits": [{"type": "Container", "max": {"ephemeral-storage": "100Mi"}}]}}));
        let mut c = config();
        let mut warnings = Vec::new();
        fit(&mut c, &storage, &mut warnings).expect("fits, without the request");
        assert_eq!(c.ephemeral_storage_max, Some(100.0 * 1024.0 * 1024.0));
        assert_eq!(warnings, ["remora: the sidecar's data volume (640Mi) is not asked as ephemeral storage: LimitRange shop/disk allows containers at most 100Mi"]);
        let requests = |c: &SidecarConfig| crate::sidecar::container(&crate::settings::Settings::default(), c, 15090, None, None).resources.and_then(|r| r.requests).unwrap_or_default();
        assert!(!requests(&c).contains_key("ephemeral-storage"), "the pod would be refused");
        assert!(requests(&config()).contains_key("ephemeral-storage"), "asked without such a LimitRange");
        let none = range(serde_json::json!({"metadata": {"name": "none", "namespace": "shop"}, "spec": {"limits": []}}));
        let mut c = config();
        fit(&mut c, &none, &mut Vec::new()).expect("no bounds");
        assert_eq!(c, config());
    }
}
