//! PCAP export: the streams of the items a KFL query matches, fetched over their
//! sessions from the sidecars that hold the files, merged into one capture in time order.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use remora_kfl::Query;
use remora_model::wire::{PcapChunk, ToSidecar, VERSION};
use tokio::sync::mpsc;

use crate::server::Hub;

/// Streams one export takes at most (the newest matching).
pub const MAX_STREAMS: usize = 10_000;
/// Bytes of PCAP one export gathers at most.
pub const MAX_BYTES: usize = 512 << 20;
/// How long a sidecar may take to send what it was asked for.
const WAIT: Duration = Duration::from_secs(30);

enum Piece {
    Chunk { stream: String, data: Vec<u8> },
    Done { missing: Vec<String> },
}

/// Exports waiting for sidecars' answers, by request id, each with the session it was
/// sent to: only that session's answers count (another sidecar cannot slip its bytes
/// into someone else's export).
#[derive(Default)]
pub(crate) struct PcapRequests {
    next: AtomicU64,
    open: Mutex<HashMap<u64, (u64, mpsc::UnboundedSender<Piece>)>>,
    /// Answers from a session that was not asked.
    pub(crate) foreign: AtomicU64,
}

impl PcapRequests {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (u64, mpsc::UnboundedSender<Piece>)>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, session: u64) -> (u64, mpsc::UnboundedReceiver<Piece>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::unbounded_channel();
        self.open().insert(id, (session, sender));
        (id, receiver)
    }

    fn finish(&self, id: u64) {
        self.open().remove(&id);
    }

    /// Passes `piece` on to request `id` if `session` is the one asked; dropped when the
    /// export is over.
    fn deliver(&self, session: u64, id: u64, piece: Piece) {
        match self.open().get(&id) {
            Some((asked, sender)) if *asked == session => {
                let _ = sender.send(piece);
            }
            Some(_) => {
                self.foreign.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(request = id, session, "a PCAP answer from a sidecar that was not asked was dropped");
            }
            None => {}
        }
    }

    /// A piece of a file from the sidecar of `session`.
    pub(crate) fn chunk(&self, session: u64, chunk: PcapChunk<'_>) {
        self.deliver(session, chunk.id, Piece::Chunk { stream: chunk.stream.to_string(), data: chunk.data.to_vec() });
    }

    pub(crate) fn done(&self, session: u64, id: u64, missing: Vec<String>) {
        self.deliver(session, id, Piece::Done { missing });
    }
}

/// One export's result.
pub struct Export {
    pub pcap: Vec<u8>,
    /// Streams in the file.
    pub streams: usize,
    /// `namespace/pod/stream: why` of each matching stream not in the file.
    pub missing: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no stored item matches the query")]
    NothingMatches,
    #[error("none of the {0} matching streams could be fetched: {1}")]
    NothingFetched(usize, String),
    #[error("the export passed {} MiB; narrow the query", MAX_BYTES >> 20)]
    TooLarge,
    #[error("{0}")]
    Io(String),
}

/// Removes the export's scratch directory however the export ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Hub {
    /// Fetches and merges the PCAPs of the streams of the items matching `query`.
    pub async fn export_pcap(&self, query: &Query) -> Result<Export, ExportError> {
        let streams = crate::store::streams(query, MAX_STREAMS, |filter, from, out| self.candidates(filter, from, out));
        if streams.is_empty() {
            return Err(ExportError::NothingMatches);
        }
        let mut by_pod: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (namespace, pod, stream) in streams.iter().cloned() {
            by_pod.entry((namespace, pod)).or_default().push(stream);
        }
        // One directory per export, even for exports running side by side.
        static EXPORTS: AtomicU64 = AtomicU64::new(0);
        let export = EXPORTS.fetch_add(1, Ordering::Relaxed);
        let root = self.scratch_dir.get().cloned().unwrap_or_else(std::env::temp_dir);
        let scratch = Scratch(root.join(format!("remora-export-{}-{export}", std::process::id())));
        std::fs::create_dir_all(&scratch.0).map_err(|e| ExportError::Io(format!("{}: {e}", scratch.0.display())))?;
        let mut files: Vec<PathBuf> = Vec::new();
        let mut missing = Vec::new();
        let mut bytes = 0usize;
        for ((namespace, pod), wanted) in by_pod {
            let Some(session) = self.sessions.find(&namespace, &pod) else {
                missing.extend(wanted.iter().map(|s| format!("{namespace}/{pod}/{s}: the pod's sidecar is not connected")));
                continue;
            };
            let fetched = self.fetch(session, &wanted, &scratch.0, files.len(), &mut bytes).await;
            let (got, gone) = fetched?;
            files.extend(got);
            missing.extend(gone.into_iter().map(|s| format!("{namespace}/{pod}/{s}")));
        }
        if files.is_empty() {
            let why = missing.first().cloned().unwrap_or_else(|| "the sidecars sent no bytes for them (no packet written yet)".into());
            return Err(ExportError::NothingFetched(streams.len(), why));
        }
        let out = scratch.0.join("export.pcap");
        let merged = {
            let (files, out) = (files.clone(), out.clone());
            tokio::task::spawn_blocking(move || remora_scripting::merge_pcaps(&files, &out)).await
        };
        merged.map_err(|e| ExportError::Io(e.to_string()))?.map_err(ExportError::Io)?;
        let pcap = std::fs::read(&out).map_err(|e| ExportError::Io(format!("{}: {e}", out.display())))?;
        Ok(Export { pcap, streams: files.len(), missing })
    }

    /// Asks one sidecar for `wanted` and writes what comes into `dir`; returns the files
    /// and `stream: why` of what did not come.
    async fn fetch(&self, session: u64, wanted: &[String], dir: &std::path::Path, first: usize, bytes: &mut usize) -> Result<(Vec<PathBuf>, Vec<String>), ExportError> {
        let (id, mut pieces) = self.pcap_requests.start(session);
        let asked = self.sessions.send(session, &ToSidecar::PcapRequest { v: VERSION, id, streams: wanted.to_vec() });
        let mut files: BTreeMap<String, (PathBuf, std::fs::File)> = BTreeMap::new();
        let mut missing: Vec<String> = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        let outcome = loop {
            if !asked {
                break Some("the sidecar's session is gone".to_string());
            }
            let piece = match tokio::time::timeout_at(deadline, pieces.recv()).await {
                Ok(Some(piece)) => piece,
                Ok(None) => break Some("the request was dropped".into()),
                Err(_) => break Some(format!("the sidecar did not answer within {} s", WAIT.as_secs())),
            };
            match piece {
                Piece::Chunk { stream, data } => {
                    if !wanted.contains(&stream) {
                        continue;
                    }
                    *bytes += data.len();
                    if *bytes > MAX_BYTES {
                        self.pcap_requests.finish(id);
                        return Err(ExportError::TooLarge);
                    }
                    if !files.contains_key(&stream) {
                        let path = dir.join(format!("{:06}-{stream}", first + files.len()));
                        let file = std::fs::File::create(&path).map_err(|e| ExportError::Io(format!("{}: {e}", path.display())))?;
                        files.insert(stream.clone(), (path, file));
                    }
                    if let Some((path, file)) = files.get_mut(&stream) {
                        std::io::Write::write_all(file, &data).map_err(|e| ExportError::Io(format!("{}: {e}", path.display())))?;
                    }
                }
                Piece::Done { missing: gone } => {
                    missing.extend(gone.into_iter().map(|s| format!("{s}: no longer on the sidecar (retention) or never written")));
                    break None;
                }
            }
        };
        self.pcap_requests.finish(id);
        if let Some(why) = outcome {
            // What did not arrive whole is left out.
            for stream in wanted {
                files.remove(stream);
                missing.push(format!("{stream}: {why}"));
            }
        }
        Ok((files.into_values().map(|(path, _)| path).collect(), missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_session_asked_answers_a_request() {
        let requests = PcapRequests::default();
        let (id, mut pieces) = requests.start(7);
        requests.chunk(8, PcapChunk { id, stream: "000000000001.pcap", data: b"forged" });
        requests.done(8, id, Vec::new());
        assert!(pieces.try_recv().is_err(), "another sidecar's answer is dropped");
        assert_eq!(requests.foreign.load(Ordering::Relaxed), 2);
        requests.chunk(7, PcapChunk { id, stream: "000000000001.pcap", data: b"real" });
        assert!(matches!(pieces.try_recv(), Ok(Piece::Chunk { data, .. }) if data == b"real"));
    }
}
