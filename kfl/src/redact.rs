//! `redact("path", ...)`: the paths KFL v1 takes (dot paths with `[index]`, `["key"]`,
//! `.*`, `..name`, and `json()`/`xml()` to reach inside an encoded body) and replacing
//! what they select, in place, with `[REDACTED]`.
//!
//! A path is read with the query parser, so it is written as a selector is. Inside a
//! `json()` or `xml()` step the text (or its base64, as bodies travel) is decoded, redacted
//! and written back in the form it came in; elsewhere in the document nothing changes.

use base64::Engine;
use quick_xml::events::{BytesStart, BytesText, Event};
use serde_json::Value;

use crate::compile::Seg;
use crate::helpers::from_base64;
use crate::parser::{parse, Expr};

pub const REDACTED: &str = "[REDACTED]";

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Seg(Seg),
    /// Decode the JSON text here and go on inside it.
    Json,
    /// Decode the XML text here and go on inside it (element names, then `@attribute`).
    Xml,
}

/// One `redact()` argument, ready to apply.
#[derive(Debug, Clone)]
pub struct RedactPath {
    steps: Vec<Step>,
}

impl RedactPath {
    /// Reads a path; a JSONPath root (`$.a`, `$..a`) is taken as the item.
    pub fn parse(path: &str) -> Result<RedactPath, String> {
        let trimmed = path.trim();
        let body = match trimmed.strip_prefix('$') {
            Some(rest) if rest.starts_with("..") || rest.starts_with('[') => rest,
            Some(rest) => rest.strip_prefix('.').unwrap_or(rest),
            None => trimmed,
        };
        // An XML attribute (`...xml().a.@id`) is no selector syntax: taken off before parsing.
        let (body, attribute) = match body.rsplit_once(".@") {
            Some((before, name)) if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "_-:".contains(c)) => (before, Some(format!("@{name}"))),
            _ => (body, None),
        };
        let not_a_path = |why: String| format!("redact({path:?}): {why}; the query is false");
        let expr = parse(body).map_err(|e| not_a_path(e.message))?;
        let mut steps = Vec::new();
        flatten(&expr, &mut steps).map_err(not_a_path)?;
        steps.extend(attribute.map(|a| Step::Seg(Seg::Key(a))));
        if steps.is_empty() {
            return Err(not_a_path("an empty path".into()));
        }
        if let Some(at) = steps.iter().position(|s| *s == Step::Xml) {
            let names_only = steps[at + 1..].iter().all(|s| matches!(s, Step::Seg(Seg::Key(_))));
            if !names_only || at + 1 == steps.len() {
                return Err(not_a_path("after xml() a path is element names (and an @attribute last)".into()));
            }
        }
        Ok(RedactPath { steps })
    }

    /// Replaces every value the path selects in `item` with `[REDACTED]`; a path that
    /// selects nothing changes nothing.
    pub fn apply(&self, item: &mut Value) {
        redact(item, &self.steps);
    }
}

fn flatten(expr: &Expr, out: &mut Vec<Step>) -> Result<(), String> {
    match expr {
        Expr::Root => {}
        Expr::Name(name) => out.push(Step::Seg(Seg::Key(name.clone()))),
        Expr::Field(base, name) => {
            flatten(base, out)?;
            out.push(Step::Seg(Seg::Key(name.clone())));
        }
        Expr::Wildcard(base) => {
            flatten(base, out)?;
            out.push(Step::Seg(Seg::Wild));
        }
        Expr::Descend(base, name) => {
            flatten(base, out)?;
            out.push(Step::Seg(Seg::Descend(name.clone())));
        }
        Expr::Index(base, index) => {
            flatten(base, out)?;
            out.push(Step::Seg(match &**index {
                Expr::Lit(Value::Number(n)) if n.is_i64() => Seg::Index(n.as_i64().unwrap_or(0)),
                Expr::Neg(n) => match &**n {
                    Expr::Lit(Value::Number(n)) if n.is_i64() => Seg::Index(-n.as_i64().unwrap_or(0)),
                    _ => return Err("an index in a path is a number or a quoted key".into()),
                },
                Expr::Lit(Value::String(key)) => Seg::Key(key.clone()),
                _ => return Err("an index in a path is a number or a quoted key".into()),
            }));
        }
        Expr::Call(Some(base), name, args) if args.is_empty() && (name == "json" || name == "xml") => {
            flatten(base, out)?;
            out.push(if name == "json" { Step::Json } else { Step::Xml });
        }
        _ => return Err("not a path (names, [index], .*, ..name, json(), xml())".into()),
    }
    Ok(())
}

fn redact(value: &mut Value, steps: &[Step]) {
    let Some((step, rest)) = steps.split_first() else {
        *value = Value::String(REDACTED.into());
        return;
    };
    match step {
        Step::Seg(Seg::Key(key)) => {
            if let Some(child) = value.as_object_mut().and_then(|map| map.get_mut(key)) {
                redact(child, rest);
            }
        }
        Step::Seg(Seg::Index(i)) => {
            if let Some(items) = value.as_array_mut() {
                let at = if *i < 0 { items.len() as i64 + i } else { *i };
                if let Some(child) = usize::try_from(at).ok().and_then(|at| items.get_mut(at)) {
                    redact(child, rest);
                }
            }
        }
        Step::Seg(Seg::Wild) => match value {
            Value::Array(items) => items.iter_mut().for_each(|child| redact(child, rest)),
            Value::Object(map) => map.values_mut().for_each(|child| redact(child, rest)),
            _ => {}
        },
        Step::Seg(Seg::Descend(key)) => descend(value, key, rest),
        Step::Json => {
            let Some(text) = value.as_str() else { return };
            let (decoded, was_base64) = match serde_json::from_str::<Value>(text) {
                Ok(v) => (v, false),
                Err(_) => match from_base64(text).and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()) {
                    Some(v) => (v, true),
                    None => return,
                },
            };
            let mut inner = decoded;
            redact(&mut inner, rest);
            let written = inner.to_string();
            *value = Value::String(if was_base64 { base64::engine::general_purpose::STANDARD.encode(written) } else { written });
        }
        Step::Xml => {
            let Some(text) = value.as_str() else { return };
            let names: Vec<&str> = rest.iter().filter_map(|s| if let Step::Seg(Seg::Key(k)) = s { Some(k.as_str()) } else { None }).collect();
            let rewritten = match redact_xml(text, &names) {
                Some(xml) => xml,
                None => match from_base64(text).and_then(|bytes| String::from_utf8(bytes).ok()).and_then(|xml| redact_xml(&xml, &names)) {
                    Some(xml) => base64::engine::general_purpose::STANDARD.encode(xml),
                    None => return,
                },
            };
            *value = Value::String(rewritten);
        }
    }
}

/// `..key`: every value under `key` at any depth, redacted along `rest`.
fn descend(value: &mut Value, key: &str, rest: &[Step]) {
    match value {
        Value::Object(map) => {
            for (name, child) in map.iter_mut() {
                if name == key {
                    redact(child, rest);
                }
                descend(child, key, rest);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|child| descend(child, key, rest)),
        _ => {}
    }
}

/// The XML document with the text of every element at `names` (from the root element
/// down; an `@attribute` last names an attribute) replaced, the rest written as it was.
/// `None` when the text is not XML or nothing in it is at the path.
fn redact_xml(text: &str, names: &[&str]) -> Option<String> {
    let (elements, attribute) = match names.split_last() {
        Some((last, before)) if last.starts_with('@') => (before, Some(&last[1..])),
        _ => (names, None),
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(text.len()));
    let mut path: Vec<String> = Vec::new();
    // The depth of the element whose content is being replaced.
    let mut replacing: Option<usize> = None;
    let mut found = false;
    loop {
        let event = reader.read_event().ok()?;
        let at_path = |path: &[String]| path.len() == elements.len() && path.iter().zip(elements).all(|(a, b)| a == b);
        match event {
            Event::Eof => break,
            Event::Start(start) => {
                path.push(String::from_utf8_lossy(start.name().as_ref()).into_owned());
                if replacing.is_some() {
                    continue;
                }
                let here = at_path(&path);
                found |= here;
                match (here, attribute) {
                    (true, Some(attribute)) => writer.write_event(Event::Start(with_attribute_redacted(&start, attribute)?)).ok()?,
                    (true, None) => {
                        writer.write_event(Event::Start(start)).ok()?;
                        writer.write_event(Event::Text(BytesText::new(REDACTED))).ok()?;
                        replacing = Some(path.len());
                    }
                    (false, _) => writer.write_event(Event::Start(start)).ok()?,
                }
            }
            Event::End(end) => {
                match replacing {
                    Some(depth) if depth == path.len() => {
                        replacing = None;
                        writer.write_event(Event::End(end)).ok()?;
                    }
                    Some(_) => {}
                    None => writer.write_event(Event::End(end)).ok()?,
                }
                path.pop();
            }
            Event::Empty(empty) => {
                if replacing.is_some() {
                    continue;
                }
                path.push(String::from_utf8_lossy(empty.name().as_ref()).into_owned());
                let here = at_path(&path);
                found |= here;
                match (here, attribute) {
                    (true, Some(attribute)) => writer.write_event(Event::Empty(with_attribute_redacted(&empty, attribute)?)).ok()?,
                    (true, None) => {
                        let end = empty.to_end().into_owned();
                        writer.write_event(Event::Start(empty)).ok()?;
                        writer.write_event(Event::Text(BytesText::new(REDACTED))).ok()?;
                        writer.write_event(Event::End(end)).ok()?;
                    }
                    (false, _) => writer.write_event(Event::Empty(empty)).ok()?,
                }
                path.pop();
            }
            other => {
                if replacing.is_none() {
                    writer.write_event(other).ok()?;
                }
            }
        }
    }
    if !found {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

fn with_attribute_redacted(element: &BytesStart<'_>, attribute: &str) -> Option<BytesStart<'static>> {
    let mut out = BytesStart::new(String::from_utf8_lossy(element.name().as_ref()).into_owned());
    for attr in element.attributes() {
        let attr = attr.ok()?;
        if attr.key.as_ref() == attribute.as_bytes() {
            out.push_attribute((attribute, REDACTED));
        } else {
            out.push_attribute(attr);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redacted(path: &str, mut doc: Value) -> Value {
        RedactPath::parse(path).expect("a path").apply(&mut doc);
        doc
    }

    #[test]
    fn paths_select_as_selectors_do() {
        let doc = json!({"a": {"b": 1, "c": [1, {"id": 2}], "id": 3}, "list": [{"k": 1}, {"k": 2}]});
        assert_eq!(redacted("a.b", doc.clone())["a"]["b"], REDACTED);
        assert_eq!(redacted("a.c[-1].id", doc.clone())["a"]["c"][1]["id"], REDACTED);
        assert_eq!(redacted("list.*.k", doc.clone())["list"], json!([{"k": REDACTED}, {"k": REDACTED}]));
        let every_id = redacted("..id", doc.clone());
        assert_eq!((every_id["a"]["id"].clone(), every_id["a"]["c"][1]["id"].clone()), (json!(REDACTED), json!(REDACTED)));
        assert_eq!(redacted("$..id", doc.clone()), every_id, "a JSONPath root is the item");
        assert_eq!(redacted("a[\"b\"]", doc.clone())["a"]["b"], REDACTED);
        assert_eq!(redacted("nothing.here", doc.clone()), doc, "a path to nothing changes nothing");
        assert!(RedactPath::parse("a == 1").is_err());
        assert!(RedactPath::parse("a.xml().b[0]").is_err());
    }

    #[test]
    fn json_and_xml_bodies_are_redacted_inside_and_keep_their_encoding() {
        let body = json!({"request": {"body": "{\"user\":\"ann\",\"password\":\"hunter2\"}"}});
        let out = redacted("request.body.json().password", body);
        let body = out["request"]["body"].as_str().expect("text");
        assert_eq!(serde_json::from_str::<Value>(body).expect("JSON"), json!({"user": "ann", "password": REDACTED}));

        let encoded = base64::engine::general_purpose::STANDARD.encode("{\"token\":\"abc\",\"n\":1}");
        let out = redacted("body.json().token", json!({"body": encoded}));
        let decoded = base64::engine::general_purpose::STANDARD.decode(out["body"].as_str().expect("text")).expect("base64");
        assert_eq!(serde_json::from_slice::<Value>(&decoded).expect("JSON"), json!({"token": REDACTED, "n": 1}));

        let xml = "<?xml version=\"1.0\"?><login user=\"ann\"><password>hunter2</password><keep>yes</keep></login>";
        let out = redacted("body.xml().login.password", json!({"body": xml}));
        assert_eq!(out["body"], "<?xml version=\"1.0\"?><login user=\"ann\"><password>[REDACTED]</password><keep>yes</keep></login>");
        let out = redacted("body.xml().login.@user", json!({"body": xml}));
        assert_eq!(out["body"], "<?xml version=\"1.0\"?><login user=\"[REDACTED]\"><password>hunter2</password><keep>yes</keep></login>");
        let out = redacted("body.xml().login.absent", json!({"body": xml}));
        assert_eq!(out["body"], xml, "a path to nothing leaves the document as it was");
    }
}
