//! The one directory `file.*` and `pcap.*` may touch. A path is taken relative to it and
//! refused when it escapes it lexically (`..`, an absolute path elsewhere); every open,
//! creation, rename and removal then goes through a handle on the directory (cap-std:
//! `openat2` with `RESOLVE_BENEATH` where the kernel has it, a component-by-component
//! walk with `O_NOFOLLOW` where not), so a symbolic link — there before or swapped in
//! between a check and a use — never leads out of it.
//!
//! What the scripts' files take counts against one byte quota with the per-stream PCAPs
//! ([`DataUsage`]): the data volume's emptyDir has a size limit, and a pod whose volume
//! passes it is evicted.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cap_std::fs::{Dir, OpenOptions};

/// The bytes the scripts' files take in the data directory (the per-stream PCAPs apart),
/// shared by every script host of a process and by the PCAP retention, which keeps the
/// PCAPs within what the scripts leave of the quota.
#[derive(Debug)]
pub struct DataUsage {
    /// Most the scripts' files may take; `u64::MAX`: no limit.
    limit: u64,
    used: AtomicU64,
    /// Left out of the count (the PCAP directory, which retention bounds).
    excluded: Option<PathBuf>,
}

impl DataUsage {
    pub fn new(limit: u64, excluded: Option<PathBuf>) -> Arc<DataUsage> {
        Arc::new(DataUsage { limit, used: AtomicU64::new(0), excluded })
    }

    pub fn unlimited() -> Arc<DataUsage> {
        Self::new(u64::MAX, None)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The scripts' files, as last counted or reserved.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Counts the files under `root` again (not following links, the excluded directory
    /// left out).
    pub fn recount(&self, root: &Path) -> u64 {
        let mut total = 0;
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if self.excluded.as_deref().is_some_and(|excluded| path.starts_with(excluded)) {
                    continue;
                }
                match entry.metadata() {
                    Ok(meta) if meta.is_dir() => pending.push(path),
                    Ok(meta) => total += meta.len(),
                    Err(_) => {}
                }
            }
        }
        self.used.store(total, Ordering::Relaxed);
        total
    }

    /// Takes `bytes` more for the scripts' files, counting again before refusing (files
    /// deleted meanwhile free their room).
    fn reserve(&self, root: &Path, bytes: u64) -> Result<(), String> {
        if self.limit == u64::MAX {
            return Ok(());
        }
        let fits = |used: u64| used.checked_add(bytes).is_some_and(|total| total <= self.limit);
        if !fits(self.used()) && !fits(self.recount(root)) {
            return Err(format!(
                "{bytes} more bytes would take the scripts' files past their quota of {} bytes in the data directory ({} used; the rest of the volume is for the PCAPs, remora.dev/pcap-retention): delete files first",
                self.limit,
                self.used()
            ));
        }
        self.used.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Debug)]
pub struct Sandbox {
    root: PathBuf,
    dir: Dir,
    usage: Arc<DataUsage>,
}

impl Sandbox {
    /// `root` is created when missing.
    pub fn new(root: &Path, usage: Arc<DataUsage>) -> std::io::Result<Sandbox> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let dir = Dir::open_ambient_dir(&root, cap_std::ambient_authority())?;
        usage.recount(&root);
        Ok(Sandbox { root, dir, usage })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (relative to the root, or absolute inside it) relative to the root; empty
    /// for the root itself.
    pub fn relative(&self, path: &str) -> Result<PathBuf, String> {
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        let joined = if Path::new(path).is_absolute() { PathBuf::from(path) } else { self.root.join(path) };
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
        match normal.strip_prefix(&self.root) {
            Ok(inside) => Ok(inside.to_path_buf()),
            Err(_) if Path::new(path).is_absolute() => Err(format!("{path:?} is outside the data directory {}", self.root.display())),
            Err(_) => Err(format!("{path:?} leaves the data directory {}", self.root.display())),
        }
    }

    /// The absolute path of `path` inside the data directory, for messages and for what
    /// helpers return to scripts; whether it can be used is decided when it is.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        self.relative(path).map(|inside| self.root.join(inside))
    }

    fn io<T>(&self, inside: &Path, result: std::io::Result<T>) -> Result<T, String> {
        result.map_err(|e| {
            // cap-std refuses a path that a link would take out of the directory with a
            // PermissionDenied of its own (no OS error code); the OS's EACCES is shown as is.
            if e.kind() == std::io::ErrorKind::PermissionDenied && e.raw_os_error().is_none() {
                format!("{}: not inside the data directory (a symbolic link leads out?): {e}", self.root.join(inside).display())
            } else {
                format!("{}: {e}", self.root.join(inside).display())
            }
        })
    }

    pub fn is_dir(&self, inside: &Path) -> bool {
        inside.as_os_str().is_empty() || self.dir.metadata(inside).is_ok_and(|m| m.is_dir())
    }

    /// Writes `bytes` as the whole file (made when missing).
    pub fn write(&self, inside: &Path, bytes: &[u8]) -> Result<(), String> {
        self.usage.reserve(&self.root, bytes.len() as u64)?;
        self.io(inside, self.dir.write(inside, bytes))
    }

    pub fn append(&self, inside: &Path, bytes: &[u8]) -> Result<(), String> {
        self.usage.reserve(&self.root, bytes.len() as u64)?;
        let mut file = self.io(inside, self.dir.open_with(inside, OpenOptions::new().create(true).append(true)))?;
        self.io(inside, file.write_all(bytes))
    }

    /// A new, empty file; refused when one is there.
    pub fn create_new(&self, inside: &Path) -> Result<(), String> {
        self.io(inside, self.dir.open_with(inside, OpenOptions::new().write(true).create_new(true))).map(|_| ())
    }

    /// A new file to write `bytes` of (a snapshot, an archive), opened beneath the root.
    pub fn create(&self, inside: &Path, bytes: u64) -> Result<std::fs::File, String> {
        self.usage.reserve(&self.root, bytes)?;
        self.io(inside, self.dir.open_with(inside, OpenOptions::new().write(true).create(true).truncate(true))).map(|f| f.into_std())
    }

    /// A file to read (to send, to merge), opened beneath the root.
    pub fn open(&self, inside: &Path) -> Result<std::fs::File, String> {
        self.io(inside, self.dir.open(inside)).map(|f| f.into_std())
    }

    pub fn create_dir_all(&self, inside: &Path) -> Result<(), String> {
        if inside.as_os_str().is_empty() {
            return Ok(());
        }
        self.io(inside, self.dir.create_dir_all(inside))
    }

    pub fn create_dir(&self, inside: &Path) -> Result<(), String> {
        self.io(inside, self.dir.create_dir(inside))
    }

    pub fn rename(&self, from: &Path, to: &Path) -> Result<(), String> {
        self.io(from, self.dir.rename(from, &self.dir, to))
    }

    pub fn copy(&self, from: &Path, to: &Path) -> Result<(), String> {
        let size = self.io(from, self.dir.metadata(from))?.len();
        self.usage.reserve(&self.root, size)?;
        self.io(from, self.dir.copy(from, &self.dir, to).map(|_| ()))
    }

    /// Removes a file, or a directory and everything in it (a link itself, never where
    /// it points); nothing there is no error (as the public implementation's
    /// `os.RemoveAll`: scripts clean up at load with it).
    pub fn remove(&self, inside: &Path) -> Result<(), String> {
        let meta = match self.dir.symlink_metadata(inside) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => self.io(inside, other)?,
        };
        let result = if meta.is_dir() { self.dir.remove_dir_all(inside) } else { self.dir.remove_file(inside) };
        self.usage.recount(&self.root);
        self.io(inside, result)
    }

    /// Counts the scripts' files again (after something wrote outside these methods).
    pub fn recount(&self) {
        self.usage.recount(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(dir: &Path, limit: u64) -> Sandbox {
        Sandbox::new(&dir.join("data"), DataUsage::new(limit, Some(dir.join("data/pcaps")))).expect("sandbox")
    }

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = sandbox(dir.path(), u64::MAX);
        let root = sandbox.root().to_path_buf();
        assert_eq!(sandbox.resolve("a/b.txt").expect("inside"), root.join("a/b.txt"));
        assert_eq!(sandbox.resolve("a/../b.txt").expect("inside"), root.join("b.txt"));
        assert_eq!(sandbox.relative(root.join("x").to_str().expect("utf8")).expect("absolute inside"), Path::new("x"));
        assert!(sandbox.resolve("../x").expect_err("escapes").contains("leaves the data directory"));
        assert!(sandbox.resolve("/etc/passwd").expect_err("outside").contains("outside the data directory"));
    }

    #[test]
    fn no_symbolic_link_leads_out_whenever_it_appears() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("secret"), "token").expect("write");
        let sandbox = sandbox(dir.path(), u64::MAX);
        let root = sandbox.root().to_path_buf();
        // A link to a directory outside, and one to a file outside, made after the
        // sandbox (as a swap between a check and a use would be).
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
        std::os::unix::fs::symlink(outside.join("secret"), root.join("file-link")).expect("symlink");
        for inside in ["link/secret", "file-link"] {
            let refused = sandbox.open(Path::new(inside)).expect_err("read through a link");
            assert!(refused.contains("not inside the data directory"), "{refused}");
        }
        assert!(sandbox.write(Path::new("link/new"), b"x").is_err());
        assert!(sandbox.write(Path::new("file-link"), b"overwritten").is_err());
        assert!(sandbox.append(Path::new("file-link"), b"appended").is_err());
        assert!(!outside.join("new").exists());
        assert_eq!(std::fs::read_to_string(outside.join("secret")).expect("read"), "token", "untouched");
        // Removing the link removes the link, not what it points to.
        sandbox.remove(Path::new("link")).expect("remove the link");
        assert!(outside.join("secret").exists());
    }

    #[test]
    fn the_scripts_files_stay_within_their_quota() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = sandbox(dir.path(), 1000);
        std::fs::create_dir_all(sandbox.root().join("pcaps")).expect("mkdir");
        std::fs::write(sandbox.root().join("pcaps/big.pcap"), vec![0u8; 5000]).expect("a PCAP, counted apart");
        sandbox.write(Path::new("a.txt"), &[1; 600]).expect("fits");
        let refused = sandbox.write(Path::new("b.txt"), &[1; 600]).expect_err("past the quota");
        assert!(refused.contains("quota of 1000 bytes") && refused.contains("delete files first"), "{refused}");
        assert!(!sandbox.root().join("b.txt").exists());
        assert!(sandbox.append(Path::new("a.txt"), &[1; 500]).is_err());
        // Deleting frees the room.
        sandbox.remove(Path::new("a.txt")).expect("delete");
        sandbox.write(Path::new("b.txt"), &[1; 600]).expect("fits again");
        assert!(sandbox.copy(Path::new("b.txt"), Path::new("c.txt")).is_err(), "a copy counts too");
        assert_eq!(sandbox.usage.recount(sandbox.root()), 600);
    }
}
