//! The one directory `file.*` and `pcap.*` may touch. A path is resolved against it and
//! refused when it escapes it: by `..`, as an absolute path elsewhere, or through a
//! symbolic link that points outside.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    /// `root` is created when missing.
    pub fn new(root: &Path) -> std::io::Result<Sandbox> {
        std::fs::create_dir_all(root)?;
        Ok(Sandbox { root: root.canonicalize()? })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path of `path` (relative to the root, or absolute inside it).
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        let joined = if Path::new(path).is_absolute() { PathBuf::from(path) } else { self.root.join(path) };
        // Lexical normalisation first: `..` may not climb out of the root.
        let mut normal = PathBuf::new();
        for component in joined.components() {
            match component {
                Component::ParentDir => {
                    if !normal.pop() {
                        return Err(format!("{path:?} leaves the data directory"));
                    }
                }
                Component::CurDir => {}
                other => normal.push(other),
            }
        }
        if !normal.starts_with(&self.root) {
            return Err(if Path::new(path).is_absolute() {
                format!("{path:?} is outside the data directory {}", self.root.display())
            } else {
                format!("{path:?} leaves the data directory {}", self.root.display())
            });
        }
        // Then the real path of the deepest part that exists: a link may not lead out.
        let mut existing = normal.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        let real = existing.canonicalize().map_err(|e| format!("{path:?}: {e}"))?;
        if !real.starts_with(&self.root) {
            return Err(format!("{path:?} leads outside the data directory through a symbolic link"));
        }
        match normal.strip_prefix(existing) {
            Ok(rest) if !rest.as_os_str().is_empty() => Ok(real.join(rest)),
            _ => Ok(real),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox::new(&dir.path().join("data")).expect("sandbox");
        let root = sandbox.root().to_path_buf();
        assert_eq!(sandbox.resolve("a/b.txt").expect("inside"), root.join("a/b.txt"));
        assert_eq!(sandbox.resolve("a/../b.txt").expect("inside"), root.join("b.txt"));
        assert_eq!(sandbox.resolve(root.join("x").to_str().expect("utf8")).expect("absolute inside"), root.join("x"));
        assert!(sandbox.resolve("../x").expect_err("escapes").contains("leaves the data directory"));
        assert!(sandbox.resolve("/etc/passwd").expect_err("outside").contains("outside the data directory"));
        std::os::unix::fs::symlink("/etc", root.join("link")).expect("symlink");
        assert!(sandbox.resolve("link/passwd").expect_err("link").contains("symbolic link"));
    }
}
