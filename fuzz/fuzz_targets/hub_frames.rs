//! Fuzzes what the hub reads from a sidecar: text frames (read as `FromSidecar`, each
//! item of a batch then stamped with the session's identity) and binary PCAP chunks.
//! Nothing may panic; a stamped item names the session's pod, whatever it claimed; a
//! decoded chunk's parts lie within the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_model::wire::{stamp_identity, FromSidecar, PcapChunk, PodIdentity};

fuzz_target!(|data: &[u8]| {
    if let Some(chunk) = PcapChunk::decode(data) {
        assert!(chunk.data.len() + chunk.stream.len() <= data.len());
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(frame) = FromSidecar::read(text) else { return };
    if let FromSidecar::Items { mut items, .. } = frame {
        let identity = PodIdentity { pod: "web-1".into(), namespace: "shop".into(), ..Default::default() };
        for item in &mut items {
            stamp_identity(item, &identity);
            if let Some(object) = item.as_object() {
                assert_eq!(object.get("worker").and_then(|w| w.as_str()), Some("web-1"));
                assert_eq!(object.get("namespace").and_then(|w| w.as_str()), Some("shop"));
            }
        }
    }
});
