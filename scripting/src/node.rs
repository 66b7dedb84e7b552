//! The node the scripts run for, as vendor uploads name it: `<name>_<ip>_<run id>/` is
//! the folder a node's files go to in S3 or GCS, and `<name>_<ip>/` is what `clear`
//! empties (every run of that node).

use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// NODE_NAME from the downward API in a sidecar; the host's name offline.
    pub name: String,
    pub ip: String,
    /// This process's start, in UNIX seconds: a restarted sidecar uploads to a new folder
    /// and never overwrites the files of an earlier run.
    pub run_id: String,
}

impl Node {
    /// This machine: its host name and the loopback address.
    pub fn local() -> Node {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default();
        Node::new(if name.is_empty() { "localhost".into() } else { name }, "127.0.0.1".into())
    }

    pub fn new(name: String, ip: String) -> Node {
        Node { name, ip, run_id: run_id().to_string() }
    }

    /// The folder this run uploads to.
    pub fn run_folder(&self) -> String {
        format!("{}_{}_{}", self.name, self.ip, self.run_id)
    }

    /// The prefix of every run's folder of this node.
    pub fn node_prefix(&self) -> String {
        format!("{}_{}", self.name, self.ip)
    }
}

fn run_id() -> u64 {
    static RUN_ID: OnceLock<u64> = OnceLock::new();
    *RUN_ID.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}
