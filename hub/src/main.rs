//! `remora-hub`: argument parsing and wiring; the work is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use remora_hub::auth::Tokens;
use remora_hub::journal::Journal;
use remora_hub::server::{self, Hub};
use remora_hub::store::ItemStore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Remora's hub: sidecar sessions, the item store, KFL queries.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address of the sidecar sessions (WebSocket /sidecars).
    #[arg(long, env = "REMORA_HUB_LISTEN", default_value = "0.0.0.0:8898")]
    listen: SocketAddr,
    /// Address of the API (/api/items, /healthz, /readyz, /metrics).
    #[arg(long, env = "REMORA_HUB_API_LISTEN", default_value = "0.0.0.0:8899")]
    api_listen: SocketAddr,
    /// Valid bearer tokens, one per line.
    #[arg(long, env = "REMORA_HUB_TOKEN_FILE")]
    token_file: PathBuf,
    /// Items kept (the newest).
    #[arg(long, default_value_t = 100_000)]
    max_items: usize,
    /// Bytes of items kept (their JSON size).
    #[arg(long, default_value_t = 256 << 20)]
    max_bytes: usize,
    /// Where the item journal is kept (the store survives a restart); empty: memory only.
    #[arg(long, env = "REMORA_HUB_DATA_DIR", default_value = "")]
    data_dir: PathBuf,
    /// Log filter (tracing syntax).
    #[arg(long, env = "REMORA_LOG", default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    remora_service::init_logging(&args.log);
    let result = async {
        let tokens = Tokens::from_file(&args.token_file)?;
        let mut store = ItemStore::new(args.max_items, args.max_bytes);
        let journal = if args.data_dir.as_os_str().is_empty() {
            None
        } else {
            let (journal, unreadable) = Journal::open(&args.data_dir, &mut store)
                .map_err(|e| anyhow::anyhow!("--data-dir {}: {e}", args.data_dir.display()))?;
            tracing::info!(items = store.len(), unreadable, dir = %args.data_dir.display(), "item journal loaded");
            Some(journal)
        };
        let hub = Arc::new(Hub::new(store, journal, tokens));
        server::serve(hub, args.listen, args.api_listen, remora_service::shutdown_signal()).await
    };
    match result.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
