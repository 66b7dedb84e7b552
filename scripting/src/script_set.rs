//! A set of scripts with their `env`, as one unit: what a sidecar or the hub runs. It is
//! read from the mounts (the scripts ConfigMap, the env Secret) or pushed by the hub, and
//! started as a fresh [`ScriptHost`] each time it changes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{ConsoleSink, HostConfig, ScriptHost};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptSet {
    /// File name → source.
    pub scripts: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
}

/// A started set: the host, and what loaded and what did not.
pub struct Started {
    pub host: ScriptHost,
    pub loaded: Vec<String>,
    /// `file: why` of each script that did not load (the others run).
    pub failed: Vec<String>,
}

/// Regular files of a mounted volume, name → content, without the kubelet's `..data`
/// bookkeeping entries. A missing directory is empty.
fn mounted_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || !keep(&name) || !entry.path().is_file() {
            continue;
        }
        let content = std::fs::read_to_string(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        files.insert(name, content);
    }
    Ok(files)
}

/// `all`, `none`, or file names (with or without `.js`), comma separated: the pod's
/// `remora.dev/scripts` annotation.
pub fn selected(selection: &str, name: &str) -> bool {
    let selection = selection.trim();
    if selection.is_empty() || selection == "all" {
        return true;
    }
    if selection == "none" {
        return false;
    }
    let stem = name.strip_suffix(".js").unwrap_or(name);
    selection.split(',').map(str::trim).any(|s| s == name || s == stem)
}

impl ScriptSet {
    /// The `*.js` of `scripts_dir` and one `env` variable per file of `env_dir`.
    pub fn read(scripts_dir: &Path, env_dir: &Path) -> Result<ScriptSet, String> {
        Ok(ScriptSet { scripts: mounted_files(scripts_dir, |n| n.ends_with(".js"))?, env: mounted_files(env_dir, |_| true)? })
    }

    /// Starts the scripts `selection` picks, in name order, on a new host with this
    /// set's `env`; `None` when it picks none.
    pub fn start(&self, selection: &str, mut config: HostConfig, console: Box<dyn ConsoleSink>) -> Result<Option<Started>, String> {
        let picked: Vec<(&String, &String)> = self.scripts.iter().filter(|(name, _)| selected(selection, name)).collect();
        if picked.is_empty() {
            return Ok(None);
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("data directory {}: {e}", config.data_dir.display()))?;
        config.env = self.env.clone();
        let mut host = ScriptHost::new(config, console)?;
        let (mut loaded, mut failed) = (Vec::new(), Vec::new());
        for (name, source) in picked {
            match host.load_source(name, source) {
                Ok(_) => loaded.push(name.clone()),
                Err(e) => failed.push(e),
            }
        }
        Ok(Some(Started { host, loaded, failed }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_name_with_or_without_js() {
        assert!(selected("all", "errors.js"));
        assert!(selected("", "errors.js"));
        assert!(!selected("none", "errors.js"));
        assert!(selected("slow.js, errors", "errors.js"));
        assert!(!selected("slow.js", "errors.js"));
    }

    #[test]
    fn mounts_skip_the_kubelet_bookkeeping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = dir.path().join("env");
        std::fs::create_dir(&env).expect("mkdir");
        std::fs::write(env.join("SLACK_WEBHOOK"), "https://hooks.example/x").expect("write");
        std::fs::create_dir(env.join("..2026_11_28")).expect("mkdir");
        std::fs::write(env.join("..data"), "not a variable").expect("write");
        std::fs::write(dir.path().join("a.js"), "1").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        let set = ScriptSet::read(dir.path(), &env).expect("read");
        assert_eq!(set.env.len(), 1);
        assert_eq!(set.env["SLACK_WEBHOOK"], "https://hooks.example/x");
        assert_eq!(set.scripts.keys().collect::<Vec<_>>(), ["a.js"]);
        assert_eq!(ScriptSet::read(Path::new("/nonexistent"), Path::new("/nonexistent")).expect("empty"), ScriptSet::default());
    }
}
