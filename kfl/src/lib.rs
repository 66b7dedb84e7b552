//! KFL, the filter language of the public reference (`kfl-v1-filtering.md`), plus what
//! users of the newer CEL-based syntax type (`&&`, `||`, `in`, `size()`, `.matches()`,
//! flat variables such as `status_code`). A query is compiled once and evaluated over an
//! item's JSON view; docs/kfl.md is the language reference.
//!
//! ```
//! let query = remora_kfl::Query::compile(r#"http and response.status == r"4.*""#).unwrap();
//! let item = serde_json::json!({"protocol": {"name": "http"}, "response": {"status": 404}});
//! assert!(query.matches_value(&item));
//! ```

mod compile;
mod eval;
mod helpers;
mod known;
mod lexer;
mod parser;
mod redact;
mod variables;

use std::fmt;

use remora_model::Item;
use serde_json::Value;

pub use variables::{PROTOCOLS, VARIABLES};

/// A query that did not parse: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KflError {
    /// Byte offset in the query.
    pub position: usize,
    pub message: String,
    query: String,
}

impl KflError {
    pub(crate) fn new(query: &str, position: usize, message: impl Into<String>) -> KflError {
        KflError { position, message: message.into(), query: query.to_string() }
    }

    /// Where the error is, in characters from the start of the query.
    pub fn column(&self) -> usize {
        self.query[..self.position.min(self.query.len())].chars().count()
    }

    /// The query with a caret under the error's position.
    pub fn caret(&self) -> String {
        format!("{}\n{}^", self.query, " ".repeat(self.column()))
    }
}

impl fmt::Display for KflError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.position)
    }
}

impl std::error::Error for KflError {}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Query {
    source: String,
    parsed: parser::Expr,
    root: compile::Node,
    notes: compile::Notes,
    /// Text a matching item's JSON must hold (`known::needles`).
    needles: Vec<String>,
}

impl Query {
    pub fn compile(query: &str) -> Result<Query, KflError> {
        let parsed = parser::parse(query)?;
        let mut notes = compile::Notes::default();
        let root = compile::compile(&parsed, &mut notes);
        let needles = if notes.redactions.is_empty() { known::needles(&root) } else { Vec::new() };
        Ok(Query { source: query.to_string(), parsed, root, notes, needles })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the item (its JSON view) matches, with `now()` the wall clock.
    pub fn matches_value(&self, item: &Value) -> bool {
        self.matches_value_at(item, wall_ms())
    }

    /// Whether the item matches, with `now()` at `now_ms` (ms since the epoch). The item
    /// is left as it is; a query that redacts is decided on a redacted copy, since what
    /// follows a `redact()` sees the redacted values.
    pub fn matches_value_at(&self, item: &Value, now_ms: i64) -> bool {
        if self.notes.redactions.is_empty() {
            eval::truthy(&eval::eval(&self.root, item, now_ms))
        } else {
            eval::decide(&self.root, &mut item.clone(), now_ms)
        }
    }

    /// Whether the item matches, redacting it as evaluation goes (each `redact()` the
    /// evaluation reaches, where it stands): what a query answer shows.
    pub fn evaluate(&self, item: &mut Value) -> bool {
        self.evaluate_at(item, wall_ms())
    }

    /// [`Query::evaluate`] with `now()` at `now_ms`.
    pub fn evaluate_at(&self, item: &mut Value, now_ms: i64) -> bool {
        eval::decide(&self.root, item, now_ms)
    }

    /// The query's truth for every item whose values at the `covered` paths are those
    /// of `known` (an object holding exactly those), with `now()` at `now_ms`; `None` when
    /// it depends on other fields. A store's index decides with it what it need not parse.
    pub fn decide_known(&self, known: &Value, covered: &[&[&str]], now_ms: i64) -> Option<bool> {
        known::decide(&self.root, known, covered, now_ms)
    }

    /// Text every item the query matches holds in its JSON (as serde_json writes it): an
    /// item whose text lacks one need not be parsed to be ruled out.
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether the query reads the item's field at `path` (or reads everything: a `..`
    /// descent, a wildcard, a `redact()`).
    pub fn reads_path(&self, path: &[&str]) -> bool {
        known::reads(&self.root, path)
    }

    /// Whether an item matches (through its JSON view).
    pub fn matches(&self, item: &Item) -> bool {
        serde_json::to_value(item).is_ok_and(|v| self.matches_value(&v))
    }

    /// Things that make the query false whatever the item (an unknown helper, a wrong
    /// number of arguments), as the reference says they do.
    pub fn warnings(&self) -> &[String] {
        &self.notes.warnings
    }

    /// `limit(n)`: how many records a query answer should hold at most.
    pub fn limit(&self) -> Option<u64> {
        self.notes.limit
    }

    /// `redact(...)` paths, as written: a query with any redacts what it answers (see
    /// [`Query::evaluate`]).
    pub fn redactions(&self) -> &[String] {
        &self.notes.redactions
    }

    /// The query with every operation in parentheses: how it was read.
    pub fn explain(&self) -> String {
        self.parsed.to_string()
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl fmt::Display for parser::Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use parser::{CmpOp, Expr};
        match self {
            Expr::Lit(v) => write!(f, "{}", if v.is_null() { "nil".to_string() } else { v.to_string() }),
            Expr::Regex(re) => write!(f, "r{:?}", re.as_str().trim_start_matches("^(?:").trim_end_matches(")$")),
            Expr::Name(n) => write!(f, "{n}"),
            Expr::Field(base, name) => write!(f, "{base}.{name}"),
            Expr::Index(base, index) => write!(f, "{base}[{index}]"),
            Expr::Wildcard(base) => write!(f, "{base}.*"),
            Expr::Descend(base, name) => write!(f, "{base}..{name}"),
            Expr::Root => Ok(()),
            Expr::Call(target, name, args) => {
                if let Some(target) = target {
                    write!(f, "{target}.")?;
                }
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                write!(f, "{name}({})", args.join(", "))
            }
            Expr::Not(e) => write!(f, "!{e}"),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::Cmp(op, a, b) => {
                let op = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                write!(f, "({a} {op} {b})")
            }
            Expr::In(a, b) => write!(f, "({a} in {b})"),
            Expr::Arith(op, a, b) => write!(f, "({a} {op} {b})"),
        }
    }
}
