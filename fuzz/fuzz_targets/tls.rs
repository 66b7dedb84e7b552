//! Fuzzes the TLS handshake dissector: the input as a ClientHello body and as a ServerHello
//! body (the hello parsers alone), then as segments of one connection (each a control byte
//! — direction, length — and bytes) through record and handshake framing. Nothing may
//! panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none tls`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::tls::{client_hello, server_hello, TlsFlow};
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

fuzz_target!(|data: &[u8]| {
    let _ = client_hello(data);
    let _ = server_hello(data);
    let out = segments::feed(&mut TlsFlow::new(DissectLimits::default()), data);
    assert!(out.len() <= 1, "one handshake per connection");
});
