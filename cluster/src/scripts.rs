//! The scripts ConfigMap and the env Secret (the chart's `remora-scripts` and
//! `remora-env` in Remora's namespace): followed by the hub, which hands every change to
//! the sidecars within seconds, and written by `PUT /api/scripts/NAME` and by
//! `remora scripts --source DIR` when no hub address is given.

use std::collections::BTreeMap;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher;
use kube::Api;

use crate::watch::{Change, KubeWatch, Watch};

/// Scripts (file name → source), or env (name → value).
pub type Contents = BTreeMap<String, String>;
/// Scripts and env.
pub type Scripts = (Contents, Contents);

#[derive(Debug, thiserror::Error)]
pub enum ScriptsError {
    #[error("the ConfigMap {namespace}/{name} does not exist (install the chart, or create it)")]
    NoConfigMap { namespace: String, name: String },
    #[error("not allowed to {verb} the ConfigMap {namespace}/{name}: {message}")]
    Forbidden { verb: &'static str, namespace: String, name: String, message: String },
    #[error("the Kubernetes API: {0}")]
    Api(#[from] kube::Error),
}

pub struct ScriptsInCluster {
    configmaps: Api<ConfigMap>,
    secrets: Api<Secret>,
    namespace: String,
    configmap: String,
    secret: String,
}

fn scripts_of(configmap: &ConfigMap) -> BTreeMap<String, String> {
    configmap.data.iter().flatten().filter(|(name, _)| name.ends_with(".js")).map(|(n, s)| (n.clone(), s.clone())).collect()
}

fn env_of(secret: &Secret) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = secret.data.iter().flatten().map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned())).collect();
    env.extend(secret.string_data.iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// The object among those of a change that has `name` (the watch is narrowed to it, but
/// a list answers with what the field selector let through).
fn named<K: kube::Resource>(objects: &[K], name: &str) -> Option<usize> {
    objects.iter().position(|o| o.meta().name.as_deref() == Some(name))
}

impl ScriptsInCluster {
    pub fn new(client: kube::Client, namespace: &str, configmap: &str, secret: &str) -> ScriptsInCluster {
        ScriptsInCluster {
            configmaps: Api::namespaced(client.clone(), namespace),
            secrets: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            configmap: configmap.to_string(),
            secret: secret.to_string(),
        }
    }

    pub fn describe(&self) -> String {
        format!("configmap:{}/{}", self.namespace, self.configmap)
    }

    /// The scripts and env after every change of either object; the first once both
    /// have been listed. A deleted object counts as empty.
    pub fn changes(&self) -> BoxStream<'static, Scripts> {
        let only = |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
        let configmaps = KubeWatch::new(self.configmaps.clone(), only(&self.configmap)).changes().map(Either::Scripts);
        let secrets = KubeWatch::new(self.secrets.clone(), only(&self.secret)).changes().map(Either::Env);
        let (configmap, secret) = (self.configmap.clone(), self.secret.clone());
        // Each side once it has been listed.
        let mut state: (Option<Contents>, Option<Contents>) = (None, None);
        futures_util::stream::select(configmaps, secrets)
            .filter_map(move |change| {
                match change {
                    Either::Scripts(change) => state.0 = Some(Self::fold(change, &configmap, scripts_of, state.0.take())),
                    Either::Env(change) => state.1 = Some(Self::fold(change, &secret, env_of, state.1.take())),
                }
                let ready = match (&state.0, &state.1) {
                    (Some(scripts), Some(env)) => Some((scripts.clone(), env.clone())),
                    _ => None,
                };
                std::future::ready(ready)
            })
            .boxed()
    }

    /// The contents after one change of the object named `name`.
    fn fold<K: kube::Resource>(change: Change<K>, name: &str, read: fn(&K) -> BTreeMap<String, String>, before: Option<BTreeMap<String, String>>) -> BTreeMap<String, String> {
        match change {
            Change::Reset(objects) => named(&objects, name).map(|i| read(&objects[i])).unwrap_or_default(),
            Change::Applied(object) if object.meta().name.as_deref() == Some(name) => read(&object),
            Change::Deleted(object) if object.meta().name.as_deref() == Some(name) => BTreeMap::new(),
            _ => before.unwrap_or_default(),
        }
    }

    fn error(&self, verb: &'static str, e: kube::Error) -> ScriptsError {
        match e {
            kube::Error::Api(status) if status.code == 404 => ScriptsError::NoConfigMap { namespace: self.namespace.clone(), name: self.configmap.clone() },
            kube::Error::Api(status) if status.code == 403 => {
                ScriptsError::Forbidden { verb, namespace: self.namespace.clone(), name: self.configmap.clone(), message: status.message.clone() }
            }
            e => ScriptsError::Api(e),
        }
    }

    /// The scripts in the ConfigMap now.
    pub async fn scripts(&self) -> Result<BTreeMap<String, String>, ScriptsError> {
        let configmap = self.configmaps.get(&self.configmap).await.map_err(|e| self.error("get", e))?;
        Ok(scripts_of(&configmap))
    }

    /// Sets one script (a JSON merge patch of that one key). `Ok(false)`: it was already so.
    pub async fn put(&self, name: &str, source: &str) -> Result<bool, ScriptsError> {
        if self.scripts().await?.get(name).is_some_and(|s| s == source) {
            return Ok(false);
        }
        self.patch(serde_json::json!({"data": {name: source}})).await?;
        Ok(true)
    }

    /// Deletes one script. `Ok(false)`: there was none.
    pub async fn delete(&self, name: &str) -> Result<bool, ScriptsError> {
        if !self.scripts().await?.contains_key(name) {
            return Ok(false);
        }
        self.patch(serde_json::json!({"data": {name: null}})).await?;
        Ok(true)
    }

    async fn patch(&self, patch: serde_json::Value) -> Result<(), ScriptsError> {
        let params = PatchParams::default();
        self.configmaps.patch(&self.configmap, &params, &Patch::Merge(&patch)).await.map_err(|e| self.error("patch", e))?;
        Ok(())
    }
}

enum Either {
    Scripts(Change<ConfigMap>),
    Env(Change<Secret>),
}
