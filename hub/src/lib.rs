//! `remora-hub`: receives what every sidecar reports and answers KFL queries over it.
//!
//! This is the hub's first part (issue 7): authenticated sidecar sessions, the bounded
//! item store with its journal on disk and `GET /api/items`. The console stream,
//! cluster-wide jobs, `onItemQueried`/`onHubAction` and PCAP export come next.

pub mod auth;
pub mod journal;
pub mod server;
pub mod store;
