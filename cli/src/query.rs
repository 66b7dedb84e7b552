//! `remora query KFL` (items from the hub, newest first, as JSON lines or a table) and
//! `remora console` (the scripts' console lines of every pod, as they come).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use remora_model::Item;
use serde_json::Value;

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
    /// `json` (one item per line) or `table`.
    #[arg(long, short, default_value = "json", value_parser = ["json", "table"])]
    output: String,
}

/// Where the hub's API is and the token it wants.
#[derive(Debug, clap::Args)]
pub struct HubArgs {
    /// The hub's API.
    #[arg(long, env = "REMORA_HUB_API", default_value = "http://127.0.0.1:8899")]
    hub: String,
    /// The bearer token (or --token-file).
    #[arg(long, env = "REMORA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token.
    #[arg(long, env = "REMORA_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl HubArgs {
    fn token(&self) -> anyhow::Result<String> {
        match (&self.token, &self.token_file) {
            (Some(token), _) => Ok(token.clone()),
            (None, Some(path)) => Ok(std::fs::read_to_string(path)
                .with_context(|| format!("--token-file {}", path.display()))?
                .trim()
                .to_string()),
            (None, None) => bail!("the hub needs a token: --token, --token-file, REMORA_TOKEN or REMORA_TOKEN_FILE"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.hub.trim_end_matches('/'))
    }

    /// Turns an answer that is not 200 into the error a user can act on.
    fn check(&self, status: u16, body: &Value) -> anyhow::Result<()> {
        match status {
            200 => Ok(()),
            401 => bail!("the hub at {} refused the token (check --token or REMORA_TOKEN)", self.hub),
            400 => bail!("{}\n{}", body["error"].as_str().unwrap_or("bad query"), body["caret"].as_str().unwrap_or("")),
            code => bail!("the hub at {} answered {code}: {body}", self.hub),
        }
    }
}

/// Items per request; the hub caps pages at 1000.
const PAGE: usize = 500;

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let token = args.hub.token()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let items = runtime.block_on(fetch(&args, &token))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut table = TableWriter::default();
    for item in &items {
        if args.output == "table" {
            match serde_json::from_value::<Item>(item.clone()) {
                Ok(parsed) => table.write(&mut out, &parsed)?,
                Err(_) => writeln!(out, "{item}")?,
            }
        } else {
            writeln!(out, "{item}")?;
        }
    }
    eprintln!("{} item(s) from {}", items.len(), args.hub.hub);
    Ok(ExitCode::SUCCESS)
}

async fn fetch(args: &QueryArgs, token: &str) -> anyhow::Result<Vec<Value>> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let url = args.hub.url("/api/items");
    let mut items = Vec::new();
    let mut before: Option<u64> = None;
    while items.len() < args.limit {
        let mut request = client
            .get(&url)
            .bearer_auth(token)
            .query(&[("kfl", args.kfl.as_str()), ("limit", &(args.limit - items.len()).min(PAGE).to_string())]);
        if let Some(cursor) = before {
            request = request.query(&[("before", cursor.to_string())]);
        }
        let response = request.send().await.with_context(|| format!("cannot reach the hub at {}", args.hub.hub))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        args.hub.check(status, &body)?;
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
    let token = args.hub.token()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut response = client
            .get(args.hub.url("/api/console"))
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("cannot reach the hub at {}", args.hub.hub))?;
        let status = response.status().as_u16();
        if status != 200 {
            args.hub.check(status, &Value::Null)?;
        }
        let stdout = std::io::stdout();
        while let Some(chunk) = response.chunk().await.with_context(|| format!("the console stream from {} broke", args.hub.hub))? {
            let mut out = stdout.lock();
            out.write_all(&chunk)?;
            out.flush()?;
        }
        eprintln!("the hub at {} ended the console stream", args.hub.hub);
        Ok(ExitCode::SUCCESS)
    })
}
