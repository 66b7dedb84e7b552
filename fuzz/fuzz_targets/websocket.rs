//! Fuzzes the WebSocket dissector behind the HTTP/1.1 upgrade that hands it the
//! connection: the input as segments (see `segments.rs`) after a `101` to `websocket`.
//! Nothing may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none websocket`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::dissect::http1::Http1Flow;
use remora_sidecar::dissect::DissectLimits;

#[path = "segments.rs"]
mod segments;

const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
const SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    segments::feed(&mut Http1Flow::new(DissectLimits::default()), &segments::prefixed(&[(false, UPGRADE), (true, SWITCHED)], data));
});
