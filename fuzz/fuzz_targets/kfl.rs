//! Fuzzes KFL: any text is compiled, and what compiles is evaluated on a real-shaped item
//! (HTTP with headers, a JSON body, arrays) and redacted as it goes. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(query) = remora_kfl::Query::compile(text) else { return };
    let mut item = serde_json::json!({
        "protocol": {"name": "http", "layer4": "tcp"},
        "request": {"method": "GET", "path": "/a/b", "pathSegments": ["a", "b"], "headers": {"host": "x"}, "questions": [{"name": "q", "type": "A"}]},
        "response": {"status": 200, "body": "{\"k\": [1, 2, {\"z\": null}]}", "xml": "<a><b>1</b><b>2</b></a>", "interim": [100]},
        "src": {"ip": "10.0.0.1", "port": "80", "name": "", "namespace": "n"},
        "timestamp": 1700000000000i64, "elapsedTime": 3, "passed": false
    });
    let _ = query.matches_value_at(&item, 1_700_000_000_000);
    let _ = query.explain();
    let _ = query.evaluate_at(&mut item, 1_700_000_000_000);
});
