//! Name resolution and pod events from the replayed API responses (tests/data/api): the
//! list, then each watch event, as the watch hands them over.

use remora_testkit::api_server as api;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use remora_cluster::names::{Name, NameIndex};
use remora_cluster::pod_events::PodTracker;
use remora_cluster::watch::Change;
use serde_json::Value;

fn list<K: serde::de::DeserializeOwned>(file: &str) -> Vec<K> {
    let value: Value = serde_json::from_str(&api::data(file)).expect("json");
    value["items"].as_array().expect("items").iter().map(|i| serde_json::from_value(i.clone()).expect("parses")).collect()
}

/// The watch events of a file, bookmarks and errors left out (the watch consumes them).
fn watch(file: &str) -> Vec<Change<Pod>> {
    api::data(file)
        .lines()
        .filter_map(|line| {
            let event: Value = serde_json::from_str(line).expect("event");
            let object = || serde_json::from_value(event["object"].clone()).expect("pod");
            match event["type"].as_str() {
                Some("ADDED") | Some("MODIFIED") => Some(Change::Applied(object())),
                Some("DELETED") => Some(Change::Deleted(object())),
                _ => None,
            }
        })
        .collect()
}

fn named(name: &str, namespace: &str, kind: &str) -> Option<Name> {
    Some(Name { name: name.into(), namespace: namespace.into(), kind: kind.into() })
}

#[test]
fn addresses_are_named_after_pods_then_services() {
    let mut index = NameIndex::default();
    let first = index.pods(&Change::Reset(list("pods-list-1.json")));
    assert_eq!(first.get("10.244.1.5"), Some(&named("web-7c9f8b6d4-x2lkq", "shop", "Pod")));
    assert_eq!(first.get("10.244.2.7"), Some(&named("db-0", "shop", "Pod")));
    let services = index.services(&Change::Reset(list::<Service>("services-list.json")));
    assert_eq!(services.len(), 1, "the headless service has no address: {services:?}");
    assert_eq!(services.get("10.96.41.7"), Some(&named("web", "shop", "Service")));
    // The slice's only endpoint is a pod: the pod's name stays.
    assert!(index.endpoint_slices(&Change::Reset(list::<EndpointSlice>("endpointslices-list.json"))).is_empty());

    let mut changes = Vec::new();
    for change in watch("pods-watch-1.jsonl") {
        changes.push(index.pods(&change));
    }
    // cart: pending without an address (nothing), then running with one.
    assert!(changes[0].is_empty());
    assert_eq!(changes[1].get("10.244.1.9"), Some(&named("cart-5d4b9c7f6-q8zfn", "shop", "Pod")));
    // web restarting keeps its address: no change to report.
    assert!(changes[2].is_empty());
    // db-0 deleted: its address is no longer known.
    assert_eq!(changes[3].get("10.244.2.7"), Some(&None));
    assert_eq!(index.snapshot().len(), 3, "{:?}", index.snapshot());

    // After a re-list, the index is what the list says.
    let relisted = index.pods(&Change::Reset(list("pods-list-2.json")));
    assert_eq!(relisted.get("10.244.2.11"), Some(&named("api-6f8d7c5b9-m4r2t", "shop", "Pod")));
    let snapshot = index.snapshot();
    let names: Vec<(&str, &str)> = snapshot.iter().map(|(ip, n)| (ip.as_str(), n.name.as_str())).collect();
    assert_eq!(names, [("10.244.1.5", "web-7c9f8b6d4-x2lkq"), ("10.244.1.9", "cart-5d4b9c7f6-q8zfn"), ("10.244.2.11", "api-6f8d7c5b9-m4r2t"), ("10.96.41.7", "web")]);
}

#[test]
fn slice_endpoints_outside_pods_name_their_service() {
    let mut index = NameIndex::default();
    let mut slice: Value = serde_json::from_str(&api::data("endpointslices-list.json")).expect("json");
    let endpoint = &mut slice["items"][0]["endpoints"][0];
    endpoint["addresses"] = serde_json::json!(["192.0.2.50"]);
    endpoint.as_object_mut().expect("object").remove("targetRef");
    let slice: EndpointSlice = serde_json::from_value(slice["items"][0].clone()).expect("slice");
    let changed = index.endpoint_slices(&Change::Applied(slice.clone()));
    assert_eq!(changed.get("192.0.2.50"), Some(&named("web", "shop", "Service")));
    assert_eq!(index.endpoint_slices(&Change::Deleted(slice)).get("192.0.2.50"), Some(&None));
}

#[test]
fn pod_events_added_modified_restarted_crashed_deleted() {
    let mut tracker = PodTracker::default();
    assert!(tracker.events(&Change::Reset(list("pods-list-1.json")), 1).is_empty(), "the first list reports nothing");
    let mut events = Vec::new();
    for change in watch("pods-watch-1.jsonl") {
        for event in tracker.events(&change, 2) {
            events.push(format!("{} {} {} {}", event.kind, event.pod.name, event.container, event.reason).trim_end().to_string());
        }
    }
    assert_eq!(
        events,
        [
            "added cart-5d4b9c7f6-q8zfn",
            "modified cart-5d4b9c7f6-q8zfn",
            "modified web-7c9f8b6d4-x2lkq",
            "restarted web-7c9f8b6d4-x2lkq app OOMKilled",
            "crashed web-7c9f8b6d4-x2lkq app OOMKilled",
            "deleted db-0",
            "modified web-7c9f8b6d4-x2lkq",
            "restarted web-7c9f8b6d4-x2lkq app Error",
            "crashed web-7c9f8b6d4-x2lkq app CrashLoopBackOff",
        ]
    );
    // The event object as scripts see it.
    let crashed = tracker.events(&Change::Reset(list("pods-list-2.json")), 3);
    let kinds: Vec<String> = crashed.iter().map(|e| format!("{} {}", e.kind, e.pod.name)).collect();
    assert_eq!(kinds, ["added api-6f8d7c5b9-m4r2t"], "the re-list reports only what changed meanwhile");
    let json = serde_json::to_value(&crashed[0]).expect("json");
    assert_eq!(json["type"], "added");
    assert_eq!(json["pod"]["node"], "kind-worker2");
    assert_eq!(json["pod"]["ip"], "10.244.2.11");
    assert_eq!(json["pod"]["containers"][0]["name"], "remora-sidecar", "{json}");
    assert_eq!(json["timestamp"], 3);
}
