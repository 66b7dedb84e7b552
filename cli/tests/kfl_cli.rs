//! KFL from the command line: `replay --kfl` and `kfl check`.

mod common;

use common::{data_dir, parse_items, remora};

#[test]
fn replay_prints_only_matching_items_and_counts_them() {
    let capture = data_dir().join("http1__zeek__docker-http-upgrade.pcap");
    let out = remora(&["replay", "-o", "json", "--kfl", "method == \"POST\" && status_code >= 201", capture.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let items = parse_items(&out.stdout);
    let statuses: Vec<u64> = items.iter().filter_map(|i| i["response"]["status"].as_u64()).collect();
    assert_eq!(statuses, [201, 204], "the create (201) and the start (204)");
    assert!(String::from_utf8_lossy(&out.stderr).contains("kfl: 2 of 6 items match"));
}

#[test]
fn a_bad_query_stops_replay_with_a_caret() {
    let capture = data_dir().join("http1__zeek__get.pcap");
    let out = remora(&["replay", "--kfl", "http and (response.status == 200", capture.to_str().expect("path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--kfl: expected ')', found end of query at 32\nhttp and (response.status == 200\n                                ^"), "{stderr}");
}

#[test]
fn kfl_check_explains_or_points_at_the_error() {
    let out = remora(&["kfl", "check", "http and response.status == 500 or dns && limit(3) && redact(\"request.headers.cookie\")"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: ((http and (response.status == 500)) or ((dns and limit(3)) and redact(\"request.headers.cookie\")))\nlimit: 3\nredact: request.headers.cookie\n"
    );
    let out = remora(&["kfl", "check", "http and nope(1)"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning: nope() is not a KFL helper; the query is false"));
    let out = remora(&["kfl", "check", "response.status >"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "error: expected a value after '>' at 17\nresponse.status >\n                 ^\n");
}
