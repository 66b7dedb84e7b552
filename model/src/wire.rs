//! The sidecar↔hub messages: JSON text frames on one WebSocket per sidecar. Every
//! frame carries the protocol version; a peer refuses a version it does not speak
//! instead of misreading it.
//!
//! Version skew: a sidecar's hello says which versions it speaks (`protocols`; a
//! version-1 hello says only its `v`) and its build. The hub serves the session in the
//! newest version both speak and stamps every frame to that sidecar with it, so a hub
//! serves sidecars one version older while they roll. Both sides skip frames of a type
//! they do not know (counted), so a newer peer's additions never end a session. A frame
//! type added in version N is sent only to sessions of version N or later.
//!
//! - 1: the frames below.
//! - 2: the hello's `build` and `protocols`; unknown frame types are skipped.

use serde::{Deserialize, Serialize};

/// The newest version this build speaks.
pub const VERSION: u32 = 2;
/// The oldest version this build still speaks.
pub const OLDEST_VERSION: u32 = 1;
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
    Hello {
        v: u32,
        identity: PodIdentity,
        /// The sidecar's build (its crate version); empty from version-1 sidecars.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        build: String,
        /// The protocol versions it speaks; empty from version-1 sidecars (only `v`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        protocols: Vec<u32>,
    },
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
    /// A frame type this build does not know (a newer sidecar's): skipped.
    #[serde(other)]
    Unknown,
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
    /// A frame type this build does not know (a newer hub's): skipped.
    #[serde(other)]
    Unknown,
}

impl ToSidecar {
    /// The frame in protocol version `v` (the session's): every frame type here is the
    /// same in versions 1 and 2 but for its `v`.
    pub fn in_version(mut self, version: u32) -> ToSidecar {
        match &mut self {
            ToSidecar::Ack { v, .. }
            | ToSidecar::Refused { v, .. }
            | ToSidecar::RunJobs { v, .. }
            | ToSidecar::Jobs { v, .. }
            | ToSidecar::Scripts { v, .. }
            | ToSidecar::PcapRequest { v, .. }
            | ToSidecar::Names { v, .. }
            | ToSidecar::PodEvent { v, .. } => *v = version,
            ToSidecar::Unknown => {}
        }
        self
    }
}

/// The version a session runs in: the newest that both this build and a sidecar whose
/// hello said `v` and `protocols` speak; `Err` says why there is none.
pub fn session_version(v: u32, protocols: &[u32]) -> Result<u32, String> {
    let spoken: &[u32] = if protocols.is_empty() { std::slice::from_ref(&v) } else { protocols };
    spoken.iter().copied().filter(|p| (OLDEST_VERSION..=VERSION).contains(p)).max().ok_or_else(|| {
        format!("the sidecar speaks protocol versions {spoken:?}, this hub {OLDEST_VERSION} to {VERSION}: upgrade the older of the two (the hub first, then restart the workloads)")
    })
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
    /// Reads one text frame from a sidecar, of a protocol version this build speaks
    /// (a hello may name newer ones: see [`session_version`]); a frame of an unknown type
    /// comes back as [`FromSidecar::Unknown`]; `Err` says why the session must end. Any
    /// text is read without panicking (fuzz/fuzz_targets/hub_frames.rs).
    pub fn read(text: &str) -> Result<FromSidecar, String> {
        let frame: FromSidecar = serde_json::from_str(text).map_err(|e| format!("unreadable frame: {e}"))?;
        match frame.version() {
            Some(v) if !(OLDEST_VERSION..=VERSION).contains(&v) && !matches!(frame, FromSidecar::Hello { .. }) => {
                Err(format!("protocol version {v} is not one of {OLDEST_VERSION} to {VERSION}"))
            }
            _ => Ok(frame),
        }
    }

    /// The frame's protocol version (none for an unknown frame type).
    pub fn version(&self) -> Option<u32> {
        match self {
            FromSidecar::Hello { v, .. }
            | FromSidecar::Items { v, .. }
            | FromSidecar::Console { v, .. }
            | FromSidecar::Dropped { v, .. }
            | FromSidecar::Jobs { v, .. }
            | FromSidecar::HubAction { v, .. }
            | FromSidecar::Stats { v, .. }
            | FromSidecar::PcapDone { v, .. } => Some(*v),
            FromSidecar::Unknown => None,
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
        assert!(FromSidecar::read(r#"{"type": "items", "v": 99, "seq": 1, "items": []}"#).expect_err("version").contains("protocol version 99"));
        assert!(FromSidecar::read("{").expect_err("broken").starts_with("unreadable frame"));
        // A hello is read whatever it speaks; the session's version is decided from it.
        let hello = FromSidecar::read(r#"{"type": "hello", "v": 99, "identity": {"pod": "p", "namespace": "n", "podIp": "", "node": "", "nodeIp": ""}}"#).expect("a hello");
        assert!(matches!(hello, FromSidecar::Hello { v: 99, .. }));
        assert!(session_version(99, &[]).expect_err("none in common").contains("speaks protocol versions [99]"));
    }

    /// Skew: a version-1 hello (no `protocols`) gets a version-1 session, a newer
    /// sidecar's the newest in common; frame types a build does not know are skipped, not
    /// fatal; frames to a session carry its version.
    #[test]
    fn sessions_run_in_the_newest_version_both_speak() {
        assert_eq!(session_version(1, &[]), Ok(1));
        assert_eq!(session_version(2, &[1, 2]), Ok(2));
        assert_eq!(session_version(3, &[1, 2, 3]), Ok(VERSION), "a newer sidecar, served in this hub's newest");
        assert_eq!(FromSidecar::read(r#"{"type": "traceSpans", "v": 3, "spans": [1, 2]}"#), Ok(FromSidecar::Unknown));
        assert_eq!(serde_json::from_str::<ToSidecar>(r#"{"type":"captureFilter","v":3,"bpf":"tcp"}"#).expect("read"), ToSidecar::Unknown);
        let ack = serde_json::to_string(&ToSidecar::Ack { v: VERSION, seq: 4 }.in_version(1)).expect("json");
        assert_eq!(ack, r#"{"type":"ack","v":1,"seq":4}"#);
        // A version-1 sidecar's hello, as its build wrote it.
        let old: FromSidecar = serde_json::from_str(r#"{"type":"hello","v":1,"identity":{"pod":"p","namespace":"n","podIp":"","node":"","nodeIp":""}}"#).expect("hello");
        assert!(matches!(old, FromSidecar::Hello { v: 1, ref build, ref protocols, .. } if build.is_empty() && protocols.is_empty()));
    }

    #[test]
    fn frames_are_tagged_json() {
        let hello = FromSidecar::Hello { v: VERSION, identity: PodIdentity { pod: "p".into(), ..Default::default() }, build: "0.1.0".into(), protocols: vec![1, 2] };
        let text = serde_json::to_string(&hello).expect("json");
        assert!(text.starts_with(r#"{"type":"hello","v":2,"identity":{"pod":"p""#), "{text}");
        assert!(text.ends_with(r#""build":"0.1.0","protocols":[1,2]}"#), "{text}");
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
