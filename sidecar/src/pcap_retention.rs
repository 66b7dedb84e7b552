//! Size-bounded retention of the per-stream PCAP files: past the limit, the least
//! recently written files are deleted first. The limit is the data volume's quota less
//! what the scripts' files take there (`file.*`, snapshots: [`DataUsage`]), so the two
//! together stay within it. Runs on a thread of its own, away from the capture.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use remora_scripting::DataUsage;

/// Files written this recently are left alone: their stream may still be writing, and
/// deleting an open file frees nothing until it is closed.
const RECENT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct RetentionStats {
    pub files_deleted: AtomicU64,
    pub bytes_deleted: AtomicU64,
    /// Bytes of PCAP files after the last pass.
    pub bytes_kept: AtomicU64,
}

/// One pass: deletes the oldest `*.pcap` of `dir` until they total at most `limit`.
pub fn enforce(dir: &Path, limit: u64, stats: &RetentionStats) -> std::io::Result<()> {
    let mut files: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        if let Ok(meta) = entry.metadata() {
            files.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len(), path));
        }
    }
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    let now = SystemTime::now();
    for (modified, len, path) in files {
        if total <= limit {
            break;
        }
        if now.duration_since(modified).unwrap_or_default() < RECENT {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
            stats.files_deleted.fetch_add(1, Ordering::Relaxed);
            stats.bytes_deleted.fetch_add(len, Ordering::Relaxed);
        }
    }
    stats.bytes_kept.store(total, Ordering::Relaxed);
    Ok(())
}

/// Runs [`enforce`] every `every` until `stop`, keeping the PCAPs within `quota` less
/// what the scripts' files take.
pub fn spawn(dir: PathBuf, quota: u64, scripts: Arc<DataUsage>, every: Duration, stop: Arc<AtomicBool>) -> Arc<RetentionStats> {
    let stats = Arc::new(RetentionStats::default());
    let mine = stats.clone();
    let dir_shown = dir.display().to_string();
    let spawned = std::thread::Builder::new().name("pcap-retention".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let limit = quota.saturating_sub(scripts.used());
            if let Err(e) = enforce(&dir, limit, &mine) {
                tracing::warn!("PCAP retention in {}: {e}", dir.display());
            }
            std::thread::sleep(every);
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("PCAP retention not running ({e}); {} may fill up", dir_shown);
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_files_go_first_and_recent_ones_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = SystemTime::now() - Duration::from_secs(600);
        for (i, name) in ["000000000001.pcap", "000000000002.pcap", "000000000003.pcap"].iter().enumerate() {
            let path = dir.path().join(name);
            std::fs::write(&path, vec![0u8; 1000]).expect("write");
            let file = std::fs::File::options().write(true).open(&path).expect("open");
            file.set_modified(old + Duration::from_secs(i as u64)).expect("mtime");
        }
        std::fs::write(dir.path().join("000000000004.pcap"), vec![0u8; 1000]).expect("write");
        std::fs::write(dir.path().join("notes.txt"), vec![0u8; 5000]).expect("write");
        let stats = RetentionStats::default();
        enforce(dir.path(), 2000, &stats).expect("enforce");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["000000000003.pcap", "000000000004.pcap", "notes.txt"]);
        assert_eq!(stats.files_deleted.load(Ordering::Relaxed), 2);
        assert_eq!(stats.bytes_kept.load(Ordering::Relaxed), 2000);
    }

    #[test]
    fn the_scripts_files_take_their_share_of_the_quota() {
        let data = tempfile::tempdir().expect("tempdir");
        let pcaps = data.path().join("pcaps");
        std::fs::create_dir_all(&pcaps).expect("mkdir");
        let old = SystemTime::now() - Duration::from_secs(600);
        for i in 0..4u64 {
            let path = pcaps.join(format!("00000000000{i}.pcap"));
            std::fs::write(&path, vec![0u8; 1000]).expect("write");
            std::fs::File::options().write(true).open(&path).expect("open").set_modified(old + Duration::from_secs(i)).expect("mtime");
        }
        // A script's 2,000 bytes of files beside them, in a quota of 4,000.
        std::fs::write(data.path().join("report.json"), vec![0u8; 2000]).expect("write");
        let scripts = DataUsage::new(2000, Some(pcaps.clone()));
        assert_eq!(scripts.recount(data.path()), 2000, "the PCAPs are not the scripts'");
        let stop = Arc::new(AtomicBool::new(false));
        let stats = spawn(pcaps.clone(), 4000, scripts, Duration::from_millis(10), stop.clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while stats.files_deleted.load(Ordering::Relaxed) < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(stats.bytes_kept.load(Ordering::Relaxed), 2000, "PCAPs within what the scripts leave");
        assert!(!pcaps.join("000000000000.pcap").exists() && pcaps.join("000000000003.pcap").exists());
    }
}
