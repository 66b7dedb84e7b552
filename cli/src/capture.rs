//! `remora capture -i IFACE`: live capture on this machine's interfaces through the same
//! pipeline, scripts, `--kfl` and output as `replay` (as tshark's `-i`), until Ctrl-C,
//! `--duration` or `--count`; the summary adds each interface's kernel drop counters.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use remora_scripting::Clock;
use remora_sidecar::flow::Timestamp;
use remora_sidecar::live::{interfaces, LiveCapture, DEFAULT_KERNEL_BUFFER};
use remora_sidecar::pcap_store::CaptureFile;
use remora_sidecar::pipeline::{Pipeline, Sink};

use crate::replay::{process, Processing, Source};

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Interfaces: a comma list (`eth0,lo`), or `all` (every interface but loopback).
    #[arg(short = 'i', long = "interface", default_value = "all")]
    pub interfaces: String,
    /// Capture filter (BPF, tcpdump's syntax), applied in the kernel.
    #[arg(long, value_name = "BPF", default_value = "")]
    pub filter: String,
    /// Also write every captured packet to this pcap file (one link type: capture
    /// interfaces of one kind, or `lo` alone).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Stop after this many seconds [default: at Ctrl-C].
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(short = 'c', long, value_name = "PACKETS")]
    pub count: Option<u64>,
    /// The kernel's capture buffer per interface.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_KERNEL_BUFFER)]
    pub buffer: u32,
    #[command(flatten)]
    pub processing: Processing,
}

/// Packets from live interfaces.
struct Live {
    capture: Option<LiveCapture>,
    names: Vec<String>,
    /// (name, received, kernel drops, interface drops), read when capture stops.
    counters: Vec<(String, u64, u64, u64)>,
    /// `-w`: the path, and the file once the first frame gave its link type.
    write: Option<(PathBuf, Option<CaptureFile>)>,
    /// Why `-w`'s file could not be made, if it could not.
    write_error: Option<String>,
    /// Frames of another link type than `-w`'s file, left out of it.
    unwritten: u64,
    until: Option<Instant>,
    count: Option<u64>,
    interrupted: Arc<AtomicBool>,
    started: Instant,
}

impl Source for Live {
    fn progress(&self) -> ProgressBar {
        let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        progress.set_style(ProgressStyle::with_template("{spinner} capturing on {msg}: {pos} packets ({per_sec}); Ctrl-C stops").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        progress.set_message(self.names.join(", "));
        progress
    }

    fn feed(&mut self, pipeline: &mut Pipeline, sink: &mut impl Sink, progress: &ProgressBar) -> Vec<String> {
        let Some(capture) = self.capture.take() else { return vec!["capture did not start".into()] };
        let mut packets = 0u64;
        loop {
            let done = self.interrupted.load(Ordering::Relaxed) || self.until.is_some_and(|t| Instant::now() >= t) || self.count.is_some_and(|c| packets >= c);
            if done {
                break;
            }
            match capture.next(Duration::from_millis(100)) {
                Ok(frames) => {
                    for (ts, wire, frame) in frames.iter() {
                        if self.count.is_some_and(|c| packets >= c) {
                            break;
                        }
                        pipeline.packet(frames.link, frames.link_number, ts, frame, wire, sink);
                        if let Some((path, file)) = &mut self.write {
                            if file.is_none() && self.write_error.is_none() {
                                match CaptureFile::create(path, frames.link_number) {
                                    Ok(made) => *file = Some(made),
                                    Err(e) => self.write_error = Some(format!("-w {e}")),
                                }
                            }
                            if let Some(file) = file {
                                if !file.write(frames.link_number, ts, frame, wire) {
                                    self.unwritten += 1;
                                }
                            }
                        }
                        packets += 1;
                    }
                    progress.set_position(packets);
                    capture.recycle(frames);
                }
                // Quiet: flows still age on the clock.
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => pipeline.advance(Timestamp::now(), sink),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        pipeline.finish(sink);
        for stats in &capture.interfaces {
            let read = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
            self.counters.push((stats.name.clone(), read(&stats.received), read(&stats.dropped), read(&stats.if_dropped)));
        }
        let mut failures = capture.stop();
        failures.extend(self.write_error.clone());
        if let Some((path, Some(file))) = &mut self.write {
            if let Err(e) = file.flush() {
                failures.push(format!("-w {}: {e}", path.display()));
            }
        }
        for failure in &failures {
            progress.suspend(|| eprintln!("remora: error: {failure}"));
        }
        failures
    }

    fn what(&self, failures: usize) -> String {
        let failed = if failures > 0 { format!(" ({failures} error(s))") } else { String::new() };
        format!("captured on {} for {:.1}s{failed}", self.names.join(", "), self.started.elapsed().as_secs_f64())
    }

    fn more(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .counters
            .iter()
            .map(|(name, received, dropped, if_dropped)| format!("{name}: {received} received by the filter, {dropped} dropped by the kernel (no buffer room), {if_dropped} dropped by the interface"))
            .collect();
        if let Some((path, file)) = &self.write {
            let left_out = if self.unwritten > 0 { format!(" ({} of another link type left out)", self.unwritten) } else { String::new() };
            lines.push(format!("wrote {} packets to {}{left_out}", file.as_ref().map_or(0, |f| f.packets), path.display()));
        }
        lines
    }
}

pub fn run(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let devices = interfaces::select(&args.interfaces, false).map_err(|e| anyhow::anyhow!("-i {}: {e}", args.interfaces))?;
    let names: Vec<String> = devices.iter().map(|d| d.name.clone()).collect();
    let capture = LiveCapture::start(&devices, &args.filter, args.buffer).map_err(|e| anyhow::anyhow!("cannot capture: {e} (capturing needs root or CAP_NET_RAW)"))?;
    let write = args.write.clone().map(|path| (path, None));
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    // Ctrl-C ends the capture, not the process: the summary and files are written.
    std::thread::Builder::new().name("ctrl-c".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
        if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    })?;
    let mut live = Live {
        capture: Some(capture),
        names,
        counters: Vec::new(),
        write,
        write_error: None,
        unwritten: 0,
        until: args.duration.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0))),
        count: args.count,
        interrupted,
        started: Instant::now(),
    };
    process(&args.processing, "capture", Clock::Wall, &mut live)
}
