//! The network under the vendor helpers: one HTTP client (reqwest, rustls) and one
//! single-threaded tokio runtime per host, made on first use, so scripts that never call
//! out cost nothing. Errors name the server by host and port only — a Slack webhook's
//! path or a presigned query is a secret — and quote at most an excerpt of its answer.

use std::future::Future;
use std::time::Duration;

/// What a server answered.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) struct Net {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// Longest part of a server's answer quoted in an error.
const EXCERPT: usize = 300;

impl Net {
    pub fn new() -> Result<Net, String> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the network runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("remora/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Net { runtime, client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Runs `work` to its end or for `timeout`, whichever comes first.
    pub fn run<F: Future>(&self, timeout: Duration, work: F) -> Option<F::Output> {
        self.runtime.block_on(async { tokio::time::timeout(timeout, work).await.ok() })
    }

    /// Sends `request` (made by this client or another, one pinned to a certificate say)
    /// and reads the whole answer within `timeout`. A status of 400 or more is an error
    /// carrying the status and an excerpt of the body.
    pub fn send(&self, request: reqwest::RequestBuilder, timeout: Duration) -> Result<Reply, String> {
        let started = std::time::Instant::now();
        let (client, request) = request.build_split();
        let request = request.map_err(|e| describe(&e.without_url(), "", timeout))?;
        let server = server_of(request.url());
        // A kept-alive connection the server closed meanwhile fails before any answer:
        // the request is sent once more, on a new connection, as browsers do.
        let again = request.try_clone();
        let answer = match self.exchange(&client, request, timeout) {
            Some(Err(e)) if is_stale_connection(&e) => match again {
                Some(again) => self.exchange(&client, again, timeout.saturating_sub(started.elapsed())),
                None => Some(Err(e)),
            },
            other => other,
        };
        match answer {
            None => Err(format!("no answer from {server} within {:.1} s", timeout.as_secs_f32())),
            Some(Err(e)) => Err(describe(&e.without_url(), &server, timeout)),
            Some(Ok(reply)) if reply.status >= 400 => Err(format!("HTTP {} from {server}: {}", reply.status, excerpt(&reply.text()))),
            Some(Ok(reply)) => Ok(reply),
        }
    }

    fn exchange(&self, client: &reqwest::Client, request: reqwest::Request, timeout: Duration) -> Option<Result<Reply, reqwest::Error>> {
        self.run(timeout, async {
            let response = client.execute(request).await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            Ok(Reply { status, body: body.to_vec() })
        })
    }
}

/// The request went out on a connection that closed before any answer came.
fn is_stale_connection(error: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message) {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `host:port` of a URL, nothing of its path or query.
pub(crate) fn server_of(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => "the server".into(),
    }
}

fn describe(error: &reqwest::Error, server: &str, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer from {server} within {:.1} s", timeout.as_secs_f32());
    }
    // The innermost cause says what happened (connection refused, certificate unknown).
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if error.is_connect() { "cannot connect to" } else if error.is_builder() { "cannot build the request for" } else { "request failed at" };
    let server = if server.is_empty() { "the server" } else { server };
    format!("{what} {server}: {cause}")
}

/// The start of a server's answer, on one line.
pub(crate) fn excerpt(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if line.is_empty() => "(empty body)".into(),
        None => line,
    }
}

/// `text` with every secret replaced: error messages must never carry a token.
pub(crate) fn redact(text: String, secrets: &[&str]) -> String {
    secrets.iter().filter(|s| s.len() >= 4).fold(text, |text, secret| text.replace(secret, "[redacted]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_server_not_the_secret_path() {
        let url = reqwest::Url::parse("https://hooks.slack.com/services/T000/B000/SECRET?x=1").expect("url");
        assert_eq!(server_of(&url), "hooks.slack.com:443");
        assert_eq!(excerpt("  {\"error\":\n \"bad\"}  "), "{\"error\": \"bad\"}");
        assert_eq!(excerpt(""), "(empty body)");
        assert_eq!(excerpt(&"x".repeat(400)).chars().count(), EXCERPT + 1);
        assert_eq!(redact("token xoxb-1234 refused".into(), &["xoxb-1234", ""]), "token [redacted] refused");
    }

    #[test]
    fn a_refused_connection_is_named_with_its_cause() {
        let net = Net::new().expect("net");
        // A port nothing listens on: bind, note, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let request = net.client().post(format!("http://127.0.0.1:{port}/secret/path"));
        let error = net.send(request, Duration::from_secs(5)).err().expect("refused");
        assert!(error.starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn a_request_on_a_connection_the_server_dropped_is_sent_again() {
        use std::io::{Read, Write};
        // Answers the first request and keeps the connection, then drops it when the second
        // request arrives on it unanswered; a new connection is answered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
            let mut buf = [0u8; 4096];
            let (mut kept, _) = listener.accept().expect("first connection");
            let _ = kept.read(&mut buf);
            let _ = kept.write_all(answer);
            let _ = kept.read(&mut buf);
            drop(kept);
            let (mut fresh, _) = listener.accept().expect("second connection");
            let _ = fresh.read(&mut buf);
            let _ = fresh.write_all(answer);
        });
        let net = Net::new().expect("net");
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(net.send(net.client().post(&url).body("one"), Duration::from_secs(5)).map(|r| r.text()), Ok("ok".to_string()));
        assert_eq!(net.send(net.client().post(&url).body("two"), Duration::from_secs(5)).map(|r| r.text()), Ok("ok".to_string()));
    }
}
