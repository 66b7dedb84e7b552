//! Fuzzes what the hub reads from a sidecar: text frames (read as `FromSidecar`, each
//! item of a batch then stamped with the session's identity), batches read the fast way
//! (`item_text::Batch`: stamped as text, which must say what stamping the parsed item
//! says) and binary PCAP chunks. Nothing may panic; a stamped item names the session's
//! pod, whatever it claimed; a decoded chunk's parts lie within the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_hub::item_text::{Batch, Incoming};
use remora_model::wire::{stamp_identity, FromSidecar, PcapChunk, PodIdentity};

fuzz_target!(|data: &[u8]| {
    if let Some(chunk) = PcapChunk::decode(data) {
        assert!(chunk.data.len() + chunk.stream.len() <= data.len());
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let identity = PodIdentity { pod: "web-1".into(), namespace: "shop".into(), ..Default::default() };
    if let Some(batch) = Batch::read(text) {
        let mut refused = 0;
        for item in batch.stamp(&identity, &mut refused) {
            let stamped: serde_json::Value = serde_json::from_str(&item.text).expect("stamped text is JSON");
            assert!(!item.text.contains('\n'), "one line for the journal");
            let mut expected = stamped.clone();
            stamp_identity(&mut expected, &identity);
            assert_eq!(stamped, expected, "stamping again changes nothing");
            assert!(Incoming::from_text(&item.text, None).is_ok());
        }
    }
    let Ok(frame) = FromSidecar::read(text) else { return };
    if let FromSidecar::Items { mut items, .. } = frame {
        for item in &mut items {
            stamp_identity(item, &identity);
            if let Some(object) = item.as_object() {
                assert_eq!(object.get("worker").and_then(|w| w.as_str()), Some("web-1"));
                assert_eq!(object.get("namespace").and_then(|w| w.as_str()), Some("shop"));
            }
        }
    }
});
