//! Where `console.log` and `console.error` lines go.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Log,
    Error,
}

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
        }
    }
}

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
