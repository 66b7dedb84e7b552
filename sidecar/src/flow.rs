//! Flow identity: the 5-tuple key, the two directions, and capture time.

use std::net::IpAddr;

/// Capture time in nanoseconds since the UNIX epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const SECOND: i64 = 1_000_000_000;

    /// The wall clock (live capture ages its flows on it).
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(since.as_nanos()).unwrap_or(i64::MAX))
    }

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

/// Formats timestamps exactly as [`Timestamp::rfc3339`] does, but keeps the date and
/// time of day while the second is the same: packets come many to a second.
#[derive(Debug, Default)]
pub struct Rfc3339Cache {
    second: Option<i64>,
    /// `2026-11-28T08:47:50`, without a fraction or `Z`.
    prefix: String,
    out: String,
}

impl Rfc3339Cache {
    pub fn format(&mut self, ts: Timestamp) -> &str {
        let second = ts.0.div_euclid(Timestamp::SECOND);
        let nanos = ts.0.rem_euclid(Timestamp::SECOND);
        if self.second != Some(second) {
            self.second = Some(second);
            let whole = Timestamp(second * Timestamp::SECOND).rfc3339();
            self.prefix = whole.trim_end_matches('Z').to_string();
        }
        self.out.clear();
        self.out.push_str(&self.prefix);
        if nanos != 0 {
            let mut digits = [b'0'; 9];
            let mut rest = nanos;
            for digit in digits.iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            let end = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
            self.out.push('.');
            self.out.extend(digits[..end].iter().map(|&d| char::from(d)));
        }
        self.out.push('Z');
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_rfc3339_matches_the_formatter() {
        let mut cache = Rfc3339Cache::default();
        for ns in [0i64, 1, 1_000, 939_527_000, 999_999_999, 1_000_000_000, 1_362_692_526_939_527_000, 1_362_692_526_000_000_000, 1_362_692_527_100_000_000] {
            assert_eq!(cache.format(Timestamp(ns)), Timestamp(ns).rfc3339(), "{ns}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    /// ICMP and ICMPv6; a flow's "port" is the echo identifier (0 for other messages).
    Icmp,
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
