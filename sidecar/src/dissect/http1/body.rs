//! Message bodies: keep the first bytes up to the capture limit, undo gzip/deflate for
//! text, and present the result as the item's `Body`.

use std::io::Read;

use base64::Engine;
use remora_model::{Body, Fields};

/// The first `limit` bytes of a body, plus its full size on the wire.
#[derive(Debug, Default)]
pub struct BodyCapture {
    pub bytes: Vec<u8>,
    pub wire_size: u64,
    /// Bytes were lost to a gap or the connection ended mid-body.
    pub incomplete: bool,
}

impl BodyCapture {
    pub fn push(&mut self, data: &[u8], limit: usize) {
        self.wire_size += data.len() as u64;
        let room = limit.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..room.min(data.len())]);
    }

    pub fn cut(&self) -> bool {
        (self.bytes.len() as u64) < self.wire_size
    }

    /// The item's view of the body, given the message's headers.
    pub fn into_body(self, headers: &Fields, limit: usize) -> Body {
        let mime_type = headers.get("content-type").unwrap_or_default().to_string();
        let mut truncated = self.cut() || self.incomplete;
        let mut bytes = self.bytes;
        let mut decoded_from = None;
        if let Some(coding) = headers.get("content-encoding").map(|c| c.trim().to_ascii_lowercase()) {
            // Only a whole body decodes; a cut one is shown as captured.
            if is_text(&mime_type) && !truncated {
                if let Some((decoded, cut)) = decode(&coding, &bytes, limit) {
                    bytes = decoded;
                    truncated |= cut;
                    decoded_from = Some(coding);
                }
            }
        }
        let size = bytes.len() as u64;
        let (text, encoding) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => (base64::engine::general_purpose::STANDARD.encode(e.as_bytes()), Some("base64".to_string())),
        };
        Body { mime_type, size, text, encoding, decoded_from, truncated }
    }
}

/// Types whose content is worth decompressing to show as text.
fn is_text(mime: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    mime.is_empty()
        || mime.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded", "graphql", "yaml", "csv"].iter().any(|t| mime.contains(t))
}

/// Decompresses at most `limit` bytes; the flag says the output was cut there.
fn decode(coding: &str, data: &[u8], limit: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let reader: Box<dyn Read + '_> = match coding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(data)),
        // "deflate" is zlib-wrapped by the RFC, raw in some servers: try both.
        "deflate" => {
            let mut zlib = Vec::new();
            if flate2::read::ZlibDecoder::new(data).take(limit as u64 + 1).read_to_end(&mut zlib).is_ok() {
                let cut = zlib.len() > limit;
                zlib.truncate(limit);
                return Some((zlib, cut));
            }
            Box::new(flate2::read::DeflateDecoder::new(data))
        }
        _ => return None,
    };
    reader.take(limit as u64 + 1).read_to_end(&mut out).ok()?;
    let cut = out.len() > limit;
    out.truncate(limit);
    Some((out, cut))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[test]
    fn gzip_text_is_decoded_and_bounded() {
        let plain = "{\"a\":1}".repeat(1000);
        let mut capture = BodyCapture::default();
        capture.push(&gzip(plain.as_bytes()), 1 << 20);
        let h = headers(&[("content-type", "application/json"), ("content-encoding", "gzip")]);
        let body = capture.into_body(&h, 100);
        assert_eq!(body.text, plain[..100]);
        assert!(body.truncated);
        assert_eq!(body.decoded_from.as_deref(), Some("gzip"));
    }

    #[test]
    fn binary_is_base64_and_cut_bodies_say_so() {
        let mut capture = BodyCapture::default();
        capture.push(&[0xff, 0xfe, 0x00, 0x01], 3);
        let body = capture.into_body(&headers(&[("content-type", "image/png")]), 3);
        assert_eq!((body.text.as_str(), body.encoding.as_deref(), body.truncated, body.size), ("//4A", Some("base64"), true, 3));
    }

    #[test]
    fn corrupt_gzip_is_shown_as_captured() {
        let mut capture = BodyCapture::default();
        capture.push(b"not gzip at all", 1024);
        let body = capture.into_body(&headers(&[("content-encoding", "gzip")]), 1024);
        assert_eq!(body.text, "not gzip at all");
        assert_eq!(body.decoded_from, None);
    }
}
