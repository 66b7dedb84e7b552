//! HTTP/1 message heads: recognising a start line, parsing the head with `httparse`,
//! and turning it into the item's request or response fields.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use remora_model::{Fields, HttpRequest, HttpResponse};

/// Request methods recognised at the start of a message (RFC 9110 and WebDAV).
const METHODS: [&[u8]; 18] = [
    b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE", b"PROPFIND",
    b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK", b"REPORT", b"SEARCH",
];

/// Whether `data` starts like a request line (`METHOD SP`) or a status line (`HTTP/1.x SP`).
/// `None` when it is a prefix of one and more bytes are needed to tell.
pub fn start_line_at(data: &[u8], request: bool) -> Option<bool> {
    let candidates: &[&[u8]] = if request { &METHODS } else { &[b"HTTP/1.0", b"HTTP/1.1"] };
    let mut undecided = false;
    for token in candidates {
        let want = token.len() + 1;
        let n = data.len().min(want);
        let matches_prefix = data[..n.min(token.len())] == token[..n.min(token.len())] && (n <= token.len() || data[token.len()] == b' ');
        if matches_prefix {
            if n == want {
                return Some(true);
            }
            undecided = true;
        }
    }
    if undecided {
        None
    } else {
        Some(false)
    }
}

/// The position of the next line in `data` that starts a message, if any.
pub fn find_start_line(data: &[u8], request: bool) -> Option<usize> {
    if start_line_at(data, request) == Some(true) {
        return Some(0);
    }
    let mut from = 0;
    while let Some(newline) = data[from..].iter().position(|&b| b == b'\n') {
        let at = from + newline + 1;
        if start_line_at(&data[at..], request) == Some(true) {
            return Some(at);
        }
        from = at;
    }
    None
}

/// Whether a complete head (ending in an empty line) can be in `data`, looking only at
/// bytes from `from` on (minus three, for a terminator split across calls), so that a
/// head arriving in many small pieces is not rescanned from its start each time.
pub fn head_may_be_complete(data: &[u8], from: usize) -> bool {
    let start = from.saturating_sub(3);
    memchr::memchr_iter(b'\n', &data[start..]).any(|at| {
        let rest = &data[start + at + 1..];
        rest.first() == Some(&b'\n') || rest.starts_with(b"\r\n")
    })
}

const MAX_HEADERS: usize = 256;

/// The framing facts of a head.
#[derive(Debug, Default, Clone, Copy)]
pub struct Framing {
    pub content_length: Option<u64>,
    pub chunked: bool,
}

fn parser_config() -> httparse::ParserConfig {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    config
}

/// Parses a complete request head (the framer found its end).
pub fn parse_request(data: &[u8]) -> Result<(HttpRequest, Framing), String> {
    // Uninitialised slots: zeroing 256 headers per message costs more than parsing.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    match parser_config().parse_request_with_uninit_headers(&mut request, data, &mut headers) {
        Ok(httparse::Status::Complete(len)) => {
            let method = request.method.unwrap_or_default().to_string();
            let url = request.path.unwrap_or_default().to_string();
            let (headers, framing) = collect_headers(request.headers);
            let (path, path_segments, query_string) = target_fields(&url);
            let cookies = headers.get("cookie").map(parse_cookie_header).unwrap_or_default();
            let head = HttpRequest {
                method,
                path_segments,
                path,
                query_string,
                url,
                headers,
                cookies,
                http_version: version_text(request.version),
                headers_size: len as u64,
                body_size: 0,
                ..HttpRequest::default()
            };
            Ok((head, framing))
        }
        Ok(httparse::Status::Partial) => Err("request head ended early".into()),
        Err(e) => Err(format!("bad request head: {e}")),
    }
}

/// Parses a complete response head (the framer found its end).
pub fn parse_response(data: &[u8]) -> Result<(HttpResponse, Framing), String> {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    match parser_config().parse_response_with_uninit_headers(&mut response, data, &mut headers) {
        Ok(httparse::Status::Complete(len)) => {
            let (headers, framing) = collect_headers(response.headers);
            let cookies = set_cookies(response.headers);
            let head = HttpResponse {
                status: response.code.unwrap_or_default(),
                status_text: response.reason.unwrap_or_default().to_string(),
                http_version: version_text(response.version),
                redirect_url: headers.get("location").unwrap_or_default().to_string(),
                headers,
                cookies,
                headers_size: len as u64,
                ..HttpResponse::default()
            };
            Ok((head, framing))
        }
        Ok(httparse::Status::Partial) => Err("response head ended early".into()),
        Err(e) => Err(format!("bad response head: {e}")),
    }
}

fn version_text(minor: Option<u8>) -> Cow<'static, str> {
    match minor {
        Some(0) => Cow::Borrowed("HTTP/1.0"),
        _ => Cow::Borrowed("HTTP/1.1"),
    }
}

/// Lower-cases names, joins repeated headers, and reads the framing headers.
fn collect_headers(raw: &[httparse::Header<'_>]) -> (Fields, Framing) {
    let mut headers = Fields::new();
    let mut framing = Framing::default();
    for header in raw {
        let name = header_name(header.name);
        let lossy;
        let value = match std::str::from_utf8(header.value) {
            Ok(text) => text.trim(),
            Err(_) => {
                lossy = String::from_utf8_lossy(header.value);
                lossy.trim()
            }
        };
        match name.as_ref() {
            // Conflicting lengths are a smuggling signal: keep the first, as most servers do.
            "content-length" if framing.content_length.is_none() => framing.content_length = value.parse().ok(),
            "transfer-encoding" => {
                framing.chunked = value.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            }
            _ => {}
        }
        headers.append(name, value, ", ");
    }
    (headers, framing)
}

/// The lower-cased header name: a static string for common names (no allocation per
/// message), else a new one.
fn header_name(raw: &str) -> Cow<'static, str> {
    let mut buffer = [0u8; 32];
    let Some(lower) = buffer.get_mut(..raw.len()) else { return Cow::Owned(raw.to_ascii_lowercase()) };
    lower.copy_from_slice(raw.as_bytes());
    lower.make_ascii_lowercase();
    Cow::Borrowed(match &*lower {
        b"accept" => "accept",
        b"accept-charset" => "accept-charset",
        b"accept-encoding" => "accept-encoding",
        b"accept-language" => "accept-language",
        b"accept-ranges" => "accept-ranges",
        b"access-control-allow-origin" => "access-control-allow-origin",
        b"age" => "age",
        b"allow" => "allow",
        b"authorization" => "authorization",
        b"cache-control" => "cache-control",
        b"connection" => "connection",
        b"content-disposition" => "content-disposition",
        b"content-encoding" => "content-encoding",
        b"content-language" => "content-language",
        b"content-length" => "content-length",
        b"content-location" => "content-location",
        b"content-range" => "content-range",
        b"content-type" => "content-type",
        b"cookie" => "cookie",
        b"date" => "date",
        b"etag" => "etag",
        b"expect" => "expect",
        b"expires" => "expires",
        b"forwarded" => "forwarded",
        b"host" => "host",
        b"if-match" => "if-match",
        b"if-modified-since" => "if-modified-since",
        b"if-none-match" => "if-none-match",
        b"keep-alive" => "keep-alive",
        b"last-modified" => "last-modified",
        b"link" => "link",
        b"location" => "location",
        b"origin" => "origin",
        b"pragma" => "pragma",
        b"proxy-authorization" => "proxy-authorization",
        b"range" => "range",
        b"referer" => "referer",
        b"server" => "server",
        b"set-cookie" => "set-cookie",
        b"strict-transport-security" => "strict-transport-security",
        b"te" => "te",
        b"trailer" => "trailer",
        b"transfer-encoding" => "transfer-encoding",
        b"upgrade" => "upgrade",
        b"user-agent" => "user-agent",
        b"vary" => "vary",
        b"via" => "via",
        b"x-forwarded-for" => "x-forwarded-for",
        b"x-request-id" => "x-request-id",
        _ => return Cow::Owned(raw.to_ascii_lowercase()),
    })
}

/// A request target's path, its segments and its decoded query parameters.
pub(crate) fn target_fields(url: &str) -> (String, Vec<String>, Fields) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    (path.to_string(), path_segments(path), query_map(query))
}

fn path_segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn query_map(query: &str) -> Fields {
    let mut map = Fields::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        map.append(key.into_owned(), &value, ",");
    }
    map
}

pub(crate) fn parse_cookie_header(value: &str) -> Fields {
    value
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn set_cookies(raw: &[httparse::Header<'_>]) -> Fields {
    raw.iter()
        .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|h| set_cookie_pair(&String::from_utf8_lossy(h.value)))
        .collect()
}

/// The cookie a `set-cookie` value sets: its name and value, attributes dropped.
pub(crate) fn set_cookie_pair(value: &str) -> Option<(String, String)> {
    let (k, v) = value.split(';').next()?.split_once('=')?;
    Some((k.trim().to_string(), v.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_lines_are_recognised_by_prefix() {
        assert_eq!(start_line_at(b"GET / HTTP/1.1", true), Some(true));
        assert_eq!(start_line_at(b"GE", true), None);
        assert_eq!(start_line_at(b"GETX", true), Some(false));
        assert_eq!(start_line_at(b"HTTP/1.1 200", false), Some(true));
        assert_eq!(start_line_at(b"HTTP/2 200", false), Some(false));
        assert_eq!(find_start_line(b"garbage\r\nmore\r\nPOST /x HTTP/1.1", true), Some(15));
    }

    #[test]
    fn request_head_becomes_item_fields() {
        let head = b"GET /api/v2/write?bucket=Metrics&org=a%20b&org=c HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nCookie: s=1; t=2\r\nContent-Length: 5\r\n\r\nhello";
        let (req, framing) = parse_request(head).expect("complete");
        assert_eq!(req.headers_size, head.len() as u64 - 5);
        assert_eq!(req.path_segments, ["api", "v2", "write"]);
        assert_eq!(req.query_string.get("org"), Some("a b,c"));
        assert_eq!(req.headers.get("x-a"), Some("1, 2"));
        assert_eq!(req.cookies.get("t"), Some("2"));
        assert_eq!(framing.content_length, Some(5));
    }

    #[test]
    fn response_head_reads_chunked_and_cookies() {
        let head = b"HTTP/1.1 302 Found\r\nTransfer-Encoding: gzip, chunked\r\nSet-Cookie: id=7; Path=/\r\nLocation: /next\r\n\r\n";
        let (resp, framing) = parse_response(head).expect("complete");
        assert!(framing.chunked);
        assert_eq!((resp.status, resp.redirect_url.as_str(), &resp.cookies["id"]), (302, "/next", "7"));
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\nA: b\r\n").err().as_deref(), Some("response head ended early"));
        // An invalid header line is skipped, not fatal: the rest of the head is kept.
        let (req, _) = parse_request(b"GET / HTTP/1.1\r\nBad Header\x01: x\r\nok: 1\r\n\r\n").expect("complete");
        assert_eq!(req.headers.keys().collect::<Vec<_>>(), ["ok"]);
    }
}
