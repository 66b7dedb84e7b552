//! The `remora` command line's library: each subcommand in its own module.

pub mod capture;
pub mod certs;
pub mod check;
pub mod dashboard;
mod env_config;
mod hub_api;
pub mod inject;
pub mod jobs;
pub mod kfl;
pub mod pcap;
mod port_forward;
pub mod query;
pub mod replay;
pub mod scripts;
mod scripts_sync;
pub mod sidecars;
pub mod summary;
mod table;
