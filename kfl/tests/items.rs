//! Queries over real items: every HTTP pair and DNS exchange of four test captures, made
//! by the sidecar's pipeline. Each query's match count is checked, and boolean laws hold
//! for every item.

use std::path::Path;

use remora_kfl::Query;
use remora_sidecar::pipeline::{Pipeline, PipelineConfig};
use remora_sidecar::replay::replay_file;
use serde_json::Value;

fn items() -> Vec<Value> {
    items_of(&["http1__zeek__pipelined-requests.pcap", "http1__zeek__docker-http-upgrade.pcap", "http1__zeek__100-continue.pcap", "dns__zeek__long-connection.pcap"])
}

fn items_of(files: &[&str]) -> Vec<Value> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/pcaps");
    let mut items = Vec::new();
    let mut pipeline = Pipeline::new(PipelineConfig::default(), None);
    for file in files {
        let mut sink = |item: remora_model::Item| items.push(serde_json::to_value(&item).expect("item JSON"));
        replay_file(&data.join(file), &mut pipeline, &mut sink, &mut |_| {}).expect("replays");
    }
    items
}

/// The clock the queries run at: 2026-12-01T00:00:00Z, so that `now()`, `years(-30)`
/// and the like give the same answers in 2040 as today.
const NOW_MS: i64 = 1_796_083_200_000;

fn count(query: &str, items: &[Value]) -> usize {
    let q = Query::compile(query).unwrap_or_else(|e| panic!("{query}: {e}\n{}", e.caret()));
    assert!(q.warnings().is_empty(), "{query}: {:?}", q.warnings());
    items.iter().filter(|i| q.evaluate_at(&mut (*i).clone(), NOW_MS)).count()
}

#[test]
fn every_operator_helper_and_variable_on_real_items() {
    let items = items();
    assert_eq!(items.len(), 23, "5 + 6 + 1 HTTP pairs and 11 DNS exchanges");
    let table: [(&str, usize); 57] = [
        ("request.postData.text.json().Image == \"busybox\" and request.postData.text.json().Cmd.* == \"/bin/sh\"", 1),
        ("response.content.text.xml() == nil", 23),
        ("timestamp < now() and timestamp > years(-30) and timestamp < seconds(0)", 23),
        ("timestamp > datetime(\"1/1/2000, 12:00:00 AM\") and timestamp > timestamp(\"2000-01-01T00:00:00Z\")", 23),
        ("elapsedTime >= duration(\"1s\")", 2),
        ("http and limit(5) and redact(\"request.headers.host\")", 12),
        ("request.query.stream == \"1\"", 1),
        ("tls", 0),
        ("!tls && !(status_code == nil && dns_request == false)", 23),
        ("query_string.stream == \"1\"", 1),
        ("request_headers[\"content-type\"] == \"application/json\"", 1),
        ("response_headers.server.contains(\"Apache\")", 6),
        ("request_body_size > 0", 2),
        ("dns_question_types.* == \"MX\"", 1),
        ("dns_request", 11),
        ("src.pod.name == \"\" and dst.service.namespace == \"\" and dst.pod.namespace == nil", 0),
        ("src.service.name == src.name", 23),
        ("http", 12),
        ("dns", 11),
        ("http or dns", 23),
        ("http && dns", 0),
        ("!http", 11),
        ("tcp", 12),
        ("udp", 11),
        ("protocol == \"dns\"", 11),
        ("protocol.name == \"http\" and protocol.version == \"1.1\"", 12),
        ("http and request.method == \"GET\"", 5),
        ("method == \"POST\"", 6),
        ("method in [\"HEAD\", \"POST\"]", 7),
        ("http and response.status == 200", 9),
        ("status_code >= 200 && status_code < 300", 11),
        ("response.status == r\"2.*\"", 11),
        ("response.status == r\"1.*\"", 1),
        ("response.status != 200 and http", 3),
        ("response.upgrade == \"tcp\"", 1),
        ("response.interim.* == 100", 1),
        ("request.headers[\"host\"] == \"www.mozilla.org\"", 5),
        ("request.headers.host.endsWith(\":2375\")", 6),
        ("\"expect\" in request.headers", 1),
        ("request.path.startsWith(\"/v1.41/containers\")", 5),
        ("path.contains(\"images\")", 3),
        ("url.matches(\"\\\\.(png|gif)$\")", 3),
        ("request.pathSegments[0] == \"images\"", 2),
        ("request.pathSegments.* == \"screen\"", 2),
        ("size(request.pathSegments) > 3", 7),
        ("response.content.mimeType == \"image/png\" or response.content.mimeType == \"image/gif\"", 3),
        ("response.bodySize > 10000", 2),
        ("response_body_size > 10000", 2),
        ("elapsedTime > 1000 or elapsed_time > 1000", 2),
        ("dns and request.questions[0].type == \"AAAA\"", 6),
        ("dns_questions.* == \"www.netbsd.org\"", 3),
        ("\"www.netbsd.org\" in dns_questions", 3),
        ("dns_answers.* == \"204.152.190.12\"", 1),
        ("response.rcodeName == \"NXDOMAIN\" and dns_rcode == \"NXDOMAIN\"", 1),
        ("dns_response and response.code == \"No Error\"", 10),
        ("src.port == \"32795\" and src.port == 32795 and dst.port > 50", 11),
        ("src.ip.startsWith(\"192.168.122.\") and \"\" in namespaces", 6),
    ];
    let mut wrong = Vec::new();
    for (query, want) in table {
        let seen = count(query, &items);
        if seen != want {
            wrong.push(format!("{query}: {seen} (want {want})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A tiny deterministic generator, so the laws are checked on the same queries each run.
struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        from[(self.0 >> 33) as usize % from.len()]
    }
}

#[test]
fn boolean_laws_hold_on_every_item() {
    let items = items();
    let atoms = [
        "http", "dns", "response.status == 200", "response.status >= 300", "request.method == \"GET\"", "missing == nil", "response.interim.* == 100",
        "dns_questions.* == \"www.netbsd.org\"", "elapsedTime > 100", "request.headers.host.contains(\"mozilla\")", "src.port == 32795", "response == nil", "tls",
    ];
    let mut rng = Lcg(7);
    for _ in 0..200 {
        let (a, b, c) = (rng.pick(&atoms), rng.pick(&atoms), rng.pick(&atoms));
        let laws = [
            (format!("({a}) and ({b})"), format!("!(!({a}) or !({b}))")),
            (format!("({a}) or ({b})"), format!("!(!({a}) and !({b}))")),
            (format!("!!({a})"), format!("({a}) == true or ({a}) and true")),
            (format!("({a}) and (({b}) or ({c}))"), format!("(({a}) and ({b})) or (({a}) and ({c}))")),
            (format!("({a}) && ({b})"), format!("({b}) and ({a})")),
        ];
        for (left, right) in laws {
            let (l, r) = (Query::compile(&left).expect("left"), Query::compile(&right).expect("right"));
            for item in &items {
                assert_eq!(l.matches_value(item), r.matches_value(item), "{left}  vs  {right}\non {}", item["id"]);
            }
        }
    }
}

/// HTTP/2 and gRPC items are `http` items with macros `http2` and `grpc`: the protocol
/// words select by either, on items from real h2c and gRPC captures.
#[test]
fn http2_and_grpc_words_match_their_macros() {
    let items = items_of(&["http2__suricata-verify__http2-range.pcap", "grpc__deepflow__grpc-service-name.pcap"]);
    // range: 3 upgrades (HTTP/1.1), 3 HTTP/2 answers, 2 plain HTTP/1.1 requests; one gRPC call.
    assert_eq!((count("http", &items), count("http2", &items), count("grpc", &items)), (9, 3, 1));
    assert_eq!(count("http2 and response.status == 206", &items), 3);
    assert_eq!(count("grpc and request.grpc.method == \"ClientStreamRPC\" and response.grpc.statusName == \"OK\"", &items), 1);
    assert_eq!(count("graphql", &items), 0);
}
