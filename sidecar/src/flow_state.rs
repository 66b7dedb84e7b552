//! A flow's protocol state: detecting (bytes held back while the first ones are looked
//! at), dissecting, ignored, or closed; and the hand-over of bytes to its dissector.

use crate::dissect::{self, Detection, DissectLimits, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};
use crate::reassembly::Chunk;

pub(crate) enum FlowState {
    /// Protocol unknown yet: bytes kept per direction, and failed attempts.
    Detecting { buffered: [Vec<u8>; 2], attempts: u32 },
    Dissecting(Box<dyn StreamDissector>),
    Ignored,
    /// FIN/RST ended it; it lingers so its last packets join the same stream.
    Closed,
}

/// Attempts (segments or datagrams) after which an unrecognised flow is ignored.
const MAX_DETECT_ATTEMPTS: u32 = 16;

/// Hands one reassembled chunk to the flow's dissector, detecting the protocol first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dissect_tcp(state: &mut FlowState, dir: Dir, chunk: Chunk<'_>, ts: Timestamp, limits: DissectLimits, detect_bytes: usize, out: &mut Vec<Exchange>, unrecognised: &mut u64) {
    match state {
        FlowState::Dissecting(d) => match chunk {
            Chunk::Data(data) => d.data(dir, data, ts, out),
            Chunk::Gap(len) => d.gap(dir, len, ts, out),
        },
        FlowState::Ignored | FlowState::Closed => {}
        FlowState::Detecting { buffered, attempts } => {
            let data = match chunk {
                Chunk::Data(data) => data,
                Chunk::Gap(_) => {
                    buffered[dir.index()].clear();
                    return;
                }
            };
            let mine = &mut buffered[dir.index()];
            let detection = if mine.is_empty() {
                dissect::detect_tcp(data)
            } else {
                let room = detect_bytes.saturating_sub(mine.len());
                mine.extend_from_slice(&data[..room.min(data.len())]);
                dissect::detect_tcp(mine)
            };
            match detection {
                Detection::NeedMore if mine.len() < detect_bytes => {
                    if mine.is_empty() {
                        mine.extend_from_slice(&data[..detect_bytes.min(data.len())]);
                    }
                }
                Detection::NeedMore | Detection::Unknown => {
                    mine.clear();
                    *attempts += 1;
                    if *attempts >= MAX_DETECT_ATTEMPTS {
                        *unrecognised += 1;
                        *state = FlowState::Ignored;
                    }
                }
                found if !limits.protocols.allows(found) => {
                    buffered[0].clear();
                    buffered[1].clear();
                    *state = FlowState::Ignored;
                }
                found => {
                    let Some(mut dissector) = dissect::new_dissector(found, true, limits) else { return };
                    // Bytes held back from either direction go first, in the order kept.
                    let held = std::mem::take(buffered);
                    let other = &held[dir.flip().index()];
                    if !other.is_empty() {
                        dissector.data(dir.flip(), other, ts, out);
                    }
                    let own = &held[dir.index()];
                    dissector.data(dir, if own.is_empty() { data } else { own }, ts, out);
                    *state = FlowState::Dissecting(dissector);
                }
            }
        }
    }
}

/// ICMP needs no detection: the IP header said what it is.
pub(crate) fn dissect_icmp(state: &mut FlowState, v6: bool, dir: Dir, message: &[u8], ts: Timestamp, limits: DissectLimits, out: &mut Vec<Exchange>) {
    if let FlowState::Detecting { .. } = state {
        *state = if limits.protocols.allows(Detection::Icmp) { FlowState::Dissecting(Box::new(dissect::icmp::IcmpFlow::new(v6, limits))) } else { FlowState::Ignored };
    }
    if let FlowState::Dissecting(d) = state {
        d.data(dir, message, ts, out);
    }
}

pub(crate) fn dissect_udp(state: &mut FlowState, dir: Dir, payload: &[u8], ts: Timestamp, limits: DissectLimits, out: &mut Vec<Exchange>, unrecognised: &mut u64) {
    if let FlowState::Detecting { attempts, .. } = state {
        match dissect::detect_udp(payload) {
            Detection::Unknown | Detection::NeedMore => {
                *attempts += 1;
                if *attempts >= MAX_DETECT_ATTEMPTS {
                    *unrecognised += 1;
                    *state = FlowState::Ignored;
                }
                return;
            }
            found if !limits.protocols.allows(found) => {
                *state = FlowState::Ignored;
                return;
            }
            found => match dissect::new_dissector(found, false, limits) {
                Some(d) => *state = FlowState::Dissecting(d),
                None => return,
            },
        }
    }
    if let FlowState::Dissecting(d) = state {
        d.data(dir, payload, ts, out);
    }
}
