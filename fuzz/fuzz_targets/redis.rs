//! Fuzzes the Redis dissector: the input as RESP values (the wire parser alone), then as
//! segments of one connection (each a control byte — direction, length — and bytes),
//! through the flow state: pipelining, pushes, resynchronisation, close. Nothing may
//! panic, a parsed value never claims more bytes than it was given, and the flow's
//! buffers stay bounded. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run redis`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::redis::resp::{self, Parse};
use remora_sidecar::dissect::redis::RedisFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while !rest.is_empty() {
        match resp::parse(rest) {
            Parse::Value { used, .. } => {
                assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
            }
            Parse::NeedAtLeast(n) => {
                assert!(n > rest.len());
                break;
            }
            Parse::Invalid(_) => break,
        }
    }
    let _ = resp::inline(data);

    segments::feed(&mut RedisFlow::new(DissectLimits::default()), data);
});
