//! The sidecar↔hub messages: JSON text frames on one WebSocket per sidecar. Every
//! frame carries the protocol version; a peer refuses a version it does not speak
//! instead of misreading it.

use serde::{Deserialize, Serialize};

/// The version this build speaks.
pub const VERSION: u32 = 1;
/// The WebSocket path sidecars connect to.
pub const SIDECAR_PATH: &str = "/sidecars";

/// Who a sidecar is: the pod it captures (downward API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentity {
    pub pod: String,
    pub namespace: String,
    pub pod_ip: String,
    pub node: String,
    pub node_ip: String,
}

/// Sidecar → hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FromSidecar {
    /// First frame of a session.
    Hello { v: u32, identity: PodIdentity },
    /// A batch of items, numbered so the hub can acknowledge it.
    Items { v: u32, seq: u64, items: Vec<serde_json::Value> },
    /// Console lines of the sidecar's scripts.
    Console { v: u32, lines: Vec<String> },
    /// Items the sidecar had to drop (its resend buffer overflowed while the hub was away).
    Dropped { v: u32, items: u64 },
    /// `jobs.*` calls of the sidecar's scripts, which act cluster-wide. After each
    /// (re)connection the sidecar first re-announces every job its scripts scheduled.
    Jobs { v: u32, requests: Vec<JobRequest> },
    /// `hub.action(action, object)`: for `onHubAction` in the hub's scripts.
    HubAction { v: u32, action: String, object: serde_json::Value },
    /// What the sidecar has done so far (sent every 10 s, and first after the hello).
    Stats { v: u32, stats: SidecarStats },
    /// The answer to a `pcapRequest` comes as binary frames (see [`PcapChunk`]), then
    /// this: which of the asked streams the sidecar no longer has.
    PcapDone { v: u32, id: u64, missing: Vec<String> },
}

/// A sidecar's counters since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarStats {
    pub capturing: bool,
    pub packets: u64,
    pub items: u64,
    /// Packets the kernel dropped for lack of capture buffer (all interfaces).
    pub kernel_dropped: u64,
    /// Packets the interfaces or their drivers dropped.
    pub interface_dropped: u64,
    /// Items dropped from the outbox while the hub was unreachable.
    pub outbox_dropped: u64,
    /// Items waiting for the hub now.
    pub outbox_pending: u64,
}

/// A `jobs.*` call that acts on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum JobRequest {
    Schedule { tag: String, cron: String, limit: u64 },
    Remove { tag: String },
    RemoveAll,
    Run { tag: String },
    RunAll,
    Stop,
    Start,
}

/// A job as the hub schedules it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub tag: String,
    pub cron: String,
    /// Runs per node; 0: unlimited.
    pub limit: u64,
}

/// Hub → sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToSidecar {
    /// Every batch up to `seq` is stored: the sidecar may forget it.
    Ack { v: u32, seq: u64 },
    /// The session is refused or ended, and why.
    Refused { v: u32, reason: String },
    /// Jobs that fire now (the hub's cron, or a `jobs.run` anywhere).
    RunJobs { v: u32, tags: Vec<String> },
    /// The cluster's jobs after a change: `jobs.list()` and `jobs.scheduler.isRunning()`
    /// answer from it; `removed` tags are dropped from the sidecar's scripts.
    Jobs { v: u32, jobs: Vec<JobInfo>, running: bool, removed: Vec<String> },
    /// The scripts and `env` the sidecar runs from now on (replacing the mounted ones),
    /// file name → source. Sent on hello and on every change.
    Scripts { v: u32, scripts: std::collections::BTreeMap<String, String>, env: std::collections::BTreeMap<String, String> },
    /// Send these streams' PCAP files (binary [`PcapChunk`] frames, then `pcapDone`).
    PcapRequest { v: u32, id: u64, streams: Vec<String> },
    /// Name resolution: address → what it is (`null`: no longer known). `full`: every
    /// address (sent on hello), else only the changes. `at`: UNIX seconds.
    Names { v: u32, at: i64, full: bool, names: std::collections::BTreeMap<String, Option<NameInfo>> },
    /// For `onPodEvent(event)`: the event object (docs/SCRIPTING.md).
    PodEvent { v: u32, event: String },
}

/// What an address is: a pod or a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameInfo {
    pub name: String,
    pub namespace: String,
    /// `Pod` or `Service`.
    pub kind: String,
}

/// A piece of one stream's PCAP file, as a binary frame: the request id (8 bytes, big
/// endian), the stream name's length (2 bytes) and the name, then file bytes. A file
/// comes as consecutive chunks in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapChunk<'a> {
    pub id: u64,
    pub stream: &'a str,
    pub data: &'a [u8],
}

/// Bytes of file data per chunk (well under the WebSocket message limits).
pub const PCAP_CHUNK: usize = 256 << 10;

impl<'a> PcapChunk<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let name = self.stream.as_bytes();
        let name_len = name.len().min(u16::MAX as usize);
        let mut out = Vec::with_capacity(10 + name_len + self.data.len());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&(name_len as u16).to_be_bytes());
        out.extend_from_slice(&name[..name_len]);
        out.extend_from_slice(self.data);
        out
    }

    /// `None` for a frame too short for its header or a name that is not UTF-8.
    pub fn decode(frame: &'a [u8]) -> Option<PcapChunk<'a>> {
        let id = u64::from_be_bytes(frame.get(..8)?.try_into().ok()?);
        let name_len = u16::from_be_bytes(frame.get(8..10)?.try_into().ok()?) as usize;
        let stream = std::str::from_utf8(frame.get(10..10 + name_len)?).ok()?;
        Some(PcapChunk { id, stream, data: &frame[10 + name_len..] })
    }
}

impl FromSidecar {
    /// Reads one text frame from a sidecar as a frame of this protocol version; `Err`
    /// says why the session must end. Any text is read without panicking
    /// (fuzz/fuzz_targets/hub_frames.rs).
    pub fn read(text: &str) -> Result<FromSidecar, String> {
        let frame: FromSidecar = serde_json::from_str(text).map_err(|e| format!("unreadable frame: {e}"))?;
        if frame.version() != VERSION {
            return Err(format!("protocol version {} is not {VERSION}", frame.version()));
        }
        Ok(frame)
    }

    pub fn version(&self) -> u32 {
        match self {
            FromSidecar::Hello { v, .. }
            | FromSidecar::Items { v, .. }
            | FromSidecar::Console { v, .. }
            | FromSidecar::Dropped { v, .. }
            | FromSidecar::Jobs { v, .. }
            | FromSidecar::HubAction { v, .. }
            | FromSidecar::Stats { v, .. }
            | FromSidecar::PcapDone { v, .. } => *v,
        }
    }
}

/// Writes the session's identity into an item a sidecar sent: the pod a session proved
/// (or, with a static token, said) it is, whatever the item claims.
pub fn stamp_identity(item: &mut serde_json::Value, identity: &PodIdentity) {
    let Some(object) = item.as_object_mut() else { return };
    if identity.pod.is_empty() {
        return;
    }
    if let Some(serde_json::Value::String(id)) = object.get_mut("id") {
        // `<worker>/<stream>-<index>`
        let rest = id.split_once('/').map_or(id.as_str(), |(_, rest)| rest).to_string();
        *id = format!("{}/{rest}", identity.pod);
    }
    object.insert("worker".into(), identity.pod.clone().into());
    object.insert("namespace".into(), identity.namespace.clone().into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_carry_the_sessions_identity_whatever_they_claim() {
        let identity = PodIdentity { pod: "web-1".into(), namespace: "shop".into(), ..Default::default() };
        let mut item = serde_json::json!({"id": "db-0/000000000004-2", "worker": "db-0", "namespace": "payments", "stream": "000000000004.pcap"});
        stamp_identity(&mut item, &identity);
        assert_eq!(item["id"], "web-1/000000000004-2");
        assert_eq!(item["worker"], "web-1");
        assert_eq!(item["namespace"], "shop");
    }

    #[test]
    fn a_frame_of_another_version_or_shape_is_refused_with_why() {
        assert!(FromSidecar::read(r#"{"type": "hello", "v": 99, "identity": {"pod": "p", "namespace": "n", "podIp": "", "node": "", "nodeIp": ""}}"#).expect_err("version").contains("protocol version 99"));
        assert!(FromSidecar::read("{").expect_err("broken").starts_with("unreadable frame"));
    }

    #[test]
    fn frames_are_tagged_json() {
        let hello = FromSidecar::Hello { v: VERSION, identity: PodIdentity { pod: "p".into(), ..Default::default() } };
        let text = serde_json::to_string(&hello).expect("json");
        assert!(text.starts_with(r#"{"type":"hello","v":1,"identity":{"pod":"p""#), "{text}");
        let back: FromSidecar = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, hello);
        let ack: ToSidecar = serde_json::from_str(r#"{"type":"ack","v":1,"seq":7}"#).expect("ack");
        assert_eq!(ack, ToSidecar::Ack { v: 1, seq: 7 });
        let jobs: FromSidecar = serde_json::from_str(r#"{"type":"jobs","v":1,"requests":[{"op":"schedule","tag":"t","cron":"* * * * * *","limit":0},{"op":"runAll"}]}"#).expect("jobs");
        assert_eq!(jobs, FromSidecar::Jobs { v: 1, requests: vec![JobRequest::Schedule { tag: "t".into(), cron: "* * * * * *".into(), limit: 0 }, JobRequest::RunAll] });
    }

    #[test]
    fn pcap_chunks_round_trip_and_short_frames_are_refused() {
        let chunk = PcapChunk { id: 9, stream: "000001.pcap", data: b"abc" };
        let frame = chunk.encode();
        assert_eq!(PcapChunk::decode(&frame), Some(chunk));
        assert_eq!(PcapChunk::decode(&frame[..5]), None);
        assert_eq!(PcapChunk::decode(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 9, b'a']), None);
    }
}
