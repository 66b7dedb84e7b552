//! Compiled KFL evaluations per second on one core, over real items (the HTTP pairs and
//! DNS exchanges of two test captures), for a few typical queries.
//!
//!     cargo bench -p remora-kfl

use std::path::Path;
use std::time::Instant;

use remora_kfl::Query;
use remora_sidecar::pipeline::{Pipeline, PipelineConfig};
use remora_sidecar::replay::replay_file;
use serde_json::Value;

fn items() -> Vec<Value> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/pcaps");
    let mut items = Vec::new();
    let mut pipeline = Pipeline::new(PipelineConfig::default(), None);
    for file in ["http1__zeek__pipelined-requests.pcap", "dns__zeek__long-connection.pcap"] {
        let mut sink = |item: remora_model::Item| items.push(serde_json::to_value(&item).expect("item JSON"));
        replay_file(&data.join(file), &mut pipeline, &mut sink, &mut |_| {}).expect("replays");
    }
    items
}

fn main() {
    let items = items();
    let queries = [
        "http and response.status == 500",
        r#"http and request.path == r".*\.(png|gif)""#,
        r#"dns && dns_questions.* == "www.netbsd.org""#,
        r#"request.headers["host"].endsWith("mozilla.org") and elapsedTime < 100"#,
    ];
    println!("| query | evaluations/s | matched |");
    println!("|---|---|---|");
    for text in queries {
        let query = Query::compile(text).expect("compiles");
        let rounds = 200_000;
        let start = Instant::now();
        let mut matched = 0u64;
        for round in 0..rounds {
            let item = &items[round % items.len()];
            matched += u64::from(query.matches_value_at(item, 1_700_000_000_000));
        }
        let seconds = start.elapsed().as_secs_f64();
        println!("| `{text}` | {:.0} | {matched} of {rounds} |", rounds as f64 / seconds);
    }
}
