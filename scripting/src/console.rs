//! Where `console.log`, `console.error` and `console.clear` lines go.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Log,
    Error,
    /// `console.clear()`: a marker in the console stream, not text.
    Clear,
}

/// The text of a `console.clear()` line: a form feed, the page break of line printers.
/// The console stream carries it as `[script.js] \f` (with the hub's `[ns/pod] ` before
/// it); readers show a clear marker for it (see [`for_terminal`]).
pub const CLEAR_MARKER: &str = "\u{c}";

/// One console line, with the script that printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLine {
    pub level: Level,
    /// The script's file name, or `remora` for the runtime's own messages.
    pub script: String,
    pub text: String,
}

impl fmt::Display for ConsoleLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Log => write!(f, "[{}] {}", self.script, self.text),
            Level::Error => write!(f, "[{}] error: {}", self.script, self.text),
            Level::Clear => write!(f, "[{}] {CLEAR_MARKER}", self.script),
        }
    }
}

/// Whether a console-stream line (`[script.js] \f`, `[ns/pod] [script.js] \f`) is a
/// `console.clear()` marker.
pub fn is_clear_marker(line: &str) -> bool {
    line.strip_suffix(CLEAR_MARKER).is_some_and(|rest| rest.ends_with("] "))
}

/// A console-stream line as a terminal shows it: a clear marker becomes
/// `[script.js] ---- console cleared ----`, so a terminal's scrollback is kept.
pub fn for_terminal(line: &str) -> Cow<'_, str> {
    match line.strip_suffix(CLEAR_MARKER) {
        Some(rest) if rest.ends_with("] ") => Cow::Owned(format!("{rest}{CLEARED}")),
        _ => Cow::Borrowed(line),
    }
}

/// What a terminal prints for a clear marker.
pub const CLEARED: &str = "---- console cleared ----";

/// Receives console lines (the replay prints them on stderr; the sidecar will send them
/// to the hub).
pub trait ConsoleSink {
    fn line(&mut self, line: ConsoleLine);
}

impl<F: FnMut(ConsoleLine)> ConsoleSink for F {
    fn line(&mut self, line: ConsoleLine) {
        self(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_line_is_a_marker_and_shows_as_one() {
        let line = ConsoleLine { level: Level::Clear, script: "a.js".into(), text: String::new() }.to_string();
        assert_eq!(line, "[a.js] \u{c}");
        assert!(is_clear_marker(&line) && is_clear_marker(&format!("[shop/a] {line}")));
        assert!(!is_clear_marker("[a.js] text") && !is_clear_marker("\u{c}"));
        assert_eq!(for_terminal(&format!("[hub] {line}")), "[hub] [a.js] ---- console cleared ----");
        assert_eq!(for_terminal("[a.js] x"), "[a.js] x");
    }
}
