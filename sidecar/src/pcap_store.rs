//! One PCAP file per TCP/UDP stream, named by the item's `stream` field, written by
//! libpcap itself so any tool reads them back. Open files are bounded: the least
//! recently written is closed and later reopened for appending.

use std::path::{Path, PathBuf};

use pcap::{Capture, Linktype, Precision, Savefile};
use rustc_hash::FxHashMap;

use crate::flow::Timestamp;

/// Files kept open at once; the rest are closed until their stream writes again.
const MAX_OPEN: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum PcapStoreError {
    #[error("cannot create PCAP directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PcapStoreStats {
    pub files: u64,
    pub packets: u64,
    /// Packets that could not be written (the file could not be opened).
    pub write_errors: u64,
}

struct OpenFile {
    file: Savefile,
    last_use: u64,
}

pub struct PcapStore {
    dir: PathBuf,
    open: FxHashMap<u64, OpenFile>,
    /// Streams that have a file on disk (to append rather than truncate on reopen).
    created: rustc_hash::FxHashSet<u64>,
    clock: u64,
    pub stats: PcapStoreStats,
    last_error: Option<String>,
}

impl std::fmt::Debug for PcapStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapStore").field("dir", &self.dir).field("open", &self.open.len()).field("stats", &self.stats).finish()
    }
}

impl PcapStore {
    pub fn new(dir: &Path) -> Result<Self, PcapStoreError> {
        std::fs::create_dir_all(dir).map_err(|source| PcapStoreError::CreateDir { path: dir.to_path_buf(), source })?;
        Ok(PcapStore {
            dir: dir.to_path_buf(),
            open: FxHashMap::default(),
            created: Default::default(),
            clock: 0,
            stats: PcapStoreStats::default(),
            last_error: None,
        })
    }

    /// Where the files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first error met while writing, for the summary.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Appends one captured frame to the stream's file.
    pub fn write(&mut self, stream_id: u64, stream_name: &str, link: i32, ts: Timestamp, frame: &[u8], wire_len: u32) {
        self.clock += 1;
        if !self.open.contains_key(&stream_id) {
            if self.open.len() >= MAX_OPEN {
                self.close_least_recent();
            }
            match self.open_file(stream_id, stream_name, link) {
                Ok(file) => {
                    self.open.insert(stream_id, OpenFile { file, last_use: 0 });
                }
                Err(e) => {
                    self.stats.write_errors += 1;
                    self.last_error.get_or_insert(e);
                    return;
                }
            }
        }
        let Some(open) = self.open.get_mut(&stream_id) else { return };
        open.last_use = self.clock;
        open.file.write(&pcap::Packet::new(&record_header(ts, frame.len(), wire_len), frame));
        self.stats.packets += 1;
    }

    fn open_file(&mut self, stream_id: u64, stream_name: &str, link: i32) -> Result<Savefile, String> {
        let path = self.dir.join(stream_name);
        let dead = Capture::dead_with_precision(Linktype(link), Precision::Nano).map_err(|e| e.to_string())?;
        let file = if self.created.contains(&stream_id) {
            dead.savefile_append(&path)
        } else {
            self.stats.files += 1;
            self.created.insert(stream_id);
            dead.savefile(&path)
        };
        file.map_err(|e| format!("{}: {e}", path.display()))
    }

    fn close_least_recent(&mut self) {
        if let Some(oldest) = self.open.iter().min_by_key(|(_, f)| f.last_use).map(|(id, _)| *id) {
            self.close_file(oldest);
        }
    }

    /// Flushes and closes a stream's file for good (its flow ended). The stream is
    /// forgotten, so a long-running capture keeps no record per past stream.
    pub fn close(&mut self, stream_id: u64) {
        self.close_file(stream_id);
        self.created.remove(&stream_id);
    }

    /// Flushes and closes the file; the stream may write again (it is appended to).
    fn close_file(&mut self, stream_id: u64) {
        if let Some(mut open) = self.open.remove(&stream_id) {
            if let Err(e) = open.file.flush() {
                self.last_error.get_or_insert(e.to_string());
            }
        }
    }

    /// Writes out what the open files buffer, so that readers see every packet so far.
    pub fn flush_all(&mut self) {
        for open in self.open.values_mut() {
            if let Err(e) = open.file.flush() {
                self.last_error.get_or_insert(e.to_string());
            }
        }
    }

    pub fn close_all(&mut self) {
        let ids: Vec<u64> = self.open.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
        self.created.clear();
    }
}


/// A record's header in a nanosecond pcap file.
fn record_header(ts: Timestamp, caplen: usize, wire_len: u32) -> pcap::PacketHeader {
    pcap::PacketHeader {
        ts: libc::timeval { tv_sec: ts.0.div_euclid(Timestamp::SECOND) as libc::time_t, tv_usec: ts.0.rem_euclid(Timestamp::SECOND) as libc::suseconds_t },
        caplen: caplen as u32,
        len: wire_len,
    }
}

/// One pcap file of everything captured (`remora capture -w`), nanosecond timestamps.
pub struct CaptureFile {
    file: Savefile,
    link: i32,
    pub packets: u64,
}

impl CaptureFile {
    /// A new file at `path` for frames of link type `link` (libpcap's number).
    pub fn create(path: &Path, link: i32) -> Result<CaptureFile, String> {
        let dead = Capture::dead_with_precision(Linktype(link), Precision::Nano).map_err(|e| e.to_string())?;
        let file = dead.savefile(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(CaptureFile { file, link, packets: 0 })
    }

    /// Appends a frame; one of another link type than the file's is not written (false).
    pub fn write(&mut self, link: i32, ts: Timestamp, frame: &[u8], wire_len: u32) -> bool {
        if link != self.link {
            return false;
        }
        self.file.write(&pcap::Packet::new(&record_header(ts, frame.len(), wire_len), frame));
        self.packets += 1;
        true
    }

    pub fn flush(&mut self) -> Result<(), String> {
        self.file.flush().map_err(|e| e.to_string())
    }
}
