//! Where the webhook learns a namespace's labels and annotations (opt-in label,
//! per-namespace defaults, Pod Security level) and its LimitRanges. The API server is asked through kube
//! with a short timeout and a small cache; tests and clusterless runs read a file.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{LimitRange, Namespace};

use crate::inject::NamespaceInfo;

pub type Lookup<'a> = Pin<Box<dyn Future<Output = Result<Option<NamespaceInfo>, String>> + Send + 'a>>;

/// A source of namespaces. `Ok(None)`: the namespace is not known there.
pub trait NamespaceSource: Send + Sync {
    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a>;
}

pub fn info(ns: &Namespace) -> NamespaceInfo {
    NamespaceInfo {
        name: ns.metadata.name.clone().unwrap_or_default(),
        labels: ns.metadata.labels.clone().unwrap_or_default(),
        annotations: ns.metadata.annotations.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// No namespace information: per-namespace defaults and the Pod Security check are off.
pub struct Unknown;

impl NamespaceSource for Unknown {
    fn get<'a>(&'a self, _name: &'a str) -> Lookup<'a> {
        Box::pin(async { Ok(None) })
    }
}

/// Namespaces read once from a YAML file of Namespace objects (documents or a List), and
/// the LimitRanges among them.
pub struct FromFile {
    namespaces: HashMap<String, NamespaceInfo>,
}

impl FromFile {
    pub fn load(path: &std::path::Path) -> anyhow::Result<FromFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut namespaces = HashMap::new();
        let mut ranges = Vec::new();
        for document in serde_norway::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(document)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let items = match value.get("items") {
                Some(serde_json::Value::Array(items)) => items.clone(),
                _ if value.is_null() => Vec::new(),
                _ => vec![value],
            };
            for item in items {
                if item.get("kind").and_then(|k| k.as_str()) == Some("LimitRange") {
                    let range: LimitRange = serde_json::from_value(item)
                        .map_err(|e| anyhow::anyhow!("{}: not a LimitRange: {e}", path.display()))?;
                    ranges.push(range);
                    continue;
                }
                let ns: Namespace = serde_json::from_value(item)
                    .map_err(|e| anyhow::anyhow!("{}: not a Namespace: {e}", path.display()))?;
                let info = info(&ns);
                namespaces.insert(info.name.clone(), info);
            }
        }
        for range in &ranges {
            if let Some(ns) = range.metadata.namespace.as_ref().and_then(|n| namespaces.get_mut(n)) {
                ns.limit_ranges.extend(crate::limit_range::bounds(range));
            }
        }
        Ok(FromFile { namespaces })
    }
}

impl FromFile {
    /// The namespace named `name`, if the file has it.
    pub fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        self.namespaces.get(name).cloned()
    }
}

impl NamespaceSource for FromFile {
    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        let found = self.namespaces.get(name).cloned();
        Box::pin(async move { Ok(found) })
    }
}

/// The API server, through kube: one GET per namespace per `ttl`, bounded in time so
/// a slow API server never makes the webhook miss its own timeout.
pub struct FromApi {
    api: kube::Api<Namespace>,
    client: kube::Client,
    timeout: Duration,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Option<NamespaceInfo>)>>,
}

const CACHE_CAP: usize = 4096;

impl FromApi {
    pub fn new(client: kube::Client) -> FromApi {
        FromApi {
            api: kube::Api::all(client.clone()),
            client,
            timeout: Duration::from_secs(2),
            ttl: Duration::from_secs(30),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, name: &str) -> Option<Option<NamespaceInfo>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, info) = cache.get(name)?;
        (at.elapsed() < self.ttl).then(|| info.clone())
    }

    fn remember(&self, name: &str, info: Option<NamespaceInfo>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAP {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
        }
        cache.insert(name.to_string(), (Instant::now(), info));
    }
}

impl NamespaceSource for FromApi {
    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        Box::pin(async move {
            if let Some(hit) = self.cached(name) {
                return Ok(hit);
            }
            let fetched = tokio::time::timeout(self.timeout, self.api.get_opt(name))
                .await
                .map_err(|_| format!("the API server did not answer within {:?}", self.timeout))?
                .map_err(|e| format!("the API server refused: {e}"))?;
            let mut info = fetched.as_ref().map(info);
            if let Some(info) = info.as_mut() {
                // The LimitRanges the LimitRanger plugin will apply after the webhook.
                let ranges: kube::Api<LimitRange> = kube::Api::namespaced(self.client.clone(), name);
                match tokio::time::timeout(self.timeout, ranges.list(&Default::default())).await {
                    Ok(Ok(list)) => info.limit_ranges = list.items.iter().flat_map(crate::limit_range::bounds).collect(),
                    Ok(Err(e)) => info.limit_ranges_unread = Some(format!("the API server refused: {e}")),
                    Err(_) => info.limit_ranges_unread = Some(format!("the API server did not answer within {:?}", self.timeout)),
                }
            }
            self.remember(name, info.clone());
            Ok(info)
        })
    }
}
