//! Load generator for the hub's ingest, run as a second process by bench/hub_ingest.py:
//! `--sidecars N` sessions, each speaking the sidecar wire (hello, then numbered batches
//! of 256 items, up to `--window` batches unacknowledged, as the sidecar's outbox
//! does), sending real items (`--items FILE`, JSON lines, cycled) as fast as the hub
//! acknowledges them for `--seconds`. Prints one JSON line: items acknowledged and the
//! seconds it took.
//!
//! cargo run --release -p remora-hub --example ingest_load -- --url ws://127.0.0.1:8898 \
//!     --token-file TOKENS --items items.jsonl --sidecars 8 --seconds 10

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use remora_model::wire::{FromSidecar, PodIdentity, ToSidecar, SIDECAR_PATH, VERSION};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BATCH: usize = 256;

struct Args {
    url: String,
    token: String,
    items: Vec<String>,
    sidecars: usize,
    seconds: f64,
    window: u64,
}

fn parse_args() -> Result<Args, String> {
    let (mut url, mut token_file, mut items_file) = (None, None, None);
    let (mut sidecars, mut seconds, mut window) = (4, 10.0, 8);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--token-file" => token_file = Some(value()?),
            "--items" => items_file = Some(value()?),
            "--sidecars" => sidecars = value()?.parse().map_err(|e| format!("--sidecars: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--window" => window = value()?.parse().map_err(|e| format!("--window: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let token_file = token_file.ok_or("--token-file is required")?;
    let token = std::fs::read_to_string(&token_file).map_err(|e| format!("{token_file}: {e}"))?.lines().next().unwrap_or("").trim().to_string();
    let items_file = items_file.ok_or("--items is required")?;
    let items: Vec<String> = std::fs::read_to_string(&items_file).map_err(|e| format!("{items_file}: {e}"))?.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    if items.is_empty() {
        return Err(format!("{items_file}: no items"));
    }
    Ok(Args { url: url.ok_or("--url is required")?, token, items, sidecars, seconds, window })
}

/// One session: returns the items the hub acknowledged.
async fn sidecar(index: usize, args: &Args, until: Instant) -> Result<u64, String> {
    let mut request = format!("{}{SIDECAR_PATH}", args.url).into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert("authorization", format!("Bearer {}", args.token).parse().map_err(|_| "bad token")?);
    let (socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
    let (mut write, mut read) = socket.split();
    let identity = PodIdentity { pod: format!("load-{index}"), namespace: "bench".into(), node: format!("node-{}", index % 3), ..Default::default() };
    let hello = serde_json::to_string(&FromSidecar::Hello { v: VERSION, identity, build: "ingest-load".into(), protocols: vec![VERSION] }).map_err(|e| e.to_string())?;
    write.send(Message::Text(hello.into())).await.map_err(|e| e.to_string())?;
    let (mut seq, mut acked_seq, mut next_item) = (0u64, 0u64, index * 7);
    let mut acked_items = 0u64;
    loop {
        while seq - acked_seq < args.window && Instant::now() < until {
            seq += 1;
            let mut frame = format!(r#"{{"type":"items","v":{VERSION},"seq":{seq},"items":["#);
            for i in 0..BATCH {
                if i > 0 {
                    frame.push(',');
                }
                frame.push_str(&args.items[next_item % args.items.len()]);
                next_item += 1;
            }
            frame.push_str("]}");
            write.send(Message::Text(frame.into())).await.map_err(|e| e.to_string())?;
        }
        if acked_seq == seq {
            return Ok(acked_items);
        }
        match tokio::time::timeout(Duration::from_secs(30), read.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(ToSidecar::Ack { seq: up_to, .. }) = serde_json::from_str(text.as_str()) {
                    acked_items += (up_to - acked_seq) * BATCH as u64;
                    acked_seq = up_to;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) => return Err("the hub closed the session".into()),
            Err(_) => return Err("no acknowledgement within 30 s".into()),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => std::sync::Arc::new(args),
        Err(e) => {
            eprintln!("ingest_load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.sidecars)
        .map(|i| {
            let args = args.clone();
            tokio::spawn(async move { sidecar(i, &args, until).await })
        })
        .collect();
    let mut acked = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => acked += n,
            Ok(Err(e)) => {
                eprintln!("ingest_load: a session failed: {e}");
                return std::process::ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("ingest_load: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{{\"items\":{acked},\"seconds\":{seconds:.3},\"sidecars\":{}}}", args.sidecars);
    std::process::ExitCode::SUCCESS
}
