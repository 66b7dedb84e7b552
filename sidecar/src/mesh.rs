//! A service mesh's proxy in the pod (`REMORA_MESH`, set by the injector when it found
//! one). On the pod's interface the sidecar then sees only the mesh's mTLS; the plaintext
//! is on `lo`, between the application and the proxy, with the addresses the mesh's
//! iptables REDIRECT left: an outgoing request goes to 127.0.0.1 at the proxy's outbound
//! port, an incoming one arrives from a loopback address. The kernel's connection tracking
//! of the pod's network namespace (`/proc/net/nf_conntrack`) still holds what the
//! application asked for: each redirected connection's original destination, and the
//! original source of the connections the proxy accepted inbound. Items show those.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::flow::{Peer, Transport};
use crate::pipeline::PeerOrigin;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mesh {
    Istio,
    Linkerd,
}

impl Mesh {
    /// `REMORA_MESH`: empty (none), `istio` or `linkerd`.
    pub fn parse(text: &str) -> Result<Option<Mesh>, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(None),
            "istio" => Ok(Some(Mesh::Istio)),
            "linkerd" => Ok(Some(Mesh::Linkerd)),
            other => Err(format!("REMORA_MESH {other:?} is not istio or linkerd")),
        }
    }

    /// Where its iptables send the application's outgoing TCP, and incoming TCP.
    fn proxy_ports(self) -> (u16, u16) {
        match self {
            Mesh::Istio => (15001, 15006),
            Mesh::Linkerd => (4140, 4143),
        }
    }
}

/// One connection the kernel tracks: the tuple as first sent, and the reply's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub tcp: bool,
    pub original: (Peer, Peer),
    pub reply: (Peer, Peer),
}

/// The entries of `/proc/net/nf_conntrack` (`ipv4 2 tcp 6 431999 ESTABLISHED src=… dst=…
/// sport=… dport=… src=… dst=… sport=… dport=… [ASSURED] …`); lines it cannot read are
/// skipped.
pub fn parse_conntrack(text: &str) -> Vec<Tracked> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Tracked> {
    let mut words = line.split_whitespace();
    let tcp = words.nth(2)? == "tcp";
    let (mut ips, mut ports) = (Vec::with_capacity(4), Vec::with_capacity(4));
    for word in words {
        let Some((key, value)) = word.split_once('=') else { continue };
        match key {
            "src" | "dst" if ips.len() < 4 => ips.push(value.parse::<IpAddr>().ok()?),
            "sport" | "dport" if ports.len() < 4 => ports.push(value.parse::<u16>().ok()?),
            _ => {}
        }
    }
    if ips.len() < 4 || ports.len() < 4 {
        return None;
    }
    let peer = |i: usize| Peer { ip: ips[i], port: ports[i] };
    Some(Tracked { tcp, original: (peer(0), peer(1)), reply: (peer(2), peer(3)) })
}

/// The peers the application really had, for a flow seen between it and the proxy.
pub fn original_peers(mesh: Mesh, table: &[Tracked], src: Peer, dst: Peer) -> Option<(Peer, Peer)> {
    let (outbound, inbound) = mesh.proxy_ports();
    let proxy_out = |p: Peer| p.ip.is_loopback() && p.port == outbound;
    // Outgoing: the application's connection to the proxy's outbound port was, as sent,
    // to the original destination.
    for (app, proxy, app_first) in [(src, dst, true), (dst, src, false)] {
        if proxy_out(proxy) && !app.ip.is_loopback() {
            let found = table.iter().find(|t| t.tcp && t.original.0 == app && t.reply.0 == proxy)?;
            let original = found.original.1;
            return Some(if app_first { (app, original) } else { (original, app) });
        }
    }
    // Incoming: the proxy connects to the application from a loopback address; the
    // connection it accepted was to the application's port. Only when exactly one such
    // connection is tracked is its source the client's (a proxy pools its connections to
    // the application, so with several the client of a request cannot be told).
    for (client, app, client_first) in [(src, dst, true), (dst, src, false)] {
        if client.ip.is_loopback() && !app.ip.is_loopback() && app.port != inbound {
            let mut accepted = table.iter().filter(|t| t.tcp && t.reply.0.port == inbound && t.original.1.port == app.port);
            let (Some(only), None) = (accepted.next(), accepted.next()) else { return None };
            let original = only.original.0;
            return Some(if client_first { (original, app) } else { (app, original) });
        }
    }
    None
}

/// Each loopback 4-tuple's answer, kept (a packet stream asks once per packet); the
/// conntrack table read again when a new tuple is not in the copy, at most every 20 ms.
pub struct MeshPeers {
    mesh: Mesh,
    path: PathBuf,
    state: Mutex<Lookups>,
}

#[derive(Default)]
struct Lookups {
    read_at: Option<Instant>,
    table: Vec<Tracked>,
    answers: HashMap<(Peer, Peer), Option<(Peer, Peer)>>,
}

const REREAD_AFTER: Duration = Duration::from_millis(20);
/// Answers kept; past it they are all dropped (each is found again in the table).
const MAX_ANSWERS: usize = 16_384;

impl MeshPeers {
    pub fn new(mesh: Mesh) -> MeshPeers {
        MeshPeers { mesh, path: PathBuf::from("/proc/net/nf_conntrack"), state: Mutex::new(Lookups::default()) }
    }

    /// Whether the table can be read here (it needs the kernel's nf_conntrack procfs).
    pub fn readable(&self) -> Result<(), String> {
        std::fs::read_to_string(&self.path).map(|_| ()).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

impl PeerOrigin for MeshPeers {
    fn restore(&self, transport: Transport, src: Peer, dst: Peer) -> Option<(Peer, Peer)> {
        // Only a connection between a loopback address and another can be redirected.
        if transport != Transport::Tcp || src.ip.is_loopback() == dst.ip.is_loopback() {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = state.answers.get(&(src, dst)) {
            return *answer;
        }
        let mut answer = original_peers(self.mesh, &state.table, src, dst);
        let mut fresh = false;
        if answer.is_none() && state.read_at.is_none_or(|at| at.elapsed() >= REREAD_AFTER) {
            if let Ok(text) = std::fs::read_to_string(&self.path) {
                state.table = parse_conntrack(&text);
                state.read_at = Some(Instant::now());
                answer = original_peers(self.mesh, &state.table, src, dst);
                fresh = true;
            }
        }
        // "Not redirected" is only kept when the table was read for this very packet: an
        // older copy may predate the connection.
        if answer.is_some() || fresh {
            if state.answers.len() >= MAX_ANSWERS {
                state.answers.clear();
            }
            state.answers.insert((src, dst), answer);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> Peer {
        let (ip, port) = text.rsplit_once(':').expect("ip:port");
        Peer { ip: ip.parse().expect("ip"), port: port.parse().expect("port") }
    }

    // As a v6.1 kernel writes them in a pod with Istio's REDIRECT rules: the app's
    // outgoing connection redirected to 15001, a client's connection redirected to 15006,
    // and a UDP DNS query.
    const TABLE: &str = "\
ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.1 dst=198.51.100.20 sport=40312 dport=8080 src=127.0.0.1 dst=192.0.2.1 sport=15001 dport=40312 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 431998 ESTABLISHED src=192.0.2.9 dst=192.0.2.1 sport=51000 dport=9080 src=192.0.2.1 dst=192.0.2.9 sport=15006 dport=51000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 28 src=192.0.2.1 dst=192.0.2.53 sport=53000 dport=53 src=192.0.2.53 dst=192.0.2.1 sport=53 dport=53000 mark=0 zone=0 use=2
garbage line
";

    #[test]
    fn outgoing_and_incoming_peers_come_back() {
        let table = parse_conntrack(TABLE);
        assert_eq!(table.len(), 3);
        let out = original_peers(Mesh::Istio, &table, peer("192.0.2.1:40312"), peer("127.0.0.1:15001"));
        assert_eq!(out, Some((peer("192.0.2.1:40312"), peer("198.51.100.20:8080"))));
        // The first packet seen may be the proxy's answer.
        let reversed = original_peers(Mesh::Istio, &table, peer("127.0.0.1:15001"), peer("192.0.2.1:40312"));
        assert_eq!(reversed, Some((peer("198.51.100.20:8080"), peer("192.0.2.1:40312"))));
        let incoming = original_peers(Mesh::Istio, &table, peer("127.0.0.6:43210"), peer("192.0.2.1:9080"));
        assert_eq!(incoming, Some((peer("192.0.2.9:51000"), peer("192.0.2.1:9080"))));
        // Linkerd's ports are others: nothing matches.
        assert_eq!(original_peers(Mesh::Linkerd, &table, peer("192.0.2.1:40312"), peer("127.0.0.1:15001")), None);
    }

    #[test]
    fn an_incoming_client_is_only_named_when_one_connection_fits() {
        let two = format!("{TABLE}ipv4     2 tcp      6 431990 ESTABLISHED src=192.0.2.10 dst=192.0.2.1 sport=52000 dport=9080 src=192.0.2.1 dst=192.0.2.10 sport=15006 dport=52000 [ASSURED] mark=0 zone=0 use=2\n");
        let table = parse_conntrack(&two);
        assert_eq!(original_peers(Mesh::Istio, &table, peer("127.0.0.6:43210"), peer("192.0.2.1:9080")), None);
    }
}
