//! The service map (`GET /api/servicemap`): who calls whom over the stored items that
//! match a KFL query in a time window. Nodes are workloads (an endpoint's resolved pod or
//! service name, a pod taken to its controller: [`workload`]) or, for an endpoint the
//! cluster did not name, its address; edges are (client, server, protocol) with request
//! and error counts ([`is_error`]) and latency percentiles of the answered requests.
//! The store is scanned a chunk at a time, as item queries are.

use std::collections::{BTreeMap, HashMap};

use remora_kfl::Query;
use serde::Serialize;
use serde_json::Value;

/// Nodes and edges an answer holds at most; the busiest edges are kept.
pub const MAX_NODES: usize = 100;
pub const MAX_EDGES: usize = 300;
/// Names (pods, services) or addresses listed per node, for the filter that selects it.
pub const MAX_MEMBERS: usize = 50;

/// Whether an item is a failed exchange. One rule for every protocol:
/// - it has an `error` (dissection, connection, timeout, pair-not-found);
/// - it went unanswered (`response` null) where the protocol answers every request: not
///   WebSocket data messages, ICMP messages other than an echo, Kafka's acks-0 Produce,
///   MySQL's Quit/Close, AMQP's asynchronous methods, Redis pushes — those are unanswered
///   by design (and carry an `error` when an answer was due and did not come);
/// - its answer says so: HTTP status >= 500 (a 4xx is the client's mistake, answered
///   correctly: not an error here), gRPC status != 0, DNS rcode != 0, a Redis error
///   reply, a PostgreSQL, MySQL or AMQP error, a Kafka error code != 0, a WebSocket close
///   code other than 1000 (normal), 1001 (going away) and 1005 (none given);
/// - an ICMP error message (destination unreachable, time exceeded, ...: `codeName` set).
pub fn is_error(item: &Value) -> bool {
    if !item.get("error").is_none_or(Value::is_null) {
        return true;
    }
    let protocol = item.pointer("/protocol/name").and_then(Value::as_str).unwrap_or("");
    let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let number = |pointer: &str| item.pointer(pointer).and_then(Value::as_i64);
    let present = |pointer: &str| item.pointer(pointer).is_some_and(|v| !v.is_null());
    let close_failed = |pointer: &str| number(pointer).is_some_and(|code| ![1000, 1001, 1005].contains(&code));
    if protocol == "icmp" && !text("/request/codeName").is_empty() {
        return true;
    }
    if item.get("response").is_none_or(Value::is_null) {
        let silent_by_design = matches!(protocol, "websocket" | "icmp" | "kafka" | "mysql" | "amqp")
            || (protocol == "redis" && item.pointer("/request/pushed").and_then(Value::as_bool) == Some(true));
        return !silent_by_design;
    }
    match protocol {
        "http" => number("/response/status").is_some_and(|s| s >= 500) || number("/response/grpc/status").is_some_and(|s| s != 0),
        "dns" => number("/response/rcode").is_some_and(|r| r != 0),
        "redis" => present("/response/error") || text("/response/type") == "error",
        "postgres" | "mysql" | "amqp" => present("/response/error"),
        "kafka" => number("/response/errorCode").is_some_and(|c| c != 0),
        "websocket" => close_failed("/request/closeCode") || close_failed("/response/closeCode"),
        _ => false,
    }
}

/// What a pod belongs to, as the hub's watch of the cluster knows it: its controller
/// (`ownerReferences` with `controller: true`) and the `pod-template-hash` label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodOwner {
    pub kind: String,
    pub name: String,
    pub template_hash: Option<String>,
}

/// The characters Kubernetes draws generated name suffixes and template hashes from
/// (`rand.SafeEncodeString`: no vowels, no 0, 1, 3).
const GENERATED: &str = "bcdfghjklmnpqrstvwxz2456789";

fn generated(part: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&part.len()) && part.chars().all(|c| GENERATED.contains(c))
}

/// `name` without its last `-part` when `keep` says the part is generated.
fn strip_last(name: &str, keep: impl Fn(&str) -> bool) -> Option<&str> {
    let (base, last) = name.rsplit_once('-')?;
    (!base.is_empty() && keep(last)).then_some(base)
}

/// The workload an endpoint's resolved name stands for.
///
/// With what the hub knows of the pod (`owner`, from its cluster watch): a pod of a
/// ReplicaSet is its Deployment (the ReplicaSet's name without the pod's
/// `-<pod-template-hash>`), of a Job whose name ends in `-<8 or more digits>` (a CronJob's
/// run) the CronJob, of any other controller (StatefulSet, DaemonSet, Job, ...) that
/// controller; a pod with none is itself.
///
/// Without (a service's name, a pod the hub does not follow, no cluster watch): the
/// generated suffixes are taken off as Kubeshark and Kiali do: `NAME-<hash>-<5>` (a
/// Deployment's pod) and `NAME-<5>` (a DaemonSet's, Job's or bare ReplicaSet's pod) become
/// `NAME`, where `<hash>` is 6 to 10 and `<5>` five characters of Kubernetes' generated
/// alphabet (consonants and the digits 2, 4-9). Anything else stays as it is: a
/// service's name, a StatefulSet's `NAME-0` (each replica is its own identity).
pub fn workload(name: &str, owner: Option<&PodOwner>) -> String {
    match owner {
        Some(owner) => match owner.kind.as_str() {
            "ReplicaSet" => match &owner.template_hash {
                Some(hash) => owner.name.strip_suffix(hash.as_str()).and_then(|n| n.strip_suffix('-')).filter(|n| !n.is_empty()).unwrap_or(&owner.name).to_string(),
                None => owner.name.clone(),
            },
            "Job" => strip_last(&owner.name, |part| part.len() >= 8 && part.chars().all(|c| c.is_ascii_digit())).unwrap_or(&owner.name).to_string(),
            _ => owner.name.clone(),
        },
        None => {
            let without_pod = strip_last(name, |part| generated(part, 5..=5));
            let deployment = without_pod.and_then(|rest| strip_last(rest, |part| generated(part, 6..=10)));
            deployment.or(without_pod).unwrap_or(name).to_string()
        }
    }
}

/// An endpoint as items name it: resolved (namespace, name) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Named { namespace: String, name: String },
    Address(String),
}

impl Endpoint {
    fn of(end: Option<&Value>) -> Endpoint {
        let text = |key: &str| end.and_then(|e| e.get(key)).and_then(Value::as_str).unwrap_or("").to_string();
        let name = text("name");
        if name.is_empty() {
            Endpoint::Address(text("ip"))
        } else {
            Endpoint::Named { namespace: text("namespace"), name }
        }
    }
}

/// The time window, in milliseconds since the epoch: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Window {
    fn holds(&self, item: &Value) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let Some(at) = item.get("timestamp").and_then(Value::as_i64) else { return false };
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

#[derive(Default)]
struct Tally {
    count: u64,
    errors: u64,
    /// `elapsedTime` of the answered items.
    latencies: Vec<u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.count += other.count;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
    }
}

/// Items gathered as they are scanned, by (client, server, protocol) as named in them.
#[derive(Default)]
pub struct Gathered {
    window: Window,
    edges: HashMap<(Endpoint, Endpoint, String), Tally>,
    /// Items that matched the query, in the window.
    pub items: u64,
}

impl Gathered {
    pub fn new(window: Window) -> Gathered {
        Gathered { window, ..Default::default() }
    }

    /// Counts one item matching the query (those outside the window are passed over).
    pub fn add(&mut self, item: &Value) {
        if !self.window.holds(item) {
            return;
        }
        self.items += 1;
        let protocol = ["/protocol/macro", "/protocol/name"].iter().find_map(|p| item.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty())).unwrap_or("unknown");
        let key = (Endpoint::of(item.get("src")), Endpoint::of(item.get("dst")), protocol.to_string());
        let tally = self.edges.entry(key).or_default();
        tally.count += 1;
        tally.errors += u64::from(is_error(item));
        if item.get("response").is_some_and(|r| !r.is_null()) {
            tally.latencies.push(item.get("elapsedTime").and_then(Value::as_u64).unwrap_or(0));
        }
    }

    /// The distinct named endpoints seen, for the owner look-up.
    pub fn named(&self) -> Vec<(String, String)> {
        let mut named: Vec<(String, String)> = self
            .edges
            .keys()
            .flat_map(|(a, b, _)| [a, b])
            .filter_map(|e| match e {
                Endpoint::Named { namespace, name } => Some((namespace.clone(), name.clone())),
                Endpoint::Address(_) => None,
            })
            .collect();
        named.sort();
        named.dedup();
        named
    }

    /// The map, with the nodes' workloads from `owners` ((namespace, pod) → its owner),
    /// at most `max_nodes` nodes and `max_edges` edges (the busiest).
    pub fn map(self, owners: &HashMap<(String, String), PodOwner>, max_nodes: usize, max_edges: usize) -> ServiceMap {
        let node_of = |end: &Endpoint| -> NodeKey {
            match end {
                Endpoint::Named { namespace, name } => {
                    let owner = owners.get(&(namespace.clone(), name.clone()));
                    NodeKey { namespace: namespace.clone(), name: workload(name, owner), address: false }
                }
                Endpoint::Address(ip) => NodeKey { namespace: String::new(), name: ip.clone(), address: true },
            }
        };
        let member = |end: &Endpoint| match end {
            Endpoint::Named { name, .. } => name.clone(),
            Endpoint::Address(ip) => ip.clone(),
        };
        let mut members: BTreeMap<NodeKey, std::collections::BTreeSet<String>> = BTreeMap::new();
        let mut edges: BTreeMap<(NodeKey, NodeKey, String), Tally> = BTreeMap::new();
        for ((src, dst, protocol), tally) in self.edges {
            let (client, server) = (node_of(&src), node_of(&dst));
            members.entry(client.clone()).or_default().insert(member(&src));
            members.entry(server.clone()).or_default().insert(member(&dst));
            edges.entry((client, server, protocol)).or_default().merge(tally);
        }
        // The busiest edges first (ties in key order), while their nodes fit.
        let mut ranked: Vec<((NodeKey, NodeKey, String), Tally)> = edges.into_iter().collect();
        ranked.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        let all_nodes = members.len();
        let mut kept_nodes: BTreeMap<NodeKey, (u64, u64)> = BTreeMap::new();
        let mut kept_edges = Vec::new();
        let mut omitted = Omitted::default();
        for ((client, server, protocol), tally) in ranked {
            let new_nodes = usize::from(!kept_nodes.contains_key(&client)) + usize::from(server != client && !kept_nodes.contains_key(&server));
            if kept_edges.len() == max_edges || kept_nodes.len() + new_nodes > max_nodes {
                omitted.edges += 1;
                omitted.items += tally.count;
                continue;
            }
            kept_nodes.entry(client.clone()).or_default().1 += tally.count;
            kept_nodes.entry(server.clone()).or_default().0 += tally.count;
            kept_edges.push(Edge::new(client.id(), server.id(), protocol, tally));
        }
        omitted.nodes = all_nodes - kept_nodes.len();
        let nodes = kept_nodes
            .into_iter()
            .map(|(key, (received, sent))| {
                let all = members.remove(&key).unwrap_or_default();
                let members_omitted = all.len().saturating_sub(MAX_MEMBERS);
                Node {
                    id: key.id(),
                    kind: if key.address { "address" } else { "workload" },
                    members: all.into_iter().take(MAX_MEMBERS).collect(),
                    members_omitted,
                    name: key.name,
                    namespace: key.namespace,
                    received,
                    sent,
                }
            })
            .collect();
        ServiceMap { window: self.window, items: self.items, nodes, edges: kept_edges, omitted, warnings: Vec::new() }
    }
}

/// A node as the map keys it: addresses apart from names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NodeKey {
    address: bool,
    namespace: String,
    name: String,
}

impl NodeKey {
    fn id(&self) -> String {
        if self.address || self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// `namespace/workload`, or the address.
    pub id: String,
    /// `workload` or `address`.
    pub kind: &'static str,
    pub name: String,
    pub namespace: String,
    /// The pod and service names (or the address) the items name it by.
    pub members: Vec<String>,
    pub members_omitted: usize,
    /// Requests it answered (as a server) and made (as a client), over the kept edges.
    pub received: u64,
    pub sent: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub source: String,
    pub target: String,
    /// `protocol.macro` of its items (`http`, `http2`, `grpc`, `dns`, ...).
    pub protocol: String,
    pub count: u64,
    pub errors: u64,
    pub error_rate: f64,
    /// Items with a response: what the percentiles are over.
    pub answered: u64,
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
}

impl Edge {
    fn new(source: String, target: String, protocol: String, mut tally: Tally) -> Edge {
        tally.latencies.sort_unstable();
        let at = |p: u64| percentile(&tally.latencies, p);
        Edge {
            source,
            target,
            protocol,
            count: tally.count,
            errors: tally.errors,
            error_rate: if tally.count == 0 { 0.0 } else { tally.errors as f64 / tally.count as f64 },
            answered: tally.latencies.len() as u64,
            p50: at(50),
            p95: at(95),
            p99: at(99),
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `p`%
/// of them at or below it.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[derive(Debug, Default, Serialize)]
pub struct Omitted {
    pub nodes: usize,
    pub edges: usize,
    /// Items on the omitted edges.
    pub items: u64,
}

#[derive(Debug, Serialize)]
pub struct ServiceMap {
    #[serde(flatten)]
    pub window: Window,
    /// Items that matched the query in the window.
    pub items: u64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub omitted: Omitted,
    pub warnings: Vec<String>,
}

impl crate::server::Hub {
    /// The service map of the stored items matching `query` in `window`: the store is
    /// scanned a chunk at a time, its lock taken for each (ingestion goes on between), then
    /// the pods' owners are looked up once. Call it off the async workers.
    pub fn service_map(&self, query: &Query, window: Window) -> ServiceMap {
        let mut gathered = Gathered::new(window);
        self.scan_items(query, |mut found| {
            if let Some(item) = found.value() {
                gathered.add(item);
            }
            true
        });
        let named = gathered.named();
        let owners = {
            let coverage = self.coverage();
            named.into_iter().filter_map(|(namespace, pod)| coverage.owner(&namespace, &pod).map(|owner| ((namespace, pod), owner))).collect()
        };
        gathered.map(&owners, MAX_NODES, MAX_EDGES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http(status: u16) -> Value {
        json!({"protocol": {"name": "http", "macro": "http"}, "error": null, "response": {"status": status}})
    }

    #[test]
    fn the_error_rule_for_each_protocol() {
        let cases: Vec<(Value, bool, &str)> = vec![
            (http(200), false, "HTTP 200"),
            (http(404), false, "HTTP 404: the client's mistake, answered"),
            (http(499), false, "HTTP 499"),
            (http(500), true, "HTTP 500"),
            (http(503), true, "HTTP 503"),
            (json!({"protocol": {"name": "http"}, "response": null, "error": {"type": "timeout", "msg": "no response"}}), true, "an error"),
            (json!({"protocol": {"name": "http"}, "response": null, "error": null}), true, "HTTP unanswered"),
            (json!({"protocol": {"name": "http", "macro": "grpc"}, "response": {"status": 200, "grpc": {"status": 5}}}), true, "gRPC NOT_FOUND"),
            (json!({"protocol": {"name": "http", "macro": "grpc"}, "response": {"status": 200, "grpc": {"status": 0}}}), false, "gRPC OK"),
            (json!({"protocol": {"name": "http", "macro": "grpc"}, "response": {"status": 200, "grpc": {"status": null}}}), false, "gRPC without a status"),
            (json!({"protocol": {"name": "dns"}, "response": {"rcode": 0}}), false, "DNS NOERROR"),
            (json!({"protocol": {"name": "dns"}, "response": {"rcode": 3}}), true, "DNS NXDOMAIN"),
            (json!({"protocol": {"name": "dns"}, "response": null, "error": {"type": "timeout"}}), true, "DNS unanswered"),
            (json!({"protocol": {"name": "redis"}, "request": {"pushed": false}, "response": {"type": "error", "error": "NOAUTH"}}), true, "a Redis error reply"),
            (json!({"protocol": {"name": "redis"}, "request": {"pushed": false}, "response": {"type": "simple", "error": null}}), false, "Redis OK"),
            (json!({"protocol": {"name": "redis"}, "request": {"pushed": true}, "response": null}), false, "a Redis push"),
            (json!({"protocol": {"name": "postgres"}, "response": {"error": {"code": "42P01"}}}), true, "a PostgreSQL error"),
            (json!({"protocol": {"name": "postgres"}, "response": {"error": null}}), false, "PostgreSQL OK"),
            (json!({"protocol": {"name": "mysql"}, "response": {"kind": "error", "error": {"code": 1146}}}), true, "a MySQL error"),
            (json!({"protocol": {"name": "mysql"}, "response": null}), false, "MySQL Quit"),
            (json!({"protocol": {"name": "kafka"}, "response": {"errorCode": 3}}), true, "a Kafka error code"),
            (json!({"protocol": {"name": "kafka"}, "response": {"errorCode": 0}}), false, "Kafka OK"),
            (json!({"protocol": {"name": "kafka"}, "response": null}), false, "an acks-0 Produce"),
            (json!({"protocol": {"name": "amqp"}, "response": {"error": {"code": 404}}}), true, "an AMQP channel close"),
            (json!({"protocol": {"name": "amqp"}, "response": null}), false, "Basic.Publish"),
            (json!({"protocol": {"name": "websocket"}, "request": {"opcode": "text"}, "response": null}), false, "a WebSocket message"),
            (json!({"protocol": {"name": "websocket"}, "request": {"opcode": "close", "closeCode": 1000}, "response": {"opcode": "close", "closeCode": 1000}}), false, "a normal close"),
            (json!({"protocol": {"name": "websocket"}, "request": {"opcode": "close", "closeCode": 1011}, "response": {"opcode": "close"}}), true, "an internal-error close"),
            (json!({"protocol": {"name": "tls"}, "response": null}), true, "a ClientHello unanswered"),
            (json!({"protocol": {"name": "tls"}, "response": {"version": "TLS 1.3"}}), false, "a handshake"),
            (json!({"protocol": {"name": "icmp"}, "request": {"codeName": "port unreachable"}, "response": null}), true, "port unreachable"),
            (json!({"protocol": {"name": "icmp"}, "request": {"codeName": ""}, "response": null}), false, "neighbor solicitation"),
            (json!({"protocol": {"name": "icmp"}, "request": {"codeName": ""}, "response": {"codeName": ""}}), false, "an echo answered"),
        ];
        let wrong: Vec<String> = cases.iter().filter(|(item, want, _)| is_error(item) != *want).map(|(_, want, what)| format!("{what}: expected {want}")).collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    fn owner(kind: &str, name: &str, hash: Option<&str>) -> PodOwner {
        PodOwner { kind: kind.into(), name: name.into(), template_hash: hash.map(String::from) }
    }

    #[test]
    fn workloads_from_owners_or_from_generated_suffixes() {
        // Known to the hub's watch.
        assert_eq!(workload("web-7d4b9c8f6d-x2kqz", Some(&owner("ReplicaSet", "web-7d4b9c8f6d", Some("7d4b9c8f6d")))), "web");
        assert_eq!(workload("odd", Some(&owner("ReplicaSet", "frontend-rs", None))), "frontend-rs");
        assert_eq!(workload("db-0", Some(&owner("StatefulSet", "db", None))), "db");
        assert_eq!(workload("agent-x2kqz", Some(&owner("DaemonSet", "agent", None))), "agent");
        assert_eq!(workload("report-29012345-abcde", Some(&owner("Job", "report-29012345", None))), "report");
        assert_eq!(workload("migrate-x", Some(&owner("Job", "migrate", None))), "migrate");
        // Not known: generated suffixes.
        assert_eq!(workload("web-7d4b9c8f6d-x2kqz", None), "web");
        assert_eq!(workload("checkout-api-5c9f8b7d-4xk2p", None), "checkout-api");
        assert_eq!(workload("agent-x2kqz", None), "agent");
        assert_eq!(workload("web", None), "web", "a service's name");
        assert_eq!(workload("redis-cart", None), "redis-cart", "a vowel: not generated");
        assert_eq!(workload("db-0", None), "db-0", "a StatefulSet's replica stays itself");
        assert_eq!(workload("api-v2", None), "api-v2");
        assert_eq!(workload("-x2kqz", None), "-x2kqz");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50), Some(10));
        assert_eq!(percentile(&values, 95), Some(19));
        assert_eq!(percentile(&values, 99), Some(20));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[1, 9], 50), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }

    fn exchange(src: (&str, &str, &str), dst: (&str, &str, &str), protocol: &str, status: Option<u16>, elapsed: u64, timestamp: i64) -> Value {
        let end = |(ip, name, namespace): (&str, &str, &str)| json!({"ip": ip, "port": "80", "name": name, "namespace": namespace});
        let response = status.map_or(Value::Null, |s| json!({"status": s}));
        json!({"protocol": {"name": protocol, "macro": protocol}, "src": end(src), "dst": end(dst), "response": response, "error": null, "elapsedTime": elapsed, "timestamp": timestamp})
    }

    #[test]
    fn edges_merge_pods_into_workloads_and_count_errors_and_latency() {
        let (a1, a2) = (("10.0.0.1", "web-7d4b9c8f6d-x2kqz", "shop"), ("10.0.0.2", "web-7d4b9c8f6d-b4c5d", "shop"));
        let db = ("10.0.0.9", "db", "shop");
        let outside = ("203.0.113.7", "", "");
        let mut gathered = Gathered::new(Window { from: Some(1000), to: None });
        for (i, (src, status)) in [(a1, 200), (a2, 200), (a1, 503), (a2, 200)].into_iter().enumerate() {
            gathered.add(&exchange(src, db, "http", Some(status), 10 * (i as u64 + 1), 1000 + i as i64));
        }
        gathered.add(&exchange(a1, db, "http", None, 0, 2000));
        gathered.add(&exchange(a1, outside, "http", Some(200), 40, 2001));
        gathered.add(&exchange(a1, db, "http", Some(200), 999, 999)); // before the window
        assert_eq!(gathered.items, 6);
        let map = gathered.map(&HashMap::new(), 10, 10);
        let ids: Vec<(&str, &str, &Vec<String>)> = map.nodes.iter().map(|n| (n.id.as_str(), n.kind, &n.members)).collect();
        assert_eq!(
            ids,
            [
                ("shop/db", "workload", &vec!["db".to_string()]),
                ("shop/web", "workload", &vec!["web-7d4b9c8f6d-b4c5d".to_string(), "web-7d4b9c8f6d-x2kqz".to_string()]),
                ("203.0.113.7", "address", &vec!["203.0.113.7".to_string()]),
            ]
        );
        let web_db = &map.edges[0];
        assert_eq!((web_db.source.as_str(), web_db.target.as_str(), web_db.protocol.as_str()), ("shop/web", "shop/db", "http"));
        // Five requests: a 503 and one unanswered are errors; latencies 10, 20, 30, 40.
        assert_eq!((web_db.count, web_db.errors, web_db.answered), (5, 2, 4));
        assert_eq!(web_db.error_rate, 0.4);
        assert_eq!((web_db.p50, web_db.p95, web_db.p99), (Some(20), Some(40), Some(40)));
        assert_eq!((map.edges[1].target.as_str(), map.edges[1].count, map.edges[1].p50), ("203.0.113.7", 1, Some(40)));
        assert_eq!((map.nodes[1].sent, map.nodes[1].received, map.nodes[0].received), (6, 0, 5));
        assert_eq!((map.omitted.nodes, map.omitted.edges), (0, 0));
    }

    #[test]
    fn the_answer_is_bounded_to_the_busiest_edges() {
        let mut gathered = Gathered::new(Window::default());
        // Client c calls s1 three times, s2 twice, s3 once.
        for (server, times) in [("s1", 3), ("s2", 2), ("s3", 1)] {
            for _ in 0..times {
                gathered.add(&exchange(("10.0.0.1", "c", "ns"), ("10.0.0.2", server, "ns"), "http", Some(200), 1, 0));
            }
        }
        let map = gathered.map(&HashMap::new(), 3, 10);
        let kept: Vec<&str> = map.edges.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(kept, ["ns/s1", "ns/s2"]);
        assert_eq!((map.omitted.nodes, map.omitted.edges, map.omitted.items), (1, 1, 1));
        let map = {
            let mut gathered = Gathered::new(Window::default());
            for server in ["s1", "s2", "s3"] {
                gathered.add(&exchange(("10.0.0.1", "c", "ns"), ("10.0.0.2", server, "ns"), "dns", Some(200), 1, 0));
            }
            gathered.map(&HashMap::new(), 10, 1)
        };
        assert_eq!((map.edges.len(), map.omitted.edges, map.omitted.nodes, map.nodes.len()), (1, 2, 2, 2));
    }

    #[test]
    fn owners_known_to_the_hub_name_the_workload() {
        let mut gathered = Gathered::new(Window::default());
        gathered.add(&exchange(("10.0.0.1", "cron-29012345-abcde", "ops"), ("10.0.0.2", "db-0", "ops"), "postgres", None, 0, 0));
        let owners = HashMap::from([
            (("ops".to_string(), "cron-29012345-abcde".to_string()), owner("Job", "cron-29012345", None)),
            (("ops".to_string(), "db-0".to_string()), owner("StatefulSet", "db", None)),
        ]);
        assert_eq!(gathered.named(), [("ops".to_string(), "cron-29012345-abcde".to_string()), ("ops".to_string(), "db-0".to_string())]);
        let map = gathered.map(&owners, 10, 10);
        assert_eq!((map.edges[0].source.as_str(), map.edges[0].target.as_str()), ("ops/cron", "ops/db"));
        assert_eq!(map.edges[0].errors, 1, "a PostgreSQL query unanswered");
    }
}
