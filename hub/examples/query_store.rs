//! Query benchmark, run by bench/hub_query.py: fills an in-process item store with
//! `--count` items made from real ones (`--items FILE`, JSON lines, cycled; each stamped
//! with one of 200 pods in one of 50 namespaces, `timestamp` 10 ms apart), then times
//! KFL queries over it as `GET /api/items` runs them (newest first, pages of 1,000).
//! Prints one JSON line per measure.
//!
//! cargo run --release -p remora-hub --example query_store -- --items items.jsonl \
//!     --count 1000000 --runs 5

use std::time::Instant;

use remora_hub::item_text::Incoming;
use remora_hub::store::{self, ItemStore};
use remora_kfl::Query;
use remora_model::wire::PodIdentity;

/// The first item's time: 2026-12-01T00:00:00Z.
const START_MS: i64 = 1_764_547_200_000;

fn main() -> Result<(), String> {
    let (mut items_file, mut count, mut runs) = (None, 1_000_000usize, 5usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--items" => items_file = Some(value),
            "--count" => count = value.parse().map_err(|e| format!("--count: {e}"))?,
            "--runs" => runs = value.parse().map_err(|e| format!("--runs: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let items_file = items_file.ok_or("--items is required")?;
    let text = std::fs::read_to_string(&items_file).map_err(|e| format!("{items_file}: {e}"))?;
    let sources: Vec<serde_json::Value> = text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| format!("{items_file}: {e}"))?;
    if sources.is_empty() {
        return Err(format!("{items_file} holds no items"));
    }
    // Each source item with its time field ready to be set: the texts stay real.
    let identities: Vec<PodIdentity> = (0..200).map(|p| PodIdentity { pod: format!("pod-{p}"), namespace: format!("ns-{}", p % 50), ..Default::default() }).collect();

    let mut store = ItemStore::new(count, usize::MAX);
    let mut filling = std::time::Duration::ZERO;
    let mut texts = Vec::with_capacity(sources.len());
    for n in 0..count {
        let mut item = sources[n % sources.len()].clone();
        item["timestamp"] = serde_json::Value::from(START_MS + n as i64 * 10);
        texts.push(item.to_string());
        if texts.len() == 4096 || n + 1 == count {
            // Only stamping, indexing and storing is timed, not making the texts.
            let began = Instant::now();
            for (i, text) in texts.drain(..).enumerate() {
                let identity = &identities[(n + i) % identities.len()];
                store.push(Incoming::from_text(&text, Some(identity))?);
            }
            filling += began.elapsed();
        }
    }
    println!("{}", serde_json::json!({"measure": "fill", "items": store.len(), "bytes": store.bytes(), "seconds": filling.as_secs_f64()}));

    let last = START_MS + (count as i64 - 1) * 10;
    let queries = [
        "dns and namespace == \"ns-7\"".to_string(),
        "redis and namespace == \"ns-7\" and timestamp < now()".to_string(),
        format!("http and timestamp >= {}", last - 10_000),
        format!("namespace == \"ns-7\" and timestamp < {}", START_MS + 20_000),
        "amqp and namespace == \"ns-7\" and response != nil".to_string(),
        "http and response.status == 404 and namespace == \"ns-7\"".to_string(),
        "http and response.status == 404".to_string(),
        "http and request.path == \"/no-such-page\"".to_string(),
    ];
    for source in &queries {
        let query = Query::compile(source).map_err(|e| format!("{source}: {e}"))?;
        let mut times = Vec::new();
        let mut answered = (0, 0);
        for _ in 0..runs {
            let began = Instant::now();
            let mut shown = 0;
            let filter = store::scan(&query, None, |filter, from, out| store.candidates(filter, from, out), |_| {
                shown += 1;
                shown < 1000
            });
            times.push(began.elapsed().as_secs_f64() * 1000.0);
            answered = (shown, filter.parsed);
        }
        times.sort_by(f64::total_cmp);
        println!("{}", serde_json::json!({"measure": "query", "query": source, "matched": answered.0, "parsed": answered.1, "best_ms": times[0], "median_ms": times[times.len() / 2]}));
    }
    Ok(())
}
