//! RESP, Redis's wire format (RESP2 and RESP3), as pure functions over bytes: one value
//! from the front of a buffer, or how many bytes it needs at least, or why it is not RESP.
//! Values keep at most [`MAX_ELEMENTS`] elements per aggregate and [`MAX_TEXT`] bytes per
//! string; the rest is parsed (framing needs it) and counted as truncated.

/// Elements kept per array, map, set or push.
pub const MAX_ELEMENTS: usize = 64;
/// Bytes kept per string.
pub const MAX_TEXT: usize = 1024;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 16;
/// Most elements an aggregate may announce (Redis itself takes at most 1M arguments).
const MAX_COUNT: usize = 1 << 24;
/// Longest line (type byte to CRLF) of a simple value or a length.
const MAX_LINE: usize = 64 << 10;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None`: the null bulk string (`$-1`).
    Bulk(Option<Text>),
    /// `None`: the null array (`*-1`).
    Array(Option<Vec<Value>>),
    Null,
    Double(String),
    Boolean(bool),
    BigNumber(String),
    Verbatim(Text),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Push(Vec<Value>),
}

/// Bytes of a string, perhaps cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub bytes: Vec<u8>,
    pub cut: bool,
}

impl Text {
    /// As text: UTF-8 as is, other bytes as `\xNN`.
    pub fn show(&self) -> String {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => text.to_string(),
            Err(_) => self.bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { (b as char).to_string() } else { format!("\\x{b:02x}") }).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parse {
    /// A value and the bytes it took; `truncated` when parts were left out.
    Value { value: Value, used: usize, truncated: bool },
    /// The buffer must hold at least this many bytes before trying again.
    NeedAtLeast(usize),
    /// Not RESP.
    Invalid(String),
}

/// Parses one value from the front of `buf`.
pub fn parse(buf: &[u8]) -> Parse {
    let mut truncated = false;
    match value_at(buf, 0, 0, &mut truncated) {
        Ok((value, used)) => Parse::Value { value, used, truncated },
        Err(Stop::Need(n)) => Parse::NeedAtLeast(n),
        Err(Stop::Invalid(why)) => Parse::Invalid(why),
    }
}

enum Stop {
    Need(usize),
    Invalid(String),
}

/// The line after the type byte at `at`: its text and where the next thing starts.
fn line(buf: &[u8], at: usize) -> Result<(&[u8], usize), Stop> {
    let rest = &buf[at + 1..];
    match memchr::memchr(b'\n', rest) {
        Some(end) if end > 0 && rest[end - 1] == b'\r' => Ok((&rest[..end - 1], at + 1 + end + 1)),
        Some(_) => Err(Stop::Invalid("a line ends without CR".into())),
        None if rest.len() > MAX_LINE => Err(Stop::Invalid(format!("a line longer than {MAX_LINE} bytes"))),
        None => Err(Stop::Need(buf.len() + 1)),
    }
}

fn number(text: &[u8]) -> Result<i64, Stop> {
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).ok_or_else(|| Stop::Invalid(format!("{:?} is not a number", String::from_utf8_lossy(text))))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn value_at(buf: &[u8], at: usize, depth: usize, truncated: &mut bool) -> Result<(Value, usize), Stop> {
    if depth > MAX_DEPTH {
        return Err(Stop::Invalid(format!("nested deeper than {MAX_DEPTH}")));
    }
    let Some(&kind) = buf.get(at) else { return Err(Stop::Need(at + 1)) };
    let (head, next) = line(buf, at)?;
    match kind {
        b'+' => Ok((Value::Simple(text(head)), next)),
        b'-' => Ok((Value::Error(text(head)), next)),
        b':' => Ok((Value::Integer(number(head)?), next)),
        b'_' => Ok((Value::Null, next)),
        b',' => Ok((Value::Double(text(head)), next)),
        b'(' => Ok((Value::BigNumber(text(head)), next)),
        b'#' => match head {
            b"t" => Ok((Value::Boolean(true), next)),
            b"f" => Ok((Value::Boolean(false), next)),
            _ => Err(Stop::Invalid("a boolean is t or f".into())),
        },
        b'$' | b'=' | b'!' => {
            let length = number(head)?;
            if length < 0 {
                return if kind == b'$' { Ok((Value::Bulk(None), next)) } else { Err(Stop::Invalid("a negative length".into())) };
            }
            let length = length as usize;
            let end = next.checked_add(length).and_then(|e| e.checked_add(2)).ok_or_else(|| Stop::Invalid("a length past memory".into()))?;
            if buf.len() < end {
                return Err(Stop::Need(end));
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err(Stop::Invalid("a string does not end with CRLF".into()));
            }
            let kept = length.min(MAX_TEXT);
            *truncated |= kept < length;
            let body = Text { bytes: buf[next..next + kept].to_vec(), cut: kept < length };
            let value = match kind {
                b'$' => Value::Bulk(Some(body)),
                b'=' => Value::Verbatim(body),
                _ => Value::Error(body.show()),
            };
            Ok((value, end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = number(head)?;
            if count < 0 {
                return if kind == b'*' { Ok((Value::Array(None), next)) } else { Err(Stop::Invalid("a negative count".into())) };
            }
            // A map or an attribute holds pairs.
            let elements = if matches!(kind, b'%' | b'|') { count.saturating_mul(2) } else { count } as usize;
            if elements > MAX_COUNT {
                return Err(Stop::Invalid(format!("{elements} elements, more than any message holds")));
            }
            let mut items = Vec::with_capacity(elements.min(MAX_ELEMENTS));
            let mut at = next;
            for _ in 0..elements {
                let (item, after) = value_at(buf, at, depth + 1, truncated)?;
                if items.len() < MAX_ELEMENTS {
                    items.push(item);
                } else {
                    *truncated = true;
                }
                at = after;
            }
            let value = match kind {
                b'*' => Value::Array(Some(items)),
                b'~' => Value::Set(items),
                b'>' => Value::Push(items),
                b'%' => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        pairs.push((k, v));
                    }
                    Value::Map(pairs)
                }
                // An attribute describes the value after it, which is the reply.
                _ => return value_at(buf, at, depth + 1, truncated),
            };
            Ok((value, at))
        }
        other => Err(Stop::Invalid(format!("{:?} starts no RESP value", other as char))),
    }
}

/// An inline command (`PING`, `GET key`): the words of one line, if the buffer holds one.
pub fn inline(buf: &[u8]) -> Parse {
    match memchr::memchr(b'\n', buf) {
        Some(end) => {
            let line = &buf[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words: Vec<Value> = line
                .split(|b| *b == b' ' || *b == b'\t')
                .filter(|w| !w.is_empty())
                .take(MAX_ELEMENTS)
                .map(|w| Value::Bulk(Some(Text { bytes: w[..w.len().min(MAX_TEXT)].to_vec(), cut: w.len() > MAX_TEXT })))
                .collect();
            Parse::Value { value: Value::Array(Some(words)), used: end + 1, truncated: false }
        }
        None if buf.len() > MAX_LINE => Parse::Invalid(format!("an inline command longer than {MAX_LINE} bytes")),
        None => Parse::NeedAtLeast(buf.len() + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Some(Text { bytes: s.as_bytes().to_vec(), cut: false }))
    }

    #[test]
    fn values_of_resp2_and_resp3() {
        let command = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        assert_eq!(parse(command), Parse::Value { value: Value::Array(Some(vec![bulk("SET"), bulk("k"), bulk("hello")])), used: command.len(), truncated: false });
        assert_eq!(parse(b"+OK\r\nrest"), Parse::Value { value: Value::Simple("OK".into()), used: 5, truncated: false });
        assert_eq!(parse(b"-ERR no\r\n"), Parse::Value { value: Value::Error("ERR no".into()), used: 9, truncated: false });
        assert_eq!(parse(b":-12\r\n"), Parse::Value { value: Value::Integer(-12), used: 6, truncated: false });
        assert_eq!(parse(b"$-1\r\n"), Parse::Value { value: Value::Bulk(None), used: 5, truncated: false });
        assert_eq!(parse(b"*-1\r\n"), Parse::Value { value: Value::Array(None), used: 5, truncated: false });
        assert_eq!(parse(b"_\r\n"), Parse::Value { value: Value::Null, used: 3, truncated: false });
        assert_eq!(parse(b"#t\r\n"), Parse::Value { value: Value::Boolean(true), used: 4, truncated: false });
        assert_eq!(parse(b",1.5\r\n"), Parse::Value { value: Value::Double("1.5".into()), used: 6, truncated: false });
        let map = b"%1\r\n+a\r\n:1\r\n";
        assert_eq!(parse(map), Parse::Value { value: Value::Map(vec![(Value::Simple("a".into()), Value::Integer(1))]), used: map.len(), truncated: false });
        let attributed = b"|1\r\n+ttl\r\n:3\r\n+v\r\n";
        assert_eq!(parse(attributed), Parse::Value { value: Value::Simple("v".into()), used: attributed.len(), truncated: false });
        let push = b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n";
        assert_eq!(parse(push), Parse::Value { value: Value::Push(vec![bulk("message"), bulk("c"), bulk("hi")]), used: push.len(), truncated: false });
    }

    #[test]
    fn incomplete_values_say_how_much_they_need() {
        assert_eq!(parse(b""), Parse::NeedAtLeast(1));
        assert_eq!(parse(b"+OK"), Parse::NeedAtLeast(4));
        // The bulk string's length is known: wait for all of it at once.
        assert_eq!(parse(b"$10\r\nab"), Parse::NeedAtLeast(17));
        assert_eq!(parse(b"*2\r\n$1\r\na\r\n"), Parse::NeedAtLeast(12));
    }

    #[test]
    fn hostile_input_is_refused_or_cut_not_trusted() {
        assert!(matches!(parse(b"?x\r\n"), Parse::Invalid(_)));
        assert!(matches!(parse(b":abc\r\n"), Parse::Invalid(_)));
        assert!(matches!(parse(b"$3\r\nabcde\r\n"), Parse::Invalid(_)));
        assert!(matches!(parse(b"*99999999999999\r\n"), Parse::Invalid(_)));
        let deep = "*1\r\n".repeat(40);
        assert!(matches!(parse(deep.as_bytes()), Parse::Invalid(_)));
        let long = format!("${}\r\n{}\r\n", 5000, "x".repeat(5000));
        match parse(long.as_bytes()) {
            Parse::Value { value: Value::Bulk(Some(t)), truncated: true, .. } => assert!(t.cut && t.bytes.len() == MAX_TEXT),
            other => panic!("{other:?}"),
        }
        let many = format!("*100\r\n{}", ":1\r\n".repeat(100));
        match parse(many.as_bytes()) {
            Parse::Value { value: Value::Array(Some(items)), truncated: true, used, .. } => assert_eq!((items.len(), used), (MAX_ELEMENTS, many.len())),
            other => panic!("{other:?}"),
        }
        assert_eq!(inline(b"PING\r\n"), Parse::Value { value: Value::Array(Some(vec![bulk("PING")])), used: 6, truncated: false });
    }
}
