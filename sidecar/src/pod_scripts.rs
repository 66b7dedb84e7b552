//! The live sidecar's scripts: `*.js` from the scripts mount (a ConfigMap volume), the
//! selection of the pod's `remora.dev/scripts` annotation, and `env` from the env mount
//! (a Secret volume: one file per variable, the reference's `scripting.env`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use remora_scripting::{script_files, Clock, ConsoleSink, HostConfig, ScriptHost};

/// What was loaded, for the start-up log.
pub struct PodScripts {
    pub host: ScriptHost,
    pub loaded: Vec<String>,
    /// `file: why` of each script that did not load (the others run).
    pub failed: Vec<String>,
}

/// `all`, `none`, or file names (with or without `.js`), comma separated.
fn selected(selection: &str, file: &Path) -> bool {
    let selection = selection.trim();
    if selection.is_empty() || selection == "all" {
        return true;
    }
    if selection == "none" {
        return false;
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(".js").unwrap_or(name);
    selection.split(',').map(str::trim).any(|s| s == name || s == stem)
}

/// `env` from a Secret mount: each regular file is a variable (the kubelet's `..data`
/// bookkeeping entries are skipped). A missing directory is an empty `env`.
pub fn env_from_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return env };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || !entry.path().is_file() {
            continue;
        }
        if let Ok(value) = std::fs::read_to_string(entry.path()) {
            env.insert(name, value);
        }
    }
    env
}

/// Loads the selected scripts of `scripts_dir`; `None` when there is none to run.
/// Console lines go to `console` (stderr, and the hub's console stream when connected).
pub fn load(
    scripts_dir: &Path,
    selection: &str,
    env_dir: &Path,
    data_dir: PathBuf,
    console: Box<dyn ConsoleSink>,
) -> Result<Option<PodScripts>, String> {
    if !scripts_dir.is_dir() || selection.trim() == "none" {
        return Ok(None);
    }
    let files: Vec<PathBuf> = script_files(&[scripts_dir.to_path_buf()])
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|f| selected(selection, f))
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("data directory {}: {e}", data_dir.display()))?;
    let mut config = HostConfig::new(data_dir);
    config.env = env_from_dir(env_dir);
    config.clock = Clock::Capture;
    let mut host = ScriptHost::new(config, console)?;
    let (mut loaded, mut failed) = (Vec::new(), Vec::new());
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match std::fs::read_to_string(&file) {
            Ok(source) => match host.load_source(&name, &source) {
                Ok(_) => loaded.push(name),
                Err(e) => failed.push(e),
            },
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    Ok(Some(PodScripts { host, loaded, failed }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_name_with_or_without_js() {
        let file = Path::new("/s/errors.js");
        assert!(selected("all", file));
        assert!(selected("", file));
        assert!(!selected("none", file));
        assert!(selected("slow.js, errors", file));
        assert!(!selected("slow.js", file));
    }

    #[test]
    fn env_files_skip_the_kubelet_bookkeeping() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("SLACK_WEBHOOK"), "https://hooks.example/x").expect("write");
        std::fs::create_dir(dir.path().join("..2026_11_28")).expect("mkdir");
        std::fs::write(dir.path().join("..data"), "not a variable").expect("write");
        let env = env_from_dir(dir.path());
        assert_eq!(env.len(), 1);
        assert_eq!(env["SLACK_WEBHOOK"], "https://hooks.example/x");
        assert!(env_from_dir(Path::new("/nonexistent")).is_empty());
    }
}
