//! Fuzzes the Kafka dissector: the input as segments of one connection (see
//! `segments.rs`) through the frame reader (lengths, huge lengths, gaps, resync), the
//! request and response headers, every body decoder the API keys reach, and the pairing
//! by correlation id. Nothing may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none kafka`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::kafka::KafkaFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut KafkaFlow::new(DissectLimits::default()), data);
    // A small pending limit reaches the overflow path.
    segments::feed(&mut KafkaFlow::new(DissectLimits { max_pending: 2, ..DissectLimits::default() }), data);
});
