//! Evaluating a compiled query over an item's JSON view. Nothing here fails: a missing
//! field is `nil`, a comparison between values of different types is false, and a helper
//! given the wrong kind of value gives nothing (which is false).

use std::borrow::Cow;
use std::cmp::Ordering;

use regex::Regex;
use serde_json::Value;

use crate::compile::{Node, Seg};
use crate::parser::CmpOp;

/// A value during evaluation: borrowed from the item where possible.
#[derive(Debug, Clone)]
pub enum Val<'a> {
    Missing,
    Ref(&'a Value),
    Own(Value),
    /// The values a wildcard selected.
    Many(Vec<Val<'a>>),
}

impl<'a> Val<'a> {
    pub(crate) fn json(&self) -> Option<&Value> {
        match self {
            Val::Ref(v) => Some(v),
            Val::Own(v) => Some(v),
            _ => None,
        }
    }

    fn is_nil(&self) -> bool {
        matches!(self, Val::Missing) || self.json().is_some_and(Value::is_null)
    }
}

/// Whether a value counts as true: present and not `false`, `nil`, or an empty wildcard.
pub fn truthy(v: &Val<'_>) -> bool {
    match v {
        Val::Missing => false,
        Val::Many(items) => !items.is_empty(),
        // KFL v1: 0, "", an empty list and nil are false too (`true and 0` is false).
        other => match other.json() {
            Some(Value::Null) | None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(_)) => true,
        },
    }
}

pub fn eval<'a>(node: &Node, root: &'a Value, now_ms: i64) -> Val<'a> {
    match node {
        Node::Lit(v) => Val::Own(v.clone()),
        Node::Regex(_) => Val::Missing,
        Node::Path(segs) => select(Val::Ref(root), segs),
        Node::From(base, segs) => select(eval(base, root, now_ms), segs),
        Node::DynIndex(base, index) => {
            let base = eval(base, root, now_ms);
            match eval(index, root, now_ms).json() {
                Some(Value::String(key)) => select(base, &[Seg::Key(key.clone())]),
                Some(Value::Number(n)) => n.as_i64().map_or(Val::Missing, |i| select(base, &[Seg::Index(i)])),
                _ => Val::Missing,
            }
        }
        Node::ProtocolIs(name) => {
            // `http2` and `grpc` are macros of `http` items.
            let protocol = root.get("protocol");
            let matches = ["name", "macro"].iter().any(|key| protocol.and_then(|p| p.get(*key)).and_then(Value::as_str) == Some(name.as_str()));
            Val::Own(Value::Bool(matches))
        }
        Node::Layer4Is(name) => Val::Own(Value::Bool(root.get("protocol").and_then(|p| p.get("layer4")).and_then(Value::as_str) == Some(name.as_str()))),
        Node::Not(inner) => Val::Own(Value::Bool(!truthy(&eval(inner, root, now_ms)))),
        Node::Neg(inner) => match number(&eval(inner, root, now_ms)) {
            Some(n) => Val::Own(num(-n)),
            None => Val::Missing,
        },
        Node::And(a, b) => Val::Own(Value::Bool(truthy(&eval(a, root, now_ms)) && truthy(&eval(b, root, now_ms)))),
        Node::Or(a, b) => Val::Own(Value::Bool(truthy(&eval(a, root, now_ms)) || truthy(&eval(b, root, now_ms)))),
        Node::Cmp(op, a, b) => {
            let left = eval(a, root, now_ms);
            let result = match &**b {
                Node::Regex(re) => regex_cmp(*op, &left, re),
                right => compare(*op, &left, &eval(right, root, now_ms)),
            };
            Val::Own(Value::Bool(result))
        }
        Node::In(a, b) => Val::Own(Value::Bool(contained(&eval(a, root, now_ms), &eval(b, root, now_ms)))),
        Node::Arith(op, a, b) => match (number(&eval(a, root, now_ms)), number(&eval(b, root, now_ms))) {
            (Some(x), Some(y)) => Val::Own(num(if *op == '+' { x + y } else { x - y })),
            _ => Val::Missing,
        },
        Node::Method(target, method) => {
            let target = eval(target, root, now_ms);
            method.apply(&target, root, now_ms)
        }
        Node::Func(func) => func.apply(root, now_ms),
        Node::List(items) => Val::Many(items.iter().map(|n| eval(n, root, now_ms)).collect()),
        Node::False => Val::Own(Value::Bool(false)),
        // Redacting needs the item mutable: `decide` does it; read-only, it is only true.
        Node::Redact(_) => Val::Own(Value::Bool(true)),
    }
}

/// The truth of a query over `item`, doing each `redact()` where evaluation reaches it,
/// as KFL v1 does: what follows a redaction sees the redacted value (`redact("id") and
/// id == 1` is false), and one in a branch not taken (`a or redact(...)` with `a` true,
/// or after a false `and`) redacts nothing.
pub fn decide(node: &Node, item: &mut Value, now_ms: i64) -> bool {
    match node {
        Node::And(a, b) => decide(a, item, now_ms) && decide(b, item, now_ms),
        Node::Or(a, b) => decide(a, item, now_ms) || decide(b, item, now_ms),
        Node::Not(inner) => !decide(inner, item, now_ms),
        Node::Redact(paths) => {
            paths.iter().for_each(|path| path.apply(item));
            true
        }
        other => truthy(&eval(other, item, now_ms)),
    }
}

/// Walks `segs` from `start`; a wildcard fans out over every element (or value).
pub fn select<'a>(start: Val<'a>, segs: &[Seg]) -> Val<'a> {
    let Some((seg, rest)) = segs.split_first() else { return start };
    match start {
        Val::Missing => Val::Missing,
        // `.*` on values that are already many (a list variable) keeps them as they are.
        Val::Many(items) if *seg == Seg::Wild => select(Val::Many(items), rest),
        Val::Many(items) => Val::Many(items.into_iter().map(|v| select(v, segs)).filter(|v| !matches!(v, Val::Missing)).collect()),
        Val::Ref(value) => match seg {
            Seg::Key(key) => value.get(key.as_str()).map_or(Val::Missing, |v| select(Val::Ref(v), rest)),
            Seg::Index(i) => index(value, *i).map_or(Val::Missing, |v| select(Val::Ref(v), rest)),
            Seg::Descend(key) => {
                let mut found = Vec::new();
                descendants(value, key, &mut found);
                Val::Many(found.into_iter().map(|v| select(Val::Ref(v), rest)).filter(|v| !matches!(v, Val::Missing)).collect())
            }
            Seg::Wild => match value {
                Value::Array(items) => Val::Many(items.iter().map(|v| select(Val::Ref(v), rest)).filter(|v| !matches!(v, Val::Missing)).collect()),
                Value::Object(map) => Val::Many(map.values().map(|v| select(Val::Ref(v), rest)).filter(|v| !matches!(v, Val::Missing)).collect()),
                // A single value is its own only element (so `list_variable.*` works).
                Value::Null => Val::Missing,
                _ => select(Val::Ref(value), rest),
            },
        },
        Val::Own(value) => {
            // Owned values (from json()/xml()) are walked and the result copied out.
            let walked = select(Val::Ref(&value), segs);
            to_owned(walked)
        }
    }
}

/// Every value under `key` at any depth in `value`, in document order (depth-first).
fn descendants<'a>(value: &'a Value, key: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                if name == key {
                    found.push(child);
                }
                descendants(child, key, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|child| descendants(child, key, found)),
        _ => {}
    }
}

fn to_owned(v: Val<'_>) -> Val<'static> {
    match v {
        Val::Missing => Val::Missing,
        Val::Ref(r) => Val::Own(r.clone()),
        Val::Own(o) => Val::Own(o),
        Val::Many(items) => Val::Many(items.into_iter().map(to_owned).collect()),
    }
}

fn index(value: &Value, i: i64) -> Option<&Value> {
    let items = value.as_array()?;
    let at = if i < 0 { items.len() as i64 + i } else { i };
    usize::try_from(at).ok().and_then(|at| items.get(at))
}

pub fn num(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
    }
}

/// A number, or a string that is one (ports are strings in items).
pub fn number(v: &Val<'_>) -> Option<f64> {
    match v.json()? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The text of a scalar, as a regex or a string helper sees it.
pub fn text<'v>(v: &'v Val<'_>) -> Option<Cow<'v, str>> {
    match v.json()? {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

fn regex_cmp(op: CmpOp, left: &Val<'_>, re: &Regex) -> bool {
    let hit = |v: &Val<'_>| text(v).is_some_and(|t| re.is_match(&t));
    let matched = match left {
        Val::Many(items) => items.iter().any(hit),
        other => hit(other),
    };
    match op {
        CmpOp::Eq => matched,
        CmpOp::Ne => !matched && !left.is_nil(),
        _ => false,
    }
}

/// `a op b`. `nil` equals only what is missing or null; numbers compare with numeric
/// strings; other mixes of types are unequal and unordered; a wildcard matches when any
/// of its values does (two wildcards are compared as whole lists).
pub fn compare(op: CmpOp, a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        // Two wildcards compare element by element (KFL v1): the same length and every
        // pair holding (`[1,2,3] > [-1,-2,-3]`); `!=` is "not all equal".
        (Val::Many(xs), Val::Many(ys)) => {
            let pairwise = |op: CmpOp| xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| compare(op, x, y));
            match op {
                CmpOp::Ne => !pairwise(CmpOp::Eq),
                op => pairwise(op),
            }
        }
        (Val::Many(xs), other) => xs.iter().any(|x| compare(op, x, other)),
        (other, Val::Many(ys)) => ys.iter().any(|y| compare(op, other, y)),
        _ => {
            if a.is_nil() || b.is_nil() {
                let both = a.is_nil() && b.is_nil();
                return match op {
                    CmpOp::Eq => both,
                    CmpOp::Ne => !both,
                    _ => false,
                };
            }
            match order(a, b) {
                Some(ordering) => match op {
                    CmpOp::Eq => ordering == Ordering::Equal,
                    CmpOp::Ne => ordering != Ordering::Equal,
                    CmpOp::Lt => ordering == Ordering::Less,
                    CmpOp::Le => ordering != Ordering::Greater,
                    CmpOp::Gt => ordering == Ordering::Greater,
                    CmpOp::Ge => ordering != Ordering::Less,
                },
                // Different kinds: never equal, never ordered.
                None => op == CmpOp::Ne,
            }
        }
    }
}

fn order(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    let (x, y) = (a.json()?, b.json()?);
    match (x, y) {
        (Value::String(s), Value::String(t)) => Some(s.cmp(t)),
        (Value::Bool(s), Value::Bool(t)) => Some(s.cmp(t)),
        (Value::Number(_), _) | (_, Value::Number(_)) => number(a)?.partial_cmp(&number(b)?),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => (x == y).then_some(Ordering::Equal),
        _ => None,
    }
}

/// `a in b`: a key of an object, an element of a list or wildcard, or a substring.
fn contained(a: &Val<'_>, b: &Val<'_>) -> bool {
    match b {
        Val::Many(items) => items.iter().any(|item| compare(CmpOp::Eq, a, item)),
        other => match other.json() {
            Some(Value::Object(map)) => text(a).is_some_and(|key| map.contains_key(key.as_ref())),
            Some(Value::Array(items)) => items.iter().any(|item| compare(CmpOp::Eq, a, &Val::Ref(item))),
            Some(Value::String(s)) => text(a).is_some_and(|needle| s.contains(needle.as_ref())),
            _ => false,
        },
    }
}
