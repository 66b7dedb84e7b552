//! Fuzzes the HTTP/2 dissector: the input as segments of one connection (see
//! `segments.rs`) read as frames from mid-connection, after the client preface, and after
//! an HTTP/1.1 `Upgrade: h2c` (so HPACK, stream pairing, gRPC messages, resync after gaps
//! and the hand-over are reached). Nothing may panic. Run:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none http2`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::http1::Http1Flow;
use remora_sidecar::dissect::http2::{Http2Flow, PREFACE};
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n";
const SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut Http2Flow::mid_stream(DissectLimits::default()), data);
    segments::feed(&mut Http2Flow::new(DissectLimits::default()), &segments::prefixed(&[(false, PREFACE)], data));
    segments::feed(&mut Http1Flow::new(DissectLimits::default()), &segments::prefixed(&[(false, UPGRADE), (true, SWITCHED), (false, PREFACE)], data));
});
