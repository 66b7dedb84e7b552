//! Name resolution: which pod or service an IP address is, from the pods', services' and
//! endpoint slices' changes. A pod's address names the pod; a service's cluster IPs name
//! the service; an endpoint slice's addresses that no pod holds (endpoints outside the
//! cluster, or of pods not seen) name the slice's service. Each change yields the
//! addresses whose name changed, for the sidecars.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crate::watch::{key_of, Change};

/// What an address is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub name: String,
    pub namespace: String,
    /// `Pod` or `Service`.
    pub kind: String,
}

/// The kinds of source, strongest first: a pod's own address beats a service's, which
/// beats an endpoint slice's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Pod,
    Service,
    Slice,
}

#[derive(Default)]
struct Layer {
    /// Object key → its addresses with their names.
    by_object: HashMap<String, Vec<(IpAddr, Name)>>,
    /// Address → name (the last object to claim it).
    by_ip: HashMap<IpAddr, Name>,
}

impl Layer {
    /// Replaces one object's addresses; returns every address touched.
    fn set(&mut self, key: String, addresses: Vec<(IpAddr, Name)>) -> Vec<IpAddr> {
        let mut touched: Vec<IpAddr> = Vec::new();
        if let Some(old) = self.by_object.remove(&key) {
            for (ip, name) in old {
                if self.by_ip.get(&ip) == Some(&name) {
                    self.by_ip.remove(&ip);
                }
                touched.push(ip);
            }
        }
        for (ip, name) in &addresses {
            self.by_ip.insert(*ip, name.clone());
            touched.push(*ip);
        }
        if !addresses.is_empty() {
            self.by_object.insert(key, addresses);
        }
        touched
    }

    fn clear(&mut self) -> Vec<IpAddr> {
        let touched = self.by_ip.keys().copied().collect();
        *self = Layer::default();
        touched
    }
}

/// Addresses → names, kept from the watches' changes.
#[derive(Default)]
pub struct NameIndex {
    layers: BTreeMap<Source, Layer>,
    /// What was last handed out, to report only real changes.
    resolved: HashMap<IpAddr, Name>,
}

fn name(kind: &str, name: String, namespace: String) -> Name {
    Name { name, namespace, kind: kind.to_string() }
}

fn pod_addresses(pod: &Pod) -> Vec<(IpAddr, Name)> {
    let spec_host = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    let Some(status) = &pod.status else { return Vec::new() };
    // A host-network pod has its node's address: naming that address after the pod
    // would mislabel everything else on the node.
    if spec_host {
        return Vec::new();
    }
    let mut ips: Vec<&str> = status.pod_ips.iter().flatten().map(|p| p.ip.as_str()).collect();
    if ips.is_empty() {
        ips.extend(status.pod_ip.as_deref());
    }
    let finished = matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed"));
    if finished || pod.metadata.deletion_timestamp.is_some() {
        return Vec::new();
    }
    ips.into_iter().filter_map(|ip| ip.parse().ok()).map(|ip| (ip, name("Pod", pod.name_any(), pod.namespace().unwrap_or_default()))).collect()
}

fn service_addresses(service: &Service) -> Vec<(IpAddr, Name)> {
    let Some(spec) = &service.spec else { return Vec::new() };
    let mut ips: Vec<&str> = spec.cluster_ips.iter().flatten().map(String::as_str).collect();
    if ips.is_empty() {
        ips.extend(spec.cluster_ip.as_deref());
    }
    ips.into_iter().filter_map(|ip| ip.parse().ok()).map(|ip| (ip, name("Service", service.name_any(), service.namespace().unwrap_or_default()))).collect()
}

fn slice_addresses(slice: &EndpointSlice) -> Vec<(IpAddr, Name)> {
    let Some(service) = slice.labels().get("kubernetes.io/service-name").cloned() else { return Vec::new() };
    let namespace = slice.namespace().unwrap_or_default();
    slice
        .endpoints
        .iter()
        .filter(|e| e.target_ref.as_ref().is_none_or(|t| t.kind.as_deref() != Some("Pod")))
        .flat_map(|e| e.addresses.iter())
        .filter_map(|ip| ip.parse().ok())
        .map(|ip| (ip, name("Service", service.clone(), namespace.clone())))
        .collect()
}

impl NameIndex {
    pub fn lookup(&self, ip: &IpAddr) -> Option<&Name> {
        self.layers.values().find_map(|layer| layer.by_ip.get(ip))
    }

    /// Every address with its name.
    pub fn snapshot(&self) -> BTreeMap<String, Name> {
        self.resolved.iter().map(|(ip, n)| (ip.to_string(), n.clone())).collect()
    }

    pub fn pods(&mut self, change: &Change<Pod>) -> BTreeMap<String, Option<Name>> {
        self.apply(Source::Pod, change, pod_addresses)
    }

    pub fn services(&mut self, change: &Change<Service>) -> BTreeMap<String, Option<Name>> {
        self.apply(Source::Service, change, service_addresses)
    }

    pub fn endpoint_slices(&mut self, change: &Change<EndpointSlice>) -> BTreeMap<String, Option<Name>> {
        self.apply(Source::Slice, change, slice_addresses)
    }

    /// Applies one change of one source; returns the addresses whose name changed (None:
    /// no longer known).
    fn apply<K: kube::Resource>(&mut self, source: Source, change: &Change<K>, addresses: fn(&K) -> Vec<(IpAddr, Name)>) -> BTreeMap<String, Option<Name>> {
        let layer = self.layers.entry(source).or_default();
        let touched = match change {
            Change::Reset(objects) => {
                let mut touched = layer.clear();
                for object in objects {
                    touched.extend(layer.set(key_of(object), addresses(object)));
                }
                touched
            }
            Change::Applied(object) => layer.set(key_of(object), addresses(object)),
            Change::Deleted(object) => layer.set(key_of(object), Vec::new()),
        };
        let mut changed = BTreeMap::new();
        for ip in touched {
            let now = self.lookup(&ip).cloned();
            if self.resolved.get(&ip) != now.as_ref() {
                match &now {
                    Some(name) => self.resolved.insert(ip, name.clone()),
                    None => self.resolved.remove(&ip),
                };
                changed.insert(ip.to_string(), now);
            }
        }
        changed
    }
}
