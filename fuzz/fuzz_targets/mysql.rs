//! Fuzzes the MySQL dissector: the input as segments of one connection (see
//! `segments.rs`) through packet framing, the handshake and the answers' state machine;
//! and once more after a real server greeting, so the handshake path is reached. Nothing
//! may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none mysql`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::mysql::MysqlFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

/// A server greeting (protocol 10, version 8.0.36) as one reverse segment.
const GREETING: &[u8] = b"\xa0\x1c\0\0\0\x0a8.0.36\0\x01\0\0\0\x01\x02\x03\x04\x05\x06\x07\x08\0\xff\xf7\x21\x02\0\xff\xc1";

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut MysqlFlow::new(DissectLimits::default()), data);
    let mut framed = GREETING.to_vec();
    framed.extend_from_slice(data);
    segments::feed(&mut MysqlFlow::new(DissectLimits::default()), &framed);
});
