//! Where the scripts every sidecar runs come from, and where `PUT /api/scripts/NAME`
//! (`remora scripts --source DIR`) writes: the scripts ConfigMap and env Secret through
//! the API (`--kube --scripts-configmap NAME --env-secret NAME`: changes reach the
//! sidecars within seconds), or a directory (`--scripts-dir`: a plain folder in tests and
//! clusterless runs, or the ConfigMap's mount, read-only, which the kubelet refreshes
//! only about once a minute), read again every two seconds and after each write, with
//! the env from `--env-dir`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remora_cluster::scripts::ScriptsInCluster;
use remora_scripting::ScriptSet;

use crate::server::Hub;

/// Largest script accepted (a ConfigMap holds 1 MiB in all).
pub const MAX_SCRIPT: usize = 512 << 10;

/// The hub's source of scripts.
pub enum ScriptStore {
    Dir(Arc<DirStore>),
    ConfigMap(Arc<ConfigMapStore>),
}

impl ScriptStore {
    pub fn describe(&self) -> String {
        match self {
            ScriptStore::Dir(store) => store.describe(),
            ScriptStore::ConfigMap(store) => store.source.describe(),
        }
    }

    /// The scripts as last read.
    pub fn scripts(&self) -> BTreeMap<String, String> {
        match self {
            ScriptStore::Dir(store) => store.scripts(),
            ScriptStore::ConfigMap(store) => store.last.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.scripts.clone()).unwrap_or_default(),
        }
    }

    /// Writes one script; `Ok(false)`: it was already so.
    pub async fn put(&self, hub: &Arc<Hub>, name: &str, source: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        match self {
            ScriptStore::Dir(dir) => {
                let (dir, hub, name, source) = (dir.clone(), hub.clone(), name.to_string(), source.to_string());
                blocking(move || dir.put(&hub, &name, &source)).await
            }
            ScriptStore::ConfigMap(store) => store.source.put(name, source).await.map_err(|e| StoreError::Io(e.to_string())),
        }
    }

    /// Deletes one script; `Ok(false)`: there was none.
    pub async fn delete(&self, hub: &Arc<Hub>, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        match self {
            ScriptStore::Dir(dir) => {
                let (dir, hub, name) = (dir.clone(), hub.clone(), name.to_string());
                blocking(move || dir.delete(&hub, &name)).await
            }
            ScriptStore::ConfigMap(store) => store.source.delete(name).await.map_err(|e| StoreError::Io(e.to_string())),
        }
    }

    /// Hands the hub the scripts now and at every change: a directory read again every
    /// two seconds (the kubelet updates a ConfigMap mount in place, within about a minute
    /// of a change), or the ConfigMap's and Secret's watch.
    pub fn follow(&self, hub: &Arc<Hub>) -> std::io::Result<()> {
        match self {
            ScriptStore::Dir(dir) => follow_dir(hub, dir.clone()),
            ScriptStore::ConfigMap(configmap) => {
                follow_configmap(hub, configmap.clone());
                Ok(())
            }
        }
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Io(e.to_string()))?
}

/// The scripts ConfigMap and env Secret, followed through the API.
pub struct ConfigMapStore {
    pub source: ScriptsInCluster,
    last: Mutex<Option<ScriptSet>>,
}

impl ConfigMapStore {
    pub fn new(source: ScriptsInCluster) -> ConfigMapStore {
        ConfigMapStore { source, last: Mutex::new(None) }
    }
}

fn follow_configmap(hub: &Arc<Hub>, configmap: Arc<ConfigMapStore>) {
    let mut changes = configmap.source.changes();
    let hub = Arc::downgrade(hub);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some((scripts, env)) = changes.next().await {
            let Some(hub) = hub.upgrade() else { return };
            let set = ScriptSet { scripts, env };
            {
                let mut last = configmap.last.lock().unwrap_or_else(|p| p.into_inner());
                if last.as_ref() == Some(&set) {
                    continue;
                }
                *last = Some(set.clone());
            }
            tracing::info!(scripts = set.scripts.len(), env = set.env.len(), source = %configmap.source.describe(), "scripts changed");
            hub.set_scripts(set);
        }
    });
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} is not a script name: use letters, digits, '-', '_' and '.', ending in .js (at most 253 characters)")]
    BadName(String),
    #[error("the scripts come from a read-only mount ({0}); change the scripts ConfigMap instead, or run the hub with a writable --scripts-dir")]
    ReadOnly(String),
    #[error("{0}")]
    Io(String),
}

/// A script name as a ConfigMap key and a file name: `[-._a-zA-Z0-9]+`, ending in `.js`.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let valid = name.len() <= 253
        && name.ends_with(".js")
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::BadName(name.to_string()))
    }
}

pub struct DirStore {
    scripts_dir: PathBuf,
    env_dir: PathBuf,
    /// The set last handed to the hub.
    last: Mutex<Option<ScriptSet>>,
}

impl DirStore {
    pub fn new(scripts_dir: PathBuf, env_dir: PathBuf) -> DirStore {
        DirStore { scripts_dir, env_dir, last: Mutex::new(None) }
    }

    pub fn describe(&self) -> String {
        format!("dir:{}", self.scripts_dir.display())
    }

    /// Reads the directories and hands a changed set to the hub.
    pub fn refresh(&self, hub: &Hub) -> Result<(), String> {
        let set = ScriptSet::read(&self.scripts_dir, &self.env_dir)?;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() != Some(&set) {
            tracing::info!(scripts = set.scripts.len(), env = set.env.len(), dir = %self.scripts_dir.display(), "scripts read");
            *last = Some(set.clone());
            drop(last);
            hub.set_scripts(set);
        }
        Ok(())
    }

    /// The scripts as last read.
    pub fn scripts(&self) -> BTreeMap<String, String> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.scripts.clone()).unwrap_or_default()
    }

    fn io(&self, path: &Path, e: std::io::Error) -> StoreError {
        // EROFS (30): a ConfigMap mount.
        if e.raw_os_error() == Some(30) || e.kind() == std::io::ErrorKind::PermissionDenied {
            return StoreError::ReadOnly(self.scripts_dir.display().to_string());
        }
        StoreError::Io(format!("{}: {e}", path.display()))
    }

    /// Writes a script (whole: a temporary file renamed over it). `Ok(false)`: unchanged.
    pub fn put(&self, hub: &Hub, name: &str, source: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        let path = self.scripts_dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == source) {
            return Ok(false);
        }
        let temp = self.scripts_dir.join(format!(".{name}.uploading"));
        std::fs::write(&temp, source).map_err(|e| self.io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| self.io(&path, e))?;
        self.refresh(hub).map_err(StoreError::Io)?;
        Ok(true)
    }

    /// Deletes a script; `Ok(false)`: there was none.
    pub fn delete(&self, hub: &Hub, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        let path = self.scripts_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                self.refresh(hub).map_err(StoreError::Io)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(&path, e)),
        }
    }
}

fn follow_dir(hub: &Arc<Hub>, dir: Arc<DirStore>) -> std::io::Result<()> {
    let hub = Arc::downgrade(hub);
    std::thread::Builder::new().name("script-mounts".into()).spawn(move || {
        let mut complained = false;
        loop {
            let Some(hub) = hub.upgrade() else { return };
            match dir.refresh(&hub) {
                Ok(()) => complained = false,
                Err(e) if !complained => {
                    complained = true;
                    tracing::warn!("scripts not read (kept as they were): {e}");
                }
                Err(_) => {}
            }
            drop(hub);
            std::thread::sleep(Duration::from_secs(2));
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_are_configmap_keys_ending_in_js() {
        for good in ["a.js", "slow-calls_v2.js", "errors.and.more.js"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["a", "../a.js", "a/b.js", ".hidden.js", "with space.js", "a.js.txt", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
