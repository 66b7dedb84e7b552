//! `onPodEvent(event)`: what happened to a pod, from the pods' changes. `added`,
//! `modified`, `deleted`; `restarted` when a container's restart count goes up (with the
//! reason of its last termination); `crashed` when a container enters CrashLoopBackOff
//! or its last termination was OOMKilled. The first full list only records the pods
//! (a hub starting up does not report every pod as added); a later re-list reports what
//! changed while the watch was lost.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::ResourceExt;
use serde::Serialize;

use crate::watch::{key_of, Change};

/// One container as the event shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInfo {
    pub name: String,
    pub ready: bool,
    pub restart_count: i32,
    /// `running`, `waiting`, `terminated` or `unknown`.
    pub state: String,
    /// The waiting or terminated reason (`CrashLoopBackOff`, `OOMKilled`, ...).
    pub reason: String,
}

/// The pod as the event shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    pub node: String,
    pub ip: String,
    pub phase: String,
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<ContainerInfo>,
}

/// The `event` of `onPodEvent(event)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodEvent {
    /// `added`, `modified`, `deleted`, `restarted` or `crashed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// UNIX milliseconds when the hub saw it.
    pub timestamp: i64,
    pub pod: PodInfo,
    /// For `restarted` and `crashed`: the container, its restart count and why.
    pub container: String,
    pub restart_count: i32,
    pub reason: String,
}

fn container_info(status: &ContainerStatus) -> ContainerInfo {
    let (state, reason) = match &status.state {
        Some(s) if s.running.is_some() => ("running", String::new()),
        Some(s) if s.waiting.is_some() => ("waiting", s.waiting.as_ref().and_then(|w| w.reason.clone()).unwrap_or_default()),
        Some(s) if s.terminated.is_some() => ("terminated", s.terminated.as_ref().and_then(|t| t.reason.clone()).unwrap_or_default()),
        _ => ("unknown", String::new()),
    };
    ContainerInfo { name: status.name.clone(), ready: status.ready, restart_count: status.restart_count, state: state.into(), reason }
}

fn last_termination(status: &ContainerStatus) -> String {
    status.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.reason.clone()).unwrap_or_default()
}

pub fn pod_info(pod: &Pod) -> PodInfo {
    let status = pod.status.as_ref();
    let statuses = status.into_iter().flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()));
    PodInfo {
        name: pod.name_any(),
        namespace: pod.namespace().unwrap_or_default(),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
        ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        labels: pod.labels().clone(),
        containers: statuses.map(container_info).collect(),
    }
}

/// What is remembered of a pod between changes.
#[derive(Clone)]
struct Seen {
    resource_version: String,
    /// Container → (restart count, waiting reason).
    containers: HashMap<String, (i32, String)>,
}

fn seen(pod: &Pod) -> Seen {
    let status = pod.status.as_ref();
    let containers = status
        .into_iter()
        .flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()))
        .map(|c| (c.name.clone(), (c.restart_count, container_info(c).reason)))
        .collect();
    Seen { resource_version: pod.resource_version().unwrap_or_default(), containers }
}

#[derive(Default)]
pub struct PodTracker {
    pods: Option<HashMap<String, Seen>>,
}

impl PodTracker {
    /// The events one change makes, in order.
    pub fn events(&mut self, change: &Change<Pod>, now_ms: i64) -> Vec<PodEvent> {
        let event = |kind: &str, pod: &Pod| PodEvent { kind: kind.into(), timestamp: now_ms, pod: pod_info(pod), container: String::new(), restart_count: 0, reason: String::new() };
        let mut events = Vec::new();
        match change {
            Change::Reset(pods) => {
                let first = self.pods.is_none();
                let mut before = self.pods.take().unwrap_or_default();
                let mut now = HashMap::new();
                for pod in pods {
                    let key = key_of(pod);
                    match before.remove(&key) {
                        _ if first => {}
                        None => events.push(event("added", pod)),
                        Some(old) => events.extend(self.compare(&old, pod, now_ms)),
                    }
                    now.insert(key, seen(pod));
                }
                if !first {
                    // What went while the watch was lost: only its key is left.
                    for key in before.into_keys() {
                        let (namespace, name) = key.split_once('/').unwrap_or(("", key.as_str()));
                        let mut gone = Pod::default();
                        gone.metadata.name = Some(name.to_string());
                        gone.metadata.namespace = Some(namespace.to_string());
                        events.push(event("deleted", &gone));
                    }
                }
                self.pods = Some(now);
            }
            Change::Applied(pod) => {
                let pods = self.pods.get_or_insert_with(HashMap::new);
                let key = key_of(pod);
                match pods.get(&key).cloned() {
                    None => events.push(event("added", pod)),
                    Some(old) => events.extend(self.compare(&old, pod, now_ms)),
                }
                self.pods.get_or_insert_with(HashMap::new).insert(key, seen(pod));
            }
            Change::Deleted(pod) => {
                self.pods.get_or_insert_with(HashMap::new).remove(&key_of(pod));
                events.push(event("deleted", pod));
            }
        }
        events
    }

    /// `modified`, then a `restarted` and/or `crashed` per container that did.
    fn compare(&self, old: &Seen, pod: &Pod, now_ms: i64) -> Vec<PodEvent> {
        if old.resource_version == pod.resource_version().unwrap_or_default() {
            return Vec::new();
        }
        let info = pod_info(pod);
        let mut events = vec![PodEvent { kind: "modified".into(), timestamp: now_ms, pod: info.clone(), container: String::new(), restart_count: 0, reason: String::new() }];
        let status = pod.status.as_ref();
        for container in status.into_iter().flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten())) {
            let (old_restarts, old_waiting) = old.containers.get(&container.name).cloned().unwrap_or_default();
            let last = last_termination(container);
            let waiting = container_info(container).reason;
            let make = |kind: &str, reason: String| PodEvent {
                kind: kind.into(),
                timestamp: now_ms,
                pod: info.clone(),
                container: container.name.clone(),
                restart_count: container.restart_count,
                reason,
            };
            let restarted = container.restart_count > old_restarts;
            if restarted {
                events.push(make("restarted", last.clone()));
            }
            if waiting == "CrashLoopBackOff" && old_waiting != "CrashLoopBackOff" {
                events.push(make("crashed", waiting));
            } else if restarted && last == "OOMKilled" {
                events.push(make("crashed", last));
            }
        }
        events
    }
}
