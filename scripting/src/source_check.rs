//! What `remora scripts check` reads from a script's text without running it, with a real
//! JavaScript parser (oxc): its syntax errors, and the calls it makes into the API's
//! namespaces (to name the ones that are no helper), each at its line and column. Any
//! text, whatever its characters, is read without panicking
//! (fuzz/fuzz_targets/script_check.rs).

use oxc_allocator::Allocator;
use oxc_ast::ast::{CallExpression, Expression};
use oxc_ast_visit::{walk, Visit};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType};

/// The namespaces of the scripting API; calls into them are checked.
pub const NAMESPACES: [&str; 13] = ["console", "test", "env", "file", "pcap", "jobs", "hub", "kfl", "vendor", "chatgpt", "wrapper", "utils", "prometheus"];

/// Brackets nested deeper than this are not parsed (the parser recurses per level): the
/// script is reported as too deep to check, as no real script is.
const MAX_NESTING: usize = 1000;

/// A place in the script: line and column from 1, the column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// What the parser found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCheck {
    /// Syntax errors, in the parser's words.
    pub errors: Vec<(Position, String)>,
    /// `ns.name` of each call into an API namespace (`vendor.s3.put(...)`).
    pub calls: Vec<(Position, String)>,
}

/// Byte offsets to positions.
struct Lines<'s> {
    source: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    fn new(source: &'s str) -> Lines<'s> {
        let starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { source, starts }
    }

    fn position(&self, offset: u32) -> Position {
        let offset = (offset as usize).min(self.source.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        // Offsets fall on characters; were one not to, the column counts what precedes it.
        let end = self.source.floor_char_boundary(offset).max(start);
        let column = self.source[start..end].chars().count() + 1;
        Position { line, column }
    }
}

/// The deepest bracket nesting, roughly (strings and comments are not skipped: it only
/// has to bound the parser's recursion).
fn nesting(source: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in source.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `a.b.c` when `expression` is such a chain of plain names from an API namespace.
fn api_path(expression: &Expression<'_>) -> Option<String> {
    match expression {
        Expression::StaticMemberExpression(member) => {
            let mut path = match &member.object {
                Expression::Identifier(root) if NAMESPACES.contains(&root.name.as_str()) => root.name.to_string(),
                object => api_path(object)?,
            };
            path.push('.');
            path.push_str(member.property.name.as_str());
            Some(path)
        }
        _ => None,
    }
}

struct Calls<'l, 's> {
    lines: &'l Lines<'s>,
    found: Vec<(Position, String)>,
}

impl<'a> Visit<'a> for Calls<'_, '_> {
    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if let Some(path) = api_path(&call.callee) {
            self.found.push((self.lines.position(call.callee.span().start), path));
        }
        walk::walk_call_expression(self, call);
    }
}

/// Parses `source` as a script (ES5 is a subset of what the parser reads).
pub fn check(source: &str) -> SourceCheck {
    let lines = Lines::new(source);
    if nesting(source) > MAX_NESTING || u32::try_from(source.len()).is_err() {
        return SourceCheck { errors: vec![(Position { line: 1, column: 1 }, format!("nested more than {MAX_NESTING} brackets deep (or over 4 GiB): not checked"))], calls: Vec::new() };
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    let errors = parsed
        .diagnostics
        .errors()
        .map(|e| {
            let at = e.labels.first().map_or(0, |label| label.offset());
            (lines.position(at), e.message.to_string())
        })
        .collect();
    let mut calls = Calls { lines: &lines, found: Vec::new() };
    calls.visit_program(&parsed.program);
    SourceCheck { errors, calls: calls.found }
}

/// `(line, "ns.name")` of each call into an API namespace.
pub fn helper_calls(source: &str) -> Vec<(usize, String)> {
    check(source).calls.into_iter().map(|(at, path)| (at.line, path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_into_api_namespaces() {
        let found = check("vendor.s3.put(a, b);\n// vendor.slack(x)\nvar x = myvendor.slack(1); jobs.scheduler.isRunning();\nconsole.log(env.X); var s = 'file.write(x)';");
        let calls: Vec<(usize, usize, &str)> = found.calls.iter().map(|(p, c)| (p.line, p.column, c.as_str())).collect();
        // Not in a comment, not in a string, not on another object.
        assert_eq!(calls, [(1, 1, "vendor.s3.put"), (3, 28, "jobs.scheduler.isRunning"), (4, 1, "console.log")]);
        assert!(found.errors.is_empty());
    }

    #[test]
    fn any_characters_are_read_and_columns_count_characters() {
        // A published script's line: a non-ASCII character right before a call.
        let found = check("console.error(red + \"Value: \" + latency + \"µs.\" + reset);\nvar ü = 1; console.log(ü); 日本.x; console.warn('x')");
        let calls: Vec<(usize, usize, &str)> = found.calls.iter().map(|(p, c)| (p.line, p.column, c.as_str())).collect();
        assert_eq!(calls, [(1, 1, "console.error"), (2, 12, "console.log"), (2, 34, "console.warn")]);
    }

    #[test]
    fn syntax_errors_have_their_place() {
        let found = check("function onItemCaptured(data) {\n  if (data.x {\n  }\n}\n");
        assert_eq!(found.errors.len(), 1, "{found:?}");
        assert_eq!(found.errors[0].0, Position { line: 2, column: 14 }, "{found:?}");
        let deep = check(&"(".repeat(5000));
        assert!(deep.errors[0].1.contains("nested more than 1000"));
    }
}
