//! KFL's helpers: methods on a selected value (`.startsWith()`, `.json()`, ...) and
//! functions (`now()`, `datetime()`, `limit()`, ...).

use chrono::{Months, NaiveDateTime, TimeZone, Utc};
use regex::Regex;
use serde_json::{Map, Value};

use crate::compile::{compile, literal_regex, Node, Notes};
use crate::eval::{eval, num, number, text, Val};
use crate::parser::Expr;

#[derive(Debug, Clone)]
pub enum Method {
    StartsWith(Box<Node>),
    EndsWith(Box<Node>),
    Contains(Box<Node>),
    /// CEL's `matches`: the regex anywhere in the text.
    Matches(Regex),
    Size,
    Json,
    Xml,
}

#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Millis(i64),
    Months(u32),
}

#[derive(Debug, Clone)]
pub enum Func {
    Now,
    /// `seconds(n)` ... `years(n)`: now plus n units.
    Relative(Unit, Box<Node>),
    Datetime(Box<Node>),
    Timestamp(Box<Node>),
    Duration(Box<Node>),
    Size(Box<Node>),
    /// `limit(n)`: true; what it asks is in the query's notes.
    True,
}

fn one<'e>(name: &str, args: &'e [Expr]) -> Result<&'e Expr, String> {
    match args {
        [arg] => Ok(arg),
        _ => Err(format!("{name}() takes one argument, given {}; the query is false", args.len())),
    }
}

fn none(name: &str, args: &[Expr]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}() takes no arguments; the query is false"))
    }
}

impl Method {
    pub fn compile(name: &str, args: &[Expr], notes: &mut Notes) -> Result<Method, String> {
        Ok(match name {
            "startsWith" => Method::StartsWith(Box::new(compile(one(name, args)?, notes))),
            "endsWith" => Method::EndsWith(Box::new(compile(one(name, args)?, notes))),
            "contains" => Method::Contains(Box::new(compile(one(name, args)?, notes))),
            "matches" => match literal_regex(one(name, args)?) {
                Some(Ok(re)) => Method::Matches(re),
                Some(Err(e)) => return Err(format!("matches(): {e}; the query is false")),
                None => return Err("matches() takes a constant pattern; the query is false".into()),
            },
            "size" => none(name, args).map(|_| Method::Size)?,
            "json" => none(name, args).map(|_| Method::Json)?,
            "xml" => none(name, args).map(|_| Method::Xml)?,
            other => return Err(format!("{other}() is not a KFL helper; the query is false")),
        })
    }

    pub fn apply<'a>(&self, target: &Val<'a>, root: &'a Value, now_ms: i64) -> Val<'a> {
        if let Val::Many(items) = target {
            // A wildcard: a test holds when it holds for any value.
            return match self {
                Method::Size => Val::Own(Value::from(items.len())),
                Method::Json | Method::Xml => Val::Many(items.iter().map(|i| self.apply(i, root, now_ms)).collect()),
                _ => Val::Own(Value::Bool(items.iter().any(|i| matches!(self.apply(i, root, now_ms), Val::Own(Value::Bool(true)))))),
            };
        }
        let string_test = |arg: &Node, test: fn(&str, &str) -> bool| -> Val<'a> {
            let needle = eval(arg, root, now_ms);
            match (text(target), text(&needle)) {
                (Some(hay), Some(needle)) => Val::Own(Value::Bool(test(&hay, &needle))),
                _ => Val::Own(Value::Bool(false)),
            }
        };
        match self {
            Method::StartsWith(arg) => string_test(arg, |h, n| h.starts_with(n)),
            Method::EndsWith(arg) => string_test(arg, |h, n| h.ends_with(n)),
            Method::Contains(arg) => match target {
                Val::Ref(Value::Array(items)) => {
                    let needle = eval(arg, root, now_ms);
                    Val::Own(Value::Bool(items.iter().any(|i| crate::eval::compare(crate::parser::CmpOp::Eq, &Val::Ref(i), &needle))))
                }
                _ => string_test(arg, |h, n| h.contains(n)),
            },
            Method::Matches(re) => Val::Own(Value::Bool(text(target).is_some_and(|t| re.is_match(&t)))),
            Method::Size => size(target),
            // KFL v1 decodes a base64 body (as bodies travel) before reading its JSON.
            Method::Json => text(target).and_then(|t| serde_json::from_str::<Value>(&t).ok().or_else(|| from_base64_json(&t))).map_or(Val::Missing, Val::Own),
            Method::Xml => text(target).and_then(|t| xml_to_value(&t)).map_or(Val::Missing, Val::Own),
        }
    }
}

/// JSON inside base64 text.
fn from_base64_json(text: &str) -> Option<Value> {
    serde_json::from_slice(&from_base64(text)?).ok()
}

/// Base64 text (standard alphabet, padded or not) decoded, as bodies travel.
pub(crate) fn from_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let trimmed = text.trim();
    base64::engine::general_purpose::STANDARD.decode(trimmed).or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)).ok()
}

fn size<'a>(v: &Val<'a>) -> Val<'a> {
    let n = match v {
        Val::Many(items) => Some(items.len()),
        Val::Ref(value) => len(value),
        Val::Own(value) => len(value),
        Val::Missing => None,
    };
    n.map_or(Val::Missing, |n| Val::Own(Value::from(n)))
}

fn len(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

impl Func {
    pub fn compile(name: &str, args: &[Expr], notes: &mut Notes) -> Result<Func, String> {
        let unit = |ms: i64| Unit::Millis(ms);
        let relative = |u: Unit, notes: &mut Notes| -> Result<Func, String> {
            notes.uses_clock = true;
            Ok(Func::Relative(u, Box::new(compile(one(name, args)?, notes))))
        };
        match name {
            "now" => {
                none(name, args)?;
                notes.uses_clock = true;
                Ok(Func::Now)
            }
            "seconds" => relative(unit(1_000), notes),
            "minutes" => relative(unit(60_000), notes),
            "hours" => relative(unit(3_600_000), notes),
            "days" => relative(unit(86_400_000), notes),
            "weeks" => relative(unit(7 * 86_400_000), notes),
            "months" => relative(Unit::Months(1), notes),
            "years" => relative(Unit::Months(12), notes),
            "datetime" => Ok(Func::Datetime(Box::new(compile(one(name, args)?, notes)))),
            "timestamp" => Ok(Func::Timestamp(Box::new(compile(one(name, args)?, notes)))),
            "duration" => Ok(Func::Duration(Box::new(compile(one(name, args)?, notes)))),
            "size" => Ok(Func::Size(Box::new(compile(one(name, args)?, notes)))),
            "limit" => match one(name, args)? {
                Expr::Lit(Value::Number(n)) if n.as_u64().is_some() => {
                    notes.limit = n.as_u64();
                    Ok(Func::True)
                }
                _ => Err("limit() takes a whole number; the query is false".into()),
            },
            other => Err(format!("{other}() is not a KFL helper; the query is false")),
        }
    }

    pub fn apply<'a>(&self, root: &'a Value, now_ms: i64) -> Val<'a> {
        match self {
            Func::Now => Val::Own(Value::from(now_ms)),
            Func::Relative(unit, n) => {
                let Some(n) = number(&eval(n, root, now_ms)) else { return Val::Missing };
                match unit {
                    Unit::Millis(ms) => Val::Own(num(now_ms as f64 + n * *ms as f64)),
                    Unit::Months(per) => {
                        let Some(now) = Utc.timestamp_millis_opt(now_ms).single() else { return Val::Missing };
                        let months = (n.abs() as u32).saturating_mul(*per);
                        let moved = if n >= 0.0 { now.checked_add_months(Months::new(months)) } else { now.checked_sub_months(Months::new(months)) };
                        moved.map_or(Val::Missing, |t| Val::Own(Value::from(t.timestamp_millis())))
                    }
                }
            }
            Func::Datetime(arg) => text(&eval(arg, root, now_ms))
                // With or without milliseconds (`6:29:02.000 PM`), in UTC, as KFL v1 reads it.
                .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), "%m/%d/%Y, %I:%M:%S%.f %p").or_else(|_| NaiveDateTime::parse_from_str(t.trim(), "%m/%d/%Y, %I:%M:%S %p")).ok())
                .map_or(Val::Missing, |t| Val::Own(Value::from(t.and_utc().timestamp_millis()))),
            Func::Timestamp(arg) => {
                let v = eval(arg, root, now_ms);
                // A number is taken as a time already (ms); numeric strings are not.
                if let Some(Value::Number(n)) = v.json() {
                    return n.as_f64().map_or(Val::Missing, |n| Val::Own(num(n)));
                }
                text(&v)
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
                    .map_or(Val::Missing, |t| Val::Own(Value::from(t.timestamp_millis())))
            }
            Func::Duration(arg) => text(&eval(arg, root, now_ms)).and_then(|t| duration_ms(&t)).map_or(Val::Missing, |ms| Val::Own(num(ms))),
            Func::Size(arg) => size(&eval(arg, root, now_ms)),
            Func::True => Val::Own(Value::Bool(true)),
        }
    }
}

/// `1h30m`, `5m`, `10s`, `250ms`, `2d` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let per = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        total += n * per;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// An XML document as a JSON-like value: an element is an object of its children (a
/// repeated name becomes a list) and `@attribute`s; an element with text only is its
/// text. The root element's name is the top-level key.
pub fn xml_to_value(text: &str) -> Option<Value> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    // Open elements: (name, children, text).
    let mut stack: Vec<(String, Map<String, Value>, String)> = vec![(String::new(), Map::new(), String::new())];
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let mut map = Map::new();
                for attr in e.attributes().flatten() {
                    let key = format!("@{}", String::from_utf8_lossy(attr.key.as_ref()));
                    map.insert(key, Value::String(attr.unescape_value().ok()?.into_owned()));
                }
                stack.push((String::from_utf8_lossy(e.name().as_ref()).into_owned(), map, String::new()));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let parent = &mut stack.last_mut()?.1;
                add_child(parent, name, Value::String(String::new()));
            }
            Event::Text(t) => stack.last_mut()?.2.push_str(&t.decode().ok()?),
            Event::GeneralRef(r) => {
                let entity = match r.decode().ok()?.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                stack.last_mut()?.2.push_str(entity);
            }
            Event::CData(t) => stack.last_mut()?.2.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                let (name, map, text) = stack.pop()?;
                let value = if map.is_empty() { Value::String(text) } else { Value::Object(map) };
                add_child(&mut stack.last_mut()?.1, name, value);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, root, _) = stack.pop()?;
    (!root.is_empty()).then_some(Value::Object(root))
}

fn add_child(parent: &mut Map<String, Value>, name: String, value: Value) {
    match parent.get_mut(&name) {
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            parent.insert(name, value);
        }
    }
}
