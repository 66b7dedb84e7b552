//! The dashboard: a single-page app built from `dashboard/` (Preact, CodeMirror; `npm run
//! build` writes `hub/dashboard/`) and compiled into the binary, so the hub serves it
//! with no files beside it. The page itself is open; everything it shows comes from
//! `/api/` with the token the user gives it.

use std::io::Write;
use std::sync::LazyLock;

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../dashboard/index.html");
const SCRIPT: &str = include_str!("../dashboard/assets/app.js");
const STYLE: &str = include_str!("../dashboard/assets/app.css");

/// Scripts and data only from the hub itself; CodeMirror sets inline styles.
const POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/// The script gzipped once, on first ask: a third of its size over a port-forward.
static SCRIPT_GZIP: LazyLock<Option<Vec<u8>>> = LazyLock::new(|| {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(SCRIPT.as_bytes()).ok()?;
    encoder.finish().ok()
});

fn headers(content_type: &'static str) -> [(header::HeaderName, &'static str); 4] {
    [
        (header::CONTENT_TYPE, content_type),
        // The files keep their names from build to build: always revalidate.
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (headers(content_type), body).into_response()
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let weight = parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            name.eq_ignore_ascii_case("gzip") && weight > 0.0
        })
}

async fn script(request: HeaderMap) -> Response {
    let content_type = "text/javascript; charset=utf-8";
    match SCRIPT_GZIP.as_ref() {
        Some(gzip) if accepts_gzip(&request) => {
            (headers(content_type), [(header::CONTENT_ENCODING, "gzip"), (header::VARY, "accept-encoding")], gzip.as_slice()).into_response()
        }
        _ => ([(header::VARY, "accept-encoding")], asset(content_type, SCRIPT)).into_response(),
    }
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/index.html", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/assets/app.js", get(script))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, value.parse().expect("header"));
        headers
    }

    #[test]
    fn gzip_only_when_the_browser_takes_it() {
        assert!(accepts_gzip(&asking("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&asking("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&asking("gzip;q=0, br")));
        assert!(!accepts_gzip(&asking("gzip; q=0.000")));
        assert!(!accepts_gzip(&asking("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_gzipped_script_unpacks_to_the_script() {
        let gzip = SCRIPT_GZIP.as_ref().expect("compressed");
        assert!(gzip.len() < SCRIPT.len() / 2, "{} of {} bytes", gzip.len(), SCRIPT.len());
        let mut unpacked = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gzip.as_slice()), &mut unpacked).expect("gunzip");
        assert!(unpacked == SCRIPT);
    }
}
