//! Reading capture files (pcap and pcapng, through libpcap) into the pipeline.
//!
//! libpcap reads on its own thread and hands packets over in batches, so reading the
//! file and dissecting it run side by side; the bounded channel keeps memory flat.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use pcap::{Capture, Offline, Precision};

use crate::decode::LinkType;
use crate::flow::Timestamp;
use crate::pipeline::{Pipeline, Sink};

/// Why a capture file could not be read, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: no such file")]
    Missing { path: PathBuf },
    #[error("{path}: not a pcap or pcapng capture ({reason})")]
    NotACapture { path: PathBuf, reason: String },
    #[error("{path}: unsupported link type {linktype} ({name}); supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback")]
    UnsupportedLinkType { path: PathBuf, linktype: i32, name: String },
    #[error("{path}: cut short after {packets} packets ({reason}); the items before it were kept")]
    Truncated { path: PathBuf, packets: u64, reason: String },
}

/// What one file contributed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub packets: u64,
    /// Bytes read from the file (record headers included), for progress.
    pub file_bytes: u64,
}

/// Packets handed from the reader thread: frame bytes back to back.
struct Batch {
    /// (capture time, length on the wire, end of the frame in `data`).
    packets: Vec<(Timestamp, u32, usize)>,
    data: Vec<u8>,
}

const BATCH_PACKETS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between reader and pipeline: bounds the memory of a fast reader.
const BATCHES_IN_FLIGHT: usize = 8;

/// The reader's last word: the end of the file, or the error that stopped it.
type ReadEnd = Result<(), String>;

/// Replays one capture file through `pipeline`, then closes its flows. `progress` is told
/// the bytes read so far. A file cut short still has its flows closed.
pub fn replay_file(path: &Path, pipeline: &mut Pipeline, sink: &mut impl Sink, progress: &mut impl FnMut(u64)) -> Result<FileSummary, ReplayError> {
    if !path.exists() {
        return Err(ReplayError::Missing { path: path.to_path_buf() });
    }
    let capture = Capture::from_file_with_precision(path, Precision::Nano)
        .map_err(|e| ReplayError::NotACapture { path: path.to_path_buf(), reason: e.to_string() })?;
    let linktype = capture.get_datalink();
    let Some(link) = LinkType::from_linktype(linktype.0) else {
        return Err(ReplayError::UnsupportedLinkType {
            path: path.to_path_buf(),
            linktype: linktype.0,
            name: linktype.get_name().unwrap_or_else(|_| "unknown".into()),
        });
    };
    let (batches, recycle, end) = spawn_reader(capture);
    let mut summary = FileSummary { packets: 0, file_bytes: 24 };
    for mut batch in batches {
        let mut start = 0;
        for &(ts, wire_len, end) in &batch.packets {
            let frame = &batch.data[start..end];
            start = end;
            summary.packets += 1;
            summary.file_bytes += 16 + frame.len() as u64;
            pipeline.packet(link, linktype.0, ts, frame, wire_len, sink);
        }
        progress(summary.file_bytes);
        // Hand the buffers back: fresh megabytes for every batch cost page faults.
        batch.packets.clear();
        batch.data.clear();
        let _ = recycle.try_send(batch);
    }
    pipeline.finish(sink);
    progress(summary.file_bytes);
    match end.recv() {
        Ok(Ok(())) => Ok(summary),
        Ok(Err(reason)) => Err(ReplayError::Truncated { path: path.to_path_buf(), packets: summary.packets, reason }),
        Err(_) => Err(ReplayError::Truncated { path: path.to_path_buf(), packets: summary.packets, reason: "the reader stopped".into() }),
    }
}

impl Batch {
    fn new() -> Batch {
        Batch { packets: Vec::with_capacity(BATCH_PACKETS), data: Vec::with_capacity(BATCH_BYTES + (64 << 10)) }
    }
}

/// Reads the capture on a thread of its own; batches arrive in file order, and used
/// ones come back through the second channel to be filled again.
fn spawn_reader(mut capture: Capture<Offline>) -> (Receiver<Batch>, SyncSender<Batch>, Receiver<ReadEnd>) {
    let (batch_tx, batch_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (recycle_tx, recycle_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT + 2);
    let (end_tx, end_rx) = sync_channel::<ReadEnd>(1);
    let end_if_no_thread = end_tx.clone();
    let reader = std::thread::Builder::new().name("pcap-reader".into()).spawn(move || {
        let fresh = || recycle_rx.try_recv().unwrap_or_else(|_| Batch::new());
        let mut batch = fresh();
        let outcome = loop {
            match capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    // With nanosecond precision libpcap puts nanoseconds in tv_usec. (time_t
                    // and suseconds_t are narrower than i64 on some targets.)
                    #[allow(clippy::useless_conversion)]
                    let ts = Timestamp(i64::from(header.ts.tv_sec) * Timestamp::SECOND + i64::from(header.ts.tv_usec));
                    batch.data.extend_from_slice(packet.data);
                    batch.packets.push((ts, header.len, batch.data.len()));
                    let full = batch.packets.len() >= BATCH_PACKETS || batch.data.len() >= BATCH_BYTES;
                    if full && batch_tx.send(std::mem::replace(&mut batch, fresh())).is_err() {
                        break Ok(());
                    }
                }
                Err(pcap::Error::NoMorePackets) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        };
        if !batch.packets.is_empty() {
            let _ = batch_tx.send(batch);
        }
        drop(batch_tx);
        let _ = end_tx.send(outcome);
    });
    if let Err(e) = reader {
        let _ = end_if_no_thread.send(Err(format!("cannot start the reader thread: {e}")));
    }
    (batch_rx, recycle_tx, end_rx)
}
