//! Reading capture files (pcap and pcapng, through libpcap) into the pipeline.

use std::path::{Path, PathBuf};

use pcap::{Capture, Precision};
use remora_model::Item;

use crate::decode::LinkType;
use crate::flow::Timestamp;
use crate::pipeline::Pipeline;

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

/// Replays one capture file through `pipeline`, then closes its flows. `progress` is told
/// the bytes read so far. A file cut short still has its flows closed.
pub fn replay_file(path: &Path, pipeline: &mut Pipeline, sink: &mut impl FnMut(Item), progress: &mut impl FnMut(u64)) -> Result<FileSummary, ReplayError> {
    if !path.exists() {
        return Err(ReplayError::Missing { path: path.to_path_buf() });
    }
    let mut capture = Capture::from_file_with_precision(path, Precision::Nano)
        .map_err(|e| ReplayError::NotACapture { path: path.to_path_buf(), reason: e.to_string() })?;
    let linktype = capture.get_datalink();
    let Some(link) = LinkType::from_linktype(linktype.0) else {
        return Err(ReplayError::UnsupportedLinkType {
            path: path.to_path_buf(),
            linktype: linktype.0,
            name: linktype.get_name().unwrap_or_else(|_| "unknown".into()),
        });
    };
    let mut summary = FileSummary { packets: 0, file_bytes: 24 };
    loop {
        match capture.next_packet() {
            Ok(packet) => {
                let header = packet.header;
                // With nanosecond precision libpcap puts nanoseconds in tv_usec.
                let ts = Timestamp(i64::from(header.ts.tv_sec) * Timestamp::SECOND + i64::from(header.ts.tv_usec));
                summary.packets += 1;
                summary.file_bytes += 16 + u64::from(header.caplen);
                pipeline.packet(link, linktype.0, ts, packet.data, header.len, sink);
                if summary.packets % 4096 == 0 {
                    progress(summary.file_bytes);
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                pipeline.finish(sink);
                return Err(ReplayError::Truncated { path: path.to_path_buf(), packets: summary.packets, reason: e.to_string() });
            }
        }
    }
    pipeline.finish(sink);
    progress(summary.file_bytes);
    Ok(summary)
}
