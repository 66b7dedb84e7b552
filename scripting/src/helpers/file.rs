//! `file.*`: files in the data directory only (see `sandbox.rs`).
//!
//! helpers.md says `file.write` and `file.append` throw when the file does not exist,
//! while its own example writes a new file: both create the file when it is missing.

use std::path::{Path, PathBuf};

use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, Object, Result};

use super::{fail, SharedRef};
use crate::host::wall_ns;
use crate::sandbox::Sandbox;

/// A short random suffix for temporary names.
fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (wall_ns() as u64).to_le_bytes()[..6].try_into().unwrap_or_default();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `path` relative to the data directory (lexically; the use itself is confined).
fn inside(ctx: &Ctx<'_>, shared: &SharedRef, helper: &str, path: &str) -> Result<PathBuf> {
    shared.borrow().sandbox.relative(path).map_err(|e| fail(ctx, helper, e))
}

/// Runs `work` on the sandbox; its error becomes the helper's.
fn on<T>(ctx: &Ctx<'_>, shared: &SharedRef, helper: &str, work: impl FnOnce(&Sandbox) -> std::result::Result<T, String>) -> Result<T> {
    work(&shared.borrow().sandbox).map_err(|e| fail(ctx, helper, e))
}

/// A name prefix or extension for `file.temp`/`file.mkdirTemp`: one path component's
/// part, so the new file stays in the directory it is made in (`/dev/shm/x` or `../x`
/// would leave the data directory).
fn component<'a>(ctx: &Ctx<'_>, helper: &str, what: &str, part: &'a str) -> Result<&'a str> {
    if part.contains(['/', '\\', '\0']) || part == ".." {
        return Err(fail(ctx, helper, format!("the {what} {part:?} is not a file name part (no '/', '\\' or '..')")));
    }
    Ok(part)
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let file = Object::new(ctx.clone())?;

    let s = shared.clone();
    file.set("write", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String, content: String| -> Result<()> {
        let p = inside(&ctx, &s, "file.write", &path)?;
        on(&ctx, &s, "file.write", |sandbox| sandbox.write(&p, content.as_bytes()))
    })?)?;

    let s = shared.clone();
    file.set("append", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String, content: String| -> Result<()> {
        let p = inside(&ctx, &s, "file.append", &path)?;
        on(&ctx, &s, "file.append", |sandbox| sandbox.append(&p, content.as_bytes()))
    })?)?;

    let s = shared.clone();
    file.set("move", Function::new(ctx.clone(), move |ctx: Ctx<'js>, from: String, to: String| -> Result<()> {
        let src = inside(&ctx, &s, "file.move", &from)?;
        let mut dst = inside(&ctx, &s, "file.move", &to)?;
        on(&ctx, &s, "file.move", |sandbox| {
            // Into a directory: keep the base name.
            if to.ends_with('/') || sandbox.is_dir(&dst) {
                sandbox.create_dir_all(&dst)?;
                dst = dst.join(src.file_name().unwrap_or_default());
            }
            sandbox.rename(&src, &dst)
        })
    })?)?;

    let s = shared.clone();
    file.set("copy", Function::new(ctx.clone(), move |ctx: Ctx<'js>, from: String, to: String| -> Result<()> {
        let src = inside(&ctx, &s, "file.copy", &from)?;
        let mut dst = inside(&ctx, &s, "file.copy", &to)?;
        on(&ctx, &s, "file.copy", |sandbox| {
            if to.ends_with('/') || sandbox.is_dir(&dst) {
                dst = dst.join(src.file_name().unwrap_or_default());
            }
            sandbox.copy(&src, &dst)
        })
    })?)?;

    let s = shared.clone();
    file.set("delete", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| -> Result<()> {
        let p = inside(&ctx, &s, "file.delete", &path)?;
        if p.as_os_str().is_empty() {
            return Err(fail(&ctx, "file.delete", "refusing to delete the data directory itself"));
        }
        on(&ctx, &s, "file.delete", |sandbox| sandbox.remove(&p))
    })?)?;

    let s = shared.clone();
    file.set("mkdir", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| -> Result<()> {
        let p = inside(&ctx, &s, "file.mkdir", &path)?;
        on(&ctx, &s, "file.mkdir", |sandbox| sandbox.create_dir_all(&p))
    })?)?;

    let s = shared.clone();
    file.set("mkdirTemp", Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: Opt<String>, dir: Opt<String>| -> Result<String> {
        let parent = inside(&ctx, &s, "file.mkdirTemp", dir.0.as_deref().filter(|d| !d.is_empty()).unwrap_or("."))?;
        let name = name.0.unwrap_or_default();
        let p = parent.join(format!("{}{}", component(&ctx, "file.mkdirTemp", "name", &name)?, random_suffix()));
        on(&ctx, &s, "file.mkdirTemp", |sandbox| {
            sandbox.create_dir_all(&parent)?;
            sandbox.create_dir(&p)?;
            Ok(text(&sandbox.root().join(&p)))
        })
    })?)?;

    let s = shared.clone();
    file.set("temp", Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: Opt<String>, dir: Opt<String>, extension: Opt<String>| -> Result<String> {
        let parent = inside(&ctx, &s, "file.temp", dir.0.as_deref().filter(|d| !d.is_empty()).unwrap_or("."))?;
        let extension = extension.0.filter(|e| !e.is_empty()).unwrap_or_else(|| "txt".into());
        let name = name.0.unwrap_or_default();
        let name = component(&ctx, "file.temp", "name", &name)?;
        let extension = component(&ctx, "file.temp", "extension", extension.trim_start_matches('.'))?;
        let p = parent.join(format!("{name}{}.{extension}", random_suffix()));
        on(&ctx, &s, "file.temp", |sandbox| {
            sandbox.create_dir_all(&parent)?;
            sandbox.create_new(&p)?;
            Ok(text(&sandbox.root().join(&p)))
        })
    })?)?;

    let s = shared.clone();
    file.set("tar", Function::new(ctx.clone(), move |ctx: Ctx<'js>, dir: String| -> Result<String> {
        let src = inside(&ctx, &s, "file.tar", &dir)?;
        let now = s.borrow().now_ns() / 1_000_000_000;
        on(&ctx, &s, "file.tar", |sandbox| {
            if !sandbox.is_dir(&src) {
                return Err(format!("{dir:?} is not a directory"));
            }
            // The archive is at most what it holds: its files' bytes are reserved first.
            let holds = tree_bytes(&sandbox.root().join(&src));
            let name = PathBuf::from(format!("remora_{now}.tar.gz"));
            let out = sandbox.create(&name, holds)?;
            write_tar_gz(&sandbox.root().join(&src), out).map_err(|e| format!("{}: {e}", sandbox.root().join(&name).display()))?;
            sandbox.recount();
            Ok(text(&sandbox.root().join(&name)))
        })
    })?)?;

    Ok(file)
}

/// Bytes of the files under `dir` (links not followed).
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(meta) if meta.is_dir() => tree_bytes(&e.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A gzip-compressed tar of the files under `dir`, paths relative to it, into `file`.
fn write_tar_gz(dir: &Path, file: std::fs::File) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)?;
    tar.into_inner()?.finish()?;
    Ok(())
}
