//! `remora scripts check PATH...` and the loading of scripts that replay shares.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use remora_scripting::{script_files, Clock, ConsoleLine, HostConfig, ScriptHost, ScriptSummary};

use crate::env_config::env_from_config;
use remora_scripting::source_check::{self, helper_calls};
use crate::hub_api::HubArgs;
use crate::scripts_sync;
use crate::replay::ScriptArgs;

/// A script host with the scripts loaded.
pub struct Scripts {
    pub host: ScriptHost,
    pub data_dir: PathBuf,
    pub loaded: Vec<ScriptSummary>,
    /// `file: message` of each script that did not load.
    pub failed: Vec<String>,
    /// Some script calls `pcap.*`: per-stream PCAP files must be kept for it.
    pub uses_pcap: bool,
}

/// Starts a host, loads every script of `args`, and reports what did not load on stderr.
pub fn start_host(args: &ScriptArgs, clock: Clock) -> anyhow::Result<Scripts> {
    let mut env = match &args.config {
        Some(path) => env_from_config(path)?,
        None => Default::default(),
    };
    env.extend(args.env.iter().cloned());
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("remora-data-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
    };
    let mut config = HostConfig::new(data_dir.clone());
    config.env = env;
    config.clock = clock;
    config.call_budget = std::time::Duration::from_millis(args.script_budget_ms.max(1));
    config.network_budget = std::time::Duration::from_millis(args.script_network_budget_ms);
    config.memory_limit = args.script_memory_mib.max(1) << 20;
    let console = Box::new(|line: ConsoleLine| eprintln!("{}", remora_scripting::for_terminal(&line.to_string())));
    let mut host = ScriptHost::new(config, console).map_err(anyhow::Error::msg)?;
    let files = script_files(&args.scripts).context("--scripts")?;
    let mut loaded = Vec::new();
    let mut failed = Vec::new();
    let mut uses_pcap = false;
    for file in files {
        let source = match std::fs::read_to_string(&file) {
            Ok(source) => source,
            Err(e) => {
                failed.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        // Wrappers snapshot streams too (`wrapper.kflPcapS3`).
        uses_pcap |= helper_calls(&source).iter().any(|(_, call)| call.starts_with("pcap.") || call.starts_with("wrapper."));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.display().to_string());
        match host.load_source(&name, &source) {
            Ok(summary) => loaded.push(summary),
            Err(e) => failed.push(e),
        }
    }
    Ok(Scripts { host, data_dir, loaded, failed, uses_pcap })
}

/// `remora scripts`: sync a folder to the cluster, or one of the subcommands.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScriptsArgs {
    #[command(subcommand)]
    command: Option<ScriptsCommand>,
    /// A folder of `.js` files, or a file, to keep the cluster's scripts equal to
    /// (repeatable).
    #[arg(long)]
    source: Vec<PathBuf>,
    /// `scripting.source=DIR` or `scripting.sources[N]=FILE`, as the reference writes it.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Keep watching the sources and send every change (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    hub: HubArgs,
    #[command(flatten)]
    configmap: ConfigMapArgs,
}

/// The scripts ConfigMap, written with the kubeconfig when no hub is named.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigMapArgs {
    /// Remora's namespace.
    #[arg(long, default_value = "remora")]
    namespace: String,
    /// The scripts ConfigMap (the chart's).
    #[arg(long, default_value = "remora-scripts")]
    configmap: String,
}

impl ConfigMapArgs {
    fn target(&self, hub: &HubArgs) -> anyhow::Result<scripts_sync::Target> {
        scripts_sync::target(hub, &self.namespace, &self.configmap)
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum ScriptsCommand {
    /// The scripts in the cluster (name, size, the first line's comment).
    List {
        #[command(flatten)]
        hub: HubArgs,
        #[command(flatten)]
        configmap: ConfigMapArgs,
    },
    /// Prints one script of the cluster.
    Get {
        name: String,
        #[command(flatten)]
        hub: HubArgs,
        #[command(flatten)]
        configmap: ConfigMapArgs,
    },
    /// Deletes one script from the cluster.
    Delete {
        name: String,
        #[command(flatten)]
        hub: HubArgs,
        #[command(flatten)]
        configmap: ConfigMapArgs,
    },
    /// Load scripts without traffic: syntax errors, hooks, jobs, and calls to helpers
    /// that do not exist or are not available yet.
    Check {
        /// Folders of `*.js` files, or files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// An `env` value the scripts read at load time (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::env_config::parse_env_flag)]
        env: Vec<(String, String)>,
    },
}

pub fn run(args: ScriptsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ScriptsCommand::Check { paths, env }) => check(paths, env),
        Some(ScriptsCommand::List { hub, configmap }) => scripts_sync::list(&configmap.target(&hub)?),
        Some(ScriptsCommand::Get { name, hub, configmap }) => scripts_sync::get(&configmap.target(&hub)?, &name),
        Some(ScriptsCommand::Delete { name, hub, configmap }) => scripts_sync::delete(&configmap.target(&hub)?, &name),
        None => {
            let mut sources = args.source;
            sources.extend(scripts_sync::sources_from_set(&args.set)?);
            if sources.is_empty() {
                anyhow::bail!("nothing to sync: give --source DIR (or --set scripting.source=DIR), or a subcommand (check, list, get, delete)");
            }
            scripts_sync::sync(&args.configmap.target(&args.hub)?, &sources, args.watch)
        }
    }
}

fn check(paths: Vec<PathBuf>, env: Vec<(String, String)>) -> anyhow::Result<ExitCode> {
    let data = tempfile::tempdir().context("a scratch data directory")?;
    let args = ScriptArgs {
        scripts: paths.clone(),
        env,
        config: None,
        data_dir: Some(data.path().to_path_buf()),
        script_budget_ms: 1000,
        script_network_budget_ms: 30_000,
        script_memory_mib: 256,
        query: false,
    };
    let scripts = start_host(&args, Clock::Wall)?;
    let helpers = scripts.host.helper_names();
    let mut problems = 0;
    // The parser's syntax errors (exact line and column) stand for the engine's.
    let mut parsed_wrong = Vec::new();
    let mut found = Vec::new();
    for file in script_files(&paths)? {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let source = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
        let checked = source_check::check(&source);
        if !checked.errors.is_empty() {
            parsed_wrong.push(format!("{name}:"));
        }
        found.push((name, checked));
    }
    for error in scripts.failed.iter().filter(|e| !parsed_wrong.iter().any(|name| e.starts_with(name.as_str()))) {
        println!("error   {error}");
        problems += 1;
    }
    for (name, checked) in &found {
        if let Some(summary) = scripts.loaded.iter().find(|s| s.name == *name) {
            let hooks = if summary.hooks.is_empty() { "no hooks".to_string() } else { summary.hooks.join(", ") };
            println!("ok      {name}: {hooks}");
        }
        for (at, message) in &checked.errors {
            println!("error   {name}:{}:{}: {message}", at.line, at.column);
            problems += 1;
        }
        for (at, call) in &checked.calls {
            if !helpers.contains(call) {
                println!("error   {name}:{}:{}: {call} is not a helper", at.line, at.column);
                problems += 1;
            }
        }
    }
    for (tag, cron, limit) in scripts.host.jobs() {
        let limit = if limit == 0 { "no limit".to_string() } else { format!("limit {limit}") };
        println!("job     {tag}: {cron} ({limit})");
    }
    println!("{} script(s) loaded, {} problem(s)", scripts.loaded.len(), problems);
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
