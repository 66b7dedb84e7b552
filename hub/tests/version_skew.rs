//! Version skew between sidecars and the hub: a version-1 sidecar (its frames as that
//! build writes them, tests/data/sidecar-v1-frames.jsonl: a hello with no build or
//! versions list) is served in version 1, every frame to it stamped so; a newer sidecar
//! is served in the newest version both speak, and its frame types this hub does not
//! know are skipped and counted, not fatal; a sidecar with no version in common is
//! refused, told why. The sessions list shows each sidecar's protocol and build.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use remora_hub::auth::Tokens;
use remora_hub::server::{serve_listeners, Hub};
use remora_hub::store::ItemStore;
use remora_model::wire::{SIDECAR_PATH, VERSION};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TOKEN: &str = "skew-token";

async fn start_hub() -> (Arc<Hub>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
    let hub = Arc::new(Hub::new(ItemStore::new(100, 1 << 20), None, Tokens::from_file(&token_file).expect("tokens")));
    let sidecars = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}{SIDECAR_PATH}", sidecars.local_addr().expect("addr"));
    tokio::spawn(serve_listeners(hub.clone(), sidecars, api, None, std::future::pending()));
    (hub, url, dir)
}

async fn connect(url: &str) -> Socket {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.expect("connect").0
}

async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::Text(text.to_string().into())).await.expect("send");
}

/// The hub's frames until one of `kind` (all of them returned, that one last).
async fn until(socket: &mut Socket, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap_or_else(|_| panic!("no {kind} frame within 5 s; saw {seen:?}"));
        let Some(Ok(Message::Text(text))) = message else { panic!("the session ended: {message:?}; saw {seen:?}") };
        let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
        let done = frame["type"] == kind;
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_and_newer_sidecars_are_served_in_a_version_they_speak() {
    let (hub, url, _dir) = start_hub().await;

    // A version-1 sidecar, as that build writes its frames.
    let recorded = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sidecar-v1-frames.jsonl")).expect("recorded frames");
    let mut old = connect(&url).await;
    for line in recorded.lines() {
        send(&mut old, line).await;
    }
    let frames = until(&mut old, "ack").await;
    assert!(frames.iter().all(|f| f["v"] == 1), "every frame to a version-1 sidecar is version 1: {frames:?}");
    assert_eq!(frames.last().expect("ack")["seq"], 1);
    assert!(frames.iter().any(|f| f["type"] == "jobs"), "the cluster's jobs, as version 1 has them: {frames:?}");

    // A newer sidecar: versions 1 to VERSION+1; a frame type from its future is skipped.
    let mut new = connect(&url).await;
    let identity = r#"{"pod":"api-5d8f7c9b6-m2k4p","namespace":"shop","podIp":"10.244.2.9","node":"kind-worker2","nodeIp":"172.18.0.4"}"#;
    let newer = VERSION + 1;
    send(&mut new, &format!(r#"{{"type":"hello","v":{newer},"identity":{identity},"build":"9.9.9","protocols":[1,{VERSION},{newer}]}}"#)).await;
    send(&mut new, &format!(r#"{{"type":"traceSpans","v":{newer},"spans":[{{"id":1}}]}}"#)).await;
    send(&mut new, &format!(r#"{{"type":"items","v":{VERSION},"seq":1,"items":[]}}"#)).await;
    let frames = until(&mut new, "ack").await;
    assert!(frames.iter().all(|f| f["v"] == VERSION), "served in the newest version both speak: {frames:?}");
    assert_eq!(hub.unknown_frames.load(Ordering::Relaxed), 1, "the unknown frame was counted");

    // Both are listed with what they speak.
    let sessions: Vec<(String, u32, String)> = hub.sessions.list().into_iter().map(|s| (s.identity.pod, s.protocol, s.build)).collect();
    assert_eq!(sessions, [("api-5d8f7c9b6-m2k4p".to_string(), VERSION, "9.9.9".to_string()), ("web-7c9f8b6d4-x2lkq".to_string(), 1, String::new())]);

    // The version-1 session still works after all that.
    send(&mut old, r#"{"type":"items","v":1,"seq":2,"items":[]}"#).await;
    assert_eq!(until(&mut old, "ack").await.last().expect("ack")["seq"], 2);

    // No version in common: refused, and told what to do.
    let mut future = connect(&url).await;
    let far = VERSION + 5;
    send(&mut future, &format!(r#"{{"type":"hello","v":{far},"identity":{identity},"build":"99.0.0","protocols":[{far}]}}"#)).await;
    let refused = until(&mut future, "refused").await;
    let reason = refused.last().expect("refused")["reason"].as_str().expect("reason").to_string();
    assert!(reason.contains(&format!("speaks protocol versions [{far}]")) && reason.contains("upgrade"), "{reason}");
}
