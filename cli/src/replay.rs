//! `remora replay FILE...`: capture files through the sidecar's pipeline, offline. The
//! processing (pipeline, scripts, `--kfl`, output, summary) is shared with `remora
//! capture` (capture.rs), which feeds it live packets instead: see [`process`].

use std::io::{BufWriter, IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use remora_model::redact::Redaction;
use remora_model::{Item, Node};
use remora_sidecar::dissect::protocols::ProtocolSet;
use remora_sidecar::dissect::DissectLimits;
use remora_sidecar::pcap_store::PcapStore;
use remora_scripting::Clock;
use remora_sidecar::pipeline::{Pipeline, PipelineConfig, Sink};
use remora_sidecar::replay::replay_file;

use remora_sidecar::scripted::{flush_before_snapshot, ScriptedSink};
use crate::summary::Summary;
use crate::table::TableWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One JSON object per line, shaped as docs/ITEM.md and schema/item.schema.json say.
    Json,
    /// A readable table, one line per item.
    Table,
    /// No items (the summary only).
    None,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Capture files (pcap or pcapng).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub processing: Processing,
}

/// What happens to packets, wherever they come from.
#[derive(Debug, clap::Args)]
pub struct Processing {
    /// How to print items [default: table on a terminal, json otherwise].
    #[arg(long, short, value_enum)]
    pub output: Option<Output>,
    /// Write one PCAP file per TCP/UDP stream here, named by the items' `stream` field.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
    /// Body bytes kept per HTTP message; longer bodies are marked `truncated`.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// Protocols to dissect: `all`, or a comma list (`http,dns,redis,tls,postgres,mysql`);
    /// other flows are left undissected, as the pod annotation `remora.dev/protocols` does.
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = ProtocolSet::parse)]
    pub protocols: ProtocolSet,
    /// An address of "our" pod: requests from it are `outgoing` (repeatable).
    #[arg(long = "local-ip", value_name = "IP")]
    pub local_ips: Vec<IpAddr>,
    /// The items' `worker` name [default: replay, or capture].
    #[arg(long)]
    pub worker: Option<String>,
    /// Item fields to replace with `[REDACTED]`, comma separated, as the sidecar's
    /// `remora.dev/redact` does (`request.headers.authorization,...`). Default: none.
    #[arg(long, value_name = "PATHS", default_value = "", value_parser = parse_redaction)]
    pub redact: Redaction,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print only the items this KFL query matches (scripts still see every item).
    #[arg(long, value_name = "QUERY")]
    pub kfl: Option<String>,
    #[command(flatten)]
    pub scripting: ScriptArgs,
}

/// Options for running scripts during the replay.
#[derive(Debug, Clone, clap::Args)]
pub struct ScriptArgs {
    /// Run the scripts of this folder (every `*.js`) or file; repeatable.
    #[arg(long = "scripts", value_name = "PATH")]
    pub scripts: Vec<PathBuf>,
    /// An `env` value for the scripts (repeatable; wins over --config).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::env_config::parse_env_flag)]
    pub env: Vec<(String, String)>,
    /// A YAML config whose `scripting.env` map becomes `env` (the reference's layout).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The scripts' data directory: `file.*` works inside it only, and per-stream PCAPs
    /// go to its `pcaps/` [default: a new directory under the system's temp folder].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Longest a single hook or job call may run before it is stopped.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub script_budget_ms: u64,
    /// Longest a single call may wait on the network inside helpers (`vendor.*`,
    /// `chatgpt.prompt`), all its requests together; the wait does not count as running.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub script_network_budget_ms: u64,
    /// Memory the scripts' heap may use.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub script_memory_mib: usize,
    /// Also call `onItemQueried` on each item, as the dashboard does when it shows one;
    /// the `passed`/`failed` of the object it returns mark the printed item.
    #[arg(long)]
    pub query: bool,
}

fn parse_redaction(list: &str) -> Result<Redaction, String> {
    Redaction::parse(list).map_err(|e| e.to_string())
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut files = Files { files: args.files };
    process(&args.processing, "replay", Clock::Capture, &mut files)
}

/// Where packets come from: files, or live interfaces.
pub(crate) trait Source {
    /// A progress bar for this source.
    fn progress(&self) -> ProgressBar;
    /// Feeds every packet to `pipeline` (and its items to `sink`), the flows finished at
    /// the end; returns what failed, each said once.
    fn feed(&mut self, pipeline: &mut Pipeline, sink: &mut impl Sink, progress: &ProgressBar) -> Vec<String>;
    /// The summary's first words: `replayed 5 file(s)`, `captured on eth0 for 3.0 s`.
    fn what(&self, failures: usize) -> String;
    /// More summary lines (the kernel's drop counters).
    fn more(&self) -> Vec<String> {
        Vec::new()
    }
}

struct Files {
    files: Vec<PathBuf>,
}

impl Source for Files {
    fn progress(&self) -> ProgressBar {
        let total_bytes: u64 = self.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let progress = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        progress.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        progress
    }

    /// Replays each file in turn; a file that fails is reported and the next one goes on.
    fn feed(&mut self, pipeline: &mut Pipeline, sink: &mut impl Sink, progress: &ProgressBar) -> Vec<String> {
        let mut failures = Vec::new();
        let mut done_bytes = 0u64;
        for file in &self.files {
            progress.set_message(file.display().to_string());
            let mut on_progress = |read: u64| progress.set_position(done_bytes + read);
            if let Err(e) = replay_file(file, pipeline, sink, &mut on_progress) {
                progress.suspend(|| eprintln!("remora: error: {e}"));
                failures.push(e.to_string());
            }
            done_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        }
        failures
    }

    fn what(&self, failures: usize) -> String {
        let failed = if failures > 0 { format!(" ({failures} failed)") } else { String::new() };
        format!("replayed {} file(s){failed}", self.files.len())
    }
}

/// Runs `source`'s packets through the pipeline, the scripts and `--kfl`, prints the
/// items and a summary; fails when the source reported a failure.
pub(crate) fn process(args: &Processing, worker: &str, clock: Clock, source: &mut impl Source) -> anyhow::Result<ExitCode> {
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() { Output::Table } else { Output::Json });
    let filter = match &args.kfl {
        Some(text) => Some(remora_kfl::Query::compile(text).map_err(|e| anyhow::anyhow!("--kfl: {e}\n{}", e.caret()))?),
        None => None,
    };
    for warning in filter.iter().flat_map(|q| q.warnings()) {
        eprintln!("--kfl: {warning}");
    }
    let mut scripts = match args.scripting.scripts.is_empty() {
        true => None,
        false => Some(crate::scripts::start_host(&args.scripting, clock)?),
    };
    // Scripts that call pcap.* get per-stream PCAPs in their data directory (writing one
    // file per stream costs more than dissecting it, so only when needed).
    let pcap_dir = args.pcap_dir.clone().or_else(|| scripts.as_ref().filter(|s| s.uses_pcap).map(|s| s.data_dir.join("pcaps")));
    let pcap = match &pcap_dir {
        Some(dir) => Some(PcapStore::new(dir).context("--pcap-dir")?),
        None => None,
    };
    let config = PipelineConfig {
        worker: args.worker.as_deref().unwrap_or(worker).into(),
        node: std::sync::Arc::new(Node { name: host_name(), ip: String::new() }),
        local_ips: args.local_ips.clone(),
        dissect: DissectLimits { max_body_bytes: args.max_body, protocols: args.protocols, ..DissectLimits::default() },
        redaction: args.redact.clone(),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(config, pcap);
    if let Some(scripts) = &mut scripts {
        scripts.host.set_pcap_dir(pcap_dir.clone());
        flush_before_snapshot(&mut scripts.host, pipeline.pcap_store());
    }

    let progress = source.progress();
    let (writer, batches, empties) = spawn_writer(output).context("cannot start the item writer thread")?;
    let mut batcher = ItemBatcher { batch: Vec::with_capacity(ITEM_BATCH), to_writer: batches, empties, discard: output == Output::None, filter, printed: 0, unprintable: 0 };
    let started = Instant::now();
    let failures = match &mut scripts {
        Some(scripts) => {
            let mut sink = ScriptedSink::new(&mut scripts.host, &mut batcher, args.scripting.query);
            source.feed(&mut pipeline, &mut sink, &progress)
        }
        None => source.feed(&mut pipeline, &mut batcher, &progress),
    };
    progress.finish_and_clear();
    let printed = batcher.filter.is_some().then_some(batcher.printed);
    if batcher.unprintable > 0 {
        eprintln!("--kfl: {} matching items not printed: a redact() path replaced a number or a list of theirs (redact text fields, such as headers and bodies)", batcher.unprintable);
    }
    batcher.finish();
    writer.join().map_err(|_| anyhow::anyhow!("the item writer thread panicked"))?;

    // A default data directory that the scripts left empty is not worth keeping.
    let data_dir_kept = match (&scripts, &args.scripting.data_dir) {
        (Some(scripts), None) => std::fs::remove_dir(&scripts.data_dir).is_err(),
        _ => true,
    };
    if !args.quiet {
        let pcap = pipeline.pcap_store().and_then(|store| store.lock().ok().map(|s| (s.stats, s.last_error().map(str::to_string))));
        let summary = Summary {
            what: source.what(failures.len()),
            more: source.more(),
            elapsed: started.elapsed(),
            stats: pipeline.stats(),
            pcap,
            pcap_dir: pcap_dir.as_deref(),
            scripts: scripts.as_ref().map(|s| (s.host.report(), data_dir_kept.then_some(s.data_dir.as_path()))),
            matched: printed.map(|n| (n, args.kfl.as_deref().unwrap_or(""))),
        };
        eprint!("{summary}");
    }
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Items handed to the writer thread at a time.
const ITEM_BATCH: usize = 256;

/// Collects items into batches for the writer thread.
struct ItemBatcher {
    batch: Vec<Item>,
    to_writer: std::sync::mpsc::SyncSender<Vec<Item>>,
    /// Batches the writer has emptied, to be filled again.
    empties: std::sync::mpsc::Receiver<Vec<Item>>,
    /// `--output none`: items are dropped here, not sent anywhere.
    discard: bool,
    /// `--kfl`: only matching items are printed.
    filter: Option<remora_kfl::Query>,
    /// Items that passed the filter.
    printed: u64,
    /// Matching items left out: a `redact()` replaced a field whose type Remora fixes
    /// (a number, a list), so the item could not be printed as one.
    unprintable: u64,
}

impl Sink for ItemBatcher {
    fn item(&mut self, item: Item) {
        let mut item = item;
        if let Some(query) = &self.filter {
            if query.redactions().is_empty() {
                if !query.matches(&item) {
                    return;
                }
            } else {
                // The query redacts as it decides: print what it left.
                let Ok(mut value) = serde_json::to_value(&item) else { return };
                if !query.evaluate(&mut value) {
                    return;
                }
                match serde_json::from_value::<Item>(value) {
                    Ok(redacted) => item = redacted,
                    Err(_) => {
                        self.unprintable += 1;
                        return;
                    }
                }
            }
        }
        self.printed += 1;
        if self.discard {
            return;
        }
        self.batch.push(item);
        if self.batch.len() == ITEM_BATCH {
            let empty = self.empties.try_recv().unwrap_or_else(|_| Vec::with_capacity(ITEM_BATCH));
            // A closed channel means the writer stopped (the reader of stdout went away).
            let _ = self.to_writer.send(std::mem::replace(&mut self.batch, empty));
        }
    }
}

impl ItemBatcher {
    /// Sends what is left; dropping the sender tells the writer there is no more.
    fn finish(self) {
        let _ = self.to_writer.send(self.batch);
    }
}

/// Formats and prints items on a thread of its own, so that dissection and output run
/// side by side. The bounded channel holds the pipeline back if output is slower.
type WriterHandles = (std::thread::JoinHandle<()>, std::sync::mpsc::SyncSender<Vec<Item>>, std::sync::mpsc::Receiver<Vec<Item>>);

fn spawn_writer(output: Output) -> anyhow::Result<WriterHandles> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(8);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(10);
    let handle = std::thread::Builder::new().name("item-writer".into()).spawn(move || {
        let stdout = std::io::stdout();
        let mut out = ItemWriter::new(output, BufWriter::with_capacity(1 << 16, stdout.lock()));
        for mut batch in rx {
            for item in &batch {
                out.write(item);
            }
            if out.closed {
                return;
            }
            batch.clear();
            let _ = empty_tx.try_send(batch);
        }
        out.finish();
    })?;
    Ok((handle, tx, empty_rx))
}

/// Writes items in the chosen format; stops quietly when the reader goes away.
struct ItemWriter<W: Write> {
    output: Output,
    writer: W,
    table: TableWriter,
    closed: bool,
}

impl<W: Write> ItemWriter<W> {
    fn new(output: Output, writer: W) -> Self {
        ItemWriter { output, writer, table: TableWriter::default(), closed: false }
    }

    fn write(&mut self, item: &Item) {
        if self.closed {
            return;
        }
        let result = match self.output {
            Output::Json => serde_json::to_writer(&mut self.writer, item).map_err(std::io::Error::from).and_then(|_| self.writer.write_all(b"\n")),
            Output::Table => self.table.write(&mut self.writer, item),
            Output::None => Ok(()),
        };
        if result.is_err() {
            // A closed pipe (`| head`): nobody reads any more.
            self.closed = true;
        }
    }

    fn finish(&mut self) {
        if !self.closed && self.writer.flush().is_err() {
            self.closed = true;
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}
