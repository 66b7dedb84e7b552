//! The sidecars connected now: who each is (its pod and node) and a queue of frames to
//! it. Job runs, the cluster's jobs, scripts and PCAP requests go out through here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use remora_model::wire::{PodIdentity, SidecarStats, ToSidecar};
use tokio::sync::mpsc;

/// Frames waiting for one sidecar; a sidecar this far behind loses the newest (counted).
const QUEUE: usize = 1024;

struct Session {
    identity: PodIdentity,
    /// The protocol version the session runs in: every frame to it is stamped with it.
    version: u32,
    /// The sidecar's build, as its hello said (empty from version-1 sidecars).
    build: String,
    frames: mpsc::Sender<String>,
    since: std::time::SystemTime,
    stats: Option<SidecarStats>,
}

/// A connected sidecar, as `GET /api/sidecars` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarInfo {
    #[serde(flatten)]
    pub identity: PodIdentity,
    /// UNIX seconds of the session's start.
    pub connected_since: u64,
    /// As last reported (every 10 s).
    pub stats: Option<SidecarStats>,
    /// The protocol version the session runs in.
    pub protocol: u32,
    /// The sidecar's build (empty: a version-1 sidecar, which does not say).
    pub build: String,
}

#[derive(Default)]
pub struct Sessions {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Session>>,
    /// Frames not queued because a sidecar's queue was full.
    pub overflowed: AtomicU64,
}

/// The node a session counts under for job limits: its node, or its pod when the node
/// is not known.
pub fn node_of(identity: &PodIdentity) -> String {
    if identity.node.is_empty() {
        format!("{}/{}", identity.namespace, identity.pod)
    } else {
        identity.node.clone()
    }
}

impl Sessions {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Session>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a sidecar after its hello; frames for it come out of the receiver.
    pub fn add(&self, identity: PodIdentity, version: u32, build: String) -> (u64, mpsc::Receiver<String>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (frames, receiver) = mpsc::channel(QUEUE);
        self.live().insert(id, Session { identity, version, build, frames, since: std::time::SystemTime::now(), stats: None });
        (id, receiver)
    }

    pub fn remove(&self, id: u64) {
        self.live().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.live().len()
    }

    /// Queues a frame for one sidecar; false when it is gone or too far behind.
    pub fn send(&self, id: u64, frame: &ToSidecar) -> bool {
        let live = self.live();
        let Some(session) = live.get(&id) else { return false };
        let Ok(text) = serde_json::to_string(&frame.clone().in_version(session.version)) else { return false };
        self.queue(session, text)
    }


    fn queue(&self, session: &Session, text: String) -> bool {
        match session.frames.try_send(text) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(pod = %session.identity.pod, "a sidecar is too far behind: a frame for it was dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a frame for every sidecar.
    pub fn broadcast(&self, frame: &ToSidecar) {
        // Written once per version in use (nearly always one).
        let mut texts: HashMap<u32, Option<String>> = HashMap::new();
        for session in self.live().values() {
            let text = texts.entry(session.version).or_insert_with(|| serde_json::to_string(&frame.clone().in_version(session.version)).ok());
            if let Some(text) = text {
                self.queue(session, text.clone());
            }
        }
    }

    pub fn set_stats(&self, id: u64, stats: SidecarStats) {
        if let Some(session) = self.live().get_mut(&id) {
            session.stats = Some(stats);
        }
    }

    /// Every connected sidecar, by namespace and pod.
    pub fn list(&self) -> Vec<SidecarInfo> {
        let mut list: Vec<SidecarInfo> = self
            .live()
            .values()
            .map(|s| SidecarInfo {
                identity: s.identity.clone(),
                connected_since: s.since.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                stats: s.stats.clone(),
                protocol: s.version,
                build: s.build.clone(),
            })
            .collect();
        list.sort_by(|a, b| (&a.identity.namespace, &a.identity.pod).cmp(&(&b.identity.namespace, &b.identity.pod)));
        list
    }

    /// (session, node) of every sidecar.
    pub fn nodes(&self) -> Vec<(u64, String)> {
        self.live().iter().map(|(id, s)| (*id, node_of(&s.identity))).collect()
    }

    /// The session of pod `namespace/pod`.
    pub fn find(&self, namespace: &str, pod: &str) -> Option<u64> {
        self.live().iter().find(|(_, s)| s.identity.pod == pod && s.identity.namespace == namespace).map(|(id, _)| *id)
    }
}
