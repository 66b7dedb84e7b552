//! `remora scripts --source DIR [--watch]`: keeps the cluster's scripts equal to a local
//! folder of `.js` files, sending only what changed and saying what it did; `remora
//! scripts list|get|delete`. The scripts are written through the hub's API when a hub is
//! named (`--hub`, `REMORA_HUB_API`, the config file), else straight into the scripts
//! ConfigMap with the kubeconfig's credentials. The reference's `--set
//! scripting.source=DIR` and `--set scripting.sources[N]=FILE` are accepted too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::hub_api::{block_on, path_of, Hub};

/// The sources a `--set` names: `scripting.source=DIR`, `scripting.sources[N]=FILE`.
pub fn sources_from_set(sets: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut sources = Vec::new();
    for set in sets {
        let (key, value) = set.split_once('=').with_context(|| format!("--set {set}: expected KEY=VALUE"))?;
        let indexed = key.strip_prefix("scripting.sources[").and_then(|k| k.strip_suffix(']')).is_some_and(|n| n.parse::<usize>().is_ok());
        if key == "scripting.source" || indexed {
            sources.push(PathBuf::from(value));
        } else {
            bail!("--set {key}: only scripting.source=DIR and scripting.sources[N]=FILE are read here");
        }
    }
    Ok(sources)
}

/// The scripts of the sources: each folder's `*.js` and each file, by file name.
pub fn local_scripts(sources: &[PathBuf]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut scripts = BTreeMap::new();
    let mut from: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in remora_scripting::script_files(sources)? {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let source = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
        if let Some(other) = from.insert(name.clone(), file.clone()) {
            bail!("{} and {} have the same name; the cluster keeps scripts by file name", other.display(), file.display());
        }
        scripts.insert(name, source);
    }
    Ok(scripts)
}

fn script_path(name: &str) -> String {
    path_of(&["api", "scripts", name])
}

/// Where the cluster's scripts are written.
pub enum Target {
    Hub(Hub),
    ConfigMap(Box<remora_cluster::scripts::ScriptsInCluster>),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Hub(hub) => hub.address.clone(),
            Target::ConfigMap(configmap) => configmap.describe(),
        }
    }

    async fn scripts(&self) -> anyhow::Result<BTreeMap<String, String>> {
        match self {
            Target::Hub(hub) => {
                let body = hub.json(hub.get("/api/scripts")).await?;
                Ok(body["scripts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["source"].as_str()?.to_string())))
                    .collect())
            }
            Target::ConfigMap(configmap) => Ok(configmap.scripts().await?),
        }
    }

    async fn put(&self, name: &str, source: &str) -> anyhow::Result<()> {
        match self {
            Target::Hub(hub) => {
                hub.json(hub.put(&script_path(name)).body(source.to_string())).await?;
            }
            Target::ConfigMap(configmap) => {
                configmap.put(name, source).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, name: &str) -> anyhow::Result<bool> {
        match self {
            Target::Hub(hub) => {
                let response = hub.send(hub.delete(&script_path(name))).await?;
                let status = response.status().as_u16();
                if status == 404 {
                    return Ok(false);
                }
                let body = response.json().await.unwrap_or(serde_json::Value::Null);
                hub.check(status, &body)?;
                Ok(true)
            }
            Target::ConfigMap(configmap) => Ok(configmap.delete(name).await?),
        }
    }
}


/// One pass: sends what differs, deletes what was synced before and is gone from the
/// sources. Returns the lines to print.
async fn sync_once(target: &Target, local: &BTreeMap<String, String>, tracked: &mut BTreeMap<String, String>, first: bool) -> anyhow::Result<Vec<String>> {
    let remote = target.scripts().await?;
    let mut said = Vec::new();
    for (name, source) in local {
        match remote.get(name) {
            Some(there) if there == source => {}
            there => {
                target.put(name, source).await.with_context(|| format!("uploading {name}"))?;
                said.push(format!("{} {name} ({} bytes)", if there.is_some() { "updated" } else { "created" }, source.len()));
            }
        }
    }
    for name in remote.keys().filter(|n| !local.contains_key(*n)) {
        if tracked.contains_key(name) {
            target.delete(name).await.with_context(|| format!("deleting {name}"))?;
            said.push(format!("deleted {name} (gone from the source)"));
        } else if first {
            said.push(format!("kept {name} (not in the source; `remora scripts delete {name}` removes it)"));
        }
    }
    *tracked = local.clone();
    Ok(said)
}

pub fn sync(target: &Target, sources: &[PathBuf], watch: bool) -> anyhow::Result<ExitCode> {
    for source in sources {
        if !source.exists() {
            bail!("--source {}: no such file or folder", source.display());
        }
    }
    let shown: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    block_on(async {
        let mut tracked = BTreeMap::new();
        let mut local = local_scripts(sources)?;
        let said = sync_once(target, &local, &mut tracked, true).await?;
        report(&said, local.len(), &target.describe());
        if !watch {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("watching {} for changes (Ctrl-C stops)", shown.join(", "));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            }
            let now = match local_scripts(sources) {
                Ok(now) => now,
                Err(e) => {
                    eprintln!("not synced: {e:#}");
                    continue;
                }
            };
            if now == local {
                continue;
            }
            match sync_once(target, &now, &mut tracked, false).await {
                Ok(said) => {
                    report(&said, now.len(), &target.describe());
                    local = now;
                }
                // The hub may be restarting: say so and try again on the next change.
                Err(e) => eprintln!("not synced: {e:#}"),
            }
        }
    })
}

/// What a pass did, on stderr: it is a log of actions, not data to pipe on.
fn report(said: &[String], count: usize, address: &str) {
    for line in said {
        eprintln!("{line}");
    }
    let changed = said.iter().filter(|l| !l.starts_with("kept")).count();
    eprintln!("{count} script(s) in the source, {changed} change(s) sent to {address}");
}

pub fn list(target: &Target) -> anyhow::Result<ExitCode> {
    let scripts = block_on(target.scripts())?;
    for (name, source) in &scripts {
        // The reference names an agent by its first line's comment.
        let title = source.lines().next().and_then(|l| l.trim().strip_prefix("//")).map(str::trim).unwrap_or("");
        println!("{name:<40} {:>8}  {title}", source.len());
    }
    eprintln!("{} script(s) at {}", scripts.len(), target.describe());
    Ok(ExitCode::SUCCESS)
}

pub fn get(target: &Target, name: &str) -> anyhow::Result<ExitCode> {
    let scripts = block_on(target.scripts())?;
    match scripts.get(name) {
        Some(source) => {
            print!("{source}");
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("no script is named {name:?} at {} (`remora scripts list`)", target.describe()),
    }
}

pub fn delete(target: &Target, name: &str) -> anyhow::Result<ExitCode> {
    if !block_on(target.delete(name))? {
        bail!("no script is named {name:?} at {}", target.describe());
    }
    eprintln!("deleted {name}");
    Ok(ExitCode::SUCCESS)
}

/// The hub when one is named, else the ConfigMap through the kubeconfig.
pub fn target(hub: &crate::hub_api::HubArgs, namespace: &str, configmap: &str) -> anyhow::Result<Target> {
    if let Some(hub) = hub.resolve_if_named()? {
        return Ok(Target::Hub(hub));
    }
    let client = block_on(async { remora_cluster::client().await.map_err(|e| anyhow::anyhow!("no hub named (--hub, REMORA_HUB_API, the config file) and no cluster to write the ConfigMap to: {e}")) })?;
    Ok(Target::ConfigMap(Box::new(remora_cluster::scripts::ScriptsInCluster::new(client, namespace, configmap, ""))))
}
