//! `pcap.*`: the per-stream PCAP files. `pcap.path(stream)` names one,
//! `pcap.snapshot(selected?, dir?)` merges them (in time order) into
//! `<UNIX_TIMESTAMP>.pcap` in the data directory, `pcap.nameResolutionHistory()` returns
//! the IP → name history (empty offline: no cluster resolves names there).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::{fail, SharedRef};

fn pcap_dir(ctx: &Ctx<'_>, shared: &SharedRef, helper: &str) -> Result<PathBuf> {
    shared
        .borrow()
        .pcap_dir
        .clone()
        .ok_or_else(|| fail(ctx, helper, "no per-stream PCAP files are kept in this run (replay with --scripts keeps them)"))
}

fn stream_name<'a>(ctx: &Ctx<'_>, helper: &str, name: &'a str) -> Result<&'a str> {
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Err(fail(ctx, helper, format!("{name:?} is not a stream name (the base name in data.stream)")));
    }
    Ok(name)
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let pcap = Object::new(ctx.clone())?;

    let s = shared.clone();
    pcap.set("path", Function::new(ctx.clone(), move |ctx: Ctx<'js>, stream: String| -> Result<String> {
        let dir = pcap_dir(&ctx, &s, "pcap.path")?;
        Ok(dir.join(stream_name(&ctx, "pcap.path", &stream)?).to_string_lossy().into_owned())
    })?)?;

    let s = shared.clone();
    pcap.set(
        "snapshot",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, first: Opt<Value<'js>>, second: Opt<String>| -> Result<String> {
            let helper = "pcap.snapshot";
            // The documented example passes the directory alone: accept a string first.
            let (selected, dir): (Option<Vec<String>>, Option<String>) = match first.0 {
                Some(v) if v.is_string() => (None, v.as_string().and_then(|s| s.to_string().ok())),
                Some(v) if v.is_array() => (Some(v.get::<Vec<String>>().map_err(|_| fail(&ctx, helper, "the selection must be an array of stream names"))?), second.0),
                Some(v) if v.is_undefined() || v.is_null() => (None, second.0),
                Some(_) => return Err(fail(&ctx, helper, "the first argument must be an array of stream names or a directory")),
                None => (None, None),
            };
            let source = match dir.filter(|d| !d.is_empty()) {
                Some(d) => s.borrow().sandbox.resolve(&d).map_err(|e| fail(&ctx, helper, e))?,
                None => pcap_dir(&ctx, &s, helper)?,
            };
            s.borrow_mut().flush_pcaps();
            let files = match selected {
                Some(names) => names.iter().map(|n| stream_name(&ctx, helper, n).map(|n| source.join(n))).collect::<Result<Vec<_>>>()?,
                None => {
                    let mut all: Vec<PathBuf> = std::fs::read_dir(&source)
                        .map_err(|e| fail(&ctx, helper, format!("{}: {e}", source.display())))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
                        .collect();
                    all.sort();
                    all
                }
            };
            let now = s.borrow().now_ns() / 1_000_000_000;
            let out = {
                let shared = s.borrow();
                let sandbox = &shared.sandbox;
                // Inputs in the data directory are opened beneath it first: libpcap then
                // reads them by path, and no link may have led them out.
                let mut bytes = 0;
                for file in &files {
                    if let Ok(inside) = sandbox.relative(&file.to_string_lossy()) {
                        let opened = sandbox.open(&inside).map_err(|e| fail(&ctx, helper, e))?;
                        bytes += opened.metadata().map_or(0, |m| m.len());
                    }
                }
                let mut name = PathBuf::from(format!("{now}.pcap"));
                let mut n = 1;
                while sandbox.root().join(&name).exists() {
                    name = PathBuf::from(format!("{now}-{n}.pcap"));
                    n += 1;
                }
                // The merge is at most its inputs: that room is taken from the quota first.
                sandbox.create(&name, bytes).map_err(|e| fail(&ctx, helper, e))?;
                sandbox.root().join(name)
            };
            merge(&files, &out).map_err(|e| fail(&ctx, helper, e))?;
            s.borrow().sandbox.recount();
            Ok(out.to_string_lossy().into_owned())
        })?,
    )?;

    let s = shared.clone();
    pcap.set("nameResolutionHistory", Function::new(ctx.clone(), move |ctx: Ctx<'js>| -> Result<Object<'js>> {
        let history = Object::new(ctx.clone())?;
        for (ts, names) in &s.borrow().name_history {
            let at = Object::new(ctx.clone())?;
            for (ip, (name, namespace)) in names {
                let entry = Object::new(ctx.clone())?;
                entry.set("name", name.as_str())?;
                entry.set("namespace", namespace.as_str())?;
                at.set(ip.as_str(), entry)?;
            }
            history.set(ts.to_string(), at)?;
        }
        Ok(history)
    })?)?;

    Ok(pcap)
}

/// Merges capture files into one, packets in time order (libpcap reads and writes).
pub(crate) fn merge(files: &[PathBuf], out: &Path) -> std::result::Result<(), String> {
    let mut readers = Vec::new();
    for file in files {
        let capture = pcap::Capture::from_file_with_precision(file, pcap::Precision::Nano).map_err(|e| format!("{}: {e}", file.display()))?;
        readers.push(capture);
    }
    let link = readers.first().map_or(pcap::Linktype::ETHERNET, |r| r.get_datalink());
    let dead = pcap::Capture::dead_with_precision(link, pcap::Precision::Nano).map_err(|e| e.to_string())?;
    let mut writer = dead.savefile(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // (time, reader) of each reader's next packet; its bytes wait in `heads`.
    let mut heads: Vec<Option<(pcap::PacketHeader, Vec<u8>)>> = Vec::new();
    let mut order = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        let next = reader.next_packet().ok().map(|p| (*p.header, p.data.to_vec()));
        if let Some((h, _)) = &next {
            order.push(Reverse(((h.ts.tv_sec, h.ts.tv_usec), i)));
        }
        heads.push(next);
    }
    while let Some(Reverse((_, i))) = order.pop() {
        if let Some((header, data)) = heads[i].take() {
            writer.write(&pcap::Packet::new(&header, &data));
        }
        let next = readers[i].next_packet().ok().map(|p| (*p.header, p.data.to_vec()));
        if let Some((h, _)) = &next {
            order.push(Reverse(((h.ts.tv_sec, h.ts.tv_usec), i)));
        }
        heads[i] = next;
    }
    writer.flush().map_err(|e| e.to_string())
}
