//! Fuzzes the ICMP dissector: the input as messages (see `segments.rs`) of an ICMP and an
//! ICMPv6 flow, errors quoting whatever follows. Nothing may panic. Run:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none icmp`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::icmp::IcmpFlow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut IcmpFlow::new(false, DissectLimits::default()), data);
    segments::feed(&mut IcmpFlow::new(true, DissectLimits::default()), data);
});
