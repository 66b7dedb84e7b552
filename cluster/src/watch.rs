//! One small seam for every watch: a stream of [`Change`]s of one kind of object. The
//! kube implementation lists, then watches from the list's resourceVersion, and starts
//! over with a fresh list when the API server says the version is gone (410); each
//! fresh list is a [`Change::Reset`] with every object, so a consumer rebuilds its state
//! instead of patching a state that missed events. The directory implementation reads
//! object files (JSON or YAML, one object or a `List` each) and reports what changed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// What happened to the watched objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<K> {
    /// Every object there is now (a first list, or a re-list after the watch was lost).
    Reset(Vec<K>),
    /// An object was added or modified.
    Applied(K),
    Deleted(K),
}

/// A source of changes of one kind of object.
pub trait Watch<K>: Send + Sync {
    /// Changes from now on, starting with a [`Change::Reset`]. The stream retries on its
    /// own (with backoff) and does not end while the source lives.
    fn changes(&self) -> BoxStream<'static, Change<K>>;
}

/// Watches through the API server.
pub struct KubeWatch<K: Resource + Clone> {
    api: Api<K>,
    config: watcher::Config,
}

impl<K: Resource + Clone> KubeWatch<K> {
    pub fn new(api: Api<K>, config: watcher::Config) -> Self {
        KubeWatch { api, config }
    }
}

impl<K> Watch<K> for KubeWatch<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    fn changes(&self) -> BoxStream<'static, Change<K>> {
        use kube::runtime::WatchStreamExt;
        let kind = K::kind(&Default::default()).to_string();
        let events = watcher(self.api.clone(), self.config.clone()).default_backoff();
        // Objects of a list in progress, handed over whole at InitDone.
        let mut listing: Vec<K> = Vec::new();
        events
            .filter_map(move |event| {
                let change = match event {
                    Ok(watcher::Event::Init) => {
                        listing.clear();
                        None
                    }
                    Ok(watcher::Event::InitApply(object)) => {
                        listing.push(object);
                        None
                    }
                    Ok(watcher::Event::InitDone) => Some(Change::Reset(std::mem::take(&mut listing))),
                    Ok(watcher::Event::Apply(object)) => Some(Change::Applied(object)),
                    Ok(watcher::Event::Delete(object)) => Some(Change::Deleted(object)),
                    Err(e) => {
                        tracing::warn!(kind, "watch failed, retrying: {e}");
                        None
                    }
                };
                std::future::ready(change)
            })
            .boxed()
    }
}

/// Objects read from the files of a directory (`*.json`, `*.yaml`, `*.yml`; one object
/// or a `List` per file), read again every `every`: an object is known by its
/// namespace and name, and is applied again when its content changes.
pub struct DirWatch {
    dir: PathBuf,
    every: Duration,
}

impl DirWatch {
    pub fn new(dir: PathBuf, every: Duration) -> Self {
        DirWatch { dir, every }
    }
}

/// Reads the directory's objects of kind `kind`, by namespace/name; a file that does not
/// parse is skipped and named.
pub fn read_objects<K: DeserializeOwned + Resource>(dir: &std::path::Path, kind: &str) -> BTreeMap<String, (serde_json::Value, K)> {
    let mut objects = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return objects };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(extension, "json" | "yaml" | "yml") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let value: Result<serde_json::Value, String> = if extension == "json" {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_norway::from_str(&text).map_err(|e| e.to_string())
        };
        let value = match value {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(file = %path.display(), "object file skipped: {e}");
                continue;
            }
        };
        let items = match value.get("items") {
            Some(serde_json::Value::Array(items)) if value["kind"].as_str().is_some_and(|k| k.ends_with("List")) => items.clone(),
            _ => vec![value],
        };
        for item in items {
            if item["kind"].as_str() != Some(kind) {
                continue;
            }
            match serde_json::from_value::<K>(item.clone()) {
                Ok(object) => {
                    let key = format!("{}/{}", object.meta().namespace.as_deref().unwrap_or(""), object.meta().name.as_deref().unwrap_or(""));
                    objects.insert(key, (item, object));
                }
                Err(e) => tracing::warn!(file = %path.display(), "a {kind} object skipped: {e}"),
            }
        }
    }
    objects
}

impl<K> Watch<K> for DirWatch
where
    K: Resource + DeserializeOwned + Clone + Send + Sync + 'static,
    K::DynamicType: Default,
{
    fn changes(&self) -> BoxStream<'static, Change<K>> {
        let (dir, every) = (self.dir.clone(), self.every);
        let kind = K::kind(&Default::default()).to_string();
        let (sender, receiver) = tokio::sync::mpsc::channel::<Change<K>>(64);
        tokio::spawn(async move {
            let mut known: Option<BTreeMap<String, (serde_json::Value, K)>> = None;
            loop {
                let now = read_objects::<K>(&dir, &kind);
                let changes = match &known {
                    None => vec![Change::Reset(now.values().map(|(_, o)| o.clone()).collect())],
                    Some(before) => {
                        let mut changes = Vec::new();
                        for (key, (value, object)) in &now {
                            if before.get(key).is_none_or(|(old, _)| old != value) {
                                changes.push(Change::Applied(object.clone()));
                            }
                        }
                        for (key, (_, object)) in before {
                            if !now.contains_key(key) {
                                changes.push(Change::Deleted(object.clone()));
                            }
                        }
                        changes
                    }
                };
                for change in changes {
                    if sender.send(change).await.is_err() {
                        return;
                    }
                }
                known = Some(now);
                tokio::time::sleep(every).await;
            }
        });
        tokio_stream_from(receiver)
    }
}

fn tokio_stream_from<T: Send + 'static>(mut receiver: tokio::sync::mpsc::Receiver<T>) -> BoxStream<'static, T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed()
}

/// `namespace/name` of an object.
pub fn key_of<K: Resource>(object: &K) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}
