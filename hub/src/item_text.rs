//! Items as the hub keeps them: the JSON text a sidecar sent, stamped with the pod its
//! session proved, and the few values the store's index holds. A batch is read in one
//! pass over its text: each item's top-level members are borrowed, never parsed into
//! values, and copied out with `id`, `worker` and `namespace` rewritten.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use remora_model::wire::{PodIdentity, OLDEST_VERSION, VERSION};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The paths the store's index holds for every item (see `store::Index`); a query that
/// reads only these (and `timestamp`) is answered without parsing an item.
pub const INDEXED: [&[&str]; 6] = [&["protocol", "name"], &["protocol", "macro"], &["protocol", "layer4"], &["namespace"], &["tls"], &["outgoing"]];

/// The item's time, kept beside each item (milliseconds since the epoch).
pub const TIME: &[&str] = &["timestamp"];

/// An indexed value longer than this makes the item unindexed (it is still stored, and
/// queries parse it): the index's memory stays small whatever sidecars send.
const MAX_INDEXED_VALUE: usize = 128;

/// An item's JSON text, shared by the store, live tails and query answers (an `Arc` of
/// the `String` it was written into: made without copying it again).
pub type ItemText = Arc<String>;

/// An item ready for the store.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub text: ItemText,
    /// The item's values at the [`INDEXED`] paths as JSON text, in that order, each
    /// ended by `\0` (absent: `\u{1}`); `None` when one could not be indexed.
    pub known: Option<String>,
    /// `timestamp` when it is a whole number.
    pub time: Option<i64>,
}

impl Incoming {
    /// An item from its JSON text, stamped with `identity`'s pod when one is given (as
    /// `stamp_identity` does to a parsed item). `Err` for text that is not a JSON object.
    pub fn from_text(text: &str, identity: Option<&PodIdentity>) -> Result<Incoming, String> {
        let members = serde_json::from_str::<Members<'_>>(text).map_err(|e| format!("an item that is not JSON: {e}"))?;
        from_members(members, identity)
    }

    /// An item already parsed (tests, frames read the slow way).
    pub fn from_value(item: &serde_json::Value, identity: Option<&PodIdentity>) -> Result<Incoming, String> {
        Incoming::from_text(&item.to_string(), identity)
    }
}

/// A batch of items, read without parsing them (`Err` when the frame is not a batch of
/// this protocol's versions: read it as any other frame).
pub struct Batch<'a> {
    pub seq: u64,
    items: Vec<Members<'a>>,
}

#[derive(Deserialize)]
struct BatchFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    v: u32,
    seq: u64,
    #[serde(borrow)]
    items: Vec<Members<'a>>,
}

impl<'a> Batch<'a> {
    pub fn read(text: &'a str) -> Option<Batch<'a>> {
        let frame: BatchFrame<'a> = serde_json::from_str(text).ok()?;
        (frame.kind == "items" && (OLDEST_VERSION..=VERSION).contains(&frame.v)).then_some(Batch { seq: frame.seq, items: frame.items })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The batch's items stamped with `identity`; `refused` counts those that are not
    /// JSON objects (left out).
    pub fn stamp(self, identity: &PodIdentity, refused: &mut usize) -> Vec<Incoming> {
        objects(self.items.into_iter().map(|members| from_members(members, Some(identity))), refused)
    }
}

/// The items that could be read as objects; `refused` counts the others.
pub fn objects(items: impl Iterator<Item = Result<Incoming, String>>, refused: &mut usize) -> Vec<Incoming> {
    items.filter_map(|item| item.map_err(|_| *refused += 1).ok()).collect()
}

/// A JSON object's members in order, their values as written; `None` for any other JSON
/// value (read past).
struct Members<'a>(Option<Vec<(Cow<'a, str>, &'a RawValue)>>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MembersVisitor(std::marker::PhantomData))
    }
}

struct MembersVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
    type Value = Members<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key.0, value));
        }
        Ok(Members(Some(members)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Members(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
    fn visit_unit<E>(self) -> Result<Members<'a>, E> {
        Ok(Members(None))
    }
}

/// An object key, borrowed unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The value of `key` among `members` (the last, as a parser keeps).
fn member<'a>(members: &[(Cow<'a, str>, &'a RawValue)], key: &str) -> Option<&'a RawValue> {
    members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// Whether two members share a key (a parser keeps the last: the text would not say so).
fn has_repeats(members: &[(Cow<'_, str>, &RawValue)]) -> bool {
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

fn from_members(members: Members<'_>, identity: Option<&PodIdentity>) -> Result<Incoming, String> {
    let Some(members) = members.0 else { return Err("an item that is not a JSON object".into()) };
    let identity = identity.filter(|i| !i.pod.is_empty());
    let stamped = identity.map(|i| ("worker", &i.pod, "namespace", &i.namespace));
    let mut text = String::with_capacity(members.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>() + 64);
    text.push('{');
    for (key, value) in &members {
        let value = match (key.as_ref(), identity) {
            ("worker" | "namespace", Some(_)) => continue,
            ("id", Some(identity)) => match serde_json::from_str::<String>(value.get()) {
                Ok(id) => Cow::Owned(json_string(&stamped_id(&id, &identity.pod))),
                Err(_) => Cow::Borrowed(value.get()),
            },
            _ => Cow::Borrowed(value.get()),
        };
        push_member(&mut text, key, &value);
    }
    if let Some((worker_key, worker, namespace_key, namespace)) = stamped {
        push_member(&mut text, worker_key, &json_string(worker));
        push_member(&mut text, namespace_key, &json_string(namespace));
    }
    if text.len() > 1 {
        text.pop();
    }
    text.push('}');
    // A repeated key, or a line break between tokens (the journal is one item a line):
    // through a parsed value, whose text has neither. The text is stamped already: the
    // session's `worker` and `namespace` come last, so they are what a parser keeps.
    if has_repeats(&members) || memchr::memchr(b'\n', text.as_bytes()).is_some() {
        let item: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        return Incoming::from_text(&item.to_string(), None);
    }
    let namespace = stamped.map(|(.., namespace)| json_string(namespace));
    let known = known(&members, namespace.as_deref());
    let time = member(&members, TIME[0]).and_then(|t| t.get().trim().parse::<i64>().ok());
    Ok(Incoming { text: Arc::new(text), known, time })
}

fn push_member(text: &mut String, key: &str, value: &str) {
    // Most keys need no escape: written as they are, without a string of their own.
    if key.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        text.push_str(&json_string(key));
    } else {
        text.push('"');
        text.push_str(key);
        text.push('"');
    }
    text.push(':');
    text.push_str(value);
    text.push(',');
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// `<worker>/<stream>-<index>` with the session's pod as the worker.
fn stamped_id(id: &str, pod: &str) -> String {
    let rest = id.split_once('/').map_or(id, |(_, rest)| rest);
    format!("{pod}/{rest}")
}

/// The [`INDEXED`] values of an item (see [`Incoming::known`]); `namespace` when the
/// session stamped it. The values are slices of the item's text: nothing is copied.
fn known<'a>(members: &[(Cow<'a, str>, &'a RawValue)], namespace: Option<&str>) -> Option<String> {
    let mut key = String::with_capacity(64);
    // The object of the last nested path's first key (the paths of one object are adjacent).
    let mut nested: Option<(&str, Members<'a>)> = None;
    for path in INDEXED {
        let value: Option<&str> = match path {
            ["namespace"] if namespace.is_some() => namespace,
            [top] => member(members, top).map(RawValue::get),
            [top, leaf] => {
                if nested.as_ref().is_none_or(|(name, _)| name != top) {
                    let object = member(members, top).map(|v| serde_json::from_str::<Members<'a>>(v.get()));
                    nested = Some((top, object.transpose().ok()?.unwrap_or(Members(None))));
                }
                let inner = nested.as_ref().and_then(|(_, m)| m.0.as_deref());
                inner.and_then(|m| member(m, leaf)).map(RawValue::get)
            }
            _ => None,
        };
        match value {
            Some(v) if v.len() > MAX_INDEXED_VALUE || v.contains('\0') => return None,
            Some(v) => key.push_str(v.trim()),
            None => key.push('\u{1}'),
        }
        key.push('\0');
    }
    Some(key)
}

/// The object an index key stands for: each [`INDEXED`] path holding its value (what a
/// query reading only those paths sees of the item).
pub fn known_value(key: &str) -> serde_json::Value {
    let mut known = serde_json::Value::Object(Default::default());
    for (path, text) in INDEXED.iter().zip(key.split('\0')) {
        if text == "\u{1}" {
            continue;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { continue };
        let mut at = &mut known;
        for (i, part) in path.iter().enumerate() {
            let Some(object) = at.as_object_mut() else { break };
            let slot = object.entry(part.to_string()).or_insert(serde_json::Value::Object(Default::default()));
            if i + 1 == path.len() {
                *slot = value.clone();
            }
            at = slot;
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;
    use remora_model::wire::stamp_identity;
    use serde_json::json;

    fn identity() -> PodIdentity {
        PodIdentity { pod: "web-1".into(), namespace: "shop".into(), ..Default::default() }
    }

    #[test]
    fn stamping_the_text_is_stamping_the_value() {
        let items = [
            json!({"id": "sidecar/000001-3", "protocol": {"name": "http", "macro": "http", "layer4": "tcp", "version": "1.1"}, "namespace": "claimed", "worker": "claimed", "timestamp": 1733560000123i64, "request": {"path": "/a\"b"}}),
            json!({"id": 7, "protocol": "odd", "tls": true}),
            json!({"w\u{e9}ird key\n": [1, 2, {"x": null}], "timestamp": 1.5}),
        ];
        for item in items {
            let mut expected = item.clone();
            stamp_identity(&mut expected, &identity());
            let incoming = Incoming::from_value(&item, Some(&identity())).expect("object");
            let text: serde_json::Value = serde_json::from_str(&incoming.text).expect("json");
            assert_eq!(text, expected);
            assert!(!incoming.text.contains('\n'));
            let known = known_value(incoming.known.as_deref().expect("indexed"));
            for path in INDEXED {
                let pointer = format!("/{}", path.join("/"));
                assert_eq!(known.pointer(&pointer), expected.pointer(&pointer), "{pointer} of {expected}");
            }
            assert_eq!(incoming.time, expected["timestamp"].as_i64());
        }
    }

    #[test]
    fn repeated_keys_and_line_breaks_go_through_a_parsed_value() {
        let text = "{\"protocol\": {\"name\": \"dns\"},\n \"namespace\": \"a\", \"namespace\": \"b\", \"n\": 1, \"n\": 2}";
        let incoming = Incoming::from_text(text, None).expect("object");
        assert_eq!(&*incoming.text, r#"{"n":2,"namespace":"b","protocol":{"name":"dns"}}"#);
        assert_eq!(known_value(incoming.known.as_deref().expect("indexed"))["namespace"], "b");
    }

    #[test]
    fn what_is_not_an_object_is_refused_and_long_values_are_not_indexed() {
        for text in ["[1, 2]", "\"x\"", "3", "null", "{", "{\"a\": }"] {
            assert!(Incoming::from_text(text, None).is_err(), "{text}");
        }
        let long = json!({"protocol": {"name": "x".repeat(200)}});
        let incoming = Incoming::from_value(&long, None).expect("object");
        assert!(incoming.known.is_none());

        let frame = json!({"type": "items", "v": VERSION, "seq": 9, "items": [{"a": 1}, [1], "s", {"b": {"c": 2}}]}).to_string();
        let batch = Batch::read(&frame).expect("a batch");
        assert_eq!((batch.seq, batch.len()), (9, 4));
        let mut refused = 0;
        let items = batch.stamp(&identity(), &mut refused);
        assert_eq!((items.len(), refused), (2, 2));
        assert_eq!(&*items[1].text, r#"{"b":{"c":2},"worker":"web-1","namespace":"shop"}"#);
        assert!(Batch::read(&json!({"type": "console", "v": VERSION, "lines": []}).to_string()).is_none());
        assert!(Batch::read(&json!({"type": "items", "v": 999, "seq": 1, "items": []}).to_string()).is_none());
    }
}
