//! Fuzzes the PostgreSQL dissector: the input as segments of one connection (see
//! `segments.rs`) through framing, the startup, query cycles and the hand-over to TLS;
//! and once more with a real startup packet in front, so the typed messages after it are
//! reached. Nothing may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none postgres`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::postgres::PostgresFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

/// A startup packet (protocol 3.0, user and database) as one forward segment.
const STARTUP: &[u8] = b"\x1b\0\0\0\x1b\0\x03\0\0user\0u\0database\0d\0\0";

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut PostgresFlow::new(DissectLimits::default()), data);
    let mut framed = STARTUP.to_vec();
    framed.extend_from_slice(data);
    segments::feed(&mut PostgresFlow::new(DissectLimits::default()), &framed);
});
