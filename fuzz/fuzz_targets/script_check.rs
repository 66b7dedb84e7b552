//! Fuzzes `remora scripts check`'s reading of a script's text with the JavaScript parser:
//! any text, any characters (non-ASCII too). Nothing may panic; every place found is
//! within the text, every call is into an API namespace.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_scripting::source_check::{check, NAMESPACES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.split('\n').count();
    let found = check(text);
    for (at, _) in found.errors.iter().chain(found.calls.iter()) {
        assert!(at.line >= 1 && at.line <= lines, "line {} of {lines}", at.line);
        let line_chars = text.split('\n').nth(at.line - 1).map_or(0, |l| l.chars().count());
        assert!(at.column >= 1 && at.column <= line_chars + 1, "column {} of {line_chars}", at.column);
    }
    for (_, call) in &found.calls {
        assert!(NAMESPACES.iter().any(|ns| call.starts_with(ns) && call.as_bytes().get(ns.len()) == Some(&b'.')), "{call}");
    }
});
