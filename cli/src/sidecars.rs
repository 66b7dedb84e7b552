//! `remora sidecars`: the sidecars connected to the hub and what each last reported.

use std::io::Write;
use std::process::ExitCode;

use crate::hub_api::{block_on, HubArgs};

#[derive(Debug, clap::Args)]
pub struct SidecarsArgs {
    #[command(flatten)]
    hub: HubArgs,
    /// `table` or `json` (the hub's answer).
    #[arg(long, short, default_value = "table", value_parser = ["table", "json"])]
    output: String,
}

pub fn run(args: SidecarsArgs) -> anyhow::Result<ExitCode> {
    let hub = args.hub.resolve()?;
    let body = block_on(hub.json(hub.get("/api/sidecars")))?;
    let mut out = std::io::stdout().lock();
    if args.output == "json" {
        writeln!(out, "{body}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let sidecars = body["sidecars"].as_array().cloned().unwrap_or_default();
    writeln!(out, "{:<40} {:<16} {:<10} {:>10} {:>8} {:>8} {:>8}", "POD", "NODE", "CAPTURING", "PACKETS", "ITEMS", "DROPPED", "BACKLOG")?;
    for s in &sidecars {
        let pod = format!("{}/{}", s["namespace"].as_str().unwrap_or(""), s["pod"].as_str().unwrap_or(""));
        let stats = &s["stats"];
        let number = |key: &str| stats[key].as_u64().map_or("-".to_string(), |n| n.to_string());
        let dropped = stats["kernelDropped"].as_u64().zip(stats["outboxDropped"].as_u64()).map_or("-".to_string(), |(k, o)| (k + o).to_string());
        let capturing = match stats["capturing"].as_bool() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        writeln!(out, "{:<40} {:<16} {:<10} {:>10} {:>8} {:>8} {:>8}", pod, s["node"].as_str().unwrap_or(""), capturing, number("packets"), number("items"), dropped, number("outboxPending"))?;
    }
    eprintln!("{} sidecar(s) connected to {} (DROPPED: kernel + outbox)", sidecars.len(), hub.address);
    Ok(ExitCode::SUCCESS)
}
