//! The one-line view of an item that the CLI's table and the dashboard's list show: a
//! short status (`200`, `NXDOMAIN`, `ERR`, ...) and what was asked, per protocol.

use crate::{Item, Request, Response};

/// At most 60 characters of `text`.
fn short(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The status column and the request summary of an item: `(status, request)`.
pub fn describe(item: &Item) -> (String, String) {
    let status = match &item.response {
        Some(Response::Http(r)) => match &r.grpc {
            Some(grpc) if !grpc.status_name.is_empty() => format!("{} {}", r.status, grpc.status_name),
            _ => r.status.to_string(),
        },
        Some(Response::WebSocket(r)) => r.opcode.clone(),
        Some(Response::Icmp(r)) => r.type_name.clone(),
        Some(Response::Dns(r)) => r.rcode_name.clone(),
        Some(Response::Redis(r)) => if r.error.is_some() { "ERR".into() } else { r.kind.clone() },
        Some(Response::Tls(r)) => r.version.clone(),
        Some(Response::Mysql(r)) => match &r.error {
            Some(error) => error.code.to_string(),
            None => r.kind.clone(),
        },
        Some(Response::Kafka(r)) => match r.error_code {
            Some(code) if code != 0 => r.error_name.clone(),
            Some(_) => "NONE".into(),
            None => "-".into(),
        },
        Some(Response::Amqp(r)) => match &r.error {
            Some(error) => error.code.to_string(),
            None => r.method.clone(),
        },
        Some(Response::Postgres(r)) => match &r.error {
            Some(error) => error.code.clone(),
            None => r.tags.last().cloned().unwrap_or_else(|| r.status.clone()),
        },
        None => "-".into(),
    };
    let request = match &item.request {
        Request::Icmp(r) => {
            let echo = if r.identifier != 0 || r.sequence != 0 { format!(" id={} seq={}", r.identifier, r.sequence) } else { String::new() };
            let quoted = r.quoted.as_ref().map(|q| format!(" about {} {}:{} -> {}:{}", q.protocol, q.src, q.src_port, q.dst, q.dst_port)).unwrap_or_default();
            let code = if r.code_name.is_empty() { String::new() } else { format!(" ({})", r.code_name) };
            format!("{}{code}{echo}{quoted}", if r.type_name.is_empty() { format!("type {}", r.kind) } else { r.type_name.clone() })
        }
        Request::WebSocket(r) => {
            let what = match (r.opcode.as_str(), &r.close_code) {
                (_, Some(code)) => format!("close {code} {}", r.close_reason.as_deref().unwrap_or_default()),
                ("text", _) => format!("text {}", short(&r.payload.text)),
                (opcode, _) => format!("{opcode} {} bytes", r.size),
            };
            let fragments = if r.fragments > 1 { format!(" ({} fragments)", r.fragments) } else { String::new() };
            format!("{}{fragments}", what.trim_end())
        }
        Request::Http(r) => {
            let host = r.headers.get("host").or_else(|| r.headers.get(":authority")).unwrap_or("");
            let upgrade = match &item.response {
                Some(Response::Http(resp)) => resp.upgrade.as_ref().map(|u| format!(" [upgrade: {u}]")).unwrap_or_default(),
                _ => String::new(),
            };
            format!("{} {}{}{upgrade}", r.method, host, r.url)
        }
        Request::Dns(r) => {
            let questions: Vec<String> = r.questions.iter().map(|q| format!("{} {}", q.qtype, q.name)).collect();
            let answers = match &item.response {
                Some(Response::Dns(resp)) if !resp.answers.is_empty() => {
                    format!(" -> {}", resp.answers.iter().map(|a| a.data.as_str()).collect::<Vec<_>>().join(", "))
                }
                _ => String::new(),
            };
            format!("{}{answers}", questions.join(", "))
        }
        Request::Redis(r) => {
            let mut words = vec![r.command.as_str()];
            words.extend(r.args.iter().take(4).map(String::as_str));
            let more = if r.args.len() > 4 { " ..." } else { "" };
            let reply = match &item.response {
                Some(Response::Redis(resp)) => format!(" -> {}", resp.error.clone().unwrap_or_else(|| short(&resp.value.to_string()))),
                _ => String::new(),
            };
            format!("{}{more}{reply}", words.join(" "))
        }
        Request::Tls(r) => {
            let chosen = match &item.response {
                Some(Response::Tls(resp)) if resp.alpn.is_empty() => format!(" -> {}", resp.cipher_suite),
                Some(Response::Tls(resp)) => format!(" -> {} {}", resp.cipher_suite, resp.alpn),
                _ => String::new(),
            };
            format!("ClientHello {} [{}]{chosen}", if r.server_name.is_empty() { "(no SNI)" } else { &r.server_name }, r.alpn.join(","))
        }
        Request::Mysql(r) => match r.command.as_str() {
            "Handshake" => format!("Handshake user={} database={}", r.user, r.database),
            _ if r.query.is_empty() => r.command.clone(),
            _ => format!("{} {}", r.command, short(&r.query.split_whitespace().collect::<Vec<_>>().join(" "))),
        },
        Request::Kafka(r) => {
            let topics: Vec<&str> = r.topics.iter().map(|t| if t.name.is_empty() { t.topic_id.as_str() } else { t.name.as_str() }).collect();
            let topics = if topics.is_empty() { String::new() } else { format!(" [{}]", short(&topics.join(","))) };
            format!("{} v{} #{} {}{topics}", r.api_key_name, r.api_version, r.correlation_id, r.client_id)
        }
        Request::Amqp(r) => {
            let mut parts = vec![format!("{} ch={}", r.method, r.channel)];
            for (key, value) in [("x", &r.exchange), ("rk", &r.routing_key), ("q", &r.queue)] {
                if !value.is_empty() {
                    parts.push(format!("{key}={value}"));
                }
            }
            if let Some(body) = &r.body {
                parts.push(format!("{} bytes", body.size));
            }
            parts.join(" ")
        }
        Request::Postgres(r) => match r.kind.as_str() {
            "startup" => format!("startup user={} database={}", r.user, r.database),
            "simple" | "extended" => short(&r.query.split_whitespace().collect::<Vec<_>>().join(" ")),
            other => other.to_string(),
        },
    };
    (status, request)
}
