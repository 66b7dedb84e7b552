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
}

/// Hub → sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToSidecar {
    /// Every batch up to `seq` is stored: the sidecar may forget it.
    Ack { v: u32, seq: u64 },
    /// The session is refused or ended, and why.
    Refused { v: u32, reason: String },
}

impl FromSidecar {
    pub fn version(&self) -> u32 {
        match self {
            FromSidecar::Hello { v, .. }
            | FromSidecar::Items { v, .. }
            | FromSidecar::Console { v, .. }
            | FromSidecar::Dropped { v, .. } => *v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let hello = FromSidecar::Hello { v: VERSION, identity: PodIdentity { pod: "p".into(), ..Default::default() } };
        let text = serde_json::to_string(&hello).expect("json");
        assert!(text.starts_with(r#"{"type":"hello","v":1,"identity":{"pod":"p""#), "{text}");
        let back: FromSidecar = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, hello);
        let ack: ToSidecar = serde_json::from_str(r#"{"type":"ack","v":1,"seq":7}"#).expect("ack");
        assert_eq!(ack, ToSidecar::Ack { v: 1, seq: 7 });
    }
}
