//! What the hub follows in the cluster: pods, services and endpoint slices, from the API
//! server (`--kube`) or a directory of object files (`--objects-dir`, tests and
//! clusterless runs). They feed the name resolution every sidecar receives, the pod
//! events `onPodEvent` gets in the hub's scripts and every sidecar's, and coverage (with
//! the namespaces): pods of opted-in namespaces running without the sidecar.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec, PodStatus, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use remora_cluster::names::Name;
use remora_cluster::pod_events::PodTracker;
use remora_cluster::coverage::{opted_in, targeted, uncovered, wants_sidecar, INJECT};
use remora_cluster::watch::{key_of, Change, DirWatch, KubeWatch, Watch};
use remora_model::wire::{NameInfo, ToSidecar, VERSION};

use crate::cluster::now_ns;
use crate::scripts::Call;
use crate::server::Hub;

pub struct Watches {
    pub pods: Box<dyn Watch<Pod>>,
    pub services: Box<dyn Watch<Service>>,
    pub endpoint_slices: Box<dyn Watch<EndpointSlice>>,
    pub namespaces: Box<dyn Watch<Namespace>>,
}

/// The webhook's mark on a pod it injected.
pub const STATUS: &str = "remora.dev/status";

/// What coverage and session admission are computed from: the pods, slimmed to what they
/// read, and the namespaces.
#[derive(Default)]
pub struct Coverage {
    pods: HashMap<String, Pod>,
    namespaces: HashMap<String, Namespace>,
    /// Each watch has listed once: until both have, no session is admitted.
    pods_listed: bool,
    namespaces_listed: bool,
}

impl Coverage {
    /// (pods with the sidecar, pods without it) in opted-in namespaces.
    pub fn counts(&self) -> (u64, u64) {
        let namespaces: Vec<Namespace> = self.namespaces.values().cloned().collect();
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let missing = uncovered(&namespaces, &pods).len() as u64;
        let wanting = pods
            .iter()
            .filter(|p| namespaces.iter().any(|n| opted_in(n) && n.metadata.name == p.metadata.namespace) && wants_sidecar(p))
            .count() as u64;
        (wanting - missing, missing)
    }

    /// `namespace/name` of the running pods the webhook injected in opted-in namespaces:
    /// each should have a sidecar session.
    pub fn injected_running(&self) -> Vec<(String, String)> {
        self.pods
            .values()
            .filter(|p| p.annotations().contains_key(STATUS) && p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter_map(|p| Some((p.metadata.namespace.clone()?, p.metadata.name.clone()?)))
            .filter(|(namespace, _)| self.namespaces.get(&format!("/{namespace}")).is_some_and(opted_in))
            .collect()
    }

    /// Whether a sidecar session for this pod may join: the pod exists, the webhook
    /// injected it (its status annotation), and its namespace is opted in. `Err` says why
    /// not, for the sidecar and the hub's log.
    pub fn admits(&self, namespace: &str, pod: &str) -> Result<(), String> {
        if !(self.pods_listed && self.namespaces_listed) {
            return Err("the hub has not listed the cluster's pods and namespaces yet; retry".into());
        }
        // Keyed as `apply` keys them (`key_of`: `namespace/name`, `/name` for a namespace).
        if !self.namespaces.get(&format!("/{namespace}")).is_some_and(opted_in) {
            return Err(format!("namespace {namespace} is not opted in (label {INJECT}=enabled)"));
        }
        let Some(found) = self.pods.get(&format!("{namespace}/{pod}")) else {
            return Err(format!("pod {namespace}/{pod} does not exist (or the hub has not seen it yet; retry)"));
        };
        if !found.annotations().contains_key(STATUS) {
            return Err(format!("pod {namespace}/{pod} was not injected by Remora's webhook (no {STATUS} annotation)"));
        }
        Ok(())
    }

    /// The controller of pod `namespace/pod`, when the hub follows it: for the service
    /// map's workloads.
    pub fn owner(&self, namespace: &str, pod: &str) -> Option<crate::servicemap::PodOwner> {
        let found = self.pods.get(&format!("{namespace}/{pod}"))?;
        let template_hash = found.labels().get("pod-template-hash").cloned();
        // A pod with no controller is its own workload.
        let (kind, name) = match found.metadata.owner_references.iter().flatten().find(|o| o.controller == Some(true)) {
            Some(owner) => (owner.kind.clone(), owner.name.clone()),
            None => ("Pod".to_string(), pod.to_string()),
        };
        Some(crate::servicemap::PodOwner { kind, name, template_hash })
    }

    /// `hub.targeted()`'s answer (JSON text).
    pub fn targeted(&self) -> String {
        let namespaces: Vec<Namespace> = self.namespaces.values().cloned().collect();
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        targeted(&namespaces, &pods).to_string()
    }
}

/// A pod with only what coverage and `hub.targeted()` read (a cluster's pods in full
/// would weigh).
fn slim(pod: &Pod) -> Pod {
    let mut kept = Pod::default();
    kept.metadata.name = pod.metadata.name.clone();
    kept.metadata.namespace = pod.metadata.namespace.clone();
    kept.metadata.uid = pod.metadata.uid.clone();
    kept.metadata.labels = pod.metadata.labels.clone();
    kept.metadata.owner_references = pod.metadata.owner_references.clone();
    kept.metadata.deletion_timestamp = pod.metadata.deletion_timestamp.clone();
    // The opt-out and the webhook's mark (its value, a few hundred bytes, is not needed).
    kept.metadata.annotations = pod.metadata.annotations.as_ref().map(|a| {
        let mut kept = std::collections::BTreeMap::new();
        if let Some(v) = a.get(INJECT) {
            kept.insert(INJECT.to_string(), v.clone());
        }
        if a.contains_key(STATUS) {
            kept.insert(STATUS.to_string(), String::new());
        }
        kept
    });
    kept.spec = pod.spec.as_ref().map(|spec| PodSpec {
        host_network: spec.host_network,
        node_name: spec.node_name.clone(),
        init_containers: spec.init_containers.as_ref().map(|c| c.iter().map(|c| Container { name: c.name.clone(), ..Default::default() }).collect()),
        containers: spec.containers.iter().map(|c| Container { name: c.name.clone(), ..Default::default() }).collect(),
        ..Default::default()
    });
    kept.status = pod.status.as_ref().map(|s| PodStatus { phase: s.phase.clone(), pod_ip: s.pod_ip.clone(), host_ip: s.host_ip.clone(), ..Default::default() });
    kept
}

fn apply<K: Clone + kube::Resource>(map: &mut HashMap<String, K>, change: &Change<K>, keep: fn(&K) -> K) {
    match change {
        Change::Reset(objects) => {
            map.clear();
            map.extend(objects.iter().map(|o| (key_of(o), keep(o))));
        }
        Change::Applied(object) => {
            map.insert(key_of(object), keep(object));
        }
        Change::Deleted(object) => {
            map.remove(&key_of(object));
        }
    }
}

impl Watches {
    /// Every namespace's objects, through the API server.
    pub fn kube(client: kube::Client) -> Watches {
        Watches {
            pods: Box::new(KubeWatch::new(Api::<Pod>::all(client.clone()), watcher::Config::default())),
            services: Box::new(KubeWatch::new(Api::<Service>::all(client.clone()), watcher::Config::default())),
            endpoint_slices: Box::new(KubeWatch::new(Api::<EndpointSlice>::all(client.clone()), watcher::Config::default())),
            namespaces: Box::new(KubeWatch::new(Api::<Namespace>::all(client), watcher::Config::default())),
        }
    }

    /// The objects in the files of `dir`, read every half second.
    pub fn dir(dir: PathBuf) -> Watches {
        let every = Duration::from_millis(500);
        Watches {
            pods: Box::new(DirWatch::new(dir.clone(), every)),
            services: Box::new(DirWatch::new(dir.clone(), every)),
            endpoint_slices: Box::new(DirWatch::new(dir.clone(), every)),
            namespaces: Box::new(DirWatch::new(dir, every)),
        }
    }
}

fn info(name: Option<Name>) -> Option<NameInfo> {
    name.map(|n| NameInfo { name: n.name, namespace: n.namespace, kind: n.kind })
}

impl Hub {
    /// Tells every sidecar which addresses changed names.
    fn names_changed(&self, changed: std::collections::BTreeMap<String, Option<Name>>) {
        if changed.is_empty() {
            return;
        }
        let names = changed.into_iter().map(|(ip, n)| (ip, info(n))).collect();
        self.sessions.broadcast(&ToSidecar::Names { v: VERSION, at: now_ns() / 1_000_000_000, full: false, names });
    }

    /// Every address's name, for a sidecar that just connected.
    pub(crate) fn names_frame(&self) -> Option<ToSidecar> {
        let index = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = index.snapshot();
        (!snapshot.is_empty()).then(|| ToSidecar::Names {
            v: VERSION,
            at: now_ns() / 1_000_000_000,
            full: true,
            names: snapshot.into_iter().map(|(ip, n)| (ip, info(Some(n)))).collect(),
        })
    }

    fn names(&self) -> std::sync::MutexGuard<'_, remora_cluster::names::NameIndex> {
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn coverage(&self) -> std::sync::MutexGuard<'_, Coverage> {
        self.coverage.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Follows the watches until the hub goes.
pub fn follow(hub: &Arc<Hub>, watches: Watches) {
    hub.follows_cluster.store(true, std::sync::atomic::Ordering::Relaxed);
    let Watches { pods, services, endpoint_slices, namespaces } = watches;
    let mut tracker = PodTracker::default();
    each_change(hub, pods, move |hub, change| {
        let changed = hub.names().pods(&change);
        hub.names_changed(changed);
        {
            let mut coverage = hub.coverage();
            coverage.pods_listed |= matches!(change, Change::Reset(_));
            apply(&mut coverage.pods, &change, slim);
        }
        for event in tracker.events(&change, now_ns() / 1_000_000) {
            let Ok(json) = serde_json::to_string(&event) else { continue };
            tracing::debug!(kind = %event.kind, pod = %event.pod.name, "pod event");
            if let Some(scripts) = hub.scripts.get() {
                scripts.call(Call::PodEvent(json.clone()));
            }
            hub.sessions.broadcast(&ToSidecar::PodEvent { v: VERSION, event: json });
        }
    });
    each_change(hub, services, |hub, change| {
        let changed = hub.names().services(&change);
        hub.names_changed(changed);
    });
    each_change(hub, endpoint_slices, |hub, change| {
        let changed = hub.names().endpoint_slices(&change);
        hub.names_changed(changed);
    });
    each_change(hub, namespaces, |hub, change| {
        let mut coverage = hub.coverage();
        coverage.namespaces_listed |= matches!(change, Change::Reset(_));
        apply(&mut coverage.namespaces, &change, Namespace::clone);
    });
}

/// Runs `on` for every change of one watch, on a task of its own.
fn each_change<K: Send + 'static>(hub: &Arc<Hub>, watch: Box<dyn Watch<K>>, mut on: impl FnMut(&Hub, Change<K>) + Send + 'static) {
    let hub = hub.clone();
    tokio::spawn(async move {
        let mut changes = watch.changes();
        while let Some(change) = changes.next().await {
            on(&hub, change);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servicemap::{workload, PodOwner};

    fn pod(name: &str, owner: Option<(&str, &str, bool)>, hash: Option<&str>) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.namespace = Some("shop".into());
        pod.metadata.labels = hash.map(|h| std::collections::BTreeMap::from([("pod-template-hash".to_string(), h.to_string())]));
        pod.metadata.owner_references = owner.map(|(kind, name, controller)| {
            vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference { kind: kind.into(), name: name.into(), controller: Some(controller), ..Default::default() }]
        });
        pod
    }

    #[test]
    fn a_pods_owner_is_its_controller_or_itself() {
        let mut coverage = Coverage::default();
        let pods = vec![
            pod("web-7d4b9c8f6d-x2kqz", Some(("ReplicaSet", "web-7d4b9c8f6d", true)), Some("7d4b9c8f6d")),
            pod("debug-x2kqz", None, None),
            pod("helper-b4c5d", Some(("Node", "node-1", false)), None),
        ];
        apply(&mut coverage.pods, &Change::Reset(pods), slim);
        let web = coverage.owner("shop", "web-7d4b9c8f6d-x2kqz");
        assert_eq!(web, Some(PodOwner { kind: "ReplicaSet".into(), name: "web-7d4b9c8f6d".into(), template_hash: Some("7d4b9c8f6d".into()) }));
        assert_eq!(workload("web-7d4b9c8f6d-x2kqz", web.as_ref()), "web");
        // Known, with no controller: itself, though its name looks generated.
        let bare = coverage.owner("shop", "debug-x2kqz");
        assert_eq!(workload("debug-x2kqz", bare.as_ref()), "debug-x2kqz");
        let owned_by_no_controller = coverage.owner("shop", "helper-b4c5d");
        assert_eq!(workload("helper-b4c5d", owned_by_no_controller.as_ref()), "helper-b4c5d");
        assert_eq!(coverage.owner("shop", "unknown"), None);
        assert_eq!(workload("debug-x2kqz", None), "debug", "not known to the hub: its suffix is taken off");
    }
}
