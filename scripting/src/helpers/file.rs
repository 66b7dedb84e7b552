//! `file.*`: files in the data directory only (see `sandbox.rs`).
//!
//! helpers.md says `file.write` and `file.append` throw when the file does not exist,
//! while its own example writes a new file: both create the file when it is missing.

use std::path::{Path, PathBuf};

use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, Object, Result};

use super::{fail, SharedRef};
use crate::host::wall_ns;

/// A short random suffix for temporary names.
fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (wall_ns() as u64).to_le_bytes()[..6].try_into().unwrap_or_default();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn resolve(ctx: &Ctx<'_>, shared: &SharedRef, helper: &str, path: &str) -> Result<PathBuf> {
    shared.borrow().sandbox.resolve(path).map_err(|e| fail(ctx, helper, e))
}

fn io<T>(ctx: &Ctx<'_>, helper: &str, path: &Path, result: std::io::Result<T>) -> Result<T> {
    result.map_err(|e| fail(ctx, helper, format!("{}: {e}", path.display())))
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
        let p = resolve(&ctx, &s, "file.write", &path)?;
        io(&ctx, "file.write", &p, std::fs::write(&p, content))
    })?)?;

    let s = shared.clone();
    file.set("append", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String, content: String| -> Result<()> {
        use std::io::Write;
        let p = resolve(&ctx, &s, "file.append", &path)?;
        let opened = std::fs::OpenOptions::new().create(true).append(true).open(&p);
        let mut f = io(&ctx, "file.append", &p, opened)?;
        io(&ctx, "file.append", &p, f.write_all(content.as_bytes()))
    })?)?;

    let s = shared.clone();
    file.set("move", Function::new(ctx.clone(), move |ctx: Ctx<'js>, from: String, to: String| -> Result<()> {
        let src = resolve(&ctx, &s, "file.move", &from)?;
        let mut dst = resolve(&ctx, &s, "file.move", &to)?;
        // Into a directory: keep the base name.
        if to.ends_with('/') || dst.is_dir() {
            io(&ctx, "file.move", &dst, std::fs::create_dir_all(&dst))?;
            dst = dst.join(src.file_name().unwrap_or_default());
        }
        io(&ctx, "file.move", &src, std::fs::rename(&src, &dst))
    })?)?;

    let s = shared.clone();
    file.set("copy", Function::new(ctx.clone(), move |ctx: Ctx<'js>, from: String, to: String| -> Result<()> {
        let src = resolve(&ctx, &s, "file.copy", &from)?;
        let mut dst = resolve(&ctx, &s, "file.copy", &to)?;
        if to.ends_with('/') || dst.is_dir() {
            dst = dst.join(src.file_name().unwrap_or_default());
        }
        io(&ctx, "file.copy", &src, std::fs::copy(&src, &dst).map(|_| ()))
    })?)?;

    let s = shared.clone();
    file.set("delete", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| -> Result<()> {
        let p = resolve(&ctx, &s, "file.delete", &path)?;
        if p == s.borrow().sandbox.root() {
            return Err(fail(&ctx, "file.delete", "refusing to delete the data directory itself"));
        }
        let result = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        io(&ctx, "file.delete", &p, result)
    })?)?;

    let s = shared.clone();
    file.set("mkdir", Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| -> Result<()> {
        let p = resolve(&ctx, &s, "file.mkdir", &path)?;
        io(&ctx, "file.mkdir", &p, std::fs::create_dir_all(&p))
    })?)?;

    let s = shared.clone();
    file.set("mkdirTemp", Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: Opt<String>, dir: Opt<String>| -> Result<String> {
        let parent = resolve(&ctx, &s, "file.mkdirTemp", dir.0.as_deref().filter(|d| !d.is_empty()).unwrap_or("."))?;
        io(&ctx, "file.mkdirTemp", &parent, std::fs::create_dir_all(&parent))?;
        let name = name.0.unwrap_or_default();
        let p = parent.join(format!("{}{}", component(&ctx, "file.mkdirTemp", "name", &name)?, random_suffix()));
        io(&ctx, "file.mkdirTemp", &p, std::fs::create_dir(&p))?;
        Ok(text(&p))
    })?)?;

    let s = shared.clone();
    file.set("temp", Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: Opt<String>, dir: Opt<String>, extension: Opt<String>| -> Result<String> {
        let parent = resolve(&ctx, &s, "file.temp", dir.0.as_deref().filter(|d| !d.is_empty()).unwrap_or("."))?;
        io(&ctx, "file.temp", &parent, std::fs::create_dir_all(&parent))?;
        let extension = extension.0.filter(|e| !e.is_empty()).unwrap_or_else(|| "txt".into());
        let name = name.0.unwrap_or_default();
        let name = component(&ctx, "file.temp", "name", &name)?;
        let extension = component(&ctx, "file.temp", "extension", extension.trim_start_matches('.'))?;
        let p = parent.join(format!("{name}{}.{extension}", random_suffix()));
        io(&ctx, "file.temp", &p, std::fs::File::create_new(&p).map(|_| ()))?;
        Ok(text(&p))
    })?)?;

    let s = shared.clone();
    file.set("tar", Function::new(ctx.clone(), move |ctx: Ctx<'js>, dir: String| -> Result<String> {
        let src = resolve(&ctx, &s, "file.tar", &dir)?;
        if !src.is_dir() {
            return Err(fail(&ctx, "file.tar", format!("{dir:?} is not a directory")));
        }
        let now = s.borrow().now_ns() / 1_000_000_000;
        let out = s.borrow().sandbox.root().join(format!("remora_{now}.tar.gz"));
        io(&ctx, "file.tar", &out, write_tar_gz(&src, &out))?;
        Ok(text(&out))
    })?)?;

    Ok(file)
}

/// A gzip-compressed tar of the files under `dir`, paths relative to it.
fn write_tar_gz(dir: &Path, out: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)?;
    tar.into_inner()?.finish()?;
    Ok(())
}
