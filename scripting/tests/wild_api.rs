//! The helpers that scripts shared for this API call beyond the reference pages
//! (`console.clear`, `utils.*`, `prometheus.*`, `wrapper.buildHAR/joinMaps/pcapSnapshot`,
//! `vendor.webhookForm`'s argument checks, `hub.targeted`), legacy capitalised access to
//! `data`, and the sloppy-mode ES5 such scripts are written in.

mod common;

use common::{item, Harness, ITEM};
use remora_scripting::{Level, Node};

#[test]
fn sloppy_mode_scripts_load_octal_escapes_with_and_functions_in_blocks() {
    let mut h = Harness::new(|_| {});
    let source = r#"
var BLUE = "\033[34m", RESET = "\033[0m";
var point = {x: 1, y: 2};
with (point) { console.log(BLUE + (x + y) + RESET); }
if (true) { function inBlock() { return 'declared in a block'; } }
console.log(inBlock(), 010 + 1);
"#;
    h.host.load_source("sloppy.js", source).expect("loads");
    assert_eq!(h.printed(), ["[sloppy.js] \u{1b}[34m3\u{1b}[0m", "[sloppy.js] declared in a block 9"]);
}

#[test]
fn console_clear_is_a_marker_line() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("c.js", "console.log('before'); console.clear(); console.log('after');").expect("loads");
    let lines = h.lines.borrow().clone();
    assert_eq!(lines.iter().map(|l| l.level).collect::<Vec<_>>(), [Level::Log, Level::Clear, Level::Log]);
    assert_eq!(h.printed()[1], "[c.js] \u{c}");
}

#[test]
fn utils_name_the_node_and_turn_json_into_yaml() {
    let mut h = Harness::new(|c| c.node = Node::new("worker-7".into(), "10.0.0.7".into()));
    let source = r#"
console.log(utils.nodeName());
console.log(utils.json2Yaml('{"kind": "Pod", "spec": {"ports": [80, 443], "tls": true, "note": null}}'));
console.log(utils.json2Yaml({a: 'b: c'}));
try { utils.json2Yaml('{"unterminated": '); } catch (e) { console.log(e.message); }
try { utils.json2Yaml(42); } catch (e) { console.log(e.message); }
"#;
    h.host.load_source("u.js", source).expect("loads");
    let printed = h.printed();
    assert_eq!(printed[0], "[u.js] worker-7");
    assert_eq!(printed[1], "[u.js] kind: Pod\nspec:\n  note: null\n  ports:\n  - 80\n  - 443\n  tls: true\n");
    assert_eq!(printed[2], "[u.js] a: 'b: c'\n");
    assert!(printed[3].starts_with("[u.js] utils.json2Yaml: the argument is not JSON: EOF while parsing a value at line 1 column 17"), "{printed:?}");
    assert_eq!(printed[4], "[u.js] utils.json2Yaml: the argument must be a JSON string");
}

#[test]
fn prometheus_helpers_keep_metrics_and_refuse_bad_input_by_name() {
    let mut h = Harness::new(|_| {});
    let source = r#"
prometheus.metric('shop_items', 'Items seen', 1, 2);
prometheus.metric('shop_items', 'Items seen', 1, 3);
prometheus.vector('shop_status', 'Answers by status', 1, 1, {status: '500', method: 'GET'});
prometheus.vector('shop_latency_ms', 'Last latency', 2, 84, {path: '/a'});
prometheus.vector('shop_latency_ms', 'Last latency', 2, 12, {path: '/a'});
function attempt(f) { try { f(); console.log('no error'); } catch (e) { console.log(e.message); } }
attempt(function () { prometheus.metric('shop-items', 'x', 1, 1); });
attempt(function () { prometheus.metric('shop_up', 'x', 3, 1); });
attempt(function () { prometheus.metric('shop_items', 'x', 2, 1); });
attempt(function () { prometheus.vector('shop_status', 'x', 1, 1, {'bad label': 'v'}); });
attempt(function () { prometheus.vector('shop_status', 'x', 1, 1, {status: {nested: 1}}); });
attempt(function () { prometheus.metric('shop_items', 'x', 1, -1); });
attempt(function () { prometheus.metric('shop_items', 'x', 1, 'many'); });
"#;
    h.host.load_source("p.js", source).expect("loads");
    assert_eq!(
        h.printed(),
        [
            "[p.js] prometheus.metric: \"shop-items\" is not a metric name (letters, digits, _ and :, not starting with a digit)",
            "[p.js] prometheus.metric: argument 3 (type) must be 1 (counter) or 2 (gauge), not 3",
            "[p.js] prometheus.metric: shop_items is a counter, not a gauge",
            "[p.js] prometheus.vector: shop_status: \"bad label\" is not a label name (letters, digits and _, not starting with a digit or __)",
            "[p.js] prometheus.vector: argument 5 (labels): the value of \"status\" must be a string",
            "[p.js] prometheus.metric: shop_items is a counter: it only goes up (value -1)",
            "[p.js] prometheus.metric: argument 4 (value) must be a number",
        ]
    );
    assert_eq!(
        h.host.metrics().render(),
        "# HELP shop_items Items seen\n# TYPE shop_items counter\nshop_items 5\n\
         # HELP shop_latency_ms Last latency\n# TYPE shop_latency_ms gauge\nshop_latency_ms{path=\"/a\"} 12\n\
         # HELP shop_status Answers by status\n# TYPE shop_status counter\nshop_status{method=\"GET\",status=\"500\"} 1\n"
    );
    assert_eq!(h.host.report().metrics, h.host.metrics().render());
}

#[test]
fn a_metric_past_its_series_cap_says_so_once() {
    let mut h = Harness::new(|c| c.call_budget = std::time::Duration::from_secs(5));
    h.host.load_source("cap.js", "for (var i = 0; i < 1010; i++) prometheus.vector('by_id', 'Per id', 1, 1, {id: String(i)});").expect("loads");
    assert_eq!(h.printed(), ["[cap.js] error: prometheus.vector: by_id has 1000 label sets (or the scripts 10000 in all); new ones are dropped and counted in remora_script_metric_series_dropped_total"]);
    assert!(h.host.metrics().render().ends_with("remora_script_metric_series_dropped_total{metric=\"by_id\"} 10\n"));
}

#[test]
fn hub_targeted_is_empty_offline_and_what_the_process_says_otherwise() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("t.js", "function show() { console.log(hub.targeted()); } show(); this.show = show;").expect("loads");
    h.host.set_targeted(Box::new(|| r#"{"targets":[{"metadata":{"name":"web"}}],"excluded":[]}"#.to_string()));
    h.host.load_source("u.js", "show();").expect("loads");
    assert_eq!(h.printed(), [r#"[t.js] {"targets":[],"excluded":[]}"#, r#"[u.js] {"targets":[{"metadata":{"name":"web"}}],"excluded":[]}"#]);
}

#[test]
fn join_maps_adds_numbers_and_merges_objects_into_the_first() {
    let mut h = Harness::new(|_| {});
    let source = r#"
var totals = {requests: 2, status: {'200': 1}, node: 'a', paths: ['/a']};
var worker = {requests: 3, status: {'200': 4, '500': 1}, node: 'b', paths: ['/b'], fresh: {n: 1}};
var joined = wrapper.joinMaps(totals, worker);
worker.fresh.n = 99;
console.log(joined === totals, JSON.stringify(totals));
console.log(JSON.stringify(wrapper.joinMaps(null, {a: 1})));
try { wrapper.joinMaps({}, 5); } catch (e) { console.log(e.message); }
var loop = {}; loop.self = loop;
try { wrapper.joinMaps({self: {}}, loop); } catch (e) { console.log(e.message); }
"#;
    h.host.load_source("j.js", source).expect("loads");
    assert_eq!(
        h.printed(),
        [
            r#"[j.js] true {"requests":5,"status":{"200":5,"500":1},"node":"b","paths":["/b"],"fresh":{"n":1}}"#,
            r#"[j.js] {"a":1}"#,
            "[j.js] wrapper.joinMaps: argument 2 must be an object",
            "[j.js] wrapper.joinMaps: the maps nest deeper than 64 levels (a cycle?)",
        ]
    );
}

#[test]
fn build_har_makes_a_valid_har_1_2_document() {
    let mut h = Harness::new(|_| {});
    let source = r#"
var kept = [];
function onItemCaptured(data) { kept.push(data); }
function onHubAction(action) {
  var unanswered = JSON.parse(JSON.stringify(kept[0]));
  unanswered.response = null;
  unanswered.error = {type: 'timeout', msg: 'no response in 30 s'};
  var dns = {protocol: {name: 'dns'}, request: {}};
  file.write('items.har', JSON.stringify(wrapper.buildHAR(kept.concat([unanswered, dns]))));
}
"#;
    h.host.load_source("har.js", source).expect("loads");
    h.host.on_item(item(), false);
    h.host.on_hub_action("build", "{}");
    assert!(h.printed().is_empty(), "{:?}", h.printed());
    let har: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(h.data_dir().join("items.har")).expect("written")).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../schema/har/har-1.2.schema.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&har).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{har:#}");
    let log = &har["log"];
    assert_eq!((log["version"].as_str(), log["creator"]["name"].as_str()), (Some("1.2"), Some("remora")));
    assert_eq!(log["comment"], "1 item(s) that are not HTTP left out");
    let entry = &log["entries"][0];
    assert_eq!(entry["request"]["url"], "http://rq.cct.cloud.duba.net/query?1590632942");
    assert_eq!(entry["request"]["queryString"], serde_json::json!([{"name": "1590632942", "value": ""}]));
    assert_eq!((entry["response"]["status"].as_i64(), entry["time"].as_i64(), entry["timings"]["wait"].as_i64()), (Some(500), Some(84), Some(84)));
    assert_eq!(entry["serverIPAddress"], "120.52.183.165");
    assert_eq!(entry["connection"], "000000000001.pcap");
    let unanswered = &log["entries"][1];
    assert_eq!((unanswered["response"]["status"].as_i64(), unanswered["response"]["comment"].as_str()), (Some(0), Some("no response in 30 s")));
}

#[test]
fn legacy_capitalised_access_reads_the_lower_case_fields() {
    let mut h = Harness::new(|_| {});
    let source = r#"
function show(data) {
  console.log(data.Protocol.Name, data.Request.Path, data.Request.Method, data.Response.Status, data.Src.IP, data.protocol.name);
  console.log('Protocol' in data, Object.keys(data).indexOf('Protocol'), JSON.stringify(data).indexOf('"Protocol"'), data.Nope);
  data.Request.Path = '/b';
  console.log(data.request.path, 'Path' in data.request);
}
function onItemCaptured(data) { show(data); }
function onItemQueried(data) { show(data); }
"#;
    h.host.load_source("legacy.js", source).expect("loads");
    h.host.on_item(item(), false);
    h.host.on_item_queried(ITEM);
    let want = ["[legacy.js] http /a POST 500 10.33.0.31 http", "[legacy.js] false -1 -1 undefined", "[legacy.js] /b false"];
    assert_eq!(h.printed(), [want, want].concat());
}

#[test]
fn webhook_form_checks_its_arguments_before_sending() {
    let mut h = Harness::new(|_| {});
    let source = r#"
function attempt(f) { try { f(); console.log('no error'); } catch (e) { console.log(e.message); } }
attempt(function () { vendor.webhookForm('POST', 'ftp://127.0.0.1/', {a: 'b'}); });
attempt(function () { vendor.webhookForm('POST', 'http://127.0.0.1:9/', 'a=b'); });
attempt(function () { vendor.webhookForm('POST', 'http://127.0.0.1:9/', {a: [1]}); });
attempt(function () { vendor.webhookForm('POST', 'http://127.0.0.1:9/', {a: {file: '/etc/passwd'}}); });
"#;
    h.host.load_source("form.js", source).expect("loads");
    assert_eq!(
        h.printed(),
        [
            "[form.js] vendor.webhookForm: argument 2 (url) must be http or https, not ftp",
            "[form.js] vendor.webhookForm: argument 3 (form) must be an object of fields",
            "[form.js] vendor.webhookForm: field \"a\" must be a string, a number, a boolean or {file: path}",
            "[form.js] vendor.webhookForm: field \"a\": \"/etc/passwd\" is neither in the data directory nor a per-stream PCAP; only those files can be sent",
        ]
    );
}
