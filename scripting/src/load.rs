//! Finding scripts and giving each its own script scope.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a .js file or a folder of them")]
    NotScript { path: PathBuf },
}

/// The `.js` files of each path (a folder's in name order, or the file itself).
pub fn script_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Read { path: path.clone(), source })?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| LoadError::Read { path: path.clone(), source })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "js") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else if path.extension().is_some_and(|x| x == "js") {
            files.push(path.clone());
        } else {
            return Err(LoadError::NotScript { path: path.clone() });
        }
    }
    Ok(files)
}

/// The hooks a script may define, in the order they are looked up.
pub const HOOK_NAMES: [&str; 7] = ["onPacketCaptured", "onItemCaptured", "onItemQueried", "onHubAction", "onPodEvent", "onJobPassed", "onJobFailed"];

/// Wraps a script so that its top-level `var`s and functions are its own (script scope)
/// while `this` is still the global object shared by all scripts. The wrapper starts on
/// the script's first line, so reported line numbers are the file's.
pub fn wrap(source: &str) -> String {
    let mut wrapped = String::with_capacity(source.len() + 400);
    wrapped.push_str("(function(){");
    wrapped.push_str(source);
    wrapped.push_str("\n;return {");
    for name in HOOK_NAMES {
        wrapped.push_str(&format!("{name}: typeof {name} === 'function' ? {name} : undefined,"));
    }
    wrapped.push_str("};}).call(this)");
    wrapped
}

/// A script's display name: its file name.
pub fn script_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}
