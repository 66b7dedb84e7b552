//! `remora pcap export --kfl Q -o FILE`: one capture file of the streams of the items
//! that match, fetched by the hub from the sidecars that hold them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use crate::hub_api::{block_on, HubArgs};

#[derive(Debug, clap::Subcommand)]
pub enum PcapCommand {
    /// Writes the streams of the items matching a KFL query into one PCAP file.
    Export {
        /// The KFL query; empty matches everything the hub holds.
        #[arg(long, default_value = "")]
        kfl: String,
        /// The file to write.
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        hub: HubArgs,
    },
}

pub fn run(command: PcapCommand) -> anyhow::Result<ExitCode> {
    let PcapCommand::Export { kfl, out, hub } = command;
    let hub = hub.resolve()?;
    block_on(async {
        let response = hub.send(hub.get("/api/pcap").query(&[("kfl", kfl.as_str())])).await?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get_all(name).iter().filter_map(|v| v.to_str().ok().map(String::from)).collect::<Vec<_>>();
        let streams = header("x-remora-streams").join("");
        let missing = header("x-remora-missing").join("");
        let missing_streams = header("x-remora-missing-stream");
        if status != 200 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            hub.check(status, &body)?;
            return Ok(ExitCode::FAILURE);
        }
        let bytes = response.bytes().await.with_context(|| format!("the export from {} broke off", hub.address))?;
        let partial = out.with_extension("pcap.partial");
        std::fs::write(&partial, &bytes).with_context(|| format!("{}", partial.display()))?;
        std::fs::rename(&partial, &out).with_context(|| format!("{}", out.display()))?;
        eprintln!("wrote {} ({} bytes): {streams} stream(s)", out.display(), bytes.len());
        if missing != "0" && !missing.is_empty() {
            eprintln!("{missing} matching stream(s) are not in the file:");
            for line in &missing_streams {
                eprintln!("  {line}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
