//! `remora replay FILE...`: capture files through the sidecar's pipeline, offline.

use std::io::{BufWriter, IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use remora_model::{Item, Node};
use remora_sidecar::dissect::DissectLimits;
use remora_sidecar::pcap_store::PcapStore;
use remora_sidecar::pipeline::{Pipeline, PipelineConfig};
use remora_sidecar::replay::replay_file;

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
    /// How to print items [default: table on a terminal, json otherwise].
    #[arg(long, short, value_enum)]
    pub output: Option<Output>,
    /// Write one PCAP file per TCP/UDP stream here, named by the items' `stream` field.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
    /// Body bytes kept per HTTP message; longer bodies are marked `truncated`.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// An address of "our" pod: requests from it are `outgoing` (repeatable).
    #[arg(long = "local-ip", value_name = "IP")]
    pub local_ips: Vec<IpAddr>,
    /// The items' `worker` name.
    #[arg(long, default_value = "replay")]
    pub worker: String,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() { Output::Table } else { Output::Json });
    let pcap = match &args.pcap_dir {
        Some(dir) => Some(PcapStore::new(dir).context("--pcap-dir")?),
        None => None,
    };
    let config = PipelineConfig {
        worker: args.worker.as_str().into(),
        node: std::sync::Arc::new(Node { name: host_name(), ip: String::new() }),
        local_ips: args.local_ips.clone(),
        dissect: DissectLimits { max_body_bytes: args.max_body, ..DissectLimits::default() },
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(config, pcap);

    let total_bytes: u64 = args.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let progress = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );

    let (writer, batches) = spawn_writer(output);
    let mut batch = Vec::with_capacity(ITEM_BATCH);
    let mut sink = |item: Item| {
        batch.push(item);
        if batch.len() == ITEM_BATCH {
            // A closed channel means the writer stopped (the reader of stdout went away).
            let _ = batches.send(std::mem::replace(&mut batch, Vec::with_capacity(ITEM_BATCH)));
        }
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut done_bytes = 0u64;
    for file in &args.files {
        progress.set_message(file.display().to_string());
        let mut on_progress = |read: u64| progress.set_position(done_bytes + read);
        match replay_file(file, &mut pipeline, &mut sink, &mut on_progress) {
            Ok(_) => {}
            Err(e) => {
                progress.suspend(|| eprintln!("remora: error: {e}"));
                failures.push(e);
            }
        }
        done_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    }
    progress.finish_and_clear();
    let _ = batches.send(batch);
    drop(batches);
    writer.join().map_err(|_| anyhow::anyhow!("the item writer thread panicked"))?;

    if !args.quiet {
        let summary = Summary { files: args.files.len(), failed_files: failures.len(), elapsed: started.elapsed(), stats: pipeline.stats(), pcap: pipeline.pcap_store(), pcap_dir: args.pcap_dir.as_deref() };
        eprint!("{summary}");
    }
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Items handed to the writer thread at a time.
const ITEM_BATCH: usize = 256;

/// Formats and prints items on a thread of its own, so that dissection and output run
/// side by side. The bounded channel holds the pipeline back if output is slower.
fn spawn_writer(output: Output) -> (std::thread::JoinHandle<()>, std::sync::mpsc::SyncSender<Vec<Item>>) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(8);
    let handle = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = ItemWriter::new(output, BufWriter::with_capacity(1 << 16, stdout.lock()));
        for batch in rx {
            for item in &batch {
                out.write(item);
            }
            if out.closed {
                return;
            }
        }
        out.finish();
    });
    (handle, tx)
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
