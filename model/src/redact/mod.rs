//! Redaction: item fields whose values never leave the pod (`remora.dev/redact`,
//! `REMORA_REDACT`, `remora replay --redact`). The sidecar applies it to every item
//! before scripts, the hub or stdout see it; the value becomes [`REDACTED`].
//!
//! A path names one value of an HTTP message (headers are lower-cased as in the item):
//!
//! | path | what is replaced |
//! | --- | --- |
//! | `request.headers.NAME`, `response.headers.NAME` | the header; for `cookie` / `set-cookie` also every value of `cookies` |
//! | `response.trailers.NAME` | the trailer (gRPC, HTTP/2) |
//! | `request.cookies.NAME`, `response.cookies.NAME` | the cookie's value, also inside the `cookie` header |
//! | `request.queryString.NAME` | the parameter, also inside `url` |
//! | `request.postData.text`, `response.content.text` | the body |
//! | `secrets` | every header, query parameter, form field and JSON body field (at any depth, both sides) whose name looks like a credential: see [`secrets::is_secret_name`] |
//!
//! `none` (or an empty list) redacts nothing. Anything else is refused when the list is parsed, so a typo is reported (by the
//! injector at admission, by the sidecar at start) rather than silently redacting nothing.

mod secrets;

use std::fmt;

pub use secrets::is_secret_name;

use crate::{Body, Fields, HttpRequest, HttpResponse, Item, Request, Response};

/// What a redacted value becomes (the same marker as KFL's `redact()`).
pub const REDACTED: &str = "[REDACTED]";

/// What `sidecar.redact` defaults to: credentials that HTTP carries in headers, and
/// every value named like a secret.
pub const DEFAULT_PATHS: &str =
    "request.headers.authorization,request.headers.proxy-authorization,request.headers.cookie,response.headers.set-cookie,secrets";

/// The list that turns redaction off (as an empty one does), said explicitly.
pub const NONE: &str = "none";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    RequestHeader(String),
    ResponseHeader(String),
    ResponseTrailer(String),
    RequestCookie(String),
    ResponseCookie(String),
    QueryParameter(String),
    RequestBody,
    ResponseBody,
    Secrets,
}

/// A parsed redaction list. The empty list redacts nothing and costs nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redaction {
    fields: Vec<Field>,
    paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactError(String);

impl fmt::Display for RedactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a field Remora can redact: use request.headers.NAME, response.headers.NAME, \
             response.trailers.NAME, request.cookies.NAME, response.cookies.NAME, request.queryString.NAME, \
             request.postData.text, response.content.text, secrets, or none",
            self.0
        )
    }
}

impl std::error::Error for RedactError {}

/// Longest accepted path: a header name is at most a few dozen bytes in practice.
const MAX_PATH: usize = 256;

impl Redaction {
    /// Parses a comma-separated list of paths; blanks between commas are ignored.
    pub fn parse(list: &str) -> Result<Redaction, RedactError> {
        let mut redaction = Redaction::default();
        if list.trim() == NONE {
            return Ok(redaction);
        }
        for path in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let field = Self::field(path).ok_or_else(|| RedactError(path.to_string()))?;
            if !redaction.fields.contains(&field) {
                redaction.fields.push(field);
                redaction.paths.push(path.to_string());
            }
        }
        Ok(redaction)
    }

    fn field(path: &str) -> Option<Field> {
        let name_ok = |name: &str| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if path.len() > MAX_PATH {
            return None;
        }
        if path == "secrets" {
            return Some(Field::Secrets);
        }
        let (side, rest) = path.split_once('.')?;
        let (part, name) = rest.split_once('.').unwrap_or((rest, ""));
        let header = || name_ok(name).then(|| name.to_ascii_lowercase());
        let named = || name_ok(name).then(|| name.to_string());
        match (side, part) {
            ("request", "headers") => header().map(Field::RequestHeader),
            ("response", "headers") => header().map(Field::ResponseHeader),
            ("response", "trailers") => header().map(Field::ResponseTrailer),
            ("request", "cookies") => named().map(Field::RequestCookie),
            ("response", "cookies") => named().map(Field::ResponseCookie),
            ("request", "queryString") => named().map(Field::QueryParameter),
            ("request", "postData") if name == "text" => Some(Field::RequestBody),
            ("response", "content") if name == "text" => Some(Field::ResponseBody),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The paths as given (deduplicated), for logs and `--print-settings`.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Replaces every listed value present in `item`; returns how many were replaced.
    pub fn apply(&self, item: &mut Item) -> usize {
        if self.fields.is_empty() {
            return 0;
        }
        let mut replaced = 0;
        if let Request::Http(request) = &mut item.request {
            replaced += self.redact_request(request);
        }
        if let Some(Response::Http(response)) = &mut item.response {
            replaced += self.redact_response(response);
        }
        replaced
    }

    fn redact_request(&self, request: &mut HttpRequest) -> usize {
        let mut replaced = 0;
        for field in &self.fields {
            replaced += match field {
                Field::RequestHeader(name) => Jar::request(request).header(name),
                Field::RequestCookie(name) => Jar::request(request).cookie(name),
                Field::QueryParameter(name) => redact_query_parameter(request, name),
                Field::RequestBody => request.post_data.as_mut().map_or(0, |body| redact_body(&mut body.text, &mut body.encoding)),
                Field::Secrets => {
                    let query = secret_query_parameters(request);
                    query + redact_secret_headers(&mut request.headers) + request.post_data.as_mut().map_or(0, redact_secret_fields)
                }
                _ => 0,
            };
        }
        replaced
    }

    fn redact_response(&self, response: &mut HttpResponse) -> usize {
        let mut replaced = 0;
        for field in &self.fields {
            replaced += match field {
                Field::ResponseHeader(name) => Jar::response(response).header(name),
                Field::ResponseTrailer(name) => redact_value(response.trailers.as_mut().and_then(|t| t.get_mut(name))),
                Field::ResponseCookie(name) => Jar::response(response).cookie(name),
                Field::ResponseBody => redact_body(&mut response.content.text, &mut response.content.encoding),
                Field::Secrets => redact_secret_headers(&mut response.headers) + redact_secret_fields(&mut response.content),
                _ => 0,
            };
        }
        replaced
    }
}

/// The parameter `name`, in the parsed query string and inside the URL.
fn redact_query_parameter(request: &mut HttpRequest, name: &str) -> usize {
    let raw = raw_query_value(&request.url, name).map(str::to_string);
    if let Some(raw) = raw {
        replace_pair(&mut request.url, name, &raw, "&");
    }
    redact_value(request.query_string.get_mut(name))
}

fn secret_query_parameters(request: &mut HttpRequest) -> usize {
    let names: Vec<String> = request.query_string.keys().filter(|n| is_secret_name(n)).map(str::to_string).collect();
    names.iter().map(|name| redact_query_parameter(request, name)).sum()
}

fn redact_secret_headers(headers: &mut Fields) -> usize {
    redact_all(headers.iter_mut().filter(|(name, _)| is_secret_name(name)).map(|(_, value)| value))
}

/// Secret-named fields of a JSON or form body (base64 bodies are not text to search).
fn redact_secret_fields(body: &mut Body) -> usize {
    if body.encoding.is_some() {
        return 0;
    }
    let mime = body.mime_type.to_ascii_lowercase();
    if mime.contains("x-www-form-urlencoded") {
        secrets::redact_form(&mut body.text)
    } else if mime.contains("json") || body.text.trim_start().starts_with(['{', '[']) {
        secrets::redact_json(&mut body.text)
    } else {
        0
    }
}

/// One side's headers and the cookies parsed from its cookie header (`cookie` in a
/// request, `set-cookie` in a response): redacting one redacts it in the other too.
struct Jar<'a> {
    headers: &'a mut Fields,
    cookies: &'a mut Fields,
    /// The header the cookies come from.
    cookie_header: &'static str,
    /// What separates cookies in that header.
    separators: &'static str,
}

impl<'a> Jar<'a> {
    fn request(request: &'a mut HttpRequest) -> Self {
        Jar { headers: &mut request.headers, cookies: &mut request.cookies, cookie_header: "cookie", separators: "; " }
    }

    fn response(response: &'a mut HttpResponse) -> Self {
        Jar { headers: &mut response.headers, cookies: &mut response.cookies, cookie_header: "set-cookie", separators: ";, " }
    }

    /// The header `name`, and every cookie when it is the cookie header.
    fn header(self, name: &str) -> usize {
        let cookies = if name == self.cookie_header { redact_all(self.cookies.values_mut()) } else { 0 };
        redact_value(self.headers.get_mut(name)) + cookies
    }

    /// The cookie `name`, and its value inside the cookie header.
    fn cookie(self, name: &str) -> usize {
        let header = match (self.cookies.get(name), self.headers.get_mut(self.cookie_header)) {
            (Some(value), Some(header)) => replace_pair(header, name, value, self.separators),
            _ => 0,
        };
        redact_value(self.cookies.get_mut(name)).max(header)
    }
}

fn redact_value(value: Option<&mut String>) -> usize {
    match value {
        Some(value) if value != REDACTED => {
            *value = REDACTED.to_string();
            1
        }
        _ => 0,
    }
}

fn redact_all<'a>(values: impl Iterator<Item = &'a mut String>) -> usize {
    values.map(|v| redact_value(Some(v))).sum()
}

fn redact_body(text: &mut String, encoding: &mut Option<String>) -> usize {
    if text.is_empty() {
        return 0;
    }
    *encoding = None;
    redact_value(Some(text))
}

/// The raw (still percent-encoded) value of `name` in the URL's query string.
fn raw_query_value<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| match pair.split_once('=') {
        Some((key, value)) if key == name => Some(value),
        _ => None,
    })
}

/// Replaces `value` after `name=` in `text` (pairs separated by any of `separators`).
fn replace_pair(text: &mut String, name: &str, value: &str, separators: &str) -> usize {
    let needle = format!("{name}={value}");
    let mut start = 0;
    let mut replaced = 0;
    while let Some(at) = text[start..].find(&needle).map(|i| i + start) {
        let before_ok = at == 0 || text[..at].ends_with(|c: char| separators.contains(c) || c == '?');
        let end = at + needle.len();
        let after_ok = end == text.len() || text[end..].starts_with(|c: char| separators.contains(c) || c == '#');
        if before_ok && after_ok {
            let value_at = at + name.len() + 1;
            text.replace_range(value_at..end, REDACTED);
            replaced = 1;
            start = value_at + REDACTED.len();
        } else {
            start = at + 1;
        }
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    /// A DNS item: what redaction must leave alone.
    fn dns_item() -> Item {
        Item {
            id: "replay/000000000001_udp-0".into(),
            index: 0,
            stream: "000000000001_udp.pcap".into(),
            worker: "replay".into(),
            node: Default::default(),
            protocol: crate::Protocol::new("dns", "0", "DNS", "Domain Name System", "udp"),
            tls: false,
            src: Default::default(),
            dst: Default::default(),
            namespace: "".into(),
            outgoing: false,
            timestamp: 0,
            elapsed_time: 0,
            request: Request::Dns(Box::default()),
            response: None,
            start_time: String::new(),
            request_size: 0,
            response_size: 0,
            passed: false,
            failed: false,
            error: None,
        }
    }

    fn http_item() -> Item {
        let request = HttpRequest {
            method: "GET".into(),
            url: "/login?user=ann&token=s3cr%20t#top".into(),
            path: "/login".into(),
            query_string: fields(&[("user", "ann"), ("token", "s3cr t")]),
            headers: fields(&[("authorization", "Bearer abc"), ("cookie", "sid=42; theme=dark"), ("host", "shop")]),
            cookies: fields(&[("sid", "42"), ("theme", "dark")]),
            post_data: Some(Body {
                text: "user=ann&password=hunter2".into(),
                size: 25,
                mime_type: "application/x-www-form-urlencoded".into(),
                ..Body::default()
            }),
            ..HttpRequest::default()
        };
        let response = HttpResponse {
            status: 200,
            headers: fields(&[("set-cookie", "sid=43; Path=/")]),
            cookies: fields(&[("sid", "43")]),
            content: Body {
                text: r#"{"access_token": "xyz", "expires_in": 3600}"#.into(),
                size: 44,
                mime_type: "application/json".into(),
                ..Body::default()
            },
            ..HttpResponse::default()
        };
        let mut item = dns_item();
        item.request = Request::Http(Box::new(request));
        item.response = Some(Response::Http(Box::new(response)));
        item
    }

    fn request(item: &Item) -> &HttpRequest {
        match &item.request {
            Request::Http(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_default_list_parses_and_hides_credentials() {
        let redaction = Redaction::parse(DEFAULT_PATHS).expect("default");
        let mut item = http_item();
        assert_eq!(
            redaction.apply(&mut item),
            9,
            "authorization, cookie + 2 cookies, set-cookie + 1 cookie, secrets: token in the query, password in the form, access_token in the JSON"
        );
        let r = request(&item);
        assert_eq!(r.url, "/login?user=ann&token=[REDACTED]#top");
        assert_eq!(r.post_data.as_ref().map(|b| b.text.as_str()), Some("user=ann&password=[REDACTED]"));
        assert_eq!(r.headers.get("authorization"), Some(REDACTED));
        assert_eq!(r.headers.get("cookie"), Some(REDACTED));
        assert_eq!(r.cookies.get("sid"), Some(REDACTED));
        assert_eq!(r.headers.get("host"), Some("shop"));
        let json = serde_json::to_string(&item).expect("json");
        for secret in ["Bearer abc", "42", "43", "s3cr", "hunter2", "xyz"] {
            assert!(!json.contains(secret), "{secret} in {json}");
        }
        assert!(json.contains(r#"\"expires_in\": 3600"#), "the rest of the body is kept as it was: {json}");
        assert_eq!(redaction.apply(&mut item), 0, "applying twice changes nothing more");
    }

    #[test]
    fn none_turns_redaction_off() {
        assert!(Redaction::parse(NONE).expect("none").is_empty());
        assert!(Redaction::parse(" none ").expect("none").is_empty());
        let mut item = http_item();
        assert_eq!(Redaction::parse(NONE).expect("none").apply(&mut item), 0);
        assert!(Redaction::parse("none,secrets").is_err(), "none is a whole list, not a path");
    }

    #[test]
    fn a_cookie_or_query_parameter_is_hidden_where_it_also_appears() {
        let redaction = Redaction::parse("request.cookies.sid, request.queryString.token,request.postData.text").expect("parse");
        let mut item = http_item();
        redaction.apply(&mut item);
        let r = request(&item);
        assert_eq!(r.headers.get("cookie"), Some("sid=[REDACTED]; theme=dark"));
        assert_eq!(r.url, "/login?user=ann&token=[REDACTED]#top");
        assert_eq!(r.query_string.get("token"), Some(REDACTED));
        assert_eq!(r.query_string.get("user"), Some("ann"));
        assert_eq!(r.post_data.as_ref().map(|b| b.text.as_str()), Some(REDACTED));
    }

    #[test]
    fn header_names_are_case_insensitive_and_typos_are_refused() {
        let redaction = Redaction::parse("request.headers.Authorization").expect("parse");
        let mut item = http_item();
        assert_eq!(redaction.apply(&mut item), 1);
        for bad in ["request.header.authorization", "request.headers.", "src.ip", "request.headers.a b", "request.postData.size"] {
            let e = Redaction::parse(bad).expect_err(bad);
            assert!(e.to_string().contains(bad) && e.to_string().contains("request.headers.NAME"), "{e}");
        }
        assert!(Redaction::parse(" , ").expect("blank").is_empty());
    }

    #[test]
    fn items_of_other_protocols_are_left_alone() {
        let redaction = Redaction::parse(DEFAULT_PATHS).expect("default");
        let mut item = dns_item();
        let before = serde_json::to_string(&item).expect("json");
        assert_eq!(redaction.apply(&mut item), 0);
        assert_eq!(serde_json::to_string(&item).expect("json"), before);
    }
}
