//! `remora inject` and `remora uninject`: the webhook's decision applied to manifests
//! (remora_injector::manifest), YAML or JSON documents in, YAML documents out; what the
//! webhook would warn about goes to stderr, with a count of the pod templates changed.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use remora_injector::manifest::Changes;
use remora_injector::namespaces::FromFile;
use remora_injector::{Injector, Settings};
use remora_model::native_sidecars::Support;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct InjectArgs {
    #[command(flatten)]
    input: Input,
    /// The injector's settings (the `settings.yaml` of the chart's `remora-injector`
    /// ConfigMap: `kubectl -n remora get configmap remora-injector -o jsonpath='{.data.settings\.yaml}'`);
    /// without it, the built-in defaults, which are the chart's.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Namespace objects (YAML, as `kubectl get namespace NAME -o yaml` writes them, and
    /// their LimitRanges): their `remora.dev/*` defaults and bounds apply as in the cluster.
    #[arg(long)]
    namespace_file: Option<PathBuf>,
    /// The namespace of documents that name none.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    /// With `sidecar mode auto`, inject classic sidecars (a regular container) instead of
    /// native ones (the webhook's choice when every kubelet is 1.29 or later).
    #[arg(long)]
    classic: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninjectArgs {
    #[command(flatten)]
    input: Input,
}

#[derive(Debug, clap::Args)]
struct Input {
    /// The manifests: a file of YAML or JSON documents (a `List` too), `-` for standard input.
    #[arg(short = 'f', long = "filename")]
    file: String,
}

impl Input {
    fn documents(&self) -> anyhow::Result<Vec<Value>> {
        let text = if self.file == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
            text
        } else {
            std::fs::read_to_string(&self.file).with_context(|| format!("-f {}", self.file))?
        };
        let mut docs = Vec::new();
        for (i, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let value: Value = serde::Deserialize::deserialize(document).with_context(|| format!("-f {}: document {} is not YAML or JSON", self.file, i + 1))?;
            if !value.is_null() {
                docs.push(value);
            }
        }
        Ok(docs)
    }
}

fn print(docs: &[Value], changes: &Changes, did: &str) -> anyhow::Result<ExitCode> {
    for warning in &changes.warnings {
        eprintln!("{warning}");
    }
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(doc).context("writing YAML")?);
    }
    print!("{out}");
    eprintln!("{did} {} of {} pod template(s)", changes.changed, changes.templates);
    Ok(ExitCode::SUCCESS)
}

pub fn inject(args: InjectArgs) -> anyhow::Result<ExitCode> {
    let settings = match &args.settings {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let injector = Injector::new(settings).map_err(|e| anyhow::anyhow!("--settings: {e}"))?;
    let mode = if args.classic { "classic sidecars (--classic)" } else { "native sidecars, as the webhook chooses when every kubelet is 1.29 or later (--classic for the other)" };
    injector.set_native_support(Support { native: !args.classic, reason: format!("remora inject: {mode}") });
    let namespaces = match &args.namespace_file {
        Some(path) => Some(FromFile::load(path)?),
        None => None,
    };
    let lookup = |name: &str| namespaces.as_ref().and_then(|n| n.namespace(name));
    let mut docs = args.input.documents()?;
    let changes = remora_injector::manifest::inject(&injector, &mut docs, &args.namespace, &lookup);
    print(&docs, &changes, "injected")
}

pub fn uninject(args: UninjectArgs) -> anyhow::Result<ExitCode> {
    let mut docs = args.input.documents()?;
    let changes = remora_injector::manifest::uninject(&mut docs);
    print(&docs, &changes, "uninjected")
}
