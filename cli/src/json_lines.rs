//! Items as compact JSON, byte for byte what `serde_json::to_writer` writes, into a
//! `Vec<u8>`. What differs is how strings are escaped: serde_json looks at every byte in
//! turn and writes each run between two escapes through `io::Write`; here eight bytes are
//! checked at a time and runs are copied into the buffer. Item bodies are mostly JSON
//! text, full of quotes, which made escaping most of `replay --output json`'s time.

use std::fmt::Display;

use serde::ser::{self, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};

/// Appends `value` as compact JSON to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut JsonOut { out })
}

#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct JsonOut<'a> {
    out: &'a mut Vec<u8>,
}

/// Numbers as serde_json writes them (itoa, ryu): writing to a `Vec` cannot fail.
macro_rules! number {
    ($name:ident, $ty:ty, $write:ident) => {
        fn $name(self, v: $ty) -> Result<(), Error> {
            let _ = CompactFormatter.$write(self.out, v);
            Ok(())
        }
    };
}

impl<'a, 'b> ser::Serializer for &'b mut JsonOut<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    number!(serialize_i8, i8, write_i8);
    number!(serialize_i16, i16, write_i16);
    number!(serialize_i32, i32, write_i32);
    number!(serialize_i64, i64, write_i64);
    number!(serialize_i128, i128, write_i128);
    number!(serialize_u8, u8, write_u8);
    number!(serialize_u16, u16, write_u16);
    number!(serialize_u32, u32, write_u32);
    number!(serialize_u64, u64, write_u64);
    number!(serialize_u128, u128, write_u128);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            let _ = CompactFormatter.write_f32(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            let _ = CompactFormatter.write_f64(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        escape_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, variant: &'static str, value: &T) -> Result<(), Error> {
        self.out.push(b'{');
        escape_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'[');
        Ok(Compound { json: self, first: true, close: b"]" })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, variant: &'static str, _len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        escape_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound { json: self, first: true, close: b"]}" })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        Ok(Compound { json: self, first: true, close: b"}" })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(self, _name: &'static str, _index: u32, variant: &'static str, _len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        escape_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound { json: self, first: true, close: b"}}" })
    }
}

/// An array or object being written; `close` ends it.
struct Compound<'a, 'b> {
    json: &'b mut JsonOut<'a>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn separate(&mut self) {
        if !self.first {
            self.json.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.separate();
        value.serialize(&mut *self.json)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.separate();
        escape_str(self.json.out, key);
        self.json.out.push(b':');
        value.serialize(&mut *self.json)
    }

    fn finish(self) -> Result<(), Error> {
        self.json.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The array-like compounds: each value an element.
macro_rules! elements {
    ($($kind:ident::$method:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

elements!(SerializeSeq::serialize_element, SerializeTuple::serialize_element, SerializeTupleStruct::serialize_field, SerializeTupleVariant::serialize_field);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.separate();
        key.serialize(MapKey { out: self.json.out })?;
        self.json.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.json)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The struct-like compounds: named fields.
macro_rules! fields {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// An object's key: a string, or what serde_json also turns into one (numbers, `bool`,
/// `char`, a unit variant), quoted.
struct MapKey<'o> {
    out: &'o mut Vec<u8>,
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

macro_rules! quoted_number {
    ($name:ident, $ty:ty, $write:ident) => {
        fn $name(self, v: $ty) -> Result<(), Error> {
            self.out.push(b'"');
            let _ = CompactFormatter.$write(self.out, v);
            self.out.push(b'"');
            Ok(())
        }
    };
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape_str(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        escape_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }

    quoted_number!(serialize_i8, i8, write_i8);
    quoted_number!(serialize_i16, i16, write_i16);
    quoted_number!(serialize_i32, i32, write_i32);
    quoted_number!(serialize_i64, i64, write_i64);
    quoted_number!(serialize_i128, i128, write_i128);
    quoted_number!(serialize_u8, u8, write_u8);
    quoted_number!(serialize_u16, u16, write_u16);
    quoted_number!(serialize_u32, u32, write_u32);
    quoted_number!(serialize_u64, u64, write_u64);
    quoted_number!(serialize_u128, u128, write_u128);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.out.push(b'"');
        let _ = CompactFormatter.write_f32(self.out, v);
        self.out.push(b'"');
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.out.push(b'"');
        let _ = CompactFormatter.write_f64(self.out, v);
        self.out.push(b'"');
        Ok(())
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, _variant: &'static str, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, _variant: &'static str, _len: usize) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(self, _name: &'static str, _index: u32, _variant: &'static str, _len: usize) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (the high bit of each byte) for the bytes of `word` that need escaping: control
/// characters, and `"` or `\\`. Exact per byte: no carry crosses a byte.
fn escape_flags(word: u64) -> (u64, u64) {
    const LOW7: u64 = ONES * 0x7f;
    let zero_byte = |v: u64| !(((v & LOW7).wrapping_add(LOW7)) | v) & HIGHS;
    let control = !(((word & LOW7).wrapping_add(ONES * 0x60)) | word) & HIGHS;
    let quote_or_backslash = zero_byte(word ^ (ONES * u64::from(b'"'))) | zero_byte(word ^ (ONES * u64::from(b'\\')));
    (control, quote_or_backslash)
}

/// Appends the escape of a byte that needs one, as serde_json writes it.
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let letter = match byte {
        b'"' | b'\\' => byte,
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', letter]);
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// `s` as a JSON string, escaped as serde_json escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, other control characters as `\u00xx`; everything else as it is.
///
/// Eight bytes at a time: a word is stored whole, and where it has quotes or backslashes
/// the pieces between them are stored as whole words too, each overwriting the last's
/// tail; the buffer is sized for the worst case of those (two bytes per byte, plus a
/// word of slack) and cut to size at the end. A control character (rare in text) sends
/// the rest of the string byte by byte.
fn escape_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let begin = out.len();
    out.resize(begin + 2 * bytes.len() + 2 + 16, 0);
    out[begin] = b'"';
    let mut o = begin + 1;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut bytes8 = [0u8; 8];
        bytes8.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes8);
        let (control, mut flags) = escape_flags(word);
        if control != 0 {
            break;
        }
        let mut from = 0;
        while flags != 0 {
            let k = flags.trailing_zeros() as usize / 8;
            out[o..o + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
            o += k - from;
            out[o] = b'\\';
            out[o + 1] = bytes8[k];
            o += 2;
            from = k + 1;
            flags &= flags - 1;
        }
        if from < 8 {
            out[o..o + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
            o += 8 - from;
        }
        at += 8;
    }
    out.truncate(o);
    escape_bytes(out, &bytes[at..]);
    out.push(b'"');
}

fn escape_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        if needs_escape(byte) {
            push_escape(out, byte);
        } else {
            out.push(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn same_as_serde_json<T: Serialize>(value: &T) {
        let mut ours = Vec::new();
        write(&mut ours, value).expect("writes");
        let theirs = serde_json::to_vec(value).expect("serde_json writes");
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_escapes_it() {
        let all: String = (0u8..=0x7f).map(char::from).collect();
        same_as_serde_json(&all);
        // Each escapable byte at every offset of an eight-byte word, among plain text and
        // multi-byte characters.
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "\t", "\u{7f}", "é", "€", "😀"] {
            for at in 0..17 {
                let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(17 - at));
                same_as_serde_json(&text);
            }
        }
        same_as_serde_json(&"");
        same_as_serde_json(&'"');
        same_as_serde_json(&r#"{"order":1,"lines":[{"note":"gift \"wrapped\""}]}"#);
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample<'a> {
        text: &'a str,
        number: i64,
        unsigned: u64,
        float: f64,
        not_a_number: f64,
        small: f32,
        flag: bool,
        missing: Option<u8>,
        list: Vec<u16>,
        bytes: &'a [u8],
        map: BTreeMap<String, String>,
        numbered: BTreeMap<u32, bool>,
        kind: Kind,
        tuple: (u8, &'a str),
        unit: (),
        #[serde(flatten)]
        extra: BTreeMap<&'a str, i32>,
    }

    #[derive(Serialize)]
    enum Kind {
        Unit,
        Newtype(u8),
        Tuple(u8, u8),
        Struct { a: u8 },
    }

    #[test]
    fn values_of_every_kind_are_written_as_serde_json_writes_them() {
        for kind in [Kind::Unit, Kind::Newtype(1), Kind::Tuple(1, 2), Kind::Struct { a: 3 }] {
            same_as_serde_json(&Sample {
                text: "line\r\nnext \"quoted\"",
                number: -42,
                unsigned: u64::MAX,
                float: 0.1 + 0.2,
                not_a_number: f64::NAN,
                small: 1.5,
                flag: true,
                missing: None,
                list: vec![1, 2, 3],
                bytes: b"ab",
                map: [("a\"b".to_string(), "c".to_string()), ("d".to_string(), String::new())].into(),
                numbered: [(7, true), (8, false)].into(),
                kind,
                tuple: (9, "x"),
                unit: (),
                extra: [("flat", 1)].into(),
            });
        }
        same_as_serde_json(&Vec::<u8>::new());
        same_as_serde_json(&BTreeMap::<String, u8>::new());
    }
}
