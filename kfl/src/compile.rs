//! From the syntax tree to what the evaluator runs: selector chains become paths, names
//! become protocol tests or the flat variables of the newer syntax, helpers are checked
//! and their constant arguments prepared (regexes compiled once).

use regex::Regex;
use serde_json::Value;

use crate::helpers::{Func, Method};
use crate::parser::{CmpOp, Expr};
use crate::redact::RedactPath;
use crate::variables::{resolve_name, rewrite_path, Resolved};

#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(i64),
    Wild,
    /// `..name`: every value under that key, at any depth.
    Descend(String),
}

#[derive(Debug, Clone)]
pub enum Node {
    Lit(Value),
    Regex(Regex),
    /// A selector from the item's root.
    Path(Vec<Seg>),
    /// A selector from a computed value (`x.json().a.b`).
    From(Box<Node>, Vec<Seg>),
    DynIndex(Box<Node>, Box<Node>),
    ProtocolIs(String),
    Layer4Is(String),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Arith(char, Box<Node>, Box<Node>),
    Method(Box<Node>, Method),
    Func(Func),
    /// Several values at once (`namespaces`).
    List(Vec<Node>),
    /// An undefined helper: the whole query is false, as the reference says.
    False,
    /// `redact(...)`: true; evaluating it redacts (see `eval::decide`).
    Redact(Vec<RedactPath>),
}

/// What compiling noticed besides the tree.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    pub warnings: Vec<String>,
    /// `redact(...)` paths.
    pub redactions: Vec<String>,
    /// `limit(n)`.
    pub limit: Option<u64>,
    /// Whether `now()` or a relative time helper appears (the result depends on the clock).
    pub uses_clock: bool,
    /// Whether what is being compiled is a value (an operand, an argument) rather than a
    /// condition joined by `and`/`or`/`!`: `redact()` stands only as a condition.
    in_value: bool,
}

pub fn compile(expr: &Expr, notes: &mut Notes) -> Node {
    match expr {
        Expr::Not(e) => Node::Not(Box::new(compile(e, notes))),
        Expr::And(a, b) => Node::And(Box::new(compile(a, notes)), Box::new(compile(b, notes))),
        Expr::Or(a, b) => Node::Or(Box::new(compile(a, notes)), Box::new(compile(b, notes))),
        Expr::Call(None, name, args) if name == "redact" => redact(args, notes),
        value => {
            let outer = std::mem::replace(&mut notes.in_value, true);
            let node = compile_value(value, notes);
            notes.in_value = outer;
            node
        }
    }
}

fn compile_value(expr: &Expr, notes: &mut Notes) -> Node {
    match expr {
        Expr::Lit(v) => Node::Lit(v.clone()),
        Expr::Regex(re) => Node::Regex(re.clone()),
        Expr::Name(_) | Expr::Field(..) | Expr::Index(..) | Expr::Wildcard(..) | Expr::Descend(..) | Expr::Root => selector(expr, notes),
        Expr::Call(target, name, args) => call(target.as_deref(), name, args, notes),
        Expr::Neg(e) => Node::Neg(Box::new(compile(e, notes))),
        // Conditions are compiled by `compile`, which never hands them here.
        Expr::Not(_) | Expr::And(..) | Expr::Or(..) => compile(expr, notes),
        Expr::Cmp(op, a, b) => Node::Cmp(*op, Box::new(compile(a, notes)), Box::new(compile(b, notes))),
        Expr::In(a, b) => Node::In(Box::new(compile(a, notes)), Box::new(compile(b, notes))),
        Expr::Arith(op, a, b) => Node::Arith(*op, Box::new(compile(a, notes)), Box::new(compile(b, notes))),
    }
}

/// A chain of names, fields, literal indexes and wildcards.
fn selector(expr: &Expr, notes: &mut Notes) -> Node {
    let mut segs = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::Field(base, name) => {
                segs.push(Seg::Key(name.clone()));
                current = base;
            }
            Expr::Wildcard(base) => {
                segs.push(Seg::Wild);
                current = base;
            }
            Expr::Descend(base, name) => {
                segs.push(Seg::Descend(name.clone()));
                current = base;
            }
            Expr::Root => {
                segs.reverse();
                return Node::Path(segs);
            }
            Expr::Index(base, index) => match &**index {
                Expr::Lit(Value::Number(n)) if n.is_i64() => {
                    segs.push(Seg::Index(n.as_i64().unwrap_or(0)));
                    current = base;
                }
                Expr::Lit(Value::String(key)) => {
                    segs.push(Seg::Key(key.clone()));
                    current = base;
                }
                dynamic => {
                    segs.reverse();
                    let base = Node::DynIndex(Box::new(selector(base, notes)), Box::new(compile(dynamic, notes)));
                    return if segs.is_empty() { base } else { Node::From(Box::new(base), segs) };
                }
            },
            Expr::Name(name) => {
                segs.push(Seg::Key(name.clone()));
                segs.reverse();
                if segs.len() == 1 {
                    return match resolve_name(name) {
                        Resolved::Protocol(p) => Node::ProtocolIs(p.to_string()),
                        Resolved::Layer4(l) => Node::Layer4Is(l.to_string()),
                        Resolved::Path(path) => Node::Path(path),
                        Resolved::Node(node) => node,
                        Resolved::Field => Node::Path(segs),
                    };
                }
                // A variable followed by more selection (`dns_questions.*`): select from it.
                if name != "protocol" {
                    match resolve_name(name) {
                        Resolved::Path(mut path) => {
                            path.extend(segs.into_iter().skip(1));
                            return Node::Path(path);
                        }
                        Resolved::Node(node) => return Node::From(Box::new(node), segs.into_iter().skip(1).collect()),
                        _ => {}
                    }
                }
                return Node::Path(rewrite_path(segs));
            }
            other => {
                // A computed base (`x.json()`, `(a)`): select from its value.
                segs.reverse();
                let base = compile(other, notes);
                return if segs.is_empty() { base } else { Node::From(Box::new(base), segs) };
            }
        }
    }
}

/// `redact("path", ...)`: a condition of its own, whose paths are read now. Inside a
/// comparison or an argument it could not take effect where it stands, so it is refused
/// there (the query is false) rather than redacting nothing.
fn redact(args: &[Expr], notes: &mut Notes) -> Node {
    let refuse = |notes: &mut Notes, warning: String| {
        notes.warnings.push(warning);
        Node::False
    };
    if notes.in_value {
        return refuse(notes, "redact() stands as a condition of its own (joined with and/or/!), not inside a comparison or an argument; the query is false".into());
    }
    let mut paths = Vec::with_capacity(args.len());
    for arg in args {
        let Some(text) = literal_text(arg) else { return refuse(notes, "redact() takes strings (paths); the query is false".into()) };
        match RedactPath::parse(&text) {
            Ok(path) => paths.push(path),
            Err(warning) => return refuse(notes, warning),
        }
        notes.redactions.push(text);
    }
    Node::Redact(paths)
}

fn call(target: Option<&Expr>, name: &str, args: &[Expr], notes: &mut Notes) -> Node {
    match target {
        Some(target) => match Method::compile(name, args, notes) {
            Ok(method) => Node::Method(Box::new(compile(target, notes)), method),
            Err(warning) => {
                notes.warnings.push(warning);
                Node::False
            }
        },
        None => match Func::compile(name, args, notes) {
            Ok(func) => Node::Func(func),
            Err(warning) => {
                notes.warnings.push(warning);
                Node::False
            }
        },
    }
}

/// The literal text of a constant argument.
pub fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A compiled regex for a constant pattern argument (unanchored, as CEL's `matches`).
pub fn literal_regex(expr: &Expr) -> Option<Result<Regex, String>> {
    match expr {
        Expr::Lit(Value::String(s)) => Some(Regex::new(s).map_err(|e| format!("bad regex {s:?}: {e}"))),
        Expr::Regex(re) => Some(Ok(re.clone())),
        _ => None,
    }
}
