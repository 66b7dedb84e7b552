//! Flow identity: the 5-tuple key, the two directions, and capture time.

use std::net::IpAddr;

/// Capture time in nanoseconds since the UNIX epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const SECOND: i64 = 1_000_000_000;

    pub fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// RFC 3339 in UTC with nanoseconds, as Go prints a `time.Time`.
    pub fn rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    pub ip: IpAddr,
    pub port: u16,
}

/// A direction within a flow: `Forward` is the way its first captured packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    Forward,
    Reverse,
}

impl Dir {
    pub fn flip(self) -> Dir {
        match self {
            Dir::Forward => Dir::Reverse,
            Dir::Reverse => Dir::Forward,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Dir::Forward => 0,
            Dir::Reverse => 1,
        }
    }
}

/// A flow's key, the same for both directions: the smaller peer comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub transport: Transport,
    pub low: Peer,
    pub high: Peer,
}

impl FlowKey {
    pub fn new(transport: Transport, src: Peer, dst: Peer) -> FlowKey {
        if src <= dst {
            FlowKey { transport, low: src, high: dst }
        } else {
            FlowKey { transport, low: dst, high: src }
        }
    }
}
