//! HPACK (RFC 7541) as a passive observer needs it: one decoder per direction that keeps
//! going when a block refers to table entries it never saw (the connection was picked up
//! mid-way, or bytes were lost). Entries added since are still exact: new entries always
//! take the lowest dynamic index and the real table evicts the older, unseen ones first,
//! so only references past what was seen are unknown. No HPACK crate decodes that way (a
//! reference it cannot resolve fails the whole block, as loona-hpack's does); Huffman
//! codes are httlib-huffman's (4 bits per step).

use std::collections::VecDeque;

/// One header field; `None` where the block referred to an entry the decoder never saw.
pub type Field = Option<(String, String)>;

/// Per-entry overhead the table size counts (RFC 7541 §4.1).
const ENTRY_OVERHEAD: usize = 32;
/// SETTINGS_HEADER_TABLE_SIZE's initial value.
const DEFAULT_TABLE_SIZE: usize = 4096;
/// A table size update above this is refused (peers advertise at most a few hundred KiB).
const MAX_TABLE_SIZE: u64 = 1 << 20;
/// What one header block may decode to, counted as SETTINGS_MAX_HEADER_LIST_SIZE counts
/// (name + value + 32 per field). Without it, one large indexed entry referred to by
/// thousands of one-byte references makes a small block decode to hundreds of MB.
pub const MAX_DECODED_BYTES: usize = 1 << 20;

pub struct Decoder {
    /// Newest first, as indices count.
    table: VecDeque<(String, String)>,
    size: usize,
    max_size: usize,
    /// Entries may exist past the last one known (the start or some bytes were not seen).
    partial: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadIndex,
    BadHuffman,
    TableSize,
    /// The block decodes to more than [`MAX_DECODED_BYTES`].
    TooLarge,
}

impl Decoder {
    /// A decoder for a connection seen from its start.
    pub fn new() -> Self {
        Decoder { table: VecDeque::new(), size: 0, max_size: DEFAULT_TABLE_SIZE, partial: false }
    }

    /// A decoder for a connection picked up mid-way, or whose bytes were lost.
    pub fn lost_sync(&mut self) {
        self.table.clear();
        self.size = 0;
        self.partial = true;
    }

    /// Decodes a whole header block. An error leaves the table in an unknown state, so
    /// the decoder falls back to the partial mode; the fields decoded before it are kept.
    pub fn decode(&mut self, mut block: &[u8], fields: &mut Vec<Field>) -> Result<(), Error> {
        let mut decoded = 0usize;
        let mut count = |field: &Field| {
            decoded += field.as_ref().map_or(0, |(name, value)| name.len() + value.len()) + ENTRY_OVERHEAD;
            if decoded > MAX_DECODED_BYTES { Err(Error::TooLarge) } else { Ok(()) }
        };
        let result = (|| {
            while let Some(&first) = block.first() {
                if first & 0x80 != 0 {
                    let index = integer(&mut block, 7)?;
                    let field = self.entry(index)?;
                    count(&field)?;
                    fields.push(field);
                } else if first & 0x40 != 0 {
                    let field = self.literal(&mut block, 6)?;
                    if let Some((name, value)) = &field {
                        self.insert(name.clone(), value.clone());
                    } else {
                        // An entry was added whose name we cannot know: every index
                        // past the known ones shifts, so later references are unknown.
                        self.partial = true;
                        self.table.clear();
                        self.size = 0;
                    }
                    count(&field)?;
                    fields.push(field);
                } else if first & 0x20 != 0 {
                    let size = integer(&mut block, 5)?;
                    if size > MAX_TABLE_SIZE {
                        return Err(Error::TableSize);
                    }
                    self.max_size = size as usize;
                    self.evict(0);
                } else {
                    // Without indexing (0000) or never indexed (0001): 4-bit prefix.
                    let field = self.literal(&mut block, 4)?;
                    count(&field)?;
                    fields.push(field);
                }
            }
            Ok(())
        })();
        if result.is_err() {
            self.lost_sync();
        }
        result
    }

    fn entry(&self, index: u64) -> Result<Field, Error> {
        let index = usize::try_from(index).map_err(|_| Error::BadIndex)?;
        match index {
            0 => Err(Error::BadIndex),
            1..=61 => {
                let (name, value) = STATIC_TABLE[index - 1];
                Ok(Some((name.to_string(), value.to_string())))
            }
            _ => match self.table.get(index - 62) {
                Some(entry) => Ok(Some(entry.clone())),
                None if self.partial => Ok(None),
                None => Err(Error::BadIndex),
            },
        }
    }

    fn literal(&self, block: &mut &[u8], prefix: u8) -> Result<Field, Error> {
        let name_index = integer(block, prefix)?;
        let name = if name_index == 0 {
            Some(string(block)?)
        } else {
            self.entry(name_index)?.map(|(name, _)| name)
        };
        let value = string(block)?;
        Ok(name.map(|name| (name, value)))
    }

    fn insert(&mut self, name: String, value: String) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        self.evict(size);
        if size <= self.max_size {
            self.size += size;
            self.table.push_front((name, value));
        }
    }

    /// Evicts the oldest entries until `room` more bytes fit.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max_size {
            let Some((name, value)) = self.table.pop_back() else {
                self.size = 0;
                return;
            };
            self.size -= name.len() + value.len() + ENTRY_OVERHEAD;
        }
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

/// An integer with an N-bit prefix (RFC 7541 §5.1); at most 2^62.
fn integer(block: &mut &[u8], prefix: u8) -> Result<u64, Error> {
    let (&first, rest) = block.split_first().ok_or(Error::Truncated)?;
    *block = rest;
    let mask = (1u16 << prefix) as u8 - 1;
    let mut value = u64::from(first & mask);
    if value < u64::from(mask) {
        return Ok(value);
    }
    for shift in (0..63).step_by(7) {
        let (&byte, rest) = block.split_first().ok_or(Error::Truncated)?;
        *block = rest;
        value += u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Error::Truncated)
}

/// A string literal, Huffman-coded or not; bytes that are not UTF-8 are replaced.
fn string(block: &mut &[u8]) -> Result<String, Error> {
    let huffman = block.first().is_some_and(|b| b & 0x80 != 0);
    let len = usize::try_from(integer(block, 7)?).map_err(|_| Error::Truncated)?;
    if len > block.len() {
        return Err(Error::Truncated);
    }
    let (raw, rest) = block.split_at(len);
    *block = rest;
    let bytes = if huffman {
        let mut out = Vec::with_capacity(raw.len() * 8 / 5);
        httlib_huffman::decode(raw, &mut out, httlib_huffman::DecoderSpeed::FourBits).map_err(|_| Error::BadHuffman)?;
        out
    } else {
        raw.to_vec()
    };
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// RFC 7541 Appendix A.
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// An HPACK integer with an N-bit prefix under `flags`.
    fn integer_bytes(flags: u8, prefix: u8, mut value: usize, out: &mut Vec<u8>) {
        let mask = (1usize << prefix) - 1;
        if value < mask {
            out.push(flags | value as u8);
            return;
        }
        out.push(flags | mask as u8);
        value -= mask;
        while value >= 0x80 {
            out.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    #[test]
    fn a_block_of_references_to_one_large_entry_is_cut_at_the_bound() {
        // The table raised to 1 MiB, one 60 KB value added with indexing, then 10,000
        // one-byte references to it: 10 KB on the wire, 600 MB if decoded in full.
        let mut block = Vec::new();
        integer_bytes(0x20, 5, 1 << 20, &mut block);
        block.push(0x40);
        integer_bytes(0, 7, 1, &mut block);
        block.push(b'x');
        integer_bytes(0, 7, 60_000, &mut block);
        block.extend(std::iter::repeat_n(b'v', 60_000));
        block.extend(std::iter::repeat_n(0x80 | 62, 10_000));
        let mut decoder = Decoder::new();
        let mut fields = Vec::new();
        assert_eq!(decoder.decode(&block, &mut fields), Err(Error::TooLarge));
        let bytes: usize = fields.iter().flatten().map(|(n, v)| n.len() + v.len()).sum();
        assert!(bytes <= MAX_DECODED_BYTES, "{bytes} bytes decoded");
        assert!(fields.len() < 20, "{} fields", fields.len());
    }

    #[test]
    fn ordinary_blocks_are_untouched_by_the_bound() {
        // RFC 7541 C.3.1: a request without Huffman coding.
        let block = [0x82, 0x86, 0x84, 0x41, 0x0f, b'w', b'w', b'w', b'.', b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o', b'm'];
        let mut fields = Vec::new();
        Decoder::new().decode(&block, &mut fields).expect("decodes");
        let fields: Vec<(String, String)> = fields.into_iter().flatten().collect();
        assert_eq!(fields[3], (":authority".to_string(), "www.example.com".to_string()));
        assert_eq!(fields.len(), 4);
    }
}
