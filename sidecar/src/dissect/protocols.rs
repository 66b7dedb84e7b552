//! Which dissectors run (the pod's `remora.dev/protocols` annotation, `REMORA_PROTOCOLS`,
//! `remora replay --protocols`): `all`, or a comma list of names. A flow whose detected
//! protocol is not in the list is left undissected (still written to its PCAP file).

use super::Detection;

/// Every name the annotation accepts (the injector validates against the same list);
/// those without a dissector yet match no flow.
pub use remora_model::PROTOCOL_NAMES as NAMES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolSet(u16);

impl Default for ProtocolSet {
    fn default() -> Self {
        ProtocolSet::ALL
    }
}

impl ProtocolSet {
    pub const ALL: ProtocolSet = ProtocolSet(u16::MAX);

    /// `all`, or names separated by commas (spaces allowed); an unknown name is an error
    /// that lists the known ones.
    pub fn parse(text: &str) -> Result<ProtocolSet, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("all") {
            return Ok(ProtocolSet::ALL);
        }
        let mut bits = 0u16;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            let Some(at) = NAMES.iter().position(|n| *n == name) else {
                return Err(format!("{name:?} is not a protocol Remora knows ({})", NAMES.join(", ")));
            };
            bits |= 1 << at;
        }
        Ok(ProtocolSet(bits))
    }

    /// Whether a flow detected as `detection` is dissected.
    pub fn allows(self, detection: Detection) -> bool {
        let name = match detection {
            Detection::Http1 => "http",
            // A gRPC call is an HTTP/2 stream: either name selects the dissector.
            Detection::Http2 | Detection::Http2MidStream => return self.has("http2") || self.has("grpc"),
            Detection::Dns => "dns",
            Detection::Redis => "redis",
            Detection::Tls => "tls",
            Detection::Postgres => "postgres",
            Detection::Mysql => "mysql",
            Detection::WebSocket => "websocket",
            Detection::Icmp => "icmp",
            Detection::Kafka => "kafka",
            Detection::Amqp => "amqp",
            Detection::NeedMore | Detection::Unknown => return true,
        };
        self.has(name)
    }

    fn has(self, name: &str) -> bool {
        NAMES.iter().position(|n| *n == name).is_some_and(|at| self.0 & (1 << at) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_select() {
        let set = ProtocolSet::parse(" http, DNS ").expect("valid");
        assert!(set.allows(Detection::Http1) && set.allows(Detection::Dns));
        assert!(!set.allows(Detection::Redis) && !set.allows(Detection::Tls));
        assert_eq!(ProtocolSet::parse("all"), Ok(ProtocolSet::ALL));
        assert_eq!(ProtocolSet::parse(""), Ok(ProtocolSet::ALL));
        assert!(ProtocolSet::ALL.allows(Detection::Mysql));
        let queues = ProtocolSet::parse("kafka,amqp").expect("valid");
        assert!(queues.allows(Detection::Kafka) && queues.allows(Detection::Amqp) && !queues.allows(Detection::Http1));
        let error = ProtocolSet::parse("http,gopher").expect_err("unknown");
        assert!(error.starts_with("\"gopher\" is not a protocol Remora knows (http, http2"), "{error}");
    }
}
