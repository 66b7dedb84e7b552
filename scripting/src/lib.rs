//! The ES5 script runtime (QuickJS through rquickjs): users' scripts with their own
//! script scope and a shared global `this`, the hooks Remora calls, and the helpers of
//! the public scripting API (`console`, `test`, `env`, `file`, `pcap`, `jobs`, `hub`,
//! `utils`, `prometheus`, ...).
//!
//! One [`ScriptHost`] per process, on one thread. Every call into JavaScript runs under
//! a time budget and the runtime under a memory limit: a hook that throws, loops or
//! exhausts memory is stopped and reported with its script and line, and the next call
//! runs as usual.

mod budget;
mod cluster;
mod console;
pub mod env_config;
mod failures;
mod helpers;
mod host;
mod jobs;
mod lazy_item;
mod load;
mod metrics;
mod net;
mod node;
mod packet_info;
mod sandbox;
mod script_set;
pub mod source_check;
mod timers;

pub use cluster::{ClusterRequest, Role};
pub use console::{for_terminal, is_clear_marker, ConsoleLine, ConsoleSink, Level, CLEARED, CLEAR_MARKER};
pub use failures::Failure;
pub use helpers::NONE_TARGETED;
pub use host::{Hook, HostConfig, HostReport, ScriptHost, ScriptSummary};
pub use jobs::{parse_cron, Clock};
pub use load::{script_files, LoadError};
pub use metrics::{ScriptMetrics, MAX_METRICS, MAX_SERIES, MAX_TOTAL_SERIES};
pub use node::Node;
pub use packet_info::PacketInfo;
pub use sandbox::DataUsage;
pub use script_set::{selected, ScriptSet, Started};

/// `pcap.nameResolutionHistory()`: UNIX seconds → address → (name, namespace) as of then.
pub type NameHistory = std::collections::BTreeMap<i64, std::collections::BTreeMap<String, (String, String)>>;

/// Merges PCAP files into one, packets in time order (`pcap.snapshot`, the hub's export).
pub fn merge_pcaps(files: &[std::path::PathBuf], out: &std::path::Path) -> Result<(), String> {
    helpers::merge_pcaps(files, out)
}
