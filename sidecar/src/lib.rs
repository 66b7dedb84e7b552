//! The capture pipeline shared by the live sidecar and `remora replay`:
//! frames → [`decode`] → per-flow [`reassembly`] → [`dissect`]ors → items, with a PCAP
//! file per stream ([`pcap_store`]).

pub mod decode;
pub mod dissect;
pub mod flow;
mod flow_state;
pub mod health;
pub mod hub_client;
pub mod live;
pub mod live_scripts;
pub mod memory_limit;
pub mod mesh;
pub mod names;
pub mod pcap_retention;
pub mod pcap_store;
pub mod pipeline;
pub mod reassembly;
pub mod replay;
pub mod script_thread;
pub mod scripted;
pub mod sink;
