//! The kube watch against replayed API responses: a list, then a watch stream with
//! ADDED, MODIFIED, DELETED and BOOKMARK events, then a watch that ends with a 410 Gone
//! (Expired) error, after which the watch lists again and reports every object anew.
//! And the directory watch, which the end-to-end tests use instead of an API server.

use remora_testkit::api_server as api;

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use remora_cluster::watch::{Change, DirWatch, KubeWatch, Watch};

fn summary(change: &Change<Pod>) -> String {
    let describe = |p: &Pod| format!("{}@{}", p.name_any(), p.resource_version().unwrap_or_default());
    match change {
        Change::Reset(pods) => format!("reset {}", pods.iter().map(describe).collect::<Vec<_>>().join(" ")),
        Change::Applied(p) => format!("applied {}", describe(p)),
        Change::Deleted(p) => format!("deleted {}", describe(p)),
    }
}

#[tokio::test]
async fn list_watch_and_a_410_resync() {
    let server = api::ApiServer::start().await;
    server.list("/api/v1/pods", api::data("pods-list-1.json"));
    server.list("/api/v1/pods", api::data("pods-list-2.json"));
    server.watch("/api/v1/pods", api::data("pods-watch-1.jsonl"));
    server.watch("/api/v1/pods", api::data("pods-watch-2.jsonl"));

    let source = KubeWatch::new(Api::<Pod>::all(server.client()), watcher::Config::default());
    let mut changes = source.changes();
    let mut seen = Vec::new();
    while seen.len() < 7 {
        let change = tokio::time::timeout(Duration::from_secs(10), changes.next()).await.expect("a change within 10 s").expect("stream goes on");
        seen.push(summary(&change));
    }
    assert_eq!(
        seen,
        [
            "reset web-7c9f8b6d4-x2lkq@1201 db-0@1188",
            "applied cart-5d4b9c7f6-q8zfn@1215",
            "applied cart-5d4b9c7f6-q8zfn@1219",
            "applied web-7c9f8b6d4-x2lkq@1224",
            "deleted db-0@1231",
            "applied web-7c9f8b6d4-x2lkq@1240",
            "reset web-7c9f8b6d4-x2lkq@1240 cart-5d4b9c7f6-q8zfn@1219 api-6f8d7c5b9-m4r2t@1290",
        ]
    );
    // Nothing more: the third watch is open and quiet.
    assert!(tokio::time::timeout(Duration::from_millis(300), changes.next()).await.is_err());

    let requests = server.requests();
    let kinds: Vec<&str> = requests.iter().map(|r| if r.contains("watch=true") { "watch" } else { "list" }).collect();
    assert_eq!(kinds, ["list", "watch", "watch", "list", "watch"], "{requests:#?}");
    let version = |r: &str| r.split('&').find_map(|p| p.strip_prefix("resourceVersion=")).map(String::from);
    assert_eq!(version(&requests[1]).as_deref(), Some("1210"), "the first watch starts from the list's version");
    assert_eq!(version(&requests[2]).as_deref(), Some("1240"), "the second from the last event seen (the bookmark's 1235 was passed)");
    assert_eq!(version(&requests[4]).as_deref(), Some("1302"), "after the 410, from the new list's version");
    assert!(requests[1].contains("allowWatchBookmarks=true"), "{}", requests[1]);
}

async fn next(changes: &mut futures_util::stream::BoxStream<'static, Change<Pod>>) -> String {
    summary(&tokio::time::timeout(Duration::from_secs(5), changes.next()).await.expect("a change").expect("more"))
}

#[tokio::test]
async fn a_directory_of_object_files_is_watched_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = api::data("pods-list-1.json");
    // A List file, as `kubectl get pods -o json` writes it, with kind/apiVersion per item.
    let mut value: serde_json::Value = serde_json::from_str(&list).expect("json");
    for item in value["items"].as_array_mut().expect("items") {
        item["kind"] = "Pod".into();
        item["apiVersion"] = "v1".into();
    }
    std::fs::write(dir.path().join("pods.json"), value.to_string()).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not an object").expect("write");
    let source = DirWatch::new(dir.path().to_path_buf(), Duration::from_millis(50));
    let mut changes = Watch::<Pod>::changes(&source);
    assert_eq!(next(&mut changes).await, "reset db-0@1188 web-7c9f8b6d4-x2lkq@1201");

    // One pod changes, one goes, one comes (a YAML file).
    let items = value["items"].as_array_mut().expect("items");
    items[0]["metadata"]["resourceVersion"] = "1300".into();
    items.remove(1);
    std::fs::write(dir.path().join("pods.json"), value.to_string()).expect("write");
    std::fs::write(
        dir.path().join("extra.yaml"),
        "kind: Pod\napiVersion: v1\nmetadata:\n  name: extra\n  namespace: shop\n  resourceVersion: \"7\"\nstatus:\n  podIP: 10.244.1.77\n",
    )
    .expect("write");
    let mut after = vec![next(&mut changes).await, next(&mut changes).await, next(&mut changes).await];
    after.sort();
    assert_eq!(after, ["applied extra@7", "applied web-7c9f8b6d4-x2lkq@1300", "deleted db-0@1188"]);
}
