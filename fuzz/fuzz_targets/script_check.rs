//! Fuzzes `remora scripts check`'s reading of a script's text: any text, any characters.
//! Nothing may panic; every call found is into an API namespace, on a line the text has.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remora_scripting::source_check::{helper_calls, NAMESPACES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count();
    for (line, call) in helper_calls(text) {
        assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        assert!(NAMESPACES.iter().any(|ns| call.starts_with(ns) && call.as_bytes().get(ns.len()) == Some(&b'.')), "{call}");
    }
});
