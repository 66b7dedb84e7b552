//! What `remora scripts check` reads from a script's text without running it: the calls
//! it makes into the API's namespaces (to name the ones that are no helper). A scan, not
//! a parser: comments after `//` are skipped, strings are not. Any text, whatever its
//! characters, is read without panicking (fuzz/fuzz_targets/script_check.rs).

/// The namespaces of the scripting API; calls into them are checked.
pub const NAMESPACES: [&str; 13] = ["console", "test", "env", "file", "pcap", "jobs", "hub", "kfl", "vendor", "chatgpt", "wrapper", "utils", "prometheus"];

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// `(line, "ns.name")` of each call into an API namespace.
pub fn helper_calls(source: &str) -> Vec<(usize, String)> {
    let mut calls = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        // Bytes throughout: a match starts and ends at ASCII bytes, so the slice taken
        // from it is on character boundaries whatever else the line holds.
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let starts_word = i == 0 || !(is_name_byte(bytes[i - 1]) || bytes[i - 1] == b'.');
            let namespace = NAMESPACES.iter().find(|ns| bytes[i..].starts_with(ns.as_bytes()) && bytes.get(i + ns.len()) == Some(&b'.'));
            if let (true, Some(ns)) = (starts_word, namespace) {
                let end = bytes[i..].iter().position(|&b| !(is_name_byte(b) || b == b'.')).map_or(bytes.len(), |e| i + e);
                let path = &code[i..end];
                let called = code[end..].trim_start().starts_with('(');
                if called && path.len() > ns.len() + 1 {
                    calls.push((index + 1, path.to_string()));
                }
                i = end;
                continue;
            }
            i += 1;
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_into_api_namespaces() {
        let calls = helper_calls("vendor.s3.put(a, b);\n// vendor.slack(x)\nvar x = myvendor.slack(1); jobs.scheduler.isRunning();\nconsole.log(env.X)");
        assert_eq!(calls, [(1, "vendor.s3.put".to_string()), (3, "jobs.scheduler.isRunning".into()), (4, "console.log".into())]);
    }

    #[test]
    fn any_characters_are_read() {
        // A published script's line: a non-ASCII character right before a call.
        let calls = helper_calls("console.error(red + \"Value: \" + latency + \"µs.\" + reset);\nµconsole.log(1); ünd.file.write(x)\n日本console.warn('x')");
        assert_eq!(calls, [(1, "console.error".to_string()), (2, "console.log".into()), (3, "console.warn".into())]);
    }
}
