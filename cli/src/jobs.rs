//! `remora jobs list` and `remora jobs run TAG`: the cluster's jobs, from the hub.

use std::io::Write;
use std::process::ExitCode;

use crate::hub_api::{block_on, path_of, HubArgs};

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// The jobs scheduled in the cluster, with their runs per node.
    List {
        #[command(flatten)]
        hub: HubArgs,
        /// `table` or `json` (the hub's answer).
        #[arg(long, short, default_value = "table", value_parser = ["table", "json"])]
        output: String,
    },
    /// Runs a job now on every node (as `jobs.run(TAG)` in a script).
    Run {
        tag: String,
        #[command(flatten)]
        hub: HubArgs,
    },
}

pub fn run(command: JobsCommand) -> anyhow::Result<ExitCode> {
    match command {
        JobsCommand::List { hub, output } => {
            let hub = hub.resolve()?;
            let body = block_on(hub.json(hub.get("/api/jobs")))?;
            let mut out = std::io::stdout().lock();
            if output == "json" {
                writeln!(out, "{body}")?;
                return Ok(ExitCode::SUCCESS);
            }
            let jobs = body["jobs"].as_array().cloned().unwrap_or_default();
            writeln!(out, "{:<32} {:<20} {:>6}  RUNS PER NODE", "TAG", "CRON", "LIMIT")?;
            for job in &jobs {
                let runs: Vec<String> = job["runs"].as_object().into_iter().flatten().map(|(node, n)| format!("{node}={n}")).collect();
                let limit = match job["limit"].as_u64() {
                    Some(0) | None => "-".to_string(),
                    Some(n) => n.to_string(),
                };
                writeln!(out, "{:<32} {:<20} {:>6}  {}", job["tag"].as_str().unwrap_or(""), job["cron"].as_str().unwrap_or(""), limit, runs.join(" "))?;
            }
            let state = if body["running"].as_bool().unwrap_or(true) { "running" } else { "stopped (jobs.scheduler.stop())" };
            eprintln!("{} job(s) at {}; the scheduler is {state}", jobs.len(), hub.address);
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Run { tag, hub } => {
            let hub = hub.resolve()?;
            let path = path_of(&["api", "jobs", &tag, "run"]);
            block_on(hub.json(hub.post(&path)))?;
            eprintln!("job {tag:?} runs now on every node");
            Ok(ExitCode::SUCCESS)
        }
    }
}
