//! TCP reassembly for one direction of a connection.
//!
//! In-order bytes are handed on as borrowed slices of the packet (no copy); only
//! segments that arrive ahead of a hole are buffered, under a per-stream and a global
//! byte cap. A hole becomes a [`Chunk::Gap`] as soon as it is known to be lost (the peer
//! acknowledged past it), or when a cap forces it, so the dissector can resynchronise
//! instead of the stream stalling.

use std::collections::BTreeMap;

use crate::decode::{tcp_flags, TcpSegment};

/// What the reassembler hands to the dissector, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// This many bytes of the stream were never captured.
    Gap(u64),
}

/// Limits on buffered out-of-order bytes.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Bytes one direction may hold ahead of a hole.
    pub per_stream_bytes: usize,
    /// Bytes all directions of all flows may hold together.
    pub total_bytes: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits { per_stream_bytes: 1 << 20, total_bytes: 64 << 20 }
    }
}

/// Counters of what reassembly saw, summed over all streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments whose bytes had all been delivered already.
    pub retransmitted_segments: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order_segments: u64,
    /// Segments that partly overlapped delivered bytes (the new part was kept).
    pub overlapping_segments: u64,
    /// Holes skipped, and their total size.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Times a stream's own buffer cap forced a hole to be skipped.
    pub stream_cap_hits: u64,
    /// Times the global buffer cap forced a hole to be skipped.
    pub total_cap_hits: u64,
    /// Segments too far from the expected sequence number to be this stream's.
    pub out_of_window_segments: u64,
}

/// Shared accounting of buffered bytes across every stream.
#[derive(Debug, Default)]
pub struct ReassemblyBudget {
    pub limits: ReassemblyLimits,
    pub buffered_bytes: usize,
    pub stats: ReassemblyStats,
}

/// Bytes further than this from the expected position are not this stream's.
const WINDOW: i64 = 1 << 30;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// Sequence number of stream offset 0; `None` until the first segment.
    base: Option<u32>,
    /// Offset of the next byte to deliver.
    next: i64,
    /// Segments ahead of `next`, by offset.
    pending: BTreeMap<i64, Vec<u8>>,
    pending_bytes: usize,
    /// Highest offset the peer acknowledged.
    peer_acked: Option<i64>,
    /// Offset just past the FIN, once seen.
    fin_at: Option<i64>,
}

impl HalfStream {
    fn offset_of(&self, base: u32, seq: u32) -> i64 {
        let next_seq = base.wrapping_add(self.next as u32);
        self.next + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// True once every byte up to the FIN was delivered.
    pub fn finished(&self) -> bool {
        self.fin_at.is_some_and(|fin| self.next >= fin)
    }

    pub fn buffered_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Takes one segment of this direction.
    pub fn segment(&mut self, segment: &TcpSegment<'_>, budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        let syn = segment.has(tcp_flags::SYN);
        let base = match self.base {
            Some(base) => base,
            None => {
                // The first byte follows the SYN; mid-stream, it is this segment's first.
                let base = if syn { segment.seq.wrapping_add(1) } else { segment.seq };
                self.base = Some(base);
                base
            }
        };
        let data_seq = if syn { segment.seq.wrapping_add(1) } else { segment.seq };
        let mut offset = self.offset_of(base, data_seq);
        if (offset - self.next).abs() > WINDOW {
            budget.stats.out_of_window_segments += 1;
            return;
        }
        let mut payload = segment.payload;
        if segment.has(tcp_flags::FIN) {
            self.fin_at = Some(offset + payload.len() as i64);
        }
        if payload.is_empty() {
            return;
        }
        let end = offset + payload.len() as i64;
        if end <= self.next {
            budget.stats.retransmitted_segments += 1;
            return;
        }
        if offset < self.next {
            budget.stats.overlapping_segments += 1;
            payload = &payload[(self.next - offset) as usize..];
            offset = self.next;
        }
        if offset == self.next {
            self.next = end;
            deliver(Chunk::Data(payload));
            self.drain(budget, deliver);
            return;
        }
        // Ahead of a hole. If the peer already acknowledged the hole, it is lost.
        if self.peer_acked.is_some_and(|acked| acked >= offset) {
            self.skip_to(offset, budget, deliver);
            self.next = end;
            deliver(Chunk::Data(payload));
            self.drain(budget, deliver);
            return;
        }
        self.buffer(offset, payload, budget, deliver);
    }

    /// Takes the peer's acknowledgement number: a hole it covers will never be filled.
    pub fn peer_ack(&mut self, ack: u32, budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        let Some(base) = self.base else { return };
        let acked = self.offset_of(base, ack);
        if (acked - self.next).abs() > WINDOW {
            return;
        }
        if self.peer_acked.is_none_or(|previous| acked > previous) {
            self.peer_acked = Some(acked);
        }
        if acked > self.next {
            if let Some(first) = self.pending.keys().next().copied() {
                self.skip_to(first.min(acked), budget, deliver);
                self.drain(budget, deliver);
            }
        }
    }

    /// Hands on everything still buffered, holes and all (the connection is over).
    pub fn flush(&mut self, budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        while let Some(first) = self.pending.keys().next().copied() {
            self.skip_to(first, budget, deliver);
            self.drain(budget, deliver);
        }
    }

    fn buffer(&mut self, offset: i64, payload: &[u8], budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        let over_stream = self.pending_bytes + payload.len() > budget.limits.per_stream_bytes;
        let over_total = budget.buffered_bytes + payload.len() > budget.limits.total_bytes;
        if over_stream || over_total {
            if over_stream {
                budget.stats.stream_cap_hits += 1;
            } else {
                budget.stats.total_cap_hits += 1;
            }
            // Give up on the oldest hole: deliver what is buffered, then this segment.
            self.flush(budget, deliver);
            if offset > self.next {
                self.skip_to(offset, budget, deliver);
            }
            let skip = (self.next - offset).max(0) as usize;
            if skip < payload.len() {
                self.next = offset + payload.len() as i64;
                deliver(Chunk::Data(&payload[skip..]));
            }
            return;
        }
        // A second copy of a segment already waiting here is a retransmission, not more
        // reordering; of two that start at the same offset the longer is kept.
        let replaced = match self.pending.get(&offset) {
            Some(existing) => {
                budget.stats.retransmitted_segments += 1;
                if existing.len() >= payload.len() {
                    return;
                }
                existing.len()
            }
            None => {
                budget.stats.out_of_order_segments += 1;
                0
            }
        };
        self.pending.insert(offset, payload.to_vec());
        self.pending_bytes = self.pending_bytes + payload.len() - replaced;
        budget.buffered_bytes = budget.buffered_bytes + payload.len() - replaced;
    }

    fn skip_to(&mut self, offset: i64, budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        if offset > self.next {
            let missing = (offset - self.next) as u64;
            budget.stats.gaps += 1;
            budget.stats.gap_bytes += missing;
            self.next = offset;
            deliver(Chunk::Gap(missing));
        }
    }

    /// Delivers buffered segments that the stream has reached.
    fn drain(&mut self, budget: &mut ReassemblyBudget, deliver: &mut impl FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let offset = *entry.key();
            if offset > self.next {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            budget.buffered_bytes -= data.len();
            let end = offset + data.len() as i64;
            if end > self.next {
                let fresh = &data[(self.next - offset) as usize..];
                self.next = end;
                deliver(Chunk::Data(fresh));
            }
        }
    }

    /// Returns this stream's buffered bytes to the budget (the flow is being dropped).
    pub fn release(&mut self, budget: &mut ReassemblyBudget) {
        budget.buffered_bytes -= self.pending_bytes;
        self.pending_bytes = 0;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32, flags: u8, payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment { src_port: 1, dst_port: 2, seq, ack: 0, flags, payload }
    }

    /// Runs segments through one stream and returns what came out, gaps as `[gap N]`.
    fn run(stream: &mut HalfStream, budget: &mut ReassemblyBudget, segments: &[TcpSegment<'_>]) -> String {
        let mut out = String::new();
        for s in segments {
            stream.segment(s, budget, &mut |chunk| push(&mut out, chunk));
        }
        out
    }

    fn push(out: &mut String, chunk: Chunk<'_>) {
        match chunk {
            Chunk::Data(d) => out.push_str(&String::from_utf8_lossy(d)),
            Chunk::Gap(n) => out.push_str(&format!("[gap {n}]")),
        }
    }

    #[test]
    fn reorders_and_drops_retransmissions_and_overlaps() {
        let mut budget = ReassemblyBudget::default();
        let mut s = HalfStream::default();
        let out = run(
            &mut s,
            &mut budget,
            &[seg(99, tcp_flags::SYN, b""), seg(106, 0, b"world"), seg(100, 0, b"hello "), seg(100, 0, b"hello "), seg(104, 0, b"o wor"), seg(111, tcp_flags::FIN, b"!")],
        );
        assert_eq!(out, "hello world!");
        assert!(s.finished());
        assert_eq!(budget.stats.out_of_order_segments, 1);
        assert_eq!(budget.stats.retransmitted_segments, 2);
        assert_eq!(budget.buffered_bytes, 0);
    }

    /// A segment that arrives twice while it waits behind a hole is reordered once and
    /// retransmitted once.
    #[test]
    fn a_copy_of_a_waiting_segment_is_a_retransmission() {
        let mut budget = ReassemblyBudget::default();
        let mut s = HalfStream::default();
        let out = run(&mut s, &mut budget, &[seg(99, tcp_flags::SYN, b""), seg(106, 0, b"world"), seg(106, 0, b"world"), seg(100, 0, b"hello ")]);
        assert_eq!(out, "hello world");
        assert_eq!((budget.stats.out_of_order_segments, budget.stats.retransmitted_segments), (1, 1));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut budget = ReassemblyBudget::default();
        let mut s = HalfStream::default();
        let out = run(&mut s, &mut budget, &[seg(u32::MAX - 2, 0, b"abc"), seg(3, 0, b"ghi"), seg(0, 0, b"def")]);
        assert_eq!(out, "abcdefghi");
    }

    #[test]
    fn acknowledged_hole_becomes_a_gap_at_once() {
        let mut budget = ReassemblyBudget::default();
        let mut s = HalfStream::default();
        let mut out = run(&mut s, &mut budget, &[seg(1000, 0, b"abc"), seg(1010, 0, b"xyz")]);
        assert_eq!(out, "abc", "the hole may still fill: wait");
        s.peer_ack(1013, &mut budget, &mut |c| push(&mut out, c));
        assert_eq!(out, "abc[gap 7]xyz");
        assert_eq!((budget.stats.gaps, budget.stats.gap_bytes), (1, 7));
    }

    #[test]
    fn stream_cap_forces_the_hole_and_returns_the_budget() {
        let mut budget = ReassemblyBudget { limits: ReassemblyLimits { per_stream_bytes: 8, total_bytes: 100 }, ..Default::default() };
        let mut s = HalfStream::default();
        let out = run(&mut s, &mut budget, &[seg(0, 0, b"a"), seg(5, 0, b"12345"), seg(10, 0, b"67890")]);
        assert_eq!(out, "a[gap 4]1234567890");
        assert_eq!(budget.stats.stream_cap_hits, 1);
        assert_eq!(budget.buffered_bytes, 0);
    }

    #[test]
    fn flush_delivers_everything_with_gaps() {
        let mut budget = ReassemblyBudget::default();
        let mut s = HalfStream::default();
        let mut out = run(&mut s, &mut budget, &[seg(0, 0, b"a"), seg(3, 0, b"d"), seg(6, 0, b"g")]);
        s.flush(&mut budget, &mut |c| push(&mut out, c));
        assert_eq!(out, "a[gap 2]d[gap 2]g");
    }
}
