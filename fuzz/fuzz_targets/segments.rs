//! Shared by the dissector targets: the input read as segments of one connection, each a
//! control byte (high bit: direction; low 7 bits: length, 0 for a capture gap) and bytes,
//! fed to a flow, which is then closed.

use remora_sidecar::dissect::{CloseReason, Exchange, StreamDissector};
use remora_sidecar::flow::{Dir, Timestamp};

pub fn feed(flow: &mut dyn StreamDissector, data: &[u8]) -> Vec<Exchange> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut ts = 0;
    while let Some((&control, tail)) = rest.split_first() {
        let len = usize::from(control & 0x7f).min(tail.len());
        let dir = if control & 0x80 == 0 { Dir::Forward } else { Dir::Reverse };
        ts += 1;
        if len == 0 {
            flow.gap(dir, 10, Timestamp(ts), &mut out);
        } else {
            flow.data(dir, &tail[..len], Timestamp(ts), &mut out);
        }
        rest = &tail[len..];
    }
    flow.close(Timestamp(ts + 1), CloseReason::EndOfCapture, &mut out);
    out
}

/// `data` after segments that set a connection up (each at most 127 bytes; `true` is the
/// reverse direction).
#[allow(dead_code)]
pub fn prefixed(setup: &[(bool, &[u8])], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (reverse, bytes) in setup {
        for piece in bytes.chunks(127) {
            out.push(u8::from(*reverse) << 7 | piece.len() as u8);
            out.extend_from_slice(piece);
        }
    }
    out.extend_from_slice(data);
    out
}
