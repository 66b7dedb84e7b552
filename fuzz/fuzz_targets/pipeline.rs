//! Fuzzes the pipeline's entry point: frames through decode, TCP reassembly, protocol
//! detection and the HTTP/1 and DNS dissectors.
//!
//! The input is read as operations on two conversations (one TCP, one UDP) between two
//! hosts, so that the fuzzer reaches reassembly and dissection instead of stopping at
//! header checks: each operation is a control byte (direction, transport, TCP flags), a
//! sequence offset and a payload. The whole input is also fed as one raw frame of every
//! link type. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run pipeline` (see docs/PIPELINE.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_sidecar::decode::LinkType;
use remora_sidecar::dissect::DissectLimits;
use remora_sidecar::flow::Timestamp;
use remora_sidecar::pipeline::{Pipeline, PipelineConfig};
use remora_sidecar::reassembly::ReassemblyLimits;

fn frame(forward: bool, udp: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if forward { ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16) } else { ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000) };
    let l4_len = if udp { 8 } else { 20 } + payload.len();
    let total = 20 + l4_len;
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, if udp { 17 } else { 6 }, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    if udp {
        f.extend_from_slice(&[(l4_len >> 8) as u8, l4_len as u8, 0, 0]);
    } else {
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&seq.wrapping_add(1000).to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

fuzz_target!(|data: &[u8]| {
    let config = PipelineConfig {
        reassembly: ReassemblyLimits { per_stream_bytes: 4096, total_bytes: 16384 },
        dissect: DissectLimits { max_head_bytes: 2048, max_body_bytes: 1024, max_pending: 8, ..DissectLimits::default() },
        max_flows: 16,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(config, None);
    let mut items = 0usize;
    let mut sink = |_item| items += 1;
    for (link, number) in [(LinkType::Ethernet, 1), (LinkType::Raw, 12), (LinkType::Null, 0), (LinkType::LinuxSll, 113), (LinkType::LinuxSll2, 276)] {
        pipeline.packet(link, number, Timestamp(0), data, data.len() as u32, &mut sink);
    }
    let mut rest = data;
    let mut ts = 1;
    while rest.len() >= 4 {
        let control = rest[0];
        let offset = u16::from_be_bytes([rest[1], rest[2]]);
        let len = usize::from(rest[3]).min(rest.len() - 4);
        let payload = &rest[4..4 + len];
        rest = &rest[4 + len..];
        let forward = control & 1 == 0;
        let udp = control & 2 != 0;
        // Low bits pick direction and transport; the high bits are TCP flags.
        let flags = (control >> 2) & 0x1f;
        let base = if forward { 1_000_000u32 } else { 5_000_000 };
        let f = frame(forward, udp, base.wrapping_add(u32::from(offset)), flags | 0x10, payload);
        ts += i64::from(control & 0x40) * 100_000_000;
        pipeline.packet(LinkType::Ethernet, 1, Timestamp(ts), &f, f.len() as u32, &mut sink);
    }
    pipeline.finish(&mut sink);
    let _ = pipeline.stats();
});
