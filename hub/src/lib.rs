//! `remora-hub`: receives what every sidecar reports, answers KFL queries over it, runs
//! the hub's scripts (`onItemQueried`, `onHubAction`), fires the cluster's jobs on every
//! node, hands the sidecars their scripts and exports PCAPs fetched from them.

pub mod api;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod cluster_watch;
pub mod dashboard;
pub mod item_text;
pub mod jobs;
pub mod journal;
pub mod pcap_export;
pub mod script_store;
pub mod scripts;
pub mod server;
pub mod servicemap;
pub mod sessions;
pub mod store;
