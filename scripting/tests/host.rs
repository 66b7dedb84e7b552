//! The script host as scripts see it: scopes, hooks, helpers, jobs and containment.

mod common;

use common::{item, Harness, ITEM};
use remora_scripting::Clock;

#[test]
fn script_scope_is_private_and_this_is_shared() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("a.js", "var counter = 1; this.shared = 'from a'; function onItemCaptured(data) { counter++; console.log('a', counter, shared); }").expect("loads");
    h.host.load_source("b.js", "var counter = 100; function onItemCaptured(data) { counter++; console.log('b', counter, this.shared); }").expect("loads");
    h.host.on_item(item(), false);
    assert_eq!(h.printed(), ["[a.js] a 2 from a", "[b.js] b 101 from a"]);
}

#[test]
fn console_joins_arguments_and_prints_objects_as_json() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("c.js", "console.log('x is', 1, {a: [1, 'b']}, null, undefined, true); console.error('bad', 2);").expect("loads");
    assert_eq!(h.printed(), [r#"[c.js] x is 1 {"a":[1,"b"]} null undefined true"#, "[c.js] error: bad 2"]);
}

#[test]
fn test_helpers_mark_the_item_and_queried_return_replaces_it() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("t.js", "function onItemCaptured(data) { if (data.response.status === 500) test.fail(data); }\nfunction onItemQueried(data) { if (data.response.status == 500) { data.note = 'seen'; return test.fail(data); } }").expect("loads");
    let marked = h.host.on_item(item(), false);
    assert_eq!((marked.passed, marked.failed), (false, true));
    let answer: serde_json::Value = serde_json::from_str(&h.host.on_item_queried(ITEM)).expect("json");
    assert_eq!((answer["failed"].as_bool(), answer["note"].as_str()), (Some(true), Some("seen")));
}

#[test]
fn env_comes_from_the_config() {
    let mut h = Harness::new(|c| {
        c.env.insert("SLACK_AUTH_TOKEN".into(), "foo".into());
        c.env.insert("SLACK_CHANNEL_ID".into(), "bar".into());
    });
    h.host.load_source("e.js", "console.log(JSON.stringify(env));").expect("loads");
    assert_eq!(h.printed(), [r#"[e.js] {"SLACK_AUTH_TOKEN":"foo","SLACK_CHANNEL_ID":"bar"}"#]);
}

#[test]
fn syntax_errors_name_file_and_line_and_others_still_load() {
    let mut h = Harness::new(|_| {});
    let err = h.host.load_source("broken.js", "var a = 1;\nvar b = ;\n").expect_err("syntax error");
    assert!(err.starts_with("broken.js:2:"), "{err}");
    h.host.load_source("fine.js", "function onItemCaptured(d) { console.log('fine'); }").expect("loads");
    h.host.on_item(item(), false);
    assert!(h.printed().iter().any(|l| l == "[fine.js] fine"));
    assert_eq!(h.host.report().failures[0].during, "load");
}

#[test]
fn hostile_hooks_are_stopped_reported_once_and_capture_goes_on() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("loop.js", "function onItemCaptured(d) {\n  var i = 0;\n  while (true) { i++; }\n}").expect("loads");
    h.host.load_source("bomb.js", "function onItemCaptured(d) {\n  var a = []; while (true) { a.push(new Array(100000).join('x') + a.length); }\n}").expect("loads");
    h.host.load_source("throw.js", "function onItemCaptured(d) {\n  throw new Error('boom ' + d.request.path);\n}").expect("loads");
    h.host.load_source("ok.js", "var n = 0; function onItemCaptured(d) { n++; } function onJobPassed() {} this.count = function() { return n; };").expect("loads");
    for _ in 0..3 {
        h.host.on_item(item(), false);
    }
    h.host.load_source("after.js", "console.log('ok saw', count());").expect("loads");
    let printed = h.printed();
    assert!(printed.contains(&"[after.js] ok saw 3".to_string()), "{printed:?}");
    let failures = h.host.report().failures;
    let by_script: Vec<(&str, &str, u64)> = failures.iter().map(|f| (f.script.as_str(), f.location.as_str(), f.count)).collect();
    // QuickJS places an interrupted loop at its function's first line.
    assert!(by_script.contains(&("loop.js", "loop.js:1", 3)), "{failures:?}");
    assert!(by_script.contains(&("throw.js", "throw.js:2", 3)), "{failures:?}");
    assert!(failures.iter().any(|f| f.script == "bomb.js" && f.message.contains("out of memory") && f.count == 3), "{failures:?}");
    assert!(failures.iter().any(|f| f.script == "loop.js" && f.message.contains("time budget")));
    let reported: Vec<&String> = printed.iter().filter(|l| l.contains("failed at")).collect();
    assert_eq!(reported.len(), 3, "each failure shown once: {reported:?}");
}

#[test]
fn jobs_fire_on_capture_time_with_limit_and_arguments() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "j.js",
            "var runs = [];\nfunction tick(label) { runs.push(label); console.log('tick', label, runs.length); }\njobs.schedule('minutely', '0 */1 * * * *', tick, 0, 'm');\njobs.schedule('twice', '*/10 * * * * *', tick, 2, 't');\nfunction onJobPassed(tag, cron, limit) { if (tag === 'twice') console.log('passed', tag, cron, limit); }\n",
        )
        .expect("loads");
    assert_eq!(h.host.jobs().len(), 2);
    let start = 1_700_000_005_000_000_000i64;
    for second in 0..600 {
        h.host.advance_clock(start + second * 1_000_000_000);
    }
    let printed = h.printed();
    assert_eq!(printed.iter().filter(|l| l.contains("tick m")).count(), 10, "ten minutes, ten runs");
    assert_eq!(printed.iter().filter(|l| l.contains("tick t")).count(), 2, "the limit stops it");
    assert!(printed.contains(&"[j.js] passed twice */10 * * * * * 2".to_string()), "{printed:?}");
    assert_eq!(h.host.jobs().len(), 1, "a job that reached its limit is removed");
}

#[test]
fn failing_job_reports_and_calls_on_job_failed() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source("f.js", "jobs.schedule('bad', '* * * * * *', function () { null.x; });\nfunction onJobFailed(tag, cron, limit, err) { console.log('failed', tag, err); }")
        .expect("loads");
    h.host.advance_clock(1_700_000_000_000_000_000);
    h.host.advance_clock(1_700_000_001_000_000_000);
    let printed = h.printed();
    assert!(printed.iter().any(|l| l.starts_with("[f.js] failed bad") && l.contains("null")), "{printed:?}");
    assert!(printed.iter().any(|l| l.contains("job bad failed at f.js:1")), "{printed:?}");
}

#[test]
fn bad_arguments_to_helpers_are_exceptions_naming_the_helper() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "args.js",
            "try { jobs.schedule('x', 'not cron', function(){}); } catch (e) { console.log(e.message); }\ntry { test.pass(3); } catch (e) { console.log(e.message); }\ntry { file.write('../escape.txt', 'x'); } catch (e) { console.log(e.message); }\ntry { kfl.match('http and', {}); } catch (e) { console.log(e.message); }",
        )
        .expect("loads");
    let printed = h.printed();
    assert!(printed[0].contains("jobs.schedule: job \"x\": cron \"not cron\""), "{printed:?}");
    assert!(printed[1].contains("test.pass: the argument must be an object"), "{printed:?}");
    assert!(printed[2].contains("file.write: \"../escape.txt\" leaves the data directory"), "{printed:?}");
    assert_eq!(printed[3], "[args.js] kfl.match: \"http and\": expected a value after 'and' at 8", "{printed:?}");
}

#[test]
fn file_helpers_work_inside_the_data_directory() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "files.js",
            "file.write('example.txt', 'hello');\nfile.append('example.txt', ' world');\nfile.mkdir('example/folder/here');\nfile.copy('example.txt', 'example2.txt');\nfile.move('example.txt', 'example/folder/here/');\nvar t = file.temp('bar', 'example/folder/here', 'json');\nvar d = file.mkdirTemp('foo', 'example');\nfile.delete('example2.txt');\nvar tar = file.tar('example');\nconsole.log(t.indexOf('example/folder/here/bar') > 0, /\\.json$/.test(t), d.indexOf('example/foo') > 0, /remora_[0-9]+\\.tar\\.gz$/.test(tar));",
        )
        .expect("loads");
    assert_eq!(h.printed(), ["[files.js] true true true true"]);
    let root = h.data_dir();
    assert_eq!(std::fs::read_to_string(root.join("example/folder/here/example.txt")).expect("moved"), "hello world");
    assert!(!root.join("example2.txt").exists());
}

/// Timers run on the script's clock (here replay's, moved by hand), with their arguments,
/// in order; an interval stops when cleared, even from its own callback; a cleared
/// timeout never runs; a throwing callback is reported and the rest go on.
#[test]
fn timers_fire_on_the_scripts_clock() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "timers.js",
            "var n = 0;\nsetTimeout(function (a, b) { console.log('late', a, b); }, 1500, 'x', 2);\nvar id = setInterval(function () { n++; console.log('tick', n); if (n === 3) clearInterval(id); }, 1000);\nvar t = setTimeout(function () { console.log('never'); }, 100);\nclearTimeout(t);\nsetTimeout(function () { throw new Error('boom'); }, 10);\nsetTimeout(function () { console.log('zero'); });",
        )
        .expect("loads");
    let start = 1_700_000_000_000_000_000i64;
    for second in 0..=6 {
        h.host.advance_clock(start + second * 1_000_000_000);
    }
    assert_eq!(
        h.printed(),
        [
            "[timers.js] zero",
            "[timers.js] error: setTimeout callback failed at timers.js:6: boom (reported once; later repeats are counted)",
            "[timers.js] tick 1",
            "[timers.js] late x 2",
            "[timers.js] tick 2",
            "[timers.js] tick 3"
        ]
    );
    let failures = h.host.report().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].message.contains("boom"), "{failures:?}");
}

/// As the public implementation's (Go's os.RemoveAll, os.MkdirAll): a script that cleans
/// up at load deletes what may not be there, and a tree at once; mkdir makes parents and
/// accepts what exists.
#[test]
fn file_delete_and_mkdir_are_idempotent_and_recursive() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "cleanup.js",
            "file.delete('never-written.json');
file.delete('no/such/dir');
file.mkdir('a/b/c');
file.mkdir('a/b/c');
file.write('a/b/c/x.txt', 'x');
file.delete('a');
console.log('clean');",
        )
        .expect("loads: deleting what is not there is no error");
    assert_eq!(h.printed(), ["[cleanup.js] clean"]);
    assert!(!h.data_dir().join("a").exists(), "the whole tree is gone");
}

#[test]
fn temporary_names_cannot_leave_the_data_directory() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "temp.js",
            "['/dev/shm/x', '../x', 'a/b'].forEach(function (n) { try { file.temp(n); console.log('made', n); } catch (e) { console.log(String(e)); } });\ntry { file.mkdirTemp('/tmp/escape'); } catch (e) { console.log(String(e)); }\ntry { file.temp('ok', '.', 'x/../../y'); } catch (e) { console.log(String(e)); }",
        )
        .expect("loads");
    let printed = h.printed();
    assert_eq!(printed.len(), 5, "{printed:?}");
    assert!(printed.iter().all(|l| l.contains("is not a file name part")), "{printed:?}");
}

#[test]
fn hub_action_reaches_on_hub_action_after_the_call() {
    let mut h = Harness::new(|_| {});
    h.host.load_source("w.js", "function onItemCaptured(d) { hub.action('count', {path: d.request.path}); console.log('sent'); }").expect("loads");
    h.host.load_source("h.js", "function onHubAction(action, object) { console.log('hub got', action, object.path); }").expect("loads");
    h.host.on_item(item(), false);
    assert_eq!(h.printed(), ["[w.js] sent", "[h.js] hub got count /a"]);
}

#[test]
fn lazy_data_behaves_like_the_item_object() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "lazy.js",
            "var kept = [];\nfunction onItemCaptured(d) {\n  kept.push(d);\n  console.log(Object.keys(d).length, 'request' in d, typeof d.response.headers);\n  console.log(JSON.stringify(d));\n  d.extra = 1; delete d.error;\n  console.log('error' in d, d.extra, d.request.method);\n}\nthis.later = function () { return kept[0].response.status + ' ' + kept[0].src.ip; };",
        )
        .expect("loads");
    let back = h.host.on_item(item(), false);
    assert_eq!(back, item(), "the item comes back unchanged");
    h.host.load_source("after.js", "console.log(later());").expect("loads");
    let printed = h.printed();
    assert_eq!(printed[0], "[lazy.js] 21 true object");
    let shown: serde_json::Value = serde_json::from_str(printed[1].trim_start_matches("[lazy.js] ")).expect("JSON");
    assert_eq!(shown, serde_json::to_value(item()).expect("item JSON"), "JSON.stringify(data) is the whole item");
    assert_eq!(printed[2], "[lazy.js] false 1 POST");
    assert_eq!(printed[3], "[after.js] 500 10.33.0.31", "a kept data still reads after its hook");
}

#[test]
fn scheduler_stop_and_start_and_pod_events() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "s.js",
            "jobs.schedule('tick', '* * * * * *', function () { console.log('tick'); });\nfunction onPodEvent(e) { console.log('pod', e.type, e.pod.name); if (e.type === 'crashed') jobs.scheduler.stop(); else jobs.scheduler.start(); }",
        )
        .expect("loads");
    let t0 = 1_700_000_000_000_000_000i64;
    h.host.advance_clock(t0);
    h.host.advance_clock(t0 + 2_000_000_000);
    h.host.on_pod_event(r#"{"type":"crashed","pod":{"name":"shop-1"}}"#);
    h.host.advance_clock(t0 + 5_000_000_000);
    h.host.on_pod_event(r#"{"type":"added","pod":{"name":"shop-2"}}"#);
    h.host.advance_clock(t0 + 6_000_000_000);
    // t0, t0+1s, t0+2s; nothing while stopped; t0+6s after the start (no catching up).
    assert_eq!(h.printed(), ["[s.js] tick", "[s.js] tick", "[s.js] tick", "[s.js] pod crashed shop-1", "[s.js] pod added shop-2", "[s.js] tick"]);
}

#[test]
fn kfl_match_and_validate_on_lazy_data() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "k.js",
            "function onItemCaptured(data) {\n  console.log(kfl.match('http and response.status == 500', data), kfl.match('dns', data), kfl.match('request.path.startsWith(\"/a\")', data), kfl.match('', data));\n}\nconsole.log(kfl.validate('http and response.status == 500'), kfl.validate('http and'), kfl.validate(42), kfl.validate(''));",
        )
        .expect("loads");
    h.host.on_item(item(), false);
    // KFL v1: an empty query is valid and matches everything.
    assert_eq!(h.printed(), ["[k.js] true false false true", "[k.js] true false true true"]);
}

#[test]
fn in_a_sidecar_jobs_and_hub_actions_go_to_the_hub_and_jobs_fire_when_it_says() {
    use remora_model::wire::{JobInfo, JobRequest};
    use remora_scripting::{ClusterRequest, Role};
    let mut h = Harness::new(|c| {
        c.role = Role::Sidecar;
        c.clock = Clock::Wall;
    });
    h.host
        .load_source(
            "j.js",
            "function tick(x) { console.log('tick', x); hub.action('ticked', {x: x}); }\n\
             jobs.schedule('every-second', '* * * * * *', tick, 2, 'arg');\n\
             function onHubAction(action, object) { console.log('local', action); }",
        )
        .expect("loads");
    // The local clock does not fire cluster jobs: the hub's cron does.
    h.host.advance_clock(1_700_000_000_000_000_000);
    h.host.advance_clock(1_700_000_005_000_000_000);
    assert!(h.printed().is_empty(), "{:?}", h.printed());
    let (requests, dropped) = h.host.take_requests();
    assert_eq!(dropped, 0);
    assert_eq!(requests, [ClusterRequest::Job(JobRequest::Schedule { tag: "every-second".into(), cron: "* * * * * *".into(), limit: 2 })]);

    h.host.run_jobs(&["every-second".to_string(), "somebody-elses".to_string()]);
    assert_eq!(h.printed(), ["[j.js] tick arg"], "the unknown tag is not this pod's job");
    let (requests, _) = h.host.take_requests();
    assert_eq!(requests, [ClusterRequest::HubAction { action: "ticked".into(), object: r#"{"x":"arg"}"#.into() }], "not delivered locally");

    // The hub counts the limit per node: three runs here are three runs.
    h.host.run_jobs(&["every-second".to_string()]);
    h.host.run_jobs(&["every-second".to_string()]);
    assert_eq!(h.printed().len(), 3);

    // jobs.list/isRunning answer for the cluster; run/stop/remove go to the hub.
    h.host.set_cluster_jobs(vec![JobInfo { tag: "from-hub".into(), cron: "0 * * * * *".into(), limit: 0 }], true, &[]);
    h.host
        .load_source("k.js", "console.log(jobs.list().join(','), jobs.scheduler.isRunning()); jobs.run('from-hub'); jobs.scheduler.stop(); jobs.remove('every-second'); console.log(jobs.list().join(','), jobs.scheduler.isRunning());\ntry { jobs.run('nobody'); } catch (e) { console.log(e.message); }")
        .expect("loads");
    let printed = h.printed();
    assert_eq!(printed[3..], ["[k.js] every-second,from-hub true", "[k.js] from-hub false", "[k.js] jobs.run: no job is scheduled with the tag \"nobody\""]);
    let (requests, _) = h.host.take_requests();
    let jobs: Vec<_> = requests.into_iter().filter_map(|r| if let ClusterRequest::Job(j) = r { Some(j) } else { None }).collect();
    assert_eq!(jobs, [JobRequest::Run { tag: "from-hub".into() }, JobRequest::Stop, JobRequest::Remove { tag: "every-second".into() }]);

    // A removal the hub announces drops the job here too.
    h.host.load_source("l.js", "jobs.schedule('other', '* * * * * *', function () { console.log('other ran'); });").expect("loads");
    h.host.set_cluster_jobs(Vec::new(), true, &["other".to_string()]);
    h.host.run_jobs(&["other".to_string()]);
    assert!(!h.printed().iter().any(|l| l.contains("other ran")));
}

#[test]
fn in_the_hub_hub_actions_are_delivered_locally_and_jobs_go_to_the_registry() {
    use remora_model::wire::JobRequest;
    use remora_scripting::{ClusterRequest, Role};
    let mut h = Harness::new(|c| c.role = Role::Hub);
    h.host
        .load_source("h.js", "function onHubAction(action, object) { console.log(action, object.n); }\njobs.schedule('j', '*/5 * * * * *', function () { hub.action('from-job', {n: 2}); });")
        .expect("loads");
    h.host.on_hub_action("from-sidecar", r#"{"n":1}"#);
    h.host.run_jobs(&["j".to_string()]);
    assert_eq!(h.printed(), ["[h.js] from-sidecar 1", "[h.js] from-job 2"]);
    let (requests, _) = h.host.take_requests();
    assert_eq!(requests, [ClusterRequest::Job(JobRequest::Schedule { tag: "j".into(), cron: "*/5 * * * * *".into(), limit: 0 })]);
}

#[test]
fn chatgpt_sentiment_scores_like_vader() {
    let mut h = Harness::new(|_| {});
    h.host
        .load_source(
            "s.js",
            "var s = chatgpt.sentiment('VADER is smart, handsome, and funny.'); console.log(JSON.stringify(s));\n\
             var t = chatgpt.sentiment('The book was only kind of good.'); console.log(t.compound, t.pos);\n\
             try { chatgpt.sentiment(42); } catch (e) { console.log(e.message); }",
        )
        .expect("loads");
    // vaderSentiment 3.3.2's own figures for these sentences.
    assert_eq!(
        h.printed(),
        [
            r#"[s.js] {"neg":0,"neu":0.254,"pos":0.746,"compound":0.8316}"#,
            "[s.js] 0.3832 0.303",
            "[s.js] chatgpt.sentiment: the argument (text) must be a string",
        ]
    );
}
