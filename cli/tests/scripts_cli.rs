//! Scripts through the `remora` binary: hostile scripts cannot stop a replay, and
//! `remora scripts check` reports what is wrong before any traffic.

mod common;

use std::path::Path;

use common::{data_dir, parse_items, remora};

fn write(dir: &Path, name: &str, source: &str) {
    std::fs::write(dir.join(name), source).expect("write script");
}

#[test]
fn hostile_scripts_are_contained_and_every_item_still_flows() {
    let scripts = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("temp dir");
    let dir = scripts.path();
    write(dir, "a-loop.js", "function onItemCaptured(data) {\n  while (true) {}\n}\n");
    write(dir, "b-bomb.js", "var keep = [];\nfunction onItemCaptured(data) {\n  while (true) { keep.push(new Array(1000000).join('x') + keep.length); }\n}\n");
    write(
        dir,
        "c-throws.js",
        "function onPacketCaptured(info) { throw new Error('packet ' + info.length); }\nfunction onItemCaptured(data) { throw new Error('item'); }\nfunction onJobPassed(tag) { throw new Error('passed ' + tag); }\nfunction onJobFailed(tag) { throw new Error('failed ' + tag); }\n",
    );
    write(dir, "d-badjob.js", "jobs.schedule('bad', '*/30 * * * * *', function () {\n  undefinedThing.call();\n});\n");
    write(dir, "e-syntax.js", "function onItemCaptured(data) {\n  if (data.request {\n}\n");
    write(dir, "f-good.js", "var items = 0;\nfunction onItemCaptured(data) { items++; console.log('good', items, data.request.questions[0].name); }\n");
    let capture = data_dir().join("dns__zeek__long-connection.pcap");
    let out = remora(&[
        "replay", "-o", "json", "--scripts", dir.to_str().expect("path"), "--data-dir", data.path().to_str().expect("path"),
        "--script-budget-ms", "50", "--script-memory-mib", "64", capture.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(parse_items(&out.stdout).len(), 11, "every item of the capture is printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let good: Vec<&str> = stderr.lines().filter(|l| l.starts_with("[f-good.js] good ")).collect();
    assert_eq!(good.len(), 11, "the good script saw every item:\n{stderr}");
    assert!(good[10].starts_with("[f-good.js] good 11 "));
    let reports: Vec<&str> = stderr.lines().filter(|l| l.contains("(reported once; later repeats are counted)")).collect();
    let expect = [
        "[a-loop.js] error: onItemCaptured failed at a-loop.js:1: stopped: ran past its time budget of 50 ms",
        "[b-bomb.js] error: onItemCaptured failed at b-bomb.js:",
        "[c-throws.js] error: onPacketCaptured failed at c-throws.js:1: packet ",
        "[c-throws.js] error: onItemCaptured failed at c-throws.js:2: item",
        "[c-throws.js] error: onJobFailed failed at c-throws.js:4: failed bad",
        "[d-badjob.js] error: job bad failed at d-badjob.js:2: undefinedThing is not defined",
        "[e-syntax.js] error: load failed at e-syntax.js:2:",
    ];
    for want in expect {
        assert_eq!(reports.iter().filter(|r| r.starts_with(want)).count(), 1, "{want:?} reported exactly once in:\n{}", reports.join("\n"));
    }
    assert!(reports.iter().any(|r| r.starts_with("[b-bomb.js]") && r.contains("out of memory")), "{reports:?}");
    // c-throws's onPacketCaptured message differs per packet length: still one failure.
    let summary = stderr.lines().find(|l| l.starts_with("scripts: ")).expect("summary");
    assert!(summary.starts_with("scripts: 5 loaded, "), "{summary}");
    assert!(summary.contains(" 9 job runs, "), "the every-30-seconds job ran over the 4.5 minutes: {summary}");
}

#[test]
fn scripts_check_reports_syntax_errors_and_unknown_helpers() {
    let scripts = tempfile::tempdir().expect("temp dir");
    let dir = scripts.path();
    write(dir, "alert.js", "function onItemCaptured(data) {\n  if (data.response.status === 500) vendor.slack(env.HOOK, 'x', 'y', '#f00');\n  vendor.pagerDuty('z');\n}\njobs.schedule('tick', '0 */1 * * * *', function () {}, 3);\n");
    write(dir, "broken.js", "var = 1;\n");
    let out = remora(&["scripts", "check", dir.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "problems make it fail:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    // The parser's place for the error: line and column.
    assert!(lines.iter().any(|l| l.starts_with("error   broken.js:1:5: ")), "{stdout}");
    assert!(lines.contains(&"ok      alert.js: onItemCaptured"), "{stdout}");
    assert!(!lines.iter().any(|l| l.contains("vendor.slack")), "vendor.slack is a helper: {stdout}");
    assert!(lines.contains(&"error   alert.js:3:3: vendor.pagerDuty is not a helper"), "{stdout}");
    assert!(lines.contains(&"job     tick: 0 */1 * * * * (limit 3)"), "{stdout}");
    assert_eq!(lines.last().copied(), Some("1 script(s) loaded, 2 problem(s)"));
}

#[test]
fn pcap_snapshot_merges_the_streams_a_script_selects() {
    let scripts = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("temp dir");
    write(
        scripts.path(),
        "snap.js",
        "var n = 0;\nfunction onItemCaptured(data) {\n  n++;\n  if (n === 5) console.log('snapshot', pcap.snapshot([data.stream]), pcap.path(data.stream));\n}\n",
    );
    let capture = data_dir().join("http1__zeek__pipelined-requests.pcap");
    let out = remora(&["replay", "-o", "none", "--scripts", scripts.path().to_str().expect("path"), "--data-dir", data.path().to_str().expect("path"), capture.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("[snap.js] snapshot ")).unwrap_or_else(|| panic!("no snapshot line in\n{stderr}"));
    let parts: Vec<&str> = line.split(' ').collect();
    let (snapshot, stream) = (Path::new(parts[2]), Path::new(parts[3]));
    assert!(snapshot.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".pcap") && n.trim_end_matches(".pcap").chars().all(|c| c.is_ascii_digit())), "{line}");
    assert!(snapshot.starts_with(data.path().canonicalize().expect("data dir")), "the snapshot is in the data directory: {line}");
    let count = |file: &Path| {
        let out = std::process::Command::new("tshark").args(["-r", file.to_str().expect("path"), "-T", "fields", "-e", "frame.number"]).output().expect("tshark");
        assert!(out.status.success(), "tshark reads {}", file.display());
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    // The fifth response ends at packet 44 of the capture: all of them are in the snapshot.
    let in_snapshot = count(snapshot);
    assert!((44..=49).contains(&in_snapshot), "{in_snapshot} packets in the snapshot");
    assert_eq!(count(stream), 49, "the stream's own file has every packet once replay is over");
}
