//! `remora query KFL` (items from the hub, newest first, as JSON lines or a table) and
//! `remora console` (the scripts' console lines of every pod, as they come).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use remora_model::Item;
use serde_json::Value;

use crate::hub_api::{block_on, Hub, HubArgs};
use crate::table::TableWriter;

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The KFL query (quote it for the shell); empty matches everything.
    #[arg(default_value = "")]
    kfl: String,
    #[command(flatten)]
    hub: HubArgs,
    /// At most this many items.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// `json` (one item per line) or `table`; by default a table on a terminal and JSON
    /// on a pipe, as `remora replay` does.
    #[arg(long, short, value_parser = ["json", "table"])]
    output: Option<String>,
    /// Then print every new matching item as it arrives, until Ctrl-C.
    #[arg(long, short)]
    follow: bool,
}

impl QueryArgs {
    fn table(&self) -> bool {
        self.output.as_deref() == Some("table")
    }
}

/// Items per request; the hub caps pages at 1000.
const PAGE: usize = 500;

pub fn run(mut args: QueryArgs) -> anyhow::Result<ExitCode> {
    if args.output.is_none() {
        let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        args.output = Some(if on_terminal { "table" } else { "json" }.to_string());
    }
    let hub = args.hub.resolve()?;
    let items = block_on(fetch(&args, &hub))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut table = TableWriter::default();
    for item in &items {
        if args.table() {
            match serde_json::from_value::<Item>(item.clone()) {
                Ok(parsed) => table.write(&mut out, &parsed)?,
                Err(_) => writeln!(out, "{item}")?,
            }
        } else {
            writeln!(out, "{item}")?;
        }
    }
    eprintln!("{} item(s) from {}", items.len(), hub.address);
    if args.follow {
        drop(out);
        follow(&args, &hub, &mut table)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each new matching item as the hub stores it (`GET /api/tail`).
fn follow(args: &QueryArgs, hub: &Hub, table: &mut TableWriter) -> anyhow::Result<()> {
    block_on(async {
        let mut response = hub.send(hub.get("/api/tail").query(&[("kfl", args.kfl.as_str())])).await?;
        let status = response.status().as_u16();
        if status != 200 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            hub.check(status, &body)?;
            anyhow::bail!("the hub at {} answered {status}", hub.address);
        }
        eprintln!("following {} (Ctrl-C stops)", hub.address);
        let mut pending: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.with_context(|| format!("the tail from {} broke", hub.address))? {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let Ok(item) = serde_json::from_slice::<Value>(&line) else { continue };
                if let Some(warning) = item.get("warning").and_then(Value::as_str) {
                    eprintln!("warning: {warning}");
                    continue;
                }
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                match (args.table(), serde_json::from_value::<Item>(item.clone())) {
                    (true, Ok(parsed)) => table.write(&mut out, &parsed)?,
                    _ => writeln!(out, "{item}")?,
                }
                out.flush()?;
            }
        }
        eprintln!("the hub at {} ended the tail", hub.address);
        Ok(())
    })
}

async fn fetch(args: &QueryArgs, hub: &Hub) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut before: Option<u64> = None;
    while items.len() < args.limit {
        let mut request = hub
            .get("/api/items")
            .timeout(std::time::Duration::from_secs(30))
            .query(&[("kfl", args.kfl.as_str()), ("limit", &(args.limit - items.len()).min(PAGE).to_string())]);
        if let Some(cursor) = before {
            request = request.query(&[("before", cursor.to_string())]);
        }
        let body = hub.json(request).await?;
        for warning in body["warnings"].as_array().into_iter().flatten() {
            eprintln!("warning: {}", warning.as_str().unwrap_or(""));
        }
        let page = body["items"].as_array().cloned().unwrap_or_default();
        let done = page.is_empty();
        items.extend(page);
        match body["next"].as_u64() {
            Some(next) if !done => before = Some(next),
            _ => break,
        }
    }
    items.truncate(args.limit);
    Ok(items)
}

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    hub: HubArgs,
}

/// Prints the hub's recent console lines, then each new one until interrupted.
pub fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let hub = args.hub.resolve()?;
    block_on(async {
        let mut response = hub.send(hub.get("/api/console")).await?;
        let status = response.status().as_u16();
        if status != 200 {
            hub.check(status, &Value::Null)?;
        }
        let stdout = std::io::stdout();
        // Whole lines, so that a `console.clear()` marker shows as one.
        let mut pending: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.with_context(|| format!("the console stream from {} broke", hub.address))? {
            pending.extend_from_slice(&chunk);
            let Some(end) = pending.iter().rposition(|b| *b == b'\n') else { continue };
            let lines: Vec<u8> = pending.drain(..=end).collect();
            let mut out = stdout.lock();
            for line in String::from_utf8_lossy(&lines).lines() {
                writeln!(out, "{}", remora_scripting::for_terminal(line))?;
            }
            out.flush()?;
        }
        if !pending.is_empty() {
            println!("{}", remora_scripting::for_terminal(&String::from_utf8_lossy(&pending)));
        }
        eprintln!("the hub at {} ended the console stream", hub.address);
        Ok(ExitCode::SUCCESS)
    })
}
