//! The readable one-line-per-item view of `remora replay`.

use std::io::Write;

use remora_model::{Item, Request, Response};

#[derive(Default)]
pub struct TableWriter {
    header_written: bool,
}

const WIDTHS: [usize; 6] = [15, 5, 22, 22, 6, 8];

impl TableWriter {
    pub fn write(&mut self, w: &mut impl Write, item: &Item) -> std::io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            writeln!(w, "{:15} {:5} {:22} {:22} {:>6} {:>8}  REQUEST", "TIME", "PROTO", "SOURCE", "DESTINATION", "STATUS", "ELAPSED")?;
        }
        let time = item.start_time.get(11..23).unwrap_or(&item.start_time);
        let src = format!("{}:{}", item.src.ip, item.src.port);
        let dst = format!("{}:{}", item.dst.ip, item.dst.port);
        let (status, request) = describe(item);
        let elapsed = format!("{}ms", item.elapsed_time);
        let cells = [time, &item.protocol.abbr, &src, &dst, &status, &elapsed];
        write!(w, "{:w0$} {:w1$} {:w2$} {:w3$} {:>w4$} {:>w5$}  {request}", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5],
            w0 = WIDTHS[0], w1 = WIDTHS[1], w2 = WIDTHS[2], w3 = WIDTHS[3], w4 = WIDTHS[4], w5 = WIDTHS[5])?;
        if let Some(error) = &item.error {
            write!(w, "  ({})", error.msg)?;
        }
        writeln!(w)
    }
}

/// At most 60 characters of `text`.
fn short(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The status column and the request summary of an item.
fn describe(item: &Item) -> (String, String) {
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
