//! Deciding a query from a few known fields of an item, without the rest: what lets a
//! store answer from an index (protocol, namespace, time) and parse only the items the
//! index cannot decide.
//!
//! A part of the query that reads only `covered` paths evaluates the same on `known` (an
//! object holding exactly the item's values at those paths) as on the whole item; the
//! other parts are unknown, and `and`, `or` and `!` combine the two in three-valued logic
//! (false and unknown is false, true or unknown is true).

use serde_json::Value;

use crate::compile::{Node, Seg};
use crate::eval::{eval, truthy};
use crate::helpers::{Func, Method};

/// The truth of `node` for every item whose values at `covered` paths are `known`'s;
/// `None` when it depends on anything else.
pub fn decide(node: &Node, known: &Value, covered: &[&[&str]], now_ms: i64) -> Option<bool> {
    match node {
        Node::And(a, b) => match (decide(a, known, covered, now_ms), decide(b, known, covered, now_ms)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Or(a, b) => match (decide(a, known, covered, now_ms), decide(b, known, covered, now_ms)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::Not(inner) => decide(inner, known, covered, now_ms).map(|b| !b),
        other => reads_only(other, covered).then(|| truthy(&eval(other, known, now_ms))),
    }
}

/// Text every matching item's JSON must hold: for each `path == "text"` the query
/// requires (in a chain of `and`s), the text as JSON writes it inside a string. Only
/// where that is exact: a literal that is no number (a number equals numeric strings
/// however written), compared with a field of the item itself (not a value computed from
/// one, such as `.json()`'s). A query that redacts has none (a redacted field is compared
/// with the redacted value).
pub fn needles(node: &Node) -> Vec<String> {
    let mut found = Vec::new();
    collect_needles(node, &mut found);
    found
}

fn collect_needles(node: &Node, found: &mut Vec<String>) {
    match node {
        Node::And(a, b) => {
            collect_needles(a, found);
            collect_needles(b, found);
        }
        Node::Cmp(crate::parser::CmpOp::Eq, a, b) => {
            if let (Node::Path(_), Node::Lit(Value::String(text))) | (Node::Lit(Value::String(text)), Node::Path(_)) = (&**a, &**b) {
                if text.trim().parse::<f64>().is_err() && !text.is_empty() {
                    let quoted = serde_json::to_string(text).unwrap_or_default();
                    found.push(quoted[1..quoted.len() - 1].to_string());
                }
            }
        }
        _ => {}
    }
}

/// Whether `node` reads `path` of the item (a `..` descent, a wildcard or a `redact()`
/// counts as reading everything).
pub fn reads(node: &Node, path: &[&str]) -> bool {
    any_read(node, &|segs| is_path(segs, path) || !segs.iter().all(|s| matches!(s, Seg::Key(_))))
}

/// Whether every read of the item in `node` is of one of the `covered` paths.
fn reads_only(node: &Node, covered: &[&[&str]]) -> bool {
    !any_read(node, &|segs| !covered.iter().any(|c| is_path(segs, c)))
}

fn is_path(segs: &[Seg], path: &[&str]) -> bool {
    path.len() == segs.len() && path.iter().zip(segs).all(|(p, s)| matches!(s, Seg::Key(k) if k == p))
}

/// Whether any read of the item in `node` passes `counts` (given the path read from the
/// root; a `redact()`, which changes the item, is a read of a path that is no key).
fn any_read(node: &Node, counts: &dyn Fn(&[Seg]) -> bool) -> bool {
    let key = |k: &str| Seg::Key(k.to_string());
    match node {
        Node::Lit(_) | Node::Regex(_) | Node::False => false,
        Node::Path(segs) => counts(segs),
        Node::Redact(_) => counts(&[Seg::Wild]),
        Node::ProtocolIs(_) => counts(&[key("protocol"), key("name")]) || counts(&[key("protocol"), key("macro")]),
        Node::Layer4Is(_) => counts(&[key("protocol"), key("layer4")]),
        Node::From(base, _) | Node::Not(base) | Node::Neg(base) => any_read(base, counts),
        Node::DynIndex(a, b) | Node::And(a, b) | Node::Or(a, b) | Node::Cmp(_, a, b) | Node::In(a, b) | Node::Arith(_, a, b) => any_read(a, counts) || any_read(b, counts),
        Node::Method(target, method) => {
            any_read(target, counts)
                || match method {
                    Method::StartsWith(arg) | Method::EndsWith(arg) | Method::Contains(arg) => any_read(arg, counts),
                    Method::Matches(_) | Method::Size | Method::Json | Method::Xml => false,
                }
        }
        Node::Func(func) => match func {
            Func::Now | Func::True => false,
            Func::Relative(_, arg) | Func::Datetime(arg) | Func::Timestamp(arg) | Func::Duration(arg) | Func::Size(arg) => any_read(arg, counts),
        },
        Node::List(items) => items.iter().any(|n| any_read(n, counts)),
    }
}

#[cfg(test)]
mod tests {
    use crate::Query;
    use serde_json::json;

    const COVERED: [&[&str]; 4] = [&["protocol", "name"], &["protocol", "macro"], &["protocol", "layer4"], &["namespace"]];

    fn decide(query: &str, known: serde_json::Value) -> Option<bool> {
        Query::compile(query).expect("kfl").decide_known(&known, &COVERED, 0)
    }

    #[test]
    fn what_the_known_fields_decide_and_what_they_leave_open() {
        let dns = json!({"protocol": {"name": "dns", "macro": "dns", "layer4": "udp"}, "namespace": "shop"});
        let http = json!({"protocol": {"name": "http", "macro": "http", "layer4": "tcp"}, "namespace": "shop"});
        assert_eq!(decide("dns", dns.clone()), Some(true));
        assert_eq!(decide("dns", http.clone()), Some(false));
        assert_eq!(decide("http and namespace == \"shop\"", http.clone()), Some(true));
        assert_eq!(decide("udp and namespace.startsWith(\"sh\")", dns.clone()), Some(true));
        // A field the index does not hold: open, unless the rest decides alone.
        assert_eq!(decide("http and response.status == 500", http.clone()), None);
        assert_eq!(decide("http and response.status == 500", dns.clone()), Some(false));
        assert_eq!(decide("dns or response.status == 500", dns.clone()), Some(true));
        assert_eq!(decide("!(http and response.status == 500)", dns.clone()), Some(true));
        assert_eq!(decide("!(http and response.status == 500)", http.clone()), None);
        // Reading everything, or changing the item: open.
        assert_eq!(decide("..namespace == \"shop\"", http.clone()), None);
        assert_eq!(decide("redact(\"namespace\") and namespace == \"shop\"", http.clone()), None);
        // `protocol` alone is the object: not covered; `grpc` reads the macro.
        assert_eq!(decide("protocol.version == \"1.1\"", http.clone()), None);
        assert_eq!(decide("grpc", http), Some(false));
    }

    #[test]
    fn needles_are_the_text_an_equal_string_must_leave_in_the_item() {
        let needles = |q: &str| Query::compile(q).expect("kfl").needles().to_vec();
        assert_eq!(needles("http and request.path == \"/a\\\"b\" and \"GET\" == request.method"), ["/a\\\"b", "GET"]);
        // Numbers, numeric strings, alternatives, negations and computed values: none.
        assert!(needles("response.status == 404 or request.path == \"/x\"").is_empty());
        assert!(needles("response.status == \"404\" and !(request.path == \"/x\")").is_empty());
        assert!(needles("request.body.json().user == \"ann\"").is_empty());
        assert!(needles("redact(\"request.path\") and request.path == \"/x\"").is_empty());
    }

    #[test]
    fn a_path_read_anywhere_is_found() {
        let query = Query::compile("dns and (timestamp > now() - 5000 or request.path == \"/\")").expect("kfl");
        assert!(query.reads_path(&["timestamp"]));
        assert!(query.reads_path(&["request", "path"]));
        assert!(!query.reads_path(&["namespace"]));
        assert!(Query::compile("..timestamp == 1").expect("kfl").reads_path(&["namespace"]), "a descent reads everything");
    }
}
