//! Names at the root of a query: protocol names used as booleans, and the flat variables
//! of the newer CEL-based syntax, each mapped onto the item's own fields. docs/kfl.md
//! lists them from [`VARIABLES`].

use serde_json::Value;

use crate::compile::{Node, Seg};
use crate::parser::CmpOp;

/// Protocol names that stand for "the item is of this protocol" (`protocol.name`).
pub const PROTOCOLS: [&str; 16] = [
    "http", "dns", "redis", "kafka", "amqp", "grpc", "http2", "postgres", "postgresql", "mysql", "mongodb", "websocket", "icmp", "icmpv6", "ldap", "graphql",
];

/// (variable, what it reads, meaning) for the flat variables of the CEL-based syntax.
pub const VARIABLES: [(&str, &str, &str); 24] = [
    ("tls", "tls, or protocol.name == \"tls\"", "TLS traffic"),
    ("tcp", "protocol.layer4 == \"tcp\"", "carried over TCP"),
    ("udp", "protocol.layer4 == \"udp\"", "carried over UDP"),
    ("protocol", "protocol.name (alone; protocol.x still reads the object)", "the protocol's name"),
    ("status_code", "response.status", "HTTP status"),
    ("method", "request.method", "HTTP method"),
    ("path", "request.path", "HTTP path without the query"),
    ("url", "request.url", "HTTP request target"),
    ("query_string", "request.queryString", "HTTP query parameters"),
    ("request_headers", "request.headers", "request headers (names lower-case)"),
    ("response_headers", "response.headers", "response headers (names lower-case)"),
    ("request_body_size", "request.bodySize", "request body bytes"),
    ("response_body_size", "response.bodySize", "response body bytes"),
    ("elapsed_time", "elapsedTime", "ms from request to response"),
    ("dns_questions", "request.questions.*.name", "queried names (a list)"),
    ("dns_question_types", "request.questions.*.type", "queried types (a list)"),
    ("dns_answers", "response.answers.*.data", "answer data (a list)"),
    ("dns_rcode", "response.rcodeName", "NOERROR, NXDOMAIN, ..."),
    ("dns_request", "protocol.name == \"dns\"", "a DNS item (every DNS item has its query)"),
    ("dns_response", "protocol.name == \"dns\" and response != nil", "a DNS item with an answer"),
    ("namespaces", "[src.namespace, dst.namespace]", "both ends' namespaces (a list)"),
    ("src.pod.name / dst.pod.name", "src.name / dst.name", "pod name from name resolution"),
    ("src.pod.namespace / dst.pod.namespace", "src.namespace / dst.namespace", "pod namespace"),
    ("src.service.name / .namespace (and dst.)", "src.name / src.namespace", "service name and namespace"),
];

pub enum Resolved {
    Protocol(&'static str),
    Layer4(&'static str),
    Path(Vec<Seg>),
    Node(Node),
    /// An item field of that name.
    Field,
}

fn path(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| if *p == "*" { Seg::Wild } else { Seg::Key(p.to_string()) }).collect()
}

pub fn resolve_name(name: &str) -> Resolved {
    // GraphQL travels as HTTP: an item is GraphQL when the dissector named its operation.
    if name == "graphql" {
        return Resolved::Path(path(&["request", "graphql"]));
    }
    if let Some(p) = PROTOCOLS.iter().find(|p| **p == name) {
        return Resolved::Protocol(p);
    }
    match name {
        "tcp" => Resolved::Layer4("tcp"),
        "udp" => Resolved::Layer4("udp"),
        "tls" => Resolved::Node(Node::Or(Box::new(Node::Path(path(&["tls"]))), Box::new(Node::ProtocolIs("tls".into())))),
        "protocol" => Resolved::Path(path(&["protocol", "name"])),
        "status_code" => Resolved::Path(path(&["response", "status"])),
        "method" => Resolved::Path(path(&["request", "method"])),
        "path" => Resolved::Path(path(&["request", "path"])),
        "url" => Resolved::Path(path(&["request", "url"])),
        "query_string" => Resolved::Path(path(&["request", "queryString"])),
        "request_headers" => Resolved::Path(path(&["request", "headers"])),
        "response_headers" => Resolved::Path(path(&["response", "headers"])),
        "request_body_size" => Resolved::Path(path(&["request", "bodySize"])),
        "response_body_size" => Resolved::Path(path(&["response", "bodySize"])),
        "elapsed_time" => Resolved::Path(path(&["elapsedTime"])),
        "dns_questions" => Resolved::Path(path(&["request", "questions", "*", "name"])),
        "dns_question_types" => Resolved::Path(path(&["request", "questions", "*", "type"])),
        "dns_answers" => Resolved::Path(path(&["response", "answers", "*", "data"])),
        "dns_rcode" => Resolved::Path(path(&["response", "rcodeName"])),
        "dns_request" => Resolved::Protocol("dns"),
        "dns_response" => Resolved::Node(Node::And(
            Box::new(Node::ProtocolIs("dns".into())),
            Box::new(Node::Cmp(CmpOp::Ne, Box::new(Node::Path(path(&["response"]))), Box::new(Node::Lit(Value::Null)))),
        )),
        "namespaces" => Resolved::Node(Node::List(vec![Node::Path(path(&["src", "namespace"])), Node::Path(path(&["dst", "namespace"]))])),
        _ => Resolved::Field,
    }
}

/// `src.pod.name` and friends (Kubernetes identity in the CEL-based syntax) read the
/// endpoint's name-resolution fields.
pub fn rewrite_path(segs: Vec<Seg>) -> Vec<Seg> {
    let key = |i: usize| match segs.get(i) {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    let end = key(0);
    // The reference's examples write `request.query.a`; the item calls it `queryString`.
    if end == "request" && key(1) == "query" {
        let mut segs = segs;
        segs[1] = Seg::Key("queryString".into());
        return segs;
    }
    if (end == "src" || end == "dst") && matches!(key(1), "pod" | "service") && matches!(key(2), "name" | "namespace") && segs.len() == 3 {
        return vec![Seg::Key(end.to_string()), Seg::Key(key(2).to_string())];
    }
    segs
}
