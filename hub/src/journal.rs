//! The store on disk: every stored item appended as one JSON line to the journal in the
//! data directory, replayed at start so a hub restart keeps what it had. The journal is a
//! row of segment files (`items-N.jsonl`, a new one at each start and past
//! [`Journal::segment_bytes`]); the store evicts oldest first, so once every item of a
//! segment has been evicted the whole file is deleted. Nothing is ever rewritten (a
//! rewrite of the store's size under its lock would hold ingestion up), and the files hold
//! the kept items plus at most two segments.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::item_text::Incoming;
use crate::store::ItemStore;

/// One file of the journal.
struct Segment {
    path: PathBuf,
    /// The store's sequence number of its first item and how many it holds (lines that
    /// could not be read are not items).
    first: u64,
    items: u64,
    bytes: u64,
}

pub struct Journal {
    dir: PathBuf,
    /// Oldest first; the last is written to.
    segments: VecDeque<Segment>,
    file: BufWriter<File>,
    /// The number of the segment written to.
    number: u64,
    /// A segment is closed past this (an eighth of the store's bound, at least 4 MiB).
    segment_bytes: u64,
}

/// The journal of hubs before segments: read first, deleted with its items.
const LEGACY_FILE: &str = "items.jsonl";

/// Items are kilobytes each and a batch is flushed whole: written a megabyte at a time
/// rather than an item at a time.
const WRITE_BUFFER: usize = 1 << 20;

fn segment_number(name: &str) -> Option<u64> {
    name.strip_prefix("items-")?.strip_suffix(".jsonl")?.parse().ok()
}

impl Journal {
    /// Opens the journal in `dir` (creating it) and loads it into `store`; returns the
    /// journal and how many lines could not be read (a torn last line after a crash).
    pub fn open(dir: &Path, store: &mut ItemStore) -> std::io::Result<(Journal, usize)> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            match (name.as_str(), segment_number(&name)) {
                (LEGACY_FILE, _) => found.push((0, entry.path())),
                (_, Some(n)) => found.push((n + 1, entry.path())),
                _ => {}
            }
        }
        found.sort();
        let mut segments = VecDeque::new();
        let mut unreadable = 0;
        for (_, path) in &found {
            let first = store.next_seq();
            for line in BufReader::new(File::open(path)?).lines() {
                match Incoming::from_text(&line?, None) {
                    Ok(item) => store.push(item),
                    Err(_) => unreadable += 1,
                }
            }
            let bytes = std::fs::metadata(path)?.len();
            segments.push_back(Segment { path: path.clone(), first, items: store.next_seq() - first, bytes });
        }
        let number = found.last().map_or(0, |(n, _)| *n);
        let segment_bytes = (store.max_bytes() as u64 / 8).max(4 << 20);
        let (file, segment) = Journal::create(dir, number, store.next_seq())?;
        segments.push_back(segment);
        let mut journal = Journal { dir: dir.to_path_buf(), segments, file, number, segment_bytes };
        journal.retire(store)?;
        Ok((journal, unreadable))
    }

    fn create(dir: &Path, number: u64, first: u64) -> std::io::Result<(BufWriter<File>, Segment)> {
        let path = dir.join(format!("items-{number:012}.jsonl"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let bytes = file.metadata()?.len();
        Ok((BufWriter::with_capacity(WRITE_BUFFER, file), Segment { path, first, items: 0, bytes }))
    }

    /// Appends one item's JSON text (the store's next item).
    pub fn append(&mut self, json: &str) -> std::io::Result<()> {
        self.file.write_all(json.as_bytes())?;
        self.file.write_all(b"\n")?;
        if let Some(segment) = self.segments.back_mut() {
            segment.items += 1;
            segment.bytes += json.len() as u64 + 1;
        }
        Ok(())
    }

    /// Makes what was appended durable (once per received batch).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// Deletes the segments whose every item `store` has evicted, and starts a new
    /// segment once the current one is full. Returns how many files were deleted.
    pub fn retire(&mut self, store: &ItemStore) -> std::io::Result<usize> {
        if self.segments.back().is_some_and(|s| s.bytes >= self.segment_bytes) {
            self.file.flush()?;
            self.number += 1;
            let (file, segment) = Journal::create(&self.dir, self.number, store.next_seq())?;
            self.file = file;
            self.segments.push_back(segment);
        }
        let oldest = store.next_seq() - store.len() as u64;
        let mut deleted = 0;
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| s.first + s.items <= oldest) {
            if let Some(segment) = self.segments.pop_front() {
                std::fs::remove_file(&segment.path)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Bytes in the journal's files.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// How large a segment grows before the next one starts.
    pub fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remora_kfl::Query;
    use serde_json::json;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn store_and_journal(store: &mut ItemStore, journal: &mut Journal, item: serde_json::Value) {
        journal.append(&item.to_string()).expect("append");
        store.push_value(&item);
        journal.flush().expect("flush");
        journal.retire(store).expect("retire");
    }

    #[test]
    fn a_restart_keeps_the_items_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A journal of a hub from before segments is read first.
        std::fs::write(dir.path().join(LEGACY_FILE), "{\"n\":-1}\n").expect("legacy");
        let mut store = ItemStore::new(10, 1 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        for n in 0..3 {
            store_and_journal(&mut store, &mut journal, json!({"n": n}));
        }
        drop(journal);
        // A crash in the middle of a line.
        let last = dir.path().join(files(dir.path()).last().expect("a segment"));
        std::fs::OpenOptions::new().append(true).open(last).and_then(|mut f| f.write_all(b"{\"n\": ")).expect("tear");

        let mut reloaded = ItemStore::new(10, 1 << 20);
        let (_, unreadable) = Journal::open(dir.path(), &mut reloaded).expect("reopen");
        assert_eq!(unreadable, 1);
        let page = reloaded.query(&Query::compile("true").expect("kfl"), 10, None);
        let items: Vec<&str> = page.items.iter().map(|t| t.as_str()).collect();
        assert_eq!(items, [r#"{"n":2}"#, r#"{"n":1}"#, r#"{"n":0}"#, r#"{"n":-1}"#]);
        assert_eq!(files(dir.path()), ["items-000000000000.jsonl", "items-000000000001.jsonl", "items.jsonl"], "a new segment at each start");
    }

    #[test]
    fn large_items_never_fill_more_than_the_store_and_two_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A store of at most 8 MiB (segments of 4 MiB); 200 items of 256 KiB: 50 MiB written.
        let mut store = ItemStore::new(100_000, 8 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        let big = "x".repeat(256 << 10);
        for n in 0..200 {
            store_and_journal(&mut store, &mut journal, json!({"n": n, "body": big}));
            let on_disk: u64 = files(dir.path()).iter().map(|f| std::fs::metadata(dir.path().join(f)).expect("file").len()).sum();
            assert_eq!(on_disk, journal.bytes());
            assert!(on_disk <= store.bytes() as u64 + 2 * journal.segment_bytes() + (256 << 10), "{on_disk} bytes on disk for a store of {}", store.bytes());
        }
        assert!(files(dir.path()).len() <= 4, "{:?}", files(dir.path()));
    }

    #[test]
    fn a_restart_loads_exactly_what_the_store_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Segments of 4 MiB; 2500 items of 16 KiB: 40 MiB written.
        let mut store = ItemStore::new(5, 32 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        let body = "y".repeat(16 << 10);
        for n in 0..2500 {
            store_and_journal(&mut store, &mut journal, json!({"n": n, "body": body}));
        }
        assert!(files(dir.path()).len() <= 2, "segments of evicted items are deleted: {:?}", files(dir.path()));
        let mut reloaded = ItemStore::new(5, 32 << 20);
        Journal::open(dir.path(), &mut reloaded).expect("reopen");
        let page = reloaded.query(&Query::compile("true").expect("kfl"), 10, None);
        let numbers: Vec<i64> = page.items.iter().map(|t| serde_json::from_str::<serde_json::Value>(t).expect("json")["n"].as_i64().expect("n")).collect();
        assert_eq!(numbers, [2499, 2498, 2497, 2496, 2495]);
    }
}
