//! Remora's items against tshark's dissection of the same real captures.
//!
//! For every capture in tests/data/pcaps: HTTP pairs (method, target, host, status), DNS
//! exchanges (id, name, type, rcode, answers), Redis messages (each RESP value in each
//! direction: commands, replies, pushed messages) and TLS handshakes (server name, ALPN,
//! versions and cipher suites offered; version, suite and ALPN chosen) and PostgreSQL
//! (each query text the client sent, each command tag the server answered), MySQL
//! (each Query and Prepare's SQL, each error code), HTTP/2 streams (pseudo-header fields,
//! status, gRPC status and message sizes), WebSocket messages (sender, opcode, size,
//! fragments), ICMP messages (type, code, echo identifier and sequence), Kafka (each
//! request's API key, version, correlation id, client id and topics with its response's
//! topics and first error) and AMQP 0-9-1 (each method frame: class and method, channel,
//! exchange (an Exchange.Bind's source and destination), routing key, queue, consumer and delivery
//! tags, reply code) from `remora
//! replay` must equal what
//! tshark extracts, except for the differences listed with their reasons in
//! tests/data/pcaps/tshark-differences.tsv. A listed difference that no longer occurs
//! fails too, so the list stays true.
//!
//! Names are tshark's own: DNS types from its summary keys, cipher suites, TLS versions
//! and AMQP methods from its PDML shownames (never Remora's tables, which would be
//! wrong on both sides alike), and each protocol must have a floor of records compared.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use remora_sidecar::dissect::tls::is_grease;
use serde_json::Value;

use common::{capture_files, data_dir, replay_items};

/// One comparable record, as text: `<file>\t<protocol>\t<record>`.
type Records = Vec<String>;

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark").args(args).output().expect("tshark runs (install it: bash scripts/setup.sh)");
    assert!(out.status.success(), "tshark {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// What one plain tshark pass sees in a capture: the protocol names of every frame
/// (`eth:ethertype:ip:tcp:http`) and the TCP ports. Each protocol's own pass (a fresh
/// tshark, half a second of start-up) then runs only on the captures that hold it.
struct Census {
    protocols: BTreeSet<String>,
    ports: BTreeSet<u16>,
}

impl Census {
    fn of(path: &Path) -> Census {
        let rows = tshark(&["-r", path.to_str().expect("UTF-8 path"), "-T", "fields", "-e", "frame.protocols", "-e", "tcp.port"]);
        let mut census = Census { protocols: BTreeSet::new(), ports: BTreeSet::new() };
        for row in rows.lines() {
            let (protocols, ports) = row.split_once('\t').unwrap_or((row, ""));
            census.protocols.extend(protocols.split(':').map(str::to_string));
            census.ports.extend(ports.split(',').filter_map(|p| p.parse::<u16>().ok()));
        }
        census
    }

    /// Whether tshark may find `protocol` here: it named it, or a port tshark is told
    /// to decode as it (`-d`) is in use.
    fn may_hold(&self, protocols: &[&str], decode_as_port: Option<u16>) -> bool {
        protocols.iter().any(|p| self.protocols.contains(*p)) || decode_as_port.is_some_and(|port| self.ports.contains(&port))
    }
}

/// A protocol's tshark pass, and whether it is worth running on a capture.
type Pass = (bool, fn(&Path) -> Records);

/// Every protocol's records from tshark, each pass run only where the census says it
/// can find something (a capture it skips would give that pass no record).
fn tshark_records(path: &Path) -> Records {
    let census = Census::of(path);
    let passes: [Pass; 11] = [
        (census.may_hold(&["http"], None), tshark_http),
        (census.may_hold(&["dns"], None), tshark_dns),
        (census.may_hold(&["resp"], None), tshark_redis),
        (census.may_hold(&["tls"], None), tshark_tls),
        (census.may_hold(&["pgsql"], Some(8000)), tshark_postgres),
        (census.may_hold(&["mysql"], Some(30130)), tshark_mysql),
        (holds_http2(path), tshark_http2),
        (census.may_hold(&["websocket"], None), tshark_websocket),
        (census.may_hold(&["icmp", "icmpv6"], None), tshark_icmp),
        (census.may_hold(&["kafka"], Some(36333)), tshark_kafka),
        (census.may_hold(&["amqp"], None), tshark_amqp),
    ];
    passes.into_iter().filter(|(run, _)| *run).flat_map(|(_, pass)| pass(path)).collect()
}

fn tshark_http(path: &Path) -> Records {
    // Two passes, so that a request knows the frame of its response.
    let fields = ["frame.number", "http.request.method", "http.request.uri", "http.host", "http.response_in", "http.response.code"];
    let mut args = vec!["-2", "-r", path.to_str().expect("UTF-8 path"), "-Y", "http.request or http.response", "-T", "fields", "-E", "occurrence=f"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    let rows: Vec<Vec<String>> = tshark(&args).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    let status_of = |frame: &str| rows.iter().find(|r| r[0] == frame).and_then(|r| r.get(5)).filter(|s| !s.is_empty()).cloned();
    rows.iter()
        .filter(|r| !r[1].is_empty())
        .map(|r| {
            let status = status_of(&r[4]).unwrap_or_else(|| "-".into());
            format!("http\t{} {} host={} status={status}", r[1], r[2], r[3])
        })
        .collect()
}

fn remora_http(items: &[Value]) -> Records {
    items
        .iter()
        .filter(|i| i["protocol"]["name"] == "http" && i["protocol"]["version"] != "2.0")
        .map(|i| {
            let r = &i["request"];
            let status = i["response"]["status"].as_u64().map_or("-".to_string(), |s| s.to_string());
            format!("http\t{} {} host={} status={status}", text(&r["method"]), text(&r["url"]), text(&r["headers"]["host"]))
        })
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The type tshark names in a query's or answer's summary key
/// (`example.com: type AAAA, class IN, addr ...`): its own name, not Remora's table's.
fn tshark_type(key: &str) -> &str {
    key.split_once(": type ").map_or("", |(_, rest)| rest.split(',').next().unwrap_or(""))
}

/// The record data compared for a type, tshark's fields and Remora's `data` alike.
fn tshark_answer((key, rr): (&str, &Value)) -> String {
    let field = |name: &str| rr[name].as_str().unwrap_or("").to_string();
    let rtype: u16 = field("dns.resp.type").parse().unwrap_or(0);
    let data = match rtype {
        1 => field("dns.a"),
        28 => field("dns.aaaa"),
        5 => field("dns.cname"),
        12 => field("dns.ptr.domain_name"),
        2 => field("dns.ns"),
        15 => format!("{} {}", field("dns.mx.preference"), field("dns.mx.mail_exchange")),
        6 => ["dns.soa.mname", "dns.soa.rname", "dns.soa.serial_number", "dns.soa.refresh_interval", "dns.soa.retry_interval", "dns.soa.expire_limit", "dns.soa.minimum_ttl"]
            .map(field)
            .join(" "),
        _ => "*".into(),
    };
    format!("{} {data}", tshark_type(key))
}

fn remora_answer(rr: &Value) -> String {
    let rtype = text(&rr["type"]);
    let data = match rtype {
        "A" | "AAAA" | "CNAME" | "PTR" | "NS" | "MX" | "SOA" => text(&rr["data"]),
        _ => "*",
    };
    format!("{rtype} {data}")
}

/// Each key and value of a JSON object, flattening tshark's arrays for repeated keys.
fn entries(section: &Value) -> Vec<(&str, &Value)> {
    let Some(map) = section.as_object() else { return Vec::new() };
    map.iter().flat_map(|(k, v)| if let Value::Array(a) = v { a.iter().map(|v| (k.as_str(), v)).collect() } else { vec![(k.as_str(), v)] }).collect()
}

fn tshark_dns(path: &Path) -> Records {
    let json = tshark(&["-2", "-r", path.to_str().expect("UTF-8 path"), "-Y", "dns", "-T", "json", "--no-duplicate-keys", "-J", "dns"]);
    let packets: Vec<Value> = serde_json::from_str(&json).expect("tshark JSON");
    let mut messages = Vec::new();
    for packet in &packets {
        match &packet["_source"]["layers"]["dns"] {
            Value::Array(many) => messages.extend(many.iter()),
            one => messages.push(one),
        }
    }
    let record = |m: &Value, rcode: &str| {
        let (key, question) = entries(&m["Queries"]).into_iter().next().unwrap_or(("", &Value::Null));
        let qtype = tshark_type(key);
        let mut answers: Vec<String> = entries(&m["Answers"]).into_iter().map(tshark_answer).collect();
        answers.sort();
        let id = u16::from_str_radix(text(&m["dns.id"]).trim_start_matches("0x"), 16).unwrap_or(0);
        format!("dns\tid={id} {} {qtype} rcode={rcode} answers=[{}]", text(&question["dns.qry.name"]), answers.join(", "))
    };
    let mut out = Vec::new();
    let mut answered = BTreeSet::new();
    for m in &messages {
        if text(&m["dns.flags_tree"]["dns.flags.response"]) == "1" {
            out.push(record(m, text(&m["dns.flags_tree"]["dns.flags.rcode"])));
            answered.insert(text(&m["dns.id"]).to_string());
        }
    }
    for m in &messages {
        if text(&m["dns.flags_tree"]["dns.flags.response"]) == "0" && !answered.contains(text(&m["dns.id"])) {
            out.push(record(m, "-"));
        }
    }
    out
}

fn remora_dns(items: &[Value]) -> Records {
    items
        .iter()
        .filter(|i| i["protocol"]["name"] == "dns")
        .map(|i| {
            let q = &i["request"]["questions"][0];
            let rcode = i["response"]["rcode"].as_u64().map_or("-".to_string(), |r| r.to_string());
            let mut answers: Vec<String> = i["response"]["answers"].as_array().map(|a| a.iter().map(remora_answer).collect()).unwrap_or_default();
            answers.sort();
            format!("dns\tid={} {} {} rcode={rcode} answers=[{}]", i["request"]["id"], text(&q["name"]), text(&q["type"]), answers.join(", "))
        })
        .collect()
}

/// One RESP value as comparable tokens: `a:N` (array of N), `s:text` (simple or bulk
/// string), `e:text`, `i:N`, `null`.
fn resp_tokens(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            out.push(format!("a:{}", items.len()));
            for item in items {
                resp_tokens(item, out);
            }
        }
        Value::String(s) => out.push(format!("s:{s}")),
        Value::Number(n) => out.push(format!("i:{n}")),
        Value::Null => out.push("null".into()),
        other => out.push(format!("?{other}")),
    }
}

/// Redis messages of Remora's items, as `redis\t<c2s|s2c> tokens`. Inline commands are
/// left out: tshark does not parse them.
fn remora_redis(items: &[Value]) -> Records {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "redis") {
        let request = &item["request"];
        let words: Vec<Value> = std::iter::once(request["command"].clone()).chain(request["args"].as_array().cloned().unwrap_or_default()).collect();
        if request["pushed"] == true {
            // The server's one message: kind, channel(s), payload.
            let mut tokens = Vec::new();
            let mut message = words;
            message.push(item["response"]["value"].clone());
            resp_tokens(&Value::Array(message), &mut tokens);
            out.push(format!("redis\ts2c {}", tokens.join(" ")));
            continue;
        }
        if request["inline"] == false && request["command"] != "" {
            let mut tokens = Vec::new();
            resp_tokens(&Value::Array(words), &mut tokens);
            out.push(format!("redis\tc2s {}", tokens.join(" ")));
        }
        let response = &item["response"];
        if response.is_object() {
            let mut tokens = Vec::new();
            match response["type"].as_str() {
                Some("error") => tokens.push(format!("e:{}", text(&response["error"]))),
                _ => resp_tokens(&response["value"], &mut tokens),
            }
            out.push(format!("redis\ts2c {}", tokens.join(" ")));
        }
    }
    out
}

/// Redis messages as tshark's RESP dissector reads them (from its PDML, in wire order).
fn tshark_redis(path: &Path) -> Records {
    let pdml = tshark(&["-r", path.to_str().expect("UTF-8 path"), "-Y", "resp", "-T", "pdml"]);
    let attr = |line: &str, name: &str| line.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).map(unescape_xml).unwrap_or_default();
    let mut streams: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    let (mut src, mut dst) = (String::new(), String::new());
    for line in pdml.lines().map(str::trim) {
        let field = attr(line, "name");
        let show = || attr(line, "show");
        let token = match field.as_str() {
            "tcp.srcport" => {
                src = show();
                None
            }
            "tcp.dstport" => {
                dst = show();
                None
            }
            "resp.array.length" => Some(format!("a:{}", show())),
            "resp.bulk_string.length" if show() == "-1" => Some("null".into()),
            "resp.bulk_string.length" if show() == "0" => Some("s:".into()),
            "resp.bulk_string.value" => {
                let hex = attr(line, "value");
                let bytes: Vec<u8> = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
                Some(format!("s:{}", String::from_utf8_lossy(&bytes)))
            }
            "resp.string" => Some(format!("s:{}", show())),
            "resp.error" => Some(format!("e:{}", show())),
            "resp.integer" => Some(format!("i:{}", show())),
            _ => None,
        };
        if let Some(token) = token {
            streams.entry((src.clone(), dst.clone())).or_default().push(token);
        }
    }
    let mut out = Vec::new();
    for ((src, _), tokens) in streams {
        let side = if src == "6379" { "s2c" } else { "c2s" };
        let mut at = 0;
        while at < tokens.len() {
            let end = resp_message_end(&tokens, at);
            let mut message = tokens[at..end].to_vec();
            // Redis reads command names in any case; Remora shows them upper-cased.
            if let (true, Some(name)) = (side == "c2s", message.get_mut(1)) {
                *name = name.to_ascii_uppercase().replacen("S:", "s:", 1);
            }
            out.push(format!("redis\t{side} {}", message.join(" ")));
            at = end;
        }
    }
    out
}

/// Where the message starting at token `at` ends: an array takes its elements.
fn resp_message_end(tokens: &[String], at: usize) -> usize {
    let count = tokens[at].strip_prefix("a:").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    (0..count).fold(at + 1, |next, _| if next < tokens.len() { resp_message_end(tokens, next) } else { next })
}

fn unescape_xml(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn tls_record(sni: &str, alpn: &[String], versions: &[String], suites: &[String], chosen: Option<(String, String, String)>) -> String {
    let chosen = chosen.map_or("-".to_string(), |(version, suite, alpn)| format!("{version} {suite} alpn={alpn}"));
    format!("tls\tsni={sni} alpn=[{}] versions=[{}] suites=[{}] -> {chosen}", alpn.join(","), versions.join(","), suites.join(","))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|v| text(v).to_string()).collect()).unwrap_or_default()
}

fn remora_tls(items: &[Value]) -> Records {
    items
        .iter()
        .filter(|i| i["protocol"]["name"] == "tls")
        .map(|i| {
            let (r, s) = (&i["request"], &i["response"]);
            let chosen = s.is_object().then(|| (text(&s["version"]).to_string(), text(&s["cipherSuite"]).to_string(), text(&s["alpn"]).to_string()));
            tls_record(text(&r["serverName"]), &strings(&r["alpn"]), &strings(&r["supportedVersions"]), &strings(&r["cipherSuites"]), chosen)
        })
        .collect()
}

/// ClientHello and ServerHello of each TCP stream, as tshark reads them.
/// Each `<field>` of tshark's PDML for the packets `filter` selects, in order: its name,
/// its `show` value and the name tshark gives that value in its `showname`
/// (`Cipher Suite: TLS_AES_128_GCM_SHA256 (0x1301)` → `TLS_AES_128_GCM_SHA256`,
/// `Type: A (Host Address) (1)` → `A`, `Method: Declare-Ok (11)` → `Declare-Ok`).
fn tshark_shown(path: &Path, filter: &str) -> Vec<(String, String, String)> {
    let pdml = tshark(&["-r", path.to_str().expect("UTF-8 path"), "-Y", filter, "-T", "pdml"]);
    let attribute = |tag: &str, name: &str| tag.split_once(&format!(" {name}=\"")).and_then(|(_, rest)| rest.split_once('"')).map(|(value, _)| unescape_xml(value));
    pdml.split("<field ")
        .skip(1)
        .filter_map(|tag| {
            let tag = format!(" {}", tag.split('>').next()?);
            let tag = tag.as_str();
            let showname = attribute(tag, "showname")?;
            let named = showname.split_once(": ")?.1.split(" (").next()?.to_string();
            Some((attribute(tag, "name")?, attribute(tag, "show")?, named))
        })
        .collect()
}

/// A number as tshark shows it (`0x1301`, `771`).
fn shown_number(show: &str) -> u16 {
    match show.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16).unwrap_or(0),
        None => show.parse().unwrap_or(0),
    }
}

fn tshark_tls(path: &Path) -> Records {
    let fields = ["tcp.stream", "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str", "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite", "tls.handshake.version"];
    let mut args = vec!["-r", path.to_str().expect("UTF-8 path"), "-Y", "tls.handshake.type == 1 or tls.handshake.type == 2", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    let number = |hex: &str| u16::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap_or(0);
    let list = |cell: &str| -> Vec<u16> { cell.split(',').filter(|v| !v.is_empty()).map(number).filter(|v| !is_grease(*v)).collect() };
    // The names tshark gives the suites and versions it shows, by their numbers.
    let mut names = std::collections::BTreeMap::new();
    for (field, show, name) in tshark_shown(path, "tls.handshake.type == 1 or tls.handshake.type == 2") {
        if matches!(field.as_str(), "tls.handshake.ciphersuite" | "tls.handshake.extensions.supported_version" | "tls.handshake.version") {
            names.insert((field, shown_number(&show)), name);
        }
    }
    let suite_name = |n: u16| names.get(&("tls.handshake.ciphersuite".to_string(), n)).cloned().unwrap_or_else(|| format!("0x{n:04x}"));
    let version_name = |n: u16| {
        ["tls.handshake.extensions.supported_version", "tls.handshake.version"].iter().find_map(|f| names.get(&(f.to_string(), n)).cloned()).unwrap_or_else(|| format!("0x{n:04x}"))
    };
    // TCP stream → the cells of its ClientHello row and of its ServerHello row.
    type Hellos = std::collections::BTreeMap<String, (Option<Vec<String>>, Option<Vec<String>>)>;
    let mut hellos = Hellos::default();
    for line in tshark(&args).lines() {
        let cells: Vec<&str> = line.split('\t').collect();
        let entry = hellos.entry(cells[0].to_string()).or_default();
        let types: Vec<&str> = cells[1].split(',').collect();
        if types.contains(&"1") {
            entry.0 = Some(cells.iter().map(|c| c.to_string()).collect());
        } else if types.contains(&"2") {
            entry.1 = Some(cells.iter().map(|c| c.to_string()).collect());
        }
    }
    hellos
        .into_values()
        .filter_map(|(client, server)| {
            let client = client?;
            let chosen = server.map(|s| {
                let version = list(&s[4]).first().copied().unwrap_or_else(|| number(s[6].split(',').next().unwrap_or("")));
                (version_name(version), list(&s[5]).first().map_or(String::new(), |c| suite_name(*c)), s[3].split(',').next().unwrap_or("").to_string())
            });
            let alpn: Vec<String> = client[3].split(',').filter(|a| !a.is_empty()).map(str::to_string).collect();
            let versions: Vec<String> = list(&client[4]).into_iter().map(version_name).collect();
            let suites: Vec<String> = list(&client[5]).into_iter().map(suite_name).collect();
            Some(tls_record(&client[2], &alpn, &versions, &suites, chosen))
        })
        .collect()
}

/// SQL as both sides can show it: whitespace runs as one space (tshark prints a newline
/// inside a field as `\n`), each byte of a non-ASCII character as `?` (tshark shows each as
/// U+FFFD; Remora keeps the UTF-8), and the first 1,000 characters (Remora keeps 4 KiB).
fn one_line(text: &str) -> String {
    let spaced = text.replace("\\n", " ").replace("\\t", " ").replace("\\r", " ");
    let ascii: String = spaced.chars().flat_map(|c| match c {
        '\u{fffd}' => vec!['?'],
        c if c.is_ascii() => vec![c],
        c => vec!['?'; c.len_utf8()],
    }).collect();
    let line = ascii.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(1000).collect()
}

fn remora_postgres(items: &[Value]) -> Records {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "postgres") {
        let request = &item["request"];
        if matches!(text(&request["kind"]), "simple" | "extended") && request["prepared"] == false {
            out.push(format!("postgres\tquery {}", one_line(text(&request["query"]))));
        }
        for tag in item["response"]["tags"].as_array().into_iter().flatten() {
            out.push(format!("postgres\ttag {}", text(tag)));
        }
    }
    out
}

/// Query texts (Query and Parse messages) and command tags as tshark reads them. One
/// capture runs on port 8000, which tshark must be told is PostgreSQL.
fn tshark_postgres(path: &Path) -> Records {
    let args = ["-r", path.to_str().expect("UTF-8 path"), "-d", "tcp.port==8000,pgsql", "-Y", "pgsql", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1}", "-e", "pgsql.query", "-e", "pgsql.tag"];
    let mut out = Vec::new();
    for line in tshark(&args).lines() {
        let (queries, tags) = line.split_once('\t').unwrap_or((line, ""));
        out.extend(queries.split('\u{1}').filter(|q| !q.is_empty()).map(|q| format!("postgres\tquery {}", one_line(q))));
        out.extend(tags.split('\u{1}').filter(|t| !t.is_empty()).map(|t| format!("postgres\ttag {t}")));
    }
    out
}

fn remora_mysql(items: &[Value]) -> Records {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "mysql") {
        let command = text(&item["request"]["command"]);
        if matches!(command, "Query" | "Prepare") {
            out.push(format!("mysql\t{command} {}", one_line(text(&item["request"]["query"]))));
        }
        if let Some(code) = item["response"]["error"]["code"].as_u64() {
            out.push(format!("mysql\terror {code}"));
        }
    }
    out
}

/// Query and Prepare SQL and error codes as tshark reads them (one capture runs on port
/// 30130, which tshark must be told is MySQL).
fn tshark_mysql(path: &Path) -> Records {
    let args = ["-r", path.to_str().expect("UTF-8 path"), "-d", "tcp.port==30130,mysql", "-Y", "mysql.query or mysql.error_code", "-T", "fields", "-e", "mysql.command", "-e", "mysql.query", "-e", "mysql.error_code"];
    let mut out = Vec::new();
    for line in tshark(&args).lines() {
        let cells: Vec<&str> = line.split('\t').collect();
        match (cells.first().copied(), cells.get(1).copied().unwrap_or("")) {
            (Some("3"), query) if !query.is_empty() => out.push(format!("mysql\tQuery {}", one_line(query))),
            (Some("22"), query) if !query.is_empty() => out.push(format!("mysql\tPrepare {}", one_line(query))),
            _ => {}
        }
        if let Some(code) = cells.get(2).filter(|c| !c.is_empty()) {
            out.push(format!("mysql\terror {code}"));
        }
    }
    out
}

fn icmp_record(kind: &str, code: &str, id: &str, seq: &str) -> String {
    format!("icmp\t{kind} {code} id={id} seq={seq}")
}

/// Each ICMP message (echo replies included): type, code, identifier, sequence.
fn remora_icmp(items: &[Value]) -> Records {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "icmp") {
        for message in [&item["request"], &item["response"]].into_iter().filter(|m| m.is_object()) {
            let field = |name: &str| message[name].as_u64().unwrap_or(0).to_string();
            let echo = message["typeName"].as_str().is_some_and(|n| n.starts_with("echo"));
            let (id, seq) = if echo { (field("identifier"), field("sequence")) } else { ("-".into(), "-".into()) };
            out.push(icmp_record(&field("type"), &field("code"), &id, &seq));
        }
    }
    out
}

/// The same from tshark (ICMP and ICMPv6); it reads the identifier big-endian as sent.
fn tshark_icmp(path: &Path) -> Records {
    let args = ["-r", path.to_str().expect("UTF-8 path"), "-Y", "icmp or icmpv6", "-T", "fields", "-E", "occurrence=f", "-e", "icmp.type", "-e", "icmp.code", "-e", "icmp.ident", "-e", "icmp.seq", "-e", "icmpv6.type", "-e", "icmpv6.code", "-e", "icmpv6.echo.identifier", "-e", "icmpv6.echo.sequence_number"];
    tshark(&args)
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let at = if cols.first().is_some_and(|c| !c.is_empty()) { 0 } else { 4 };
            // ICMPv6's identifier is printed in hex.
            let col = |i: usize| match cols.get(at + i).copied().filter(|c| !c.is_empty()) {
                Some(hex) if hex.starts_with("0x") => u64::from_str_radix(&hex[2..], 16).map_or(hex.to_string(), |n| n.to_string()),
                Some(text) => text.to_string(),
                None => "-".to_string(),
            };
            icmp_record(&col(0), &col(1), &col(2), &col(3))
        })
        .collect()
}

fn websocket_record(sender: &str, opcode: &str, size: u64, fragments: u64) -> String {
    format!("websocket\tfrom {sender} {opcode} size={size} fragments={fragments}")
}

/// Each WebSocket message (a ping's pong and a close's reply included) by its sender's
/// port: opcode, payload bytes, frames.
fn remora_websocket(items: &[Value]) -> Records {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "websocket") {
        for (message, sender) in [(&item["request"], &item["src"]), (&item["response"], &item["dst"])] {
            if message.is_object() {
                out.push(websocket_record(text(&sender["port"]), text(&message["opcode"]), message["size"].as_u64().unwrap_or(0), message["fragments"].as_u64().unwrap_or(0)));
            }
        }
    }
    out
}

/// The same from tshark's frames: continuation frames (opcode 0) join the sender's message.
fn tshark_websocket(path: &Path) -> Records {
    let args = ["-r", path.to_str().expect("UTF-8 path"), "-Y", "websocket", "-T", "fields", "-E", "occurrence=a", "-e", "tcp.srcport", "-e", "websocket.fin", "-e", "websocket.opcode", "-e", "websocket.payload_length", "-e", "websocket.payload_length_ext_16", "-e", "websocket.payload_length_ext_64"];
    let name = |opcode: u64| match opcode {
        1 => "text".to_string(),
        2 => "binary".to_string(),
        8 => "close".to_string(),
        9 => "ping".to_string(),
        10 => "pong".to_string(),
        other => format!("opcode {other}"),
    };
    let mut open: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    let mut out = Vec::new();
    for line in tshark(&args).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let list = |i: usize| cols.get(i).map(|c| c.split(',').map(|v| v.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>()).unwrap_or_default();
        let (fins, opcodes, mut lengths) = (list(1), list(2), list(3));
        // 126 and 127 say the length is in the 16- or 64-bit field (listed only for those frames).
        let (mut ext16, mut ext64) = (list(4).into_iter(), list(5).into_iter());
        for len in &mut lengths {
            *len = match *len {
                126 => ext16.next().unwrap_or(0),
                127 => ext64.next().unwrap_or(0),
                short => short,
            };
        }
        for ((fin, opcode), len) in fins.iter().zip(&opcodes).zip(&lengths) {
            let sender = cols[0].to_string();
            let message = if *opcode == 0 {
                open.get_mut(&sender).map(|m| {
                    m.1 += len;
                    m.2 += 1;
                    *m
                })
            } else {
                Some((*opcode, *len, 1))
            };
            match (message, *fin == 1) {
                (Some((opcode, size, fragments)), true) => {
                    open.remove(&sender);
                    out.push(websocket_record(&sender, &name(opcode), size, fragments));
                }
                (Some(partial), false) if *opcode != 0 => {
                    open.insert(sender, partial);
                }
                _ => {}
            }
        }
    }
    out
}

/// Ports of the HTTP/2 captures that tshark needs told about (MANIFEST.tsv, column 9).
const HTTP2_PORTS: [u16; 5] = [3550, 30035, 9001, 38888, 20035];

fn http2_record(stream: &str, method: &str, path: &str, authority: &str, status: &str, grpc_status: &str, messages: [&[u64]; 2]) -> String {
    let sizes = |list: &[u64]| list.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    format!("http2\tstream={stream} {method} {path} authority={authority} status={status} grpc-status={grpc_status} messages={}/{}", sizes(messages[0]), sizes(messages[1]))
}

/// One record per HTTP/2 stream: the request's pseudo-header fields, the final status,
/// the gRPC status and each gRPC message's size per direction.
fn remora_http2(items: &[Value]) -> Records {
    let sizes = |grpc: &Value| grpc["messages"].as_array().map(|m| m.iter().filter_map(|m| m["size"].as_u64()).collect::<Vec<_>>()).unwrap_or_default();
    items
        .iter()
        .filter(|i| i["protocol"]["version"] == "2.0")
        .map(|i| {
            let (r, s) = (&i["request"], &i["response"]);
            // An h2c upgrade's request travelled as HTTP/1.1: tshark's HTTP/2 stream 1 has none.
            let h2 = r["httpVersion"] == "HTTP/2.0";
            let field = |name: &str| if h2 { text(&r["headers"][name]).to_string() } else { String::new() };
            let status = s["status"].as_u64().map_or(String::new(), |c| c.to_string());
            let grpc_status = s["grpc"]["status"].as_u64().map_or(String::new(), |c| c.to_string());
            let stream = r["streamId"].to_string();
            http2_record(&stream, &field(":method"), &field(":path"), &field(":authority"), &status, &grpc_status, [&sizes(&r["grpc"]), &sizes(&s["grpc"])])
        })
        .collect()
}

/// Whether a capture holds HTTP/2 (its name starts with the protocol, as in
/// ../shared/pcaps): reading the others' PDML would only slow the test, and Remora's
/// HTTP/2 items from them would still show as differences.
fn holds_http2(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.starts_with("http2__") || name.starts_with("grpc__")
}

/// The same from tshark's PDML: header fields and gRPC message lengths grouped by TCP
/// connection and HTTP/2 stream; a direction is the request's if its source port sent
/// the `:method`.
fn tshark_http2(path: &Path) -> Records {
    if !holds_http2(path) {
        return Records::new();
    }
    #[derive(Default)]
    struct Stream {
        fields: Vec<(String, String)>,
        client_port: Option<String>,
        messages: [Vec<u64>; 2],
    }
    let mut args = vec!["-r".to_string(), path.to_str().expect("UTF-8 path").to_string()];
    for port in HTTP2_PORTS {
        args.extend(["-d".to_string(), format!("tcp.port=={port},http2")]);
    }
    args.extend(["-Y", "http2", "-T", "pdml"].map(String::from));
    let pdml = tshark(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let attr = |line: &str, name: &str| line.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).map(unescape_xml).unwrap_or_default();
    let mut streams: std::collections::BTreeMap<(String, u64), Stream> = Default::default();
    let (mut connection, mut port, mut id, mut name) = (String::new(), String::new(), 0u64, String::new());
    for line in pdml.lines().map(str::trim) {
        let show = || attr(line, "show");
        match attr(line, "name").as_str() {
            "tcp.stream" => connection = show(),
            "tcp.srcport" => port = show(),
            "http2.streamid" => id = show().parse().unwrap_or(0),
            "http2.header.name" => name = show(),
            "http2.header.value" => {
                let stream = streams.entry((connection.clone(), id)).or_default();
                if name == ":method" {
                    stream.client_port = Some(port.clone());
                }
                stream.fields.push((std::mem::take(&mut name), show()));
            }
            "grpc.message_length" => {
                let stream = streams.entry((connection.clone(), id)).or_default();
                let side = usize::from(stream.client_port.as_ref() != Some(&port));
                stream.messages[side].push(show().parse().unwrap_or(0));
            }
            _ => {}
        }
    }
    streams
        .into_iter()
        .filter(|((_, id), s)| *id != 0 && !s.fields.is_empty())
        .map(|((_, id), s)| {
            let field = |name: &str| s.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
            let status = s.fields.iter().filter(|(n, _)| n == ":status").map(|(_, v)| v.clone()).find(|v| !v.starts_with('1')).unwrap_or_default();
            http2_record(&id.to_string(), &field(":method"), &field(":path"), &field(":authority"), &status, &field("grpc-status"), [&s.messages[0], &s.messages[1]])
        })
        .collect()
}

/// A Kafka request and its response as one record: `<api key> v<version> corr=<id>
/// client=<id> topics=[...] -> topics=[...] error=<first non-zero, or 0>`, `-> -` when
/// unanswered, `error=-` when no error code was read.
fn kafka_record(request: Option<(&str, &str, &str)>, correlation_id: &str, request_topics: &[String], answer: Option<(&[String], &[String])>) -> String {
    let (key, version, client) = request.unwrap_or(("-", "-", "-"));
    let answer = match answer {
        Some((topics, errors)) => {
            let error = errors.iter().find(|e| *e != "0").or(errors.first()).map_or("-", |e| e.as_str());
            format!("topics=[{}] error={error}", topics.join(","))
        }
        None => "-".into(),
    };
    format!("kafka\t{key} v{version} corr={correlation_id} client={client} topics=[{}] -> {answer}", request_topics.join(","))
}

fn remora_kafka(items: &[Value]) -> Records {
    let names = |topics: &Value| -> Vec<String> { topics.as_array().into_iter().flatten().map(|t| text(&t["name"]).to_string()).filter(|n| !n.is_empty()).collect() };
    items
        .iter()
        .filter(|i| i["protocol"]["name"] == "kafka")
        .map(|i| {
            let (r, s) = (&i["request"], &i["response"]);
            let (key, version) = (r["apiKey"].to_string(), r["apiVersion"].to_string());
            let request = (r["apiKey"] != -1).then_some((key.as_str(), version.as_str(), text(&r["clientId"])));
            let errors: Vec<String> = s["errorCode"].as_i64().map(|e| e.to_string()).into_iter().collect();
            let answer_topics = names(&s["topics"]);
            let answer = s.is_object().then_some((answer_topics.as_slice(), errors.as_slice()));
            kafka_record(request, &r["correlationId"].to_string(), &names(&r["topics"]), answer)
        })
        .collect()
}

/// Kafka requests and responses as tshark reads them (one capture runs on port 36333,
/// which tshark must be told is Kafka), paired by TCP stream and correlation id as the
/// protocol pairs them (tshark leaves a response unpaired when it could not read its
/// request's body).
fn tshark_kafka(path: &Path) -> Records {
    let fields = ["tcp.stream", "kafka.api_key", "kafka.api_version", "kafka.correlation_id", "kafka.client_id", "kafka.request_frame", "kafka.topic_name", "kafka.error"];
    let mut args = vec!["-r", path.to_str().expect("UTF-8 path"), "-d", "tcp.port==36333,kafka", "-Y", "kafka", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1}"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    let list = |cell: &str| -> Vec<String> { cell.split('\u{1}').filter(|c| !c.is_empty()).map(str::to_string).collect() };
    let rows: Vec<Vec<String>> = tshark(&args).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    let cell = |row: &Vec<String>, at: usize| row.get(at).cloned().unwrap_or_default();
    let is_response = |row: &Vec<String>| !cell(row, 5).is_empty() || cell(row, 1).is_empty();
    let mut answered = vec![false; rows.len()];
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| !is_response(r)) {
        let answer = rows.iter().enumerate().find(|(at, r)| !answered[*at] && is_response(r) && cell(r, 0) == cell(row, 0) && cell(r, 3) == cell(row, 3));
        let (key, version, client) = (cell(row, 1), cell(row, 2), cell(row, 4));
        let (topics, errors) = match answer {
            Some((at, r)) => {
                answered[at] = true;
                (list(&cell(r, 6)), Some(list(&cell(r, 7))))
            }
            None => (Vec::new(), None),
        };
        out.push(kafka_record(Some((&key, &version, &client)), &cell(row, 3), &list(&cell(row, 6)), errors.as_ref().map(|e| (topics.as_slice(), e.as_slice()))));
    }
    for (_, r) in rows.iter().enumerate().filter(|(at, r)| is_response(r) && !answered[*at]) {
        out.push(kafka_record(None, &cell(r, 3), &[], Some((&list(&cell(r, 6)), &list(&cell(r, 7))))));
    }
    out
}

/// One AMQP method frame as a record: the method, then channel, exchange, routing key,
/// queue, consumer tag, delivery tag and reply code.
fn amqp_record(method: &str, fields: [&str; 8]) -> String {
    let labels = ["ch", "x", "dest", "rk", "q", "ct", "dt", "code"];
    let fields: Vec<String> = labels.iter().zip(fields).map(|(label, value)| format!("{label}={value}")).collect();
    format!("amqp\t{method} {}", fields.join(" "))
}

/// Every method frame of Remora's AMQP items: each item's method, and its reply unless
/// that is a Close (a Close is an item of its own as well).
fn remora_amqp(items: &[Value]) -> Records {
    let number = |v: &Value| v.as_u64().map_or(String::new(), |n| n.to_string());
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i["protocol"]["name"] == "amqp") {
        let (r, s) = (&item["request"], &item["response"]);
        let channel = r["channel"].to_string();
        if !text(&r["method"]).is_empty() {
            out.push(amqp_record(text(&r["method"]), [&channel, text(&r["exchange"]), text(&r["destination"]), text(&r["routingKey"]), text(&r["queue"]), text(&r["consumerTag"]), &number(&r["deliveryTag"]), &number(&r["replyCode"])]));
        }
        if s.is_object() && !text(&s["method"]).ends_with(".Close") {
            out.push(amqp_record(text(&s["method"]), [&channel, text(&s["exchange"]), "", text(&s["routingKey"]), text(&s["queue"]), text(&s["consumerTag"]), &number(&s["deliveryTag"]), ""]));
        }
    }
    out
}

/// Every AMQP method frame as tshark reads it, named as tshark names its class and
/// method (`Queue` and `Declare-Ok` → `Queue.Declare-Ok`).
fn tshark_amqp(path: &Path) -> Records {
    let mut method_names = std::collections::BTreeMap::new();
    let mut class = None;
    for (field, show, name) in tshark_shown(path, "amqp.type == 1") {
        match field.as_str() {
            "amqp.method.class" => class = Some((shown_number(&show), name)),
            "amqp.method.method" => {
                if let Some((number, class_name)) = &class {
                    method_names.insert((*number, shown_number(&show)), format!("{class_name}.{name}"));
                }
            }
            _ => {}
        }
    }
    let json = tshark(&["-r", path.to_str().expect("UTF-8 path"), "-Y", "amqp.type == 1", "-T", "json", "--no-duplicate-keys", "-J", "amqp"]);
    let packets: Vec<Value> = serde_json::from_str(&json).expect("tshark JSON");
    let mut out = Vec::new();
    for packet in &packets {
        let layers = match &packet["_source"]["layers"]["amqp"] {
            Value::Array(many) => many.iter().collect(),
            one => vec![one],
        };
        for frame in layers.into_iter().filter(|f| text(&f["amqp.type"]) == "1") {
            let id = |field: &str| text(&frame[field]).parse::<u16>().unwrap_or(0);
            let name = method_names.get(&(id("amqp.method.class"), id("amqp.method.method"))).cloned().unwrap_or_else(|| "?".to_string());
            let arg = |name: &str| text(&frame["amqp.method.arguments"][format!("amqp.method.arguments.{name}")]).to_string();
            let code = if name.ends_with(".Close") || name == "Basic.Return" { arg("reply_code") } else { String::new() };
            // Exchange.Bind and Unbind name a source exchange and a destination instead.
            let exchange = if name == "Exchange.Bind" || name == "Exchange.Unbind" { arg("source") } else { arg("exchange") };
            out.push(amqp_record(&name, [text(&frame["amqp.channel"]), &exchange, &arg("destination"), &arg("routing_key"), &arg("queue"), &arg("consumer_tag"), &arg("delivery_tag"), &code]));
        }
    }
    out
}

/// The differences a checked-in file explains: `<file>\t<side>\t<protocol>\t<record>\t<reason>`.
fn expected_differences() -> BTreeSet<String> {
    let text = std::fs::read_to_string(data_dir().join("tshark-differences.tsv")).expect("tshark-differences.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() == 5 && !cols[4].trim().is_empty(), "each difference needs file, side, protocol, record and a reason: {l}");
            cols[..4].join("\t")
        })
        .collect()
}

/// Lines in `a` that are not matched one-for-one in `b`.
fn minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut rest = b.to_vec();
    a.iter()
        .filter(|x| match rest.iter().position(|y| y == *x) {
            Some(at) => {
                rest.remove(at);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

/// The least number of tshark records each protocol's comparison must have.
const FLOORS: [(&str, usize); 11] = [
    ("amqp", 150),
    ("dns", 20),
    ("http", 20),
    ("http2", 15),
    ("icmp", 15),
    ("kafka", 5),
    ("mysql", 25),
    ("postgres", 60),
    ("redis", 15),
    ("tls", 6),
    ("websocket", 12),
];

#[test]
fn items_match_tshark_on_every_capture() {
    let mut seen = BTreeSet::new();
    let mut compared = std::collections::BTreeMap::new();
    for path in capture_files() {
        let name = path.file_name().and_then(|n| n.to_str()).expect("file name").to_string();
        let items = replay_items(&path);
        let ours: Records = remora_http(&items).into_iter().chain(remora_dns(&items)).chain(remora_redis(&items)).chain(remora_tls(&items)).chain(remora_postgres(&items)).chain(remora_mysql(&items)).chain(remora_http2(&items)).chain(remora_websocket(&items)).chain(remora_icmp(&items)).chain(remora_kafka(&items)).chain(remora_amqp(&items)).collect();
        let theirs = tshark_records(&path);
        for record in &theirs {
            *compared.entry(record.split('\t').next().unwrap_or("").to_string()).or_insert(0usize) += 1;
        }
        for line in minus(&ours, &theirs) {
            seen.insert(format!("{name}\tremora-only\t{line}"));
        }
        for line in minus(&theirs, &ours) {
            seen.insert(format!("{name}\ttshark-only\t{line}"));
        }
    }
    eprintln!("records compared per protocol: {compared:?}");
    // Each protocol's comparison stands on enough records of its own (what the captures
    // hold today, so a pass that silently finds nothing fails).
    for (protocol, floor) in FLOORS {
        let count = compared.get(protocol).copied().unwrap_or(0);
        assert!(count >= floor, "only {count} {protocol} records compared with tshark (at least {floor} expected)");
    }
    let expected = expected_differences();
    let unexplained: Vec<&String> = seen.difference(&expected).collect();
    let stale: Vec<&String> = expected.difference(&seen).collect();
    assert!(unexplained.is_empty(), "differences from tshark not in tshark-differences.tsv:\n{}", unexplained.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
    assert!(stale.is_empty(), "listed differences that no longer occur (remove them):\n{}", stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
    assert!(expected.len() <= 12, "the list of differences must stay short");
}

/// Kafka's API keys by the names DeepFlow prints (the Kafka protocol's numbers).
const KAFKA_KEYS: [(&str, u16); 12] = [
    ("Produce", 0),
    ("Fetch", 1),
    ("ListOffsets", 2),
    ("Metadata", 3),
    ("OffsetCommit", 8),
    ("OffsetFetch", 9),
    ("FindCoordinator", 10),
    ("JoinGroup", 11),
    ("Heartbeat", 12),
    ("LeaveGroup", 13),
    ("SyncGroup", 14),
    ("ApiVersions", 18),
];

/// DeepFlow's expected Kafka exchanges for a capture (tests/data/pcaps/deepflow-expected),
/// as records of `kafka_record`'s form: each request with the response of its
/// correlation id. DeepFlow keeps one topic per message.
fn deepflow_kafka(capture: &str) -> Records {
    let path = data_dir().join("deepflow-expected").join(format!("{capture}.result"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let field = |line: &str, name: &str| -> String {
        let Some((_, rest)) = line.split_once(&format!(" {name}: ")) else { return String::new() };
        let value = rest.split(", ").next().unwrap_or("");
        let value = value.strip_prefix("Some(").and_then(|v| v.strip_suffix(')')).unwrap_or(value);
        value.trim_matches('"').to_string()
    };
    let messages: Vec<&str> = text.lines().filter(|l| l.starts_with("KafkaInfo {")).collect();
    let topics = |line: &str| -> Vec<String> { Some(field(line, "topic_name")).filter(|t| !t.is_empty()).into_iter().collect() };
    messages
        .iter()
        .filter(|l| field(l, "msg_type") == "Request")
        .map(|request| {
            let id = field(request, "correlation_id");
            let key = KAFKA_KEYS.iter().find(|(name, _)| *name == field(request, "api_key")).map_or("?".to_string(), |(_, n)| n.to_string());
            let response = messages.iter().find(|l| field(l, "msg_type") == "Response" && field(l, "correlation_id") == id);
            let answer = response.map(|r| (topics(r), vec![field(r, "status_code")]));
            let (version, client) = (field(request, "api_version"), field(request, "client_id"));
            kafka_record(Some((&key, &version, &client)), &id, &topics(request), answer.as_ref().map(|(t, e)| (t.as_slice(), e.as_slice())))
        })
        .collect()
}

/// The Kafka records only Remora has (tshark 4.0 cannot decode those versions) are what
/// DeepFlow's own parser expects of the same captures.
#[test]
fn kafka_records_tshark_cannot_read_match_deepflow() {
    let text = std::fs::read_to_string(data_dir().join("tshark-differences.tsv")).expect("tshark-differences.tsv");
    let rows: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() == 5 && cols[1] == "remora-only" && cols[2] == "kafka").then(|| (cols[0].to_string(), format!("kafka\t{}", cols[3])))
        })
        .collect();
    assert!(rows.len() >= 2, "{rows:?}");
    for (capture, record) in rows {
        let expected = deepflow_kafka(&capture);
        assert!(expected.contains(&record), "{capture}: Remora's {record:?} is not among DeepFlow's expected exchanges:\n{}", expected.join("\n"));
    }
}
