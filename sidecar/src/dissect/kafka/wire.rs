//! Kafka's primitive types (kafka.apache.org/protocol#protocol_types) over the shared
//! byte [`Cursor`], in both encodings: classic (int16/int32 lengths, -1 for null) and
//! flexible (unsigned varint lengths plus one, 0 for null; tagged fields).

use base64::Engine;

use super::super::cursor::Cursor;

/// Kafka's readers; `flexible` selects the compact encodings.
impl Cursor<'_> {
    pub fn i16_be(&mut self) -> Option<i16> {
        self.u16_be().map(|v| v as i16)
    }

    pub fn i32_be(&mut self) -> Option<i32> {
        self.u32_be().map(|v| v as i32)
    }

    /// An unsigned varint (at most 5 bytes: Kafka's lengths fit 32 bits).
    pub fn uvarint(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// The length of a string, bytes or array field; `Some(None)` for null.
    fn length(&mut self, flexible: bool, wide: bool) -> Option<Option<usize>> {
        if flexible {
            return Some(self.uvarint()?.checked_sub(1).map(|n| n as usize));
        }
        let n = if wide { self.i32_be()? } else { i32::from(self.i16_be()?) };
        Some(usize::try_from(n).ok())
    }

    /// A (nullable) string; null reads as empty. Bytes that are not UTF-8 show as U+FFFD.
    pub fn kstring(&mut self, flexible: bool) -> Option<String> {
        match self.length(flexible, false)? {
            Some(n) => self.take(n).map(|b| String::from_utf8_lossy(b).into_owned()),
            None => Some(String::new()),
        }
    }

    /// A (nullable) bytes or records field; null reads as empty.
    pub fn kbytes(&mut self, flexible: bool) -> Option<&[u8]> {
        match self.length(flexible, true)? {
            Some(n) => self.take(n),
            None => Some(&[]),
        }
    }

    /// The length of a bytes or records field and what of it is here (cut at the end of
    /// the bytes kept); `None` when the length itself is missing.
    pub fn kbytes_prefix(&mut self, flexible: bool) -> Option<(&[u8], bool)> {
        let n = self.length(flexible, true)?.unwrap_or(0);
        let whole = self.0.len() >= n;
        let here = self.take(n.min(self.0.len()))?;
        Some((here, whole))
    }

    /// An array's element count; null reads as 0.
    pub fn karray(&mut self, flexible: bool) -> Option<usize> {
        Some(self.length(flexible, true)?.unwrap_or(0))
    }

    /// A UUID, shown as Kafka's tools show it (URL-safe base64, no padding).
    pub fn uuid(&mut self) -> Option<String> {
        self.take(16).map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
    }

    /// The tagged fields that end a flexible structure, skipped.
    pub fn tagged_fields(&mut self, flexible: bool) -> Option<()> {
        if !flexible {
            return Some(());
        }
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.skip(size)?;
        }
        Some(())
    }

    /// Skips an array of fixed-size elements.
    pub fn skip_array(&mut self, flexible: bool, element: usize) -> Option<()> {
        let n = self.karray(flexible)?;
        self.skip(n.checked_mul(element)?)
    }
}

/// Records in a Produce partition's record data: the count of each record batch
/// (magic 2) or one per message-set entry (magic 0 and 1); only the batches whose
/// header is in `data` count, and counting stops at a length no batch has.
pub fn count_records(mut data: &[u8]) -> u64 {
    // A batch's length after baseOffset and batchLength, at least: up to its record count
    // (magic 2), or crc, magic, attributes, key and value lengths (magic 0 and 1).
    const MIN_BATCH: usize = 49;
    const MIN_MESSAGE: usize = 14;
    let mut count = 0u64;
    // baseOffset (8), batchLength (4), partitionLeaderEpoch or crc (4), magic (1), ...
    while data.len() >= 17 {
        let length = u32::from_be_bytes([data[8], data[9], data[10], data[11]]) as usize;
        match data[16] {
            2 if length >= MIN_BATCH => match data.get(57..61) {
                Some(b) => count += u64::try_from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0),
                None => break,
            },
            0 | 1 if length >= MIN_MESSAGE => count += 1,
            _ => break,
        }
        let Some(next) = data.get(12 + length..) else { break };
        data = next;
    }
    count
}
