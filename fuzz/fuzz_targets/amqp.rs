//! Fuzzes the AMQP 0-9-1 dissector: the input as segments of one connection (see
//! `segments.rs`) through the frame reader, the methods' arguments, content headers and
//! bodies, and the per-channel pairing; once more after a protocol header from the
//! client. Nothing may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none amqp`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::amqp::AmqpFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

/// The client's protocol header as one forward segment.
const HEADER: &[u8] = b"\x08AMQP\x00\x00\x09\x01";

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut AmqpFlow::new(DissectLimits::default()), data);
    let mut framed = HEADER.to_vec();
    framed.extend_from_slice(data);
    segments::feed(&mut AmqpFlow::new(DissectLimits { max_pending: 2, ..DissectLimits::default() }), &framed);
});
