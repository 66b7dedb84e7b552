//! GraphQL over HTTP (1 or 2): names the operation a request carries, from a JSON body's
//! `query`/`operationName`, an `application/graphql` body, or `?query=` on a GET.

use remora_model::{GraphqlOperation, HttpRequest};

/// The operation, when the request carries a GraphQL document.
pub fn operation(request: &HttpRequest) -> Option<GraphqlOperation> {
    if let Some(query) = request.query_string.get("query") {
        return find(query, request.query_string.get("operationName").unwrap_or_default());
    }
    let body = request.post_data.as_ref().filter(|b| b.encoding.is_none())?;
    let mime = body.mime_type.to_ascii_lowercase();
    if mime.starts_with("application/graphql") {
        return find(&body.text, "");
    }
    // A GraphQL request names its document `query`: most JSON bodies do not, and are
    // not parsed.
    if !mime.contains("json") || memchr::memmem::find(body.text.as_bytes(), b"\"query\"").is_none() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&body.text).ok()?;
    // A batch is an array of requests: the first names it.
    let first = json.as_array().and_then(|a| a.first()).unwrap_or(&json);
    let document = first.get("query")?.as_str()?;
    find(document, first.get("operationName").and_then(|n| n.as_str()).unwrap_or_default())
}

/// The operation named `wanted` (or the first one) among the document's definitions.
fn find(document: &str, wanted: &str) -> Option<GraphqlOperation> {
    let mut scanner = Scanner { text: document.as_bytes(), at: 0 };
    loop {
        let (kind, name) = match scanner.token()? {
            Token::Open => ("query", String::new()),
            Token::Word(word @ ("query" | "mutation" | "subscription")) => {
                let name = match scanner.peek_word() {
                    Some(name) => name.to_string(),
                    None => String::new(),
                };
                (word, name)
            }
            // Fragments and anything else are skipped to the end of their selection set.
            _ => ("", String::new()),
        };
        if !kind.is_empty() && (wanted.is_empty() || wanted == name) {
            return Some(GraphqlOperation { operation_type: kind.to_string(), operation_name: name });
        }
        scanner.skip_definition();
    }
}

enum Token<'a> {
    Open,
    Word(&'a str),
    Other,
}

struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// Skips white space, commas and `#` comments.
    fn skip_ignored(&mut self) {
        while let Some(&b) = self.text.get(self.at) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | 0xef | 0xbb | 0xbf => self.at += 1,
                b'#' => {
                    while self.text.get(self.at).is_some_and(|&c| c != b'\n') {
                        self.at += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn token(&mut self) -> Option<Token<'a>> {
        self.skip_ignored();
        let b = *self.text.get(self.at)?;
        if b == b'{' {
            return Some(Token::Open);
        }
        Some(match self.word() {
            Some(word) => Token::Word(word),
            None => {
                self.at += 1;
                Token::Other
            }
        })
    }

    fn word(&mut self) -> Option<&'a str> {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.at += 1;
        }
        (self.at > start).then(|| std::str::from_utf8(&self.text[start..self.at]).unwrap_or_default())
    }

    fn peek_word(&mut self) -> Option<&'a str> {
        self.skip_ignored();
        self.word()
    }

    /// Moves past the current definition: to the end of its first `{ ... }`, strings and
    /// comments skipped.
    fn skip_definition(&mut self) {
        let mut depth = 0usize;
        while let Some(&b) = self.text.get(self.at) {
            self.at += 1;
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'"' => self.skip_string(),
                b'#' => {
                    while self.text.get(self.at).is_some_and(|&c| c != b'\n') {
                        self.at += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// After an opening quote: to the end of a string or a `"""` block string.
    fn skip_string(&mut self) {
        if self.text[self.at..].starts_with(b"\"\"") {
            self.at += 2;
            while self.at < self.text.len() && !self.text[self.at..].starts_with(b"\"\"\"") {
                self.at += if self.text[self.at..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
            }
            self.at = (self.at + 3).min(self.text.len());
            return;
        }
        while let Some(&b) = self.text.get(self.at) {
            self.at += 1;
            match b {
                b'\\' => self.at += 1,
                b'"' | b'\n' => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use remora_model::Body;

    use super::*;

    fn post(mime: &str, text: &str) -> HttpRequest {
        HttpRequest { post_data: Some(Body { mime_type: mime.into(), text: text.into(), ..Body::default() }), ..HttpRequest::default() }
    }

    fn op(kind: &str, name: &str) -> Option<GraphqlOperation> {
        Some(GraphqlOperation { operation_type: kind.into(), operation_name: name.into() })
    }

    #[test]
    fn operations_are_named_from_json_graphql_bodies_and_query_strings() {
        assert_eq!(operation(&post("application/json", r#"{"query":"query GetUser($id: ID!) { user(id: $id) { name } }"}"#)), op("query", "GetUser"));
        assert_eq!(operation(&post("application/json", r#"{"query":"{ me { id } }"}"#)), op("query", ""));
        let two = r##"{"query":"# pick one\nquery A { a(s: \"}{\") } mutation B { b }","operationName":"B"}"##;
        assert_eq!(operation(&post("application/json; charset=utf-8", two)), op("mutation", "B"));
        let fragment_first = r#"{"query":"fragment F on User { id } subscription OnEvent { event { ...F } }"}"#;
        assert_eq!(operation(&post("application/json", fragment_first)), op("subscription", "OnEvent"));
        assert_eq!(operation(&post("application/graphql", "mutation Login { login }")), op("mutation", "Login"));
        assert_eq!(operation(&post("application/json", r#"[{"query":"query First { a }"},{"query":"query Second { b }"}]"#)), op("query", "First"));
        let mut get = HttpRequest::default();
        get.query_string.append("query".to_string(), "query Search { s }", ",");
        assert_eq!(operation(&get), op("query", "Search"));
    }

    #[test]
    fn other_bodies_are_not_graphql() {
        assert_eq!(operation(&post("application/json", r#"{"query":{"match_all":{}}}"#)), None);
        assert_eq!(operation(&post("application/json", r#"{"query":"SELECT 1"}"#)), None);
        assert_eq!(operation(&post("text/plain", "query A { a }")), None);
        assert_eq!(operation(&post("application/json", r#"{"query":"query A { a }", "operationName": "Missing"}"#)), None);
        assert_eq!(operation(&post("application/json", r#"{"query":"{{{{\"unterminated"}"#)), op("query", ""));
    }
}
