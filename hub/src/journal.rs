//! The store on disk: every stored item appended as one JSON line to `items.jsonl` in
//! the data directory, replayed at start so a hub restart keeps what it had. When the
//! file holds twice what the store keeps — in lines or in bytes, so a few large items
//! cannot fill the hub's volume — it is rewritten with the store's contents.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::item_text::Incoming;
use crate::store::ItemStore;

pub struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    /// Lines and bytes in the file, to know when to compact.
    lines: usize,
    bytes: u64,
}

/// Below these the journal is never compacted (rewriting a small file often is waste).
const MIN_LINES: usize = 1_000;
const MIN_BYTES: u64 = 8 << 20;

const FILE: &str = "items.jsonl";

impl Journal {
    /// Opens (or creates) the journal in `dir` and loads it into `store`; returns the
    /// journal and how many lines could not be read (a torn last line after a crash).
    pub fn open(dir: &Path, store: &mut ItemStore) -> std::io::Result<(Journal, usize)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut lines = 0;
        let mut unreadable = 0;
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let line = line?;
                lines += 1;
                match Incoming::from_text(&line, None) {
                    Ok(item) => store.push(item),
                    Err(_) => unreadable += 1,
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let bytes = file.metadata()?.len();
        Ok((Journal { path, file: BufWriter::new(file), lines, bytes }, unreadable))
    }

    /// Appends one item's JSON text.
    pub fn append(&mut self, json: &str) -> std::io::Result<()> {
        self.file.write_all(json.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.lines += 1;
        self.bytes += json.len() as u64 + 1;
        Ok(())
    }

    /// Makes what was appended durable (once per received batch).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// Rewrites the file with `store`'s items once it holds twice as many lines or bytes
    /// (written beside and renamed over, so a crash leaves one whole file or the other).
    pub fn compact_if_needed(&mut self, store: &ItemStore) -> std::io::Result<bool> {
        let too_long = self.lines >= 2 * store.len().max(MIN_LINES);
        let too_big = self.bytes >= 2 * (store.bytes() as u64).max(MIN_BYTES);
        if !too_long && !too_big {
            return Ok(false);
        }
        self.file.flush()?;
        let tmp = self.path.with_extension("jsonl.tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            for item in store.texts() {
                out.write_all(item.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        let file = OpenOptions::new().append(true).open(&self.path)?;
        self.file = BufWriter::new(file);
        self.lines = store.len();
        self.bytes = std::fs::metadata(&self.path)?.len();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remora_kfl::Query;
    use serde_json::json;

    #[test]
    fn a_restart_keeps_the_items_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ItemStore::new(10, 1 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        for n in 0..3 {
            let item = json!({"n": n});
            let text = item.to_string();
            journal.append(&text).expect("append");
            store.push_value(&item);
        }
        journal.flush().expect("flush");
        drop(journal);
        // A crash in the middle of a line.
        std::fs::OpenOptions::new().append(true).open(dir.path().join(FILE)).and_then(|mut f| f.write_all(b"{\"n\": ")).expect("tear");

        let mut reloaded = ItemStore::new(10, 1 << 20);
        let (_, unreadable) = Journal::open(dir.path(), &mut reloaded).expect("reopen");
        assert_eq!(unreadable, 1);
        let page = reloaded.query(&Query::compile("true").expect("kfl"), 10, None);
        let items: Vec<&str> = page.items.iter().map(|t| t.as_str()).collect();
        assert_eq!(items, [r#"{"n":2}"#, r#"{"n":1}"#, r#"{"n":0}"#]);
    }

    #[test]
    fn a_few_large_items_cannot_grow_the_file_past_twice_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A store of at most 1 MiB; 100 items of 256 KiB: 25 MiB written, in few lines.
        let mut store = ItemStore::new(100_000, 1 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        let big = "x".repeat(256 << 10);
        let mut compactions = 0;
        for n in 0..100 {
            let item = json!({"n": n, "body": big});
            let text = item.to_string();
            journal.append(&text).expect("append");
            store.push_value(&item);
            compactions += usize::from(journal.compact_if_needed(&store).expect("compact"));
        }
        journal.flush().expect("flush");
        let size = std::fs::metadata(dir.path().join(FILE)).expect("journal").len();
        assert!(size <= 2 * MIN_BYTES + (1 << 20), "{size} bytes on disk for a store of 1 MiB");
        assert!(compactions >= 1);
    }

    #[test]
    fn compaction_keeps_only_what_the_store_keeps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ItemStore::new(5, 1 << 20);
        let (mut journal, _) = Journal::open(dir.path(), &mut store).expect("open");
        for n in 0..2500 {
            let text = json!({"n": n}).to_string();
            journal.append(&text).expect("append");
            store.push_value(&json!({"n": n}));
            journal.compact_if_needed(&store).expect("compact");
        }
        journal.flush().expect("flush");
        let lines = std::fs::read_to_string(dir.path().join(FILE)).expect("read").lines().count();
        assert!(lines < 2000, "{lines} lines kept for a store of 5");
        let mut reloaded = ItemStore::new(5, 1 << 20);
        Journal::open(dir.path(), &mut reloaded).expect("reopen");
        let page = reloaded.query(&Query::compile("true").expect("kfl"), 10, None);
        assert_eq!(page.items.first().map(|t| t.as_str()), Some(r#"{"n":2499}"#));
        assert_eq!(page.items.len(), 5);
    }
}
