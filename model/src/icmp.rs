//! ICMP and ICMPv6 items: an echo request with its reply, or an error message (destination
//! unreachable, time exceeded, ...) with the packet it quotes.

use serde::{Deserialize, Serialize};

/// `request` (and for an echo, `response`) of an ICMP item: one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IcmpMessage {
    #[serde(rename = "type")]
    pub kind: u8,
    pub code: u8,
    /// `echo request`, `echo reply`, `destination unreachable`, `time exceeded`, ...
    pub type_name: String,
    /// For an error: what went wrong (`port unreachable`, `fragmentation needed`, ...);
    /// empty otherwise.
    pub code_name: String,
    /// Echo identifier and sequence number (0 for other messages).
    pub identifier: u16,
    pub sequence: u16,
    /// Bytes after the 8-byte header.
    pub size: u64,
    /// An error message's quoted packet: who sent what that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted: Option<IcmpQuoted>,
}

/// The start of the packet an ICMP error quotes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IcmpQuoted {
    /// `tcp`, `udp`, `icmp`, ... or the protocol number.
    pub protocol: String,
    pub src: String,
    pub dst: String,
    /// TCP or UDP ports; 0 for other protocols.
    pub src_port: u16,
    pub dst_port: u16,
}
