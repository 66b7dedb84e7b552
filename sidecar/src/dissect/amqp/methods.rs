//! AMQP 0-9-1's methods (the specification's classes and methods, plus RabbitMQ's
//! Connection.Blocked/Unblocked/Update-Secret and Basic.Nack, Confirm.Select), what each
//! expects (a reply, nothing, content), and the arguments and content properties an item
//! shows.

use remora_model::{AmqpProperties, AmqpRequest, AmqpResponse, Fields};

use super::super::cursor::Cursor;

/// How a method takes part in an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Awaits a reply from the peer on its channel (unless sent with no-wait).
    Synchronous,
    /// Answers the peer's synchronous method.
    Reply,
    Asynchronous,
    /// Asynchronous, followed by a content header and body frames.
    Content,
}

pub const CONNECTION: u16 = 10;
pub const CHANNEL: u16 = 20;
pub const BASIC: u16 = 60;
pub const CLOSE: (u16, u16) = (CONNECTION, 50);
pub const CHANNEL_CLOSE: (u16, u16) = (CHANNEL, 40);
pub const GET_OK: (u16, u16) = (BASIC, 71);

/// `Class.Method` and its kind; `None` for ids the specification does not define.
pub fn method(class: u16, id: u16) -> Option<(String, Kind)> {
    use Kind::*;
    let class_name = match class {
        CONNECTION => "Connection",
        CHANNEL => "Channel",
        40 => "Exchange",
        50 => "Queue",
        BASIC => "Basic",
        85 => "Confirm",
        90 => "Tx",
        _ => return None,
    };
    let (name, kind) = match (class, id) {
        (CONNECTION, 10) => ("Start", Synchronous),
        (CONNECTION, 11) => ("Start-Ok", Reply),
        (CONNECTION, 20) => ("Secure", Synchronous),
        (CONNECTION, 21) => ("Secure-Ok", Reply),
        (CONNECTION, 30) => ("Tune", Synchronous),
        (CONNECTION, 31) => ("Tune-Ok", Reply),
        (CONNECTION, 40) => ("Open", Synchronous),
        (CONNECTION, 41) => ("Open-Ok", Reply),
        (CONNECTION, 50) => ("Close", Synchronous),
        (CONNECTION, 51) => ("Close-Ok", Reply),
        (CONNECTION, 60) => ("Blocked", Asynchronous),
        (CONNECTION, 61) => ("Unblocked", Asynchronous),
        (CONNECTION, 70) => ("Update-Secret", Synchronous),
        (CONNECTION, 71) => ("Update-Secret-Ok", Reply),
        (CHANNEL, 10) => ("Open", Synchronous),
        (CHANNEL, 11) => ("Open-Ok", Reply),
        (CHANNEL, 20) => ("Flow", Synchronous),
        (CHANNEL, 21) => ("Flow-Ok", Reply),
        (CHANNEL, 40) => ("Close", Synchronous),
        (CHANNEL, 41) => ("Close-Ok", Reply),
        (40 | 50, 10) => ("Declare", Synchronous),
        (40 | 50, 11) => ("Declare-Ok", Reply),
        (40, 20) => ("Delete", Synchronous),
        (40, 21) => ("Delete-Ok", Reply),
        (40, 30) | (50, 20) => ("Bind", Synchronous),
        (40, 31) | (50, 21) => ("Bind-Ok", Reply),
        (40, 40) | (50, 50) => ("Unbind", Synchronous),
        (40 | 50, 51) => ("Unbind-Ok", Reply),
        (50, 30) => ("Purge", Synchronous),
        (50, 31) => ("Purge-Ok", Reply),
        (50, 40) => ("Delete", Synchronous),
        (50, 41) => ("Delete-Ok", Reply),
        (BASIC, 10) => ("Qos", Synchronous),
        (BASIC, 11) => ("Qos-Ok", Reply),
        (BASIC, 20) => ("Consume", Synchronous),
        (BASIC, 21) => ("Consume-Ok", Reply),
        (BASIC, 30) => ("Cancel", Synchronous),
        (BASIC, 31) => ("Cancel-Ok", Reply),
        (BASIC, 40) => ("Publish", Content),
        (BASIC, 50) => ("Return", Content),
        (BASIC, 60) => ("Deliver", Content),
        (BASIC, 70) => ("Get", Synchronous),
        (BASIC, 71) => ("Get-Ok", Reply),
        (BASIC, 72) => ("Get-Empty", Reply),
        (BASIC, 80) => ("Ack", Asynchronous),
        (BASIC, 90) => ("Reject", Asynchronous),
        (BASIC, 100) => ("Recover-Async", Asynchronous),
        (BASIC, 110) => ("Recover", Synchronous),
        (BASIC, 111) => ("Recover-Ok", Reply),
        (BASIC, 120) => ("Nack", Asynchronous),
        (85, 10) | (90, 10) => ("Select", Synchronous),
        (85, 11) | (90, 11) => ("Select-Ok", Reply),
        (90, 20) => ("Commit", Synchronous),
        (90, 21) => ("Commit-Ok", Reply),
        (90, 30) => ("Rollback", Synchronous),
        (90, 31) => ("Rollback-Ok", Reply),
        _ => return None,
    };
    Some((format!("{class_name}.{name}"), kind))
}

/// AMQP's readers: short and long strings, field tables.
impl Cursor<'_> {
    fn shortstr(&mut self) -> Option<String> {
        let n = usize::from(self.u8()?);
        self.take(n).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn longstr(&mut self) -> Option<&[u8]> {
        let n = self.u32_be()? as usize;
        self.take(n)
    }

    /// A field table's simple entries as text, nested ones as `(table)` / `(array)`.
    fn table(&mut self, out: &mut Fields) -> Option<()> {
        let mut t = Cursor(self.longstr()?);
        while !t.0.is_empty() && out.len() < MAX_HEADERS {
            let name = t.shortstr()?;
            let value = t.field_value()?;
            out.insert(name, value);
        }
        Some(())
    }

    fn field_value(&mut self) -> Option<String> {
        let int = |b: &[u8]| b.iter().fold(0u64, |v, x| v << 8 | u64::from(*x));
        let signed = |b: &[u8]| (int(b) << (64 - 8 * b.len()) as u32) as i64 >> (64 - 8 * b.len()) as u32;
        Some(match self.u8()? {
            b't' => (self.u8()? != 0).to_string(),
            b'b' => signed(self.take(1)?).to_string(),
            b'B' => self.u8()?.to_string(),
            b's' | b'U' => signed(self.take(2)?).to_string(),
            b'u' => int(self.take(2)?).to_string(),
            b'I' => signed(self.take(4)?).to_string(),
            b'i' => int(self.take(4)?).to_string(),
            b'l' | b'L' => signed(self.take(8)?).to_string(),
            b'T' => int(self.take(8)?).to_string(),
            b'f' => f32::from_bits(self.u32_be()?).to_string(),
            b'd' => f64::from_bits(self.u64_be()?).to_string(),
            b'D' => {
                let scale = self.u8()?;
                format!("{}e-{scale}", signed(self.take(4)?))
            }
            b'S' | b'x' => String::from_utf8_lossy(self.longstr()?).into_owned(),
            b'F' => self.longstr().map(|_| "(table)".to_string())?,
            b'A' => self.longstr().map(|_| "(array)".to_string())?,
            b'V' => String::new(),
            _ => return None,
        })
    }
}

/// Headers kept of a content header's table.
const MAX_HEADERS: usize = 32;

/// A method's arguments into the request; `Some(true)` when it was sent with no-wait
/// (no reply will come).
pub fn request_arguments(class: u16, id: u16, args: &[u8], r: &mut AmqpRequest) -> Option<bool> {
    let mut c = Cursor(args);
    // Bits pack into one octet after the strings: `bit` is the no-wait flag's position.
    let no_wait = |c: &mut Cursor, bit: u8| c.u8().map(|b| b & (1 << bit) != 0);
    match (class, id) {
        (CONNECTION, 40) => r.virtual_host = c.shortstr()?,
        (CONNECTION, 50) | (CHANNEL, 40) => {
            r.reply_code = Some(c.u16_be()?);
            r.reply_text = c.shortstr()?;
        }
        (40, 10) => {
            c.skip(2)?;
            r.exchange = c.shortstr()?;
            c.shortstr()?; // type
            return no_wait(&mut c, 4);
        }
        (40, 20) => {
            c.skip(2)?;
            r.exchange = c.shortstr()?;
            return no_wait(&mut c, 1);
        }
        (40, 30 | 40) => {
            c.skip(2)?;
            r.destination = c.shortstr()?;
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
            return no_wait(&mut c, 0);
        }
        (50, 10 | 30 | 40) => {
            c.skip(2)?;
            r.queue = c.shortstr()?;
            return no_wait(&mut c, match id { 10 => 4, 30 => 0, _ => 2 });
        }
        (50, 20 | 50) => {
            c.skip(2)?;
            r.queue = c.shortstr()?;
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
            if id == 20 {
                return no_wait(&mut c, 0);
            }
        }
        (BASIC, 20) => {
            c.skip(2)?;
            r.queue = c.shortstr()?;
            r.consumer_tag = c.shortstr()?;
            return no_wait(&mut c, 3);
        }
        (BASIC, 30) => {
            r.consumer_tag = c.shortstr()?;
            return no_wait(&mut c, 0);
        }
        (BASIC, 40) => {
            c.skip(2)?;
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
        }
        (BASIC, 50) => {
            r.reply_code = Some(c.u16_be()?);
            r.reply_text = c.shortstr()?;
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
        }
        (BASIC, 60) => {
            r.consumer_tag = c.shortstr()?;
            r.delivery_tag = Some(c.u64_be()?);
            c.skip(1)?; // redelivered
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
        }
        (BASIC, 70) => {
            c.skip(2)?;
            r.queue = c.shortstr()?;
        }
        (BASIC, 80 | 90 | 120) => r.delivery_tag = Some(c.u64_be()?),
        (85, 10) => return no_wait(&mut c, 0),
        _ => {}
    }
    Some(false)
}

/// A reply's arguments into the response.
pub fn reply_arguments(class: u16, id: u16, args: &[u8], r: &mut AmqpResponse) -> Option<()> {
    let mut c = Cursor(args);
    match (class, id) {
        (50, 11) => {
            r.queue = c.shortstr()?;
            r.message_count = Some(c.u32_be()?);
            r.consumer_count = Some(c.u32_be()?);
        }
        (50, 31 | 41) => r.message_count = Some(c.u32_be()?),
        (BASIC, 21 | 31) => r.consumer_tag = c.shortstr()?,
        (BASIC, 71) => {
            r.delivery_tag = Some(c.u64_be()?);
            c.skip(1)?; // redelivered
            r.exchange = c.shortstr()?;
            r.routing_key = c.shortstr()?;
            r.message_count = Some(c.u32_be()?);
        }
        _ => {}
    }
    Some(())
}

/// A Channel.Close's or Connection.Close's code, text, and the method that failed.
pub fn close_arguments(args: &[u8]) -> Option<(u16, String, String)> {
    let mut c = Cursor(args);
    let code = c.u16_be()?;
    let text = c.shortstr()?;
    let (class, id) = (c.u16_be().unwrap_or(0), c.u16_be().unwrap_or(0));
    Some((code, text, method(class, id).map(|(name, _)| name).unwrap_or_default()))
}

/// A content header (class, weight, body size, property flags, properties): the body
/// size and the Basic properties present.
pub fn content_header(payload: &[u8]) -> Option<(u64, AmqpProperties)> {
    let mut c = Cursor(payload);
    c.skip(4)?; // class, weight
    let size = c.u64_be()?;
    let flags = c.u16_be()?;
    let mut p = AmqpProperties::default();
    let has = |bit: u16| flags & (1 << bit) != 0;
    // Properties in flag order, from bit 15 down; stop quietly where bytes run out.
    let _ = (|| -> Option<()> {
        if has(15) { p.content_type = c.shortstr()?; }
        if has(14) { p.content_encoding = c.shortstr()?; }
        if has(13) { c.table(&mut p.headers)?; }
        if has(12) { p.delivery_mode = Some(c.u8()?); }
        if has(11) { p.priority = Some(c.u8()?); }
        if has(10) { p.correlation_id = c.shortstr()?; }
        if has(9) { p.reply_to = c.shortstr()?; }
        if has(8) { p.expiration = c.shortstr()?; }
        if has(7) { p.message_id = c.shortstr()?; }
        if has(6) { p.timestamp = Some(c.u64_be()?); }
        if has(5) { p.kind = c.shortstr()?; }
        if has(4) { p.user_id = c.shortstr()?; }
        if has(3) { p.app_id = c.shortstr()?; }
        Some(())
    })();
    Some((size, p))
}
