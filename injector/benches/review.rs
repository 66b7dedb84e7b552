//! What one admission review costs without the network: parse the AdmissionReview,
//! decide, build and check the patch, serialise the answer. Prints reviews/s on one
//! core for a real Deployment pod (injector/tests/golden/deployment-pod.in.yaml).
//!
//! cargo bench -p remora-injector --bench review

use std::time::Instant;

use remora_injector::{review, Injector, NamespaceInfo, Settings};

// As in the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/deployment-pod.in.yaml");
    let text = std::fs::read_to_string(path).expect("golden pod");
    let first = serde_norway::Deserializer::from_str(&text).next().expect("a document");
    let pod: serde_json::Value = serde::Deserialize::deserialize(first).expect("yaml");
    let body = serde_json::to_vec(&review::pod_create_review("bench", &pod)).expect("json");
    let injector = Injector::new(Settings::default()).expect("settings");
    let ns = NamespaceInfo {
        name: "shop".into(),
        labels: [("remora.dev/inject".to_string(), "enabled".to_string())].into(),
        ..Default::default()
    };
    let rounds: usize = std::env::var("REMORA_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20_000);
    for _ in 0..2 {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            let request = review::parse(&body).expect("review");
            let (answer, record) = review::respond(&request, &injector, Some(&ns), None);
            assert_eq!(record.decision, review::Decision::Injected);
            bytes += answer.len();
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{rounds} reviews of {} bytes in {seconds:.3} s: {:.1} µs each, {:.0} reviews/s on one core ({} answer bytes)",
            body.len(),
            seconds * 1e6 / rounds as f64,
            rounds as f64 / seconds,
            bytes / rounds
        );
    }
}
