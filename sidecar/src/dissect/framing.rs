//! One direction's framing for the binary protocols whose frames carry their length
//! (Kafka, AMQP): whole frames out, at most `keep` bytes of each kept (the rest is
//! counted and skipped, so a huge length allocates nothing), and after a loss of sync
//! (a gap between frames, a length no frame can have) a scan for the next plausible
//! frame start.

use crate::flow::Timestamp;

/// Whether a frame plausibly starts at the first byte of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Yes,
    No,
    /// Too few bytes to tell.
    NeedMore,
}

/// A frame as it came: its first bytes, its length on the wire, when it started and
/// ended, and whether bytes of it are missing from `bytes` (past `keep`, or lost).
#[derive(Debug)]
pub(crate) struct Frame {
    pub bytes: Vec<u8>,
    pub wire_len: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub cut: bool,
}

pub(crate) struct FrameReader {
    /// Bytes needed to know a frame's length.
    header: usize,
    /// A frame's whole length from its header; `None` when no frame starts so.
    frame_len: fn(&[u8]) -> Option<u64>,
    keep: usize,
    /// The current frame's first bytes, or (lost) the bytes being scanned.
    kept: Vec<u8>,
    /// The current frame's length, once its header is in.
    total: Option<u64>,
    seen: u64,
    start: Timestamp,
    cut: bool,
    lost: bool,
    /// Times sync was lost (a parse error each).
    pub losses: u64,
}

/// Bytes scanned for a frame start before older ones are dropped.
const MAX_SCAN: usize = 64 << 10;

impl FrameReader {
    pub fn new(header: usize, frame_len: fn(&[u8]) -> Option<u64>, keep: usize) -> Self {
        FrameReader { header, frame_len, keep: keep.max(header), kept: Vec::new(), total: None, seen: 0, start: Timestamp(0), cut: false, lost: false, losses: 0 }
    }

    /// The whole frames that `data` completes; `resync` says where one starts after a loss.
    pub fn push(&mut self, data: &[u8], ts: Timestamp, resync: &dyn Fn(&[u8]) -> Start) -> Vec<Frame> {
        let mut out = Vec::new();
        // After a frame start is found, the scanned bytes from there are read again.
        let mut input: std::borrow::Cow<[u8]> = data.into();
        let mut at = 0;
        while at < input.len() {
            if self.lost {
                let mut bytes = std::mem::take(&mut self.kept);
                bytes.extend_from_slice(&input[at..]);
                let Some(found) = self.scan(bytes, 0, resync) else { break };
                (input, at) = (std::mem::take(&mut self.kept).into(), found);
                continue;
            }
            let Some(total) = self.total else {
                if self.kept.is_empty() {
                    self.start = ts;
                }
                let n = (self.header - self.kept.len()).min(input.len() - at);
                self.kept.extend_from_slice(&input[at..at + n]);
                at += n;
                if self.kept.len() < self.header {
                    break;
                }
                match (self.frame_len)(&self.kept) {
                    Some(total) => {
                        self.total = Some(total.max(self.header as u64));
                        self.seen = self.header as u64;
                        if self.seen == total {
                            out.push(self.finish(ts));
                        }
                    }
                    None => {
                        // No frame starts here: look for one from the next byte on.
                        self.lost = true;
                        self.losses += 1;
                        let mut bytes = std::mem::take(&mut self.kept);
                        bytes.extend_from_slice(&input[at..]);
                        self.reset();
                        let Some(found) = self.scan(bytes, 1, resync) else { break };
                        (input, at) = (std::mem::take(&mut self.kept).into(), found);
                    }
                }
                continue;
            };
            let n = usize::try_from(total - self.seen).unwrap_or(usize::MAX).min(input.len() - at);
            if !self.cut {
                let room = self.keep.saturating_sub(self.kept.len()).min(n);
                self.kept.extend_from_slice(&input[at..at + room]);
            }
            self.seen += n as u64;
            at += n;
            if self.seen == total {
                out.push(self.finish(ts));
            }
        }
        out
    }

    /// Looks for a frame start in `bytes` from offset `from`: its offset, with the bytes
    /// kept to read again; or `None`, with what may still start one kept for later.
    fn scan(&mut self, mut bytes: Vec<u8>, from: usize, resync: &dyn Fn(&[u8]) -> Start) -> Option<usize> {
        for at in from..bytes.len() {
            match resync(&bytes[at..]) {
                Start::Yes => {
                    self.lost = false;
                    self.kept = bytes;
                    return Some(at);
                }
                Start::NeedMore => {
                    bytes.drain(..at);
                    bytes.truncate(MAX_SCAN);
                    self.kept = bytes;
                    return None;
                }
                Start::No => {}
            }
        }
        self.kept = Vec::new();
        None
    }

    fn finish(&mut self, end: Timestamp) -> Frame {
        let total = self.total.unwrap_or(self.seen);
        let cut = self.cut || (self.kept.len() as u64) < total;
        let frame = Frame { bytes: std::mem::take(&mut self.kept), wire_len: total, start: self.start, end, cut };
        self.reset();
        frame
    }

    fn reset(&mut self) {
        self.kept.clear();
        self.total = None;
        self.seen = 0;
        self.cut = false;
    }

    /// `len` bytes were never captured. Inside a frame, the frame goes on without them
    /// (it comes out `cut`); a gap that ends it ends it; one past its end, or between
    /// frames, loses sync (the frame so far comes out).
    pub fn gap(&mut self, len: u64, ts: Timestamp) -> Option<Frame> {
        if self.lost {
            self.kept.clear();
            return None;
        }
        let Some(total) = self.total else {
            self.reset();
            self.lost = true;
            self.losses += 1;
            return None;
        };
        self.cut = true;
        let end = self.seen.saturating_add(len);
        if end < total {
            self.seen = end;
            return None;
        }
        let frame = self.finish(ts);
        if end > total {
            self.lost = true;
            self.losses += 1;
        }
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a one-byte length and a payload, starting with `F`.
    fn reader(keep: usize) -> FrameReader {
        FrameReader::new(2, |h| (h[0] == b'F').then(|| 2 + u64::from(h[1])), keep)
    }

    fn starts(b: &[u8]) -> Start {
        match b.first() {
            None => Start::NeedMore,
            Some(b'F') => Start::Yes,
            Some(_) => Start::No,
        }
    }

    #[test]
    fn frames_split_kept_cut_and_found_again() {
        let mut r = reader(4);
        let frames = r.push(b"F\x03abcF", Timestamp(1), &starts);
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0].bytes.as_slice(), frames[0].wire_len, frames[0].cut), (&b"F\x03ab"[..], 5, true));
        let frames = r.push(b"\x01z", Timestamp(2), &starts);
        assert_eq!((frames[0].bytes.as_slice(), frames[0].start, frames[0].end), (&b"F\x01z"[..], Timestamp(1), Timestamp(2)));
        // Garbage between frames: skipped up to the next start.
        let frames = r.push(b"xyzF\x00F\x01q", Timestamp(3), &starts);
        assert_eq!(frames.iter().map(|f| f.wire_len).collect::<Vec<_>>(), [2, 3]);
        // A gap inside a frame keeps sync; one between frames loses it.
        assert!(r.push(b"F\x05a", Timestamp(4), &starts).is_empty());
        assert!(r.gap(2, Timestamp(5)).is_none());
        let frames = r.push(b"bc", Timestamp(6), &starts);
        assert!(frames[0].cut && frames[0].wire_len == 7);
        assert!(r.gap(1, Timestamp(7)).is_none() && r.lost);
        assert_eq!(r.push(b"..F\x00", Timestamp(8), &starts).len(), 1);
    }

    #[test]
    fn a_huge_length_is_skipped_not_allocated() {
        let mut r = FrameReader::new(4, |h| Some(4 + u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]))), 16);
        assert!(r.push(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3], Timestamp(1), &|_| Start::No).is_empty());
        assert!(r.kept.capacity() < 1024);
        assert!(r.gap(u64::from(u32::MAX), Timestamp(2)).is_some(), "a gap past the frame's end ends it");
    }
}
