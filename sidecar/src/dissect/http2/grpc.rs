//! gRPC on HTTP/2 streams: the length-prefixed messages of a DATA stream, read as they
//! arrive, and each message's protobuf fields decoded without a schema.

use base64::Engine;
use remora_model::{GrpcMessage, ProtoField, ProtoValue};

/// Messages decoded per direction of a call; the rest are counted.
const MAX_MESSAGES: usize = 16;
/// Bytes of one message kept for decoding.
const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// Fields per message (and per nested message) shown.
const MAX_FIELDS: usize = 64;
/// Nested messages decoded this deep at most.
const MAX_DEPTH: usize = 8;

/// Splits one direction's DATA bytes into gRPC messages.
#[derive(Debug, Default)]
pub struct MessageReader {
    prefix: Vec<u8>,
    /// The message being read: its size, flag, bytes kept, bytes still to come.
    current: Option<(u64, bool, Vec<u8>, u64)>,
    pub count: u64,
    pub messages: Vec<GrpcMessage>,
}

impl MessageReader {
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let Some((_, compressed, kept, left)) = &mut self.current else {
                let take = (5 - self.prefix.len()).min(data.len());
                self.prefix.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.prefix.len() == 5 {
                    let size = u32::from_be_bytes([self.prefix[1], self.prefix[2], self.prefix[3], self.prefix[4]]) as u64;
                    self.current = Some((size, self.prefix[0] & 1 != 0, Vec::new(), size));
                    self.prefix.clear();
                    if size == 0 {
                        self.finish_message();
                    }
                }
                continue;
            };
            let take = (*left).min(data.len() as u64) as usize;
            let room = MAX_MESSAGE_BYTES.saturating_sub(kept.len()).min(take);
            if self.messages.len() < MAX_MESSAGES && !*compressed {
                kept.extend_from_slice(&data[..room]);
            }
            *left -= take as u64;
            data = &data[take..];
            if *left == 0 {
                self.finish_message();
            }
        }
    }

    fn finish_message(&mut self) {
        let Some((size, compressed, kept, _)) = self.current.take() else { return };
        self.count += 1;
        if self.messages.len() < MAX_MESSAGES {
            let whole = kept.len() as u64 == size;
            let fields = if whole && !compressed { decode_fields(&kept, 0).unwrap_or_default() } else { Vec::new() };
            self.messages.push(GrpcMessage { size, compressed, fields });
        }
    }
}

/// Protobuf wire format (protobuf.dev/programming-guides/encoding): the fields of a
/// message, or `None` when the bytes are not one.
pub fn decode_fields(mut bytes: &[u8], depth: usize) -> Option<Vec<ProtoField>> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let tag = varint(&mut bytes)?;
        let field = u32::try_from(tag >> 3).ok().filter(|f| *f != 0)?;
        let (kind, value) = match tag & 7 {
            0 => ("varint", ProtoValue::Number(varint(&mut bytes)?)),
            1 => ("fixed64", ProtoValue::Number(u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?))),
            5 => ("fixed32", ProtoValue::Number(u64::from(u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?)))),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                length_delimited(take(&mut bytes, len)?, depth)
            }
            // Groups (3, 4) are deprecated and 6, 7 undefined: not a message we show.
            _ => return None,
        };
        if fields.len() < MAX_FIELDS {
            fields.push(ProtoField { field, kind: kind.to_string(), value });
        }
    }
    Some(fields)
}

/// Printable text reads as a string; otherwise a nested message if it parses as one;
/// otherwise bytes in base64.
fn length_delimited(bytes: &[u8], depth: usize) -> (&'static str, ProtoValue) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')) {
            return ("string", ProtoValue::Text(text.to_string()));
        }
    }
    if depth < MAX_DEPTH {
        if let Some(fields) = decode_fields(bytes, depth + 1).filter(|f| !f.is_empty()) {
            return ("message", ProtoValue::Message(fields));
        }
    }
    ("bytes", ProtoValue::Text(base64::engine::general_purpose::STANDARD.encode(bytes)))
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if n > bytes.len() {
        return None;
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Some(head)
}

/// `/package.Service/Method` → (`package.Service`, `Method`).
pub fn service_and_method(path: &str) -> (String, String) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.rsplit_once('/') {
        Some((service, method)) => (service.to_string(), method.to_string()),
        None => (String::new(), trimmed.to_string()),
    }
}

/// gRPC status codes (grpc.github.io/grpc/core/md_doc_statuscodes.html).
pub fn status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("")
}

/// `grpc-message` is percent-encoded (the gRPC HTTP/2 spec).
pub fn decode_message(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_across_pushes_are_decoded() {
        // field 1 = "hi", field 2 = 150, field 3 = { field 1 = 1 }
        let message = [0x0a, 0x02, b'h', b'i', 0x10, 0x96, 0x01, 0x1a, 0x02, 0x08, 0x01];
        let mut framed = vec![0, 0, 0, 0, message.len() as u8];
        framed.extend_from_slice(&message);
        framed.extend_from_slice(&[0, 0, 0, 0, 0]);
        let mut reader = MessageReader::default();
        for byte in &framed {
            reader.push(std::slice::from_ref(byte));
        }
        assert_eq!(reader.count, 2);
        let fields = &reader.messages[0].fields;
        assert_eq!(fields[0], ProtoField { field: 1, kind: "string".into(), value: ProtoValue::Text("hi".into()) });
        assert_eq!(fields[1], ProtoField { field: 2, kind: "varint".into(), value: ProtoValue::Number(150) });
        assert_eq!(fields[2].kind, "message");
        assert_eq!(reader.messages[1].size, 0);
    }

    #[test]
    fn non_protobuf_and_hostile_input_give_no_fields() {
        assert_eq!(decode_fields(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], 0), None);
        assert_eq!(decode_fields(&[0x00], 0), None);
        assert_eq!(decode_fields(&[0xff; 11], 0), None);
        let mut reader = MessageReader::default();
        reader.push(&[1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!((reader.count, reader.messages.len()), (0, 0), "a 4 GiB message is not buffered");
        let mut nested = vec![0x0a, 0x00];
        for _ in 0..100 {
            let mut outer = vec![0x0a, nested.len() as u8];
            outer.extend_from_slice(&nested);
            nested = outer;
            if nested.len() > 120 {
                break;
            }
        }
        assert!(decode_fields(&nested, 0).is_some());
    }

    #[test]
    fn paths_statuses_and_messages() {
        assert_eq!(service_and_method("/agent.Synchronizer/Sync"), ("agent.Synchronizer".into(), "Sync".into()));
        assert_eq!(status_name(14), "UNAVAILABLE");
        assert_eq!(decode_message("no%20such%20user"), "no such user");
        assert_eq!(decode_message("50%"), "50%");
    }
}
