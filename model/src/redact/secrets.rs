//! The `secrets` redaction path: every value whose *name* looks like a credential —
//! headers, query parameters, fields of form bodies and of JSON bodies at any depth —
//! without the user listing each name.

use std::ops::Range;

use super::REDACTED;

/// Parts of a name (lower-cased, `-` and `_` dropped) that mark its value as a secret:
/// `user_password`, `X-Auth-Token`, `client_secret`, `apiKey`, `X-Amz-Signature`, ...
const SECRET_PARTS: [&str; 10] =
    ["password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey", "credential", "signature", "sessionid"];

/// Whole names (normalised the same way) that are secrets though too short to be parts.
const SECRET_NAMES: [&str; 5] = ["pwd", "pass", "key", "sig", "auth"];

/// Whether a value under `name` is redacted by the `secrets` path.
pub fn is_secret_name(name: &str) -> bool {
    let mut folded = [0u8; 64];
    let mut len = 0;
    for b in name.bytes().filter(|b| !matches!(b, b'-' | b'_')) {
        if len == folded.len() {
            // Longer than any credential's name we know; judged on its first 64 bytes.
            break;
        }
        folded[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let Ok(folded) = std::str::from_utf8(&folded[..len]) else { return false };
    SECRET_NAMES.contains(&folded) || SECRET_PARTS.iter().any(|part| folded.contains(part))
}

/// Replaces every value under a secret name in a JSON text, keeping the rest byte for
/// byte (a re-serialisation would reorder and reformat the body). Text that is not
/// JSON is left alone. Returns how many values were replaced.
pub fn redact_json(text: &mut String) -> usize {
    let spans = secret_json_values(text.as_bytes());
    // The scanner only finds spans; it is trusted with them once serde_json agrees the
    // text is JSON (a body cut short by the capture's limit, for one, is not).
    if spans.is_empty() || serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return 0;
    }
    let quoted = format!("\"{REDACTED}\"");
    let mut replaced = 0;
    for span in spans.into_iter().rev() {
        if text[span.clone()] != quoted {
            text.replace_range(span, &quoted);
            replaced += 1;
        }
    }
    replaced
}

/// Replaces the value of every secret-named field of a form body
/// (`application/x-www-form-urlencoded`) in place.
pub fn redact_form(text: &mut String) -> usize {
    let mut spans = Vec::new();
    let mut at = 0;
    for pair in text.split('&') {
        if let Some((name, _)) = pair.split_once('=') {
            if is_secret_name(name.trim()) {
                spans.push(at + name.len() + 1..at + pair.len());
            }
        }
        at += pair.len() + 1;
    }
    let mut replaced = 0;
    for span in spans.into_iter().rev() {
        if text[span.clone()] != *REDACTED {
            text.replace_range(span, REDACTED);
            replaced += 1;
        }
    }
    replaced
}

/// Byte ranges of the values (strings, numbers, objects, ...) whose key is a secret name.
fn secret_json_values(json: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at < json.len() {
        if json[at] != b'"' {
            at += 1;
            continue;
        }
        let Some(end) = string_end(json, at) else { break };
        let colon = skip_space(json, end);
        if json.get(colon) != Some(&b':') {
            at = end;
            continue;
        }
        let key = std::str::from_utf8(&json[at + 1..end - 1]).unwrap_or("");
        if !is_secret_name(key) {
            at = end;
            continue;
        }
        let value = skip_space(json, colon + 1);
        let Some(value_end) = value_end(json, value) else { break };
        spans.push(value..value_end);
        at = value_end;
    }
    spans
}

/// The index just past the string that opens at `open` (a `"`).
fn string_end(json: &[u8], open: usize) -> Option<usize> {
    let mut at = open + 1;
    while at < json.len() {
        match json[at] {
            b'\\' => at += 2,
            b'"' => return Some(at + 1),
            _ => at += 1,
        }
    }
    None
}

fn skip_space(json: &[u8], mut at: usize) -> usize {
    while json.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// The index just past the value that starts at `start`.
fn value_end(json: &[u8], start: usize) -> Option<usize> {
    match json.get(start)? {
        b'"' => string_end(json, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = start;
            while at < json.len() {
                match json[at] {
                    b'"' => {
                        at = string_end(json, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            None
        }
        _ => {
            let len = json[start..].iter().position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace());
            Some(start + len.unwrap_or(json.len() - start))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_carry_credentials_are_recognised() {
        for name in ["password", "user_password", "X-Auth-Token", "client_secret", "apiKey", "api-key", "X-Amz-Signature", "pwd", "key", "JSESSIONID", "access_token", "x-csrf-token"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["user", "keyboard", "monkey", "author", "host", "content-type", "sec-websocket-key", "passenger", "page", ""] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn json_values_under_secret_names_are_replaced_at_any_depth_and_the_rest_kept() {
        let mut body = r#"{"user": "ann", "password":"hunter2", "n": {"token" : 42, "list": [{"apiKey": {"id": "k", "v": [1, "}"]}}]}, "note": "password"}"#.to_string();
        assert_eq!(redact_json(&mut body), 3);
        assert_eq!(
            body,
            r#"{"user": "ann", "password":"[REDACTED]", "n": {"token" : "[REDACTED]", "list": [{"apiKey": "[REDACTED]"}]}, "note": "password"}"#
        );
        assert_eq!(redact_json(&mut body), 0, "applying twice changes nothing more");
        let escaped = r#"{"a": "x\"password\": 1", "secret": "s\"q"}"#;
        let mut body = escaped.to_string();
        assert_eq!(redact_json(&mut body), 1);
        assert_eq!(body, r#"{"a": "x\"password\": 1", "secret": "[REDACTED]"}"#);
    }

    #[test]
    fn text_that_is_not_json_is_left_alone() {
        for text in [r#"{"password": "hunter2""#, r#"{"password": "hunt"#, "password: x", r#"{"password"#, "\"", "{\"token\":", "[[[[", "}}}"] {
            let mut body = text.to_string();
            assert_eq!(redact_json(&mut body), 0, "{text}");
            assert_eq!(body, text);
        }
    }

    #[test]
    fn form_fields_under_secret_names_are_replaced() {
        let mut body = "user=ann&password=hunter2&remember=1&api_key=&x".to_string();
        assert_eq!(redact_form(&mut body), 2);
        assert_eq!(body, "user=ann&password=[REDACTED]&remember=1&api_key=[REDACTED]&x");
    }
}
