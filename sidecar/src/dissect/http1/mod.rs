//! HTTP/1.0 and 1.1: requests paired with responses in order (keep-alive, pipelining),
//! interim `1xx` responses, upgrades and tunnels, bodies captured up to a limit.

pub(crate) mod body;
mod framing;
pub(crate) mod head;

use std::collections::VecDeque;

use remora_model::{HttpRequest, HttpResponse, ItemErrorKind, Protocol, Request, Response};

use self::body::BodyCapture;
use self::framing::{BodyFraming, MessageFramer, MessageSink};
use self::head::{parse_request, parse_response, start_line_at, Framing};
use super::http2::Http2Flow;
use super::websocket::WebSocketFlow;
use super::{item_error, CloseReason, Detection, DissectLimits, DissectStats, Exchange, StreamDissector};
use crate::flow::{Dir, Timestamp};

/// Whether a flow's first bytes are HTTP/1.
pub fn detect(first_bytes: &[u8]) -> Detection {
    match (start_line_at(first_bytes, true), start_line_at(first_bytes, false)) {
        (Some(true), _) | (_, Some(true)) => Detection::Http1,
        (None, _) | (_, None) => Detection::NeedMore,
        _ => Detection::Unknown,
    }
}

const HTTP_1_0: Protocol = Protocol::new("http", "1.0", "HTTP", "Hypertext Transfer Protocol -- HTTP/1.0", "tcp");
const HTTP_1_1: Protocol = Protocol::new("http", "1.1", "HTTP", "Hypertext Transfer Protocol -- HTTP/1.1", "tcp");

fn protocol(version: &str) -> Protocol {
    if version == "HTTP/1.0" {
        HTTP_1_0
    } else {
        HTTP_1_1
    }
}

/// A request whose head was seen, waiting for its response.
struct PendingRequest {
    head: HttpRequest,
    body: BodyCapture,
    start: Timestamp,
    wire_size: u64,
    interim: Vec<u16>,
    /// It asked to leave HTTP (`Upgrade` or `CONNECT`): the client's next bytes wait
    /// for the response to say whether that happened.
    switching: bool,
}

struct ResponseInProgress {
    head: HttpResponse,
    body: BodyCapture,
    upgrade: Option<String>,
}

/// Pairing state shared by the two directions' framers.
struct Pairing {
    limits: DissectLimits,
    client: Dir,
    pending: VecDeque<PendingRequest>,
    /// The last pending request is still being read.
    reading_request: bool,
    response: Option<ResponseInProgress>,
    /// The current response head was an interim `1xx`.
    interim: bool,
    /// The connection left HTTP after the last response.
    switched: bool,
    /// The last response answered a request that wanted to switch, and it did not.
    switch_refused: bool,
    out: Vec<Exchange>,
    stats: DissectStats,
}

pub struct Http1Flow {
    requests: MessageFramer,
    responses: MessageFramer,
    /// `None` until the first start line says which side is the client.
    client: Option<Dir>,
    pairing: Pairing,
    /// Client bytes sent after an upgrade request, before the response said whether the
    /// connection switched (at most `MAX_HELD`).
    held: Vec<u8>,
    /// The dissector of the protocol the connection switched to (`h2c`, `websocket`).
    upgraded: Option<Box<dyn StreamDissector>>,
}

/// Client bytes kept while an upgrade is undecided.
const MAX_HELD: usize = 64 << 10;

impl Http1Flow {
    pub fn new(limits: DissectLimits) -> Self {
        Http1Flow {
            requests: MessageFramer::new(true, limits.max_head_bytes),
            responses: MessageFramer::new(false, limits.max_head_bytes),
            client: None,
            pairing: Pairing {
                limits,
                client: Dir::Forward,
                pending: VecDeque::new(),
                reading_request: false,
                response: None,
                interim: false,
                switched: false,
                switch_refused: false,
                out: Vec::new(),
                stats: DissectStats::default(),
            },
            held: Vec::new(),
            upgraded: None,
        }
    }

    fn client_for(&mut self, dir: Dir, data: &[u8]) -> Option<Dir> {
        if self.client.is_none() {
            let client = if start_line_at(data, true) == Some(true) {
                dir
            } else if start_line_at(data, false) == Some(true) {
                dir.flip()
            } else {
                return None;
            };
            self.client = Some(client);
            self.pairing.client = client;
        }
        self.client
    }

    /// After response bytes: follow a switch to another protocol, or take back the client
    /// bytes held while it was undecided.
    fn after_response(&mut self, ts: Timestamp) {
        let client = self.pairing.client;
        if self.pairing.switched {
            self.requests.make_opaque();
            self.responses.make_opaque();
            if self.upgraded.is_none() {
                self.upgraded = self.pairing.out.last().and_then(|e| upgraded_dissector(e, self.pairing.limits));
                let held = std::mem::take(&mut self.held);
                if let (Some(next), false) = (&mut self.upgraded, held.is_empty()) {
                    next.data(client, &held, ts, &mut self.pairing.out);
                }
            }
        } else if std::mem::take(&mut self.pairing.switch_refused) {
            self.requests.resume();
            let held = std::mem::take(&mut self.held);
            self.requests.feed(&held, ts, &mut RequestSide(&mut self.pairing));
        }
    }

    fn hold(&mut self, data: &[u8]) {
        let room = MAX_HELD.saturating_sub(self.held.len());
        self.held.extend_from_slice(&data[..room.min(data.len())]);
    }
}

/// The dissector for what a `101 Switching Protocols` (the last exchange) switched to.
fn upgraded_dissector(exchange: &Exchange, limits: DissectLimits) -> Option<Box<dyn StreamDissector>> {
    let (Request::Http(request), Some(Response::Http(response))) = (&exchange.request, &exchange.response) else { return None };
    match response.upgrade.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("h2c") if limits.protocols.allows(Detection::Http2) => {
            Some(Box::new(Http2Flow::upgraded(limits, exchange.request_dir, (**request).clone(), exchange.request_start, exchange.request_size)))
        }
        Some("websocket") if limits.protocols.allows(Detection::WebSocket) => Some(Box::new(WebSocketFlow::new(limits))),
        _ => None,
    }
}

impl StreamDissector for Http1Flow {
    fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp, out: &mut Vec<Exchange>) {
        if let Some(next) = &mut self.upgraded {
            return next.data(dir, data, ts, out);
        }
        let Some(client) = self.client_for(dir, data) else { return };
        if dir == client {
            let rest = self.requests.feed(data, ts, &mut RequestSide(&mut self.pairing));
            self.hold(rest);
        } else {
            let rest = self.responses.feed(data, ts, &mut ResponseSide(&mut self.pairing));
            self.after_response(ts);
            if let (Some(next), false) = (&mut self.upgraded, rest.is_empty()) {
                out.append(&mut self.pairing.out);
                next.data(dir, rest, ts, out);
            }
        }
        out.append(&mut self.pairing.out);
    }

    fn gap(&mut self, dir: Dir, len: u64, ts: Timestamp, out: &mut Vec<Exchange>) {
        if let Some(next) = &mut self.upgraded {
            return next.gap(dir, len, ts, out);
        }
        let Some(client) = self.client else { return };
        if dir == client {
            self.requests.gap(len, ts, &mut RequestSide(&mut self.pairing));
        } else {
            self.responses.gap(len, ts, &mut ResponseSide(&mut self.pairing));
            self.after_response(ts);
        }
        out.append(&mut self.pairing.out);
    }

    fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Exchange>) {
        self.requests.close(ts, &mut RequestSide(&mut self.pairing));
        self.responses.close(ts, &mut ResponseSide(&mut self.pairing));
        let p = &mut self.pairing;
        while let Some(request) = p.pending.pop_front() {
            let exchange = p.exchange(request, None, ts, reason.unanswered());
            p.out.push(exchange);
        }
        out.append(&mut p.out);
        if let Some(next) = &mut self.upgraded {
            next.close(ts, reason, out);
        }
    }

    fn stats(&self) -> DissectStats {
        let mut stats = self.pairing.stats;
        if let Some(next) = &self.upgraded {
            stats += next.stats();
        }
        stats
    }

    fn protocol_name(&self) -> &'static str {
        "http"
    }
}

impl Pairing {
    fn exchange(&mut self, request: PendingRequest, response: Option<(ResponseInProgress, u64)>, end: Timestamp, error: Option<remora_model::ItemError>) -> Exchange {
        let limit = self.limits.max_body_bytes;
        let mut error = error;
        if request.body.incomplete && error.is_none() {
            error = item_error(ItemErrorKind::Dissection, "request bytes were not captured");
        }
        let mut head = request.head;
        head.body_size = request.body.wire_size;
        if request.body.cut() {
            self.stats.truncated_bodies += 1;
        }
        if request.body.wire_size > 0 || request.body.incomplete {
            head.post_data = Some(request.body.into_body(&head.headers, limit));
        }
        head.graphql = super::graphql::operation(&head);
        let version = head.http_version.clone();
        let (response, response_size, response_end) = match response {
            Some((r, wire)) => {
                if r.body.incomplete && error.is_none() {
                    error = item_error(ItemErrorKind::Dissection, "response bytes were not captured");
                }
                if r.body.cut() {
                    self.stats.truncated_bodies += 1;
                }
                let mut resp = r.head;
                resp.body_size = r.body.wire_size;
                resp.content = r.body.into_body(&resp.headers, limit);
                resp.interim = request.interim;
                resp.upgrade = r.upgrade;
                (Some(Response::Http(Box::new(resp))), wire, Some(end))
            }
            None => (None, 0, None),
        };
        Exchange {
            protocol: protocol(&version),
            request_dir: self.client,
            request: Request::Http(Box::new(head)),
            response,
            request_start: request.start,
            response_end,
            request_size: request.wire_size,
            response_size,
            error,
        }
    }
}

struct RequestSide<'a>(&'a mut Pairing);

impl MessageSink for RequestSide<'_> {
    fn head(&mut self, bytes: &[u8], ts: Timestamp) -> Result<BodyFraming, String> {
        let p = &mut *self.0;
        let (head, framing) = parse_request(bytes)?;
        if p.pending.len() >= p.limits.max_pending {
            p.stats.pending_overflows += 1;
            if let Some(oldest) = p.pending.pop_front() {
                let error = item_error(ItemErrorKind::Timeout, format!("more than {} requests awaited a response", p.limits.max_pending));
                let exchange = p.exchange(oldest, None, ts, error);
                p.out.push(exchange);
            }
        }
        let switching = head.method.eq_ignore_ascii_case("CONNECT") || head.headers.contains_key("upgrade");
        let body = body_framing(framing, false);
        p.pending.push_back(PendingRequest { head, body: BodyCapture::default(), start: ts, wire_size: 0, interim: Vec::new(), switching });
        p.reading_request = true;
        // The client's bytes after an upgrade request are not HTTP if the server agrees.
        Ok(if switching && body == BodyFraming::None { BodyFraming::Switch } else { body })
    }

    fn body(&mut self, data: &[u8]) {
        let limit = self.0.limits.max_body_bytes;
        if let (true, Some(request)) = (self.0.reading_request, self.0.pending.back_mut()) {
            request.body.push(data, limit);
        }
    }

    fn end(&mut self, _ts: Timestamp, wire_bytes: u64, complete: bool) {
        if let (true, Some(request)) = (self.0.reading_request, self.0.pending.back_mut()) {
            request.wire_size = wire_bytes;
            request.body.incomplete |= !complete;
        }
        self.0.reading_request = false;
    }

    fn error(&mut self, _msg: String, _ts: Timestamp) {
        self.0.stats.parse_errors += 1;
    }
}

struct ResponseSide<'a>(&'a mut Pairing);

impl MessageSink for ResponseSide<'_> {
    fn head(&mut self, bytes: &[u8], _ts: Timestamp) -> Result<BodyFraming, String> {
        let p = &mut *self.0;
        let (head, framing) = parse_response(bytes)?;
        let status = head.status;
        if (100..200).contains(&status) && status != 101 {
            if let Some(request) = p.pending.front_mut() {
                request.interim.push(status);
            }
            p.interim = true;
            return Ok(BodyFraming::None);
        }
        let request = p.pending.front();
        let method = request.map(|r| r.head.method.as_str()).unwrap_or_default();
        let upgrade = if status == 101 {
            Some(head.headers.get("upgrade").or_else(|| request.and_then(|r| r.head.headers.get("upgrade"))).unwrap_or_default().to_string())
        } else if method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status) {
            Some("tunnel".to_string())
        } else {
            None
        };
        let framing = if upgrade.is_some() {
            BodyFraming::Switch
        } else if method.eq_ignore_ascii_case("HEAD") || status < 200 || status == 204 || status == 304 {
            BodyFraming::None
        } else {
            body_framing(framing, true)
        };
        p.response = Some(ResponseInProgress { head, body: BodyCapture::default(), upgrade });
        Ok(framing)
    }

    fn body(&mut self, data: &[u8]) {
        let limit = self.0.limits.max_body_bytes;
        if let Some(response) = &mut self.0.response {
            response.body.push(data, limit);
        }
    }

    fn end(&mut self, ts: Timestamp, wire_bytes: u64, complete: bool) {
        let p = &mut *self.0;
        if std::mem::take(&mut p.interim) {
            return;
        }
        let Some(mut response) = p.response.take() else { return };
        response.body.incomplete |= !complete;
        p.switched = response.upgrade.is_some();
        let exchange = match p.pending.pop_front() {
            Some(request) => {
                p.switch_refused = request.switching && !p.switched;
                if p.reading_request && p.pending.is_empty() {
                    // Answered before its body was read (an early error response).
                    p.reading_request = false;
                }
                p.exchange(request, Some((response, wire_bytes)), ts, None)
            }
            None => {
                let orphan = PendingRequest { head: HttpRequest::default(), body: BodyCapture::default(), start: ts, wire_size: 0, interim: Vec::new(), switching: false };
                let version = response.head.http_version.clone();
                let mut exchange = p.exchange(orphan, Some((response, wire_bytes)), ts, item_error(ItemErrorKind::PairNotFound, "response without a captured request"));
                exchange.protocol = protocol(&version);
                exchange
            }
        };
        p.out.push(exchange);
    }

    fn error(&mut self, _msg: String, _ts: Timestamp) {
        self.0.stats.parse_errors += 1;
    }
}

fn body_framing(framing: Framing, is_response: bool) -> BodyFraming {
    match (framing.chunked, framing.content_length) {
        (true, _) => BodyFraming::Chunked,
        (false, Some(n)) => BodyFraming::Length(n),
        (false, None) if is_response => BodyFraming::UntilClose,
        (false, None) => BodyFraming::None,
    }
}
