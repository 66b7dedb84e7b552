//! Load generator for the webhook, run as a second process by bench/injector_load.py.
//!
//! `--rate R`: open loop, one review every 1/R s whatever the answers do, latency timed
//! from each review's scheduled send time (so a stall shows up in the tail instead of
//! slowing the sender). `--rate 0`: closed loop with `--concurrency` reviews in flight,
//! for the most admissions per second. Prints one JSON line of figures.
//!
//! cargo run --release -p remora-injector --example admission_load -- \
//!     --url https://remora-injector.remora.svc:8443/mutate --connect 127.0.0.1:8443 \
//!     --ca certs/ca.crt --pod injector/tests/golden/deployment-pod.in.yaml --rate 500 --seconds 20

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

struct Args {
    url: String,
    connect: SocketAddr,
    ca: String,
    pod: String,
    rate: f64,
    seconds: f64,
    concurrency: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut connect = None;
    let mut ca = None;
    let mut pod = None;
    let (mut rate, mut seconds, mut concurrency) = (500.0, 10.0, 8);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--connect" => connect = Some(value()?.parse().map_err(|e| format!("--connect: {e}"))?),
            "--ca" => ca = Some(value()?),
            "--pod" => pod = Some(value()?),
            "--rate" => rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--concurrency" => {
                concurrency = value()?.parse().map_err(|e| format!("--concurrency: {e}"))?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        url: url.ok_or("--url is required")?,
        connect: connect.ok_or("--connect is required")?,
        ca: ca.ok_or("--ca is required")?,
        pod: pod.ok_or("--pod is required")?,
        rate,
        seconds,
        concurrency,
    })
}

/// The AdmissionReview of a pod CREATE, as the API server sends it.
fn review(pod_yaml: &str) -> Result<Vec<u8>, String> {
    let first = serde_norway::Deserializer::from_str(pod_yaml)
        .next()
        .ok_or("no document in --pod")?;
    let pod: serde_json::Value = serde::Deserialize::deserialize(first).map_err(|e| e.to_string())?;
    let review = remora_injector::review::pod_create_review("8e1f6c1a-6b0e-4d0e-9a3e-2f1d0c9b8a7f", &pod);
    serde_json::to_vec(&review).map_err(|e| e.to_string())
}

async fn one(client: &reqwest::Client, url: &str, body: Vec<u8>) -> bool {
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            response.bytes().await.is_ok_and(|b| memchr_patch(&b))
        }
        _ => false,
    }
}

/// The answer carries a patch (the pod was injected, not skipped or failed).
fn memchr_patch(body: &[u8]) -> bool {
    body.windows(8).any(|w| w == b"\"patch\":")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = parse_args()?;
    let ca = std::fs::read(&args.ca).map_err(|e| format!("{}: {e}", args.ca))?;
    let pod = std::fs::read_to_string(&args.pod).map_err(|e| format!("{}: {e}", args.pod))?;
    let body = review(&pod)?;
    let host = reqwest::Url::parse(&args.url)
        .map_err(|e| e.to_string())?
        .host_str()
        .unwrap_or_default()
        .to_string();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).map_err(|e| e.to_string())?])
        .resolve(&host, args.connect)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;

    // Warm up: connections and TLS sessions exist before timing starts.
    for _ in 0..20 {
        one(&client, &args.url, body.clone()).await;
    }

    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let window = Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    if args.rate > 0.0 {
        // The schedule is kept by a plain thread: tokio's timer has a 1 ms grain, which
        // would add its own lateness to every measurement.
        let total = (args.rate * args.seconds) as usize;
        let handle = tokio::runtime::Handle::current();
        let (latencies, failures, client, url, body) =
            (latencies.clone(), failures.clone(), client.clone(), args.url.clone(), body.clone());
        let rate = args.rate;
        let sender = std::thread::spawn(move || {
            let mut spawned = Vec::with_capacity(total);
            for i in 0..total {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let (client, url, body) = (client.clone(), url.clone(), body.clone());
                let (latencies, failures) = (latencies.clone(), failures.clone());
                spawned.push(handle.spawn(async move {
                    let ok = one(&client, &url, body).await;
                    let ms = due.elapsed().as_secs_f64() * 1e3;
                    if ok {
                        latencies.lock().await.push(ms);
                    } else {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }));
            }
            spawned
        });
        tasks = tokio::task::spawn_blocking(move || sender.join().unwrap_or_default())
            .await
            .unwrap_or_default();
    } else {
        for _ in 0..args.concurrency {
            let (client, url, body) = (client.clone(), args.url.clone(), body.clone());
            let (latencies, failures) = (latencies.clone(), failures.clone());
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while start.elapsed() < window {
                    let t = Instant::now();
                    if one(&client, &url, body.clone()).await {
                        mine.push(t.elapsed().as_secs_f64() * 1e3);
                    } else {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                latencies.lock().await.extend(mine);
            }));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut sorted = latencies.lock().await.clone();
    sorted.sort_by(f64::total_cmp);
    let figures = serde_json::json!({
        "mode": if args.rate > 0.0 { "open" } else { "closed" },
        "target_rate": args.rate,
        "answered": sorted.len(),
        "failed": failures.load(std::sync::atomic::Ordering::Relaxed),
        "seconds": elapsed,
        "rate": sorted.len() as f64 / elapsed,
        "p50_ms": percentile(&sorted, 50.0),
        "p90_ms": percentile(&sorted, 90.0),
        "p99_ms": percentile(&sorted, 99.0),
        "max_ms": sorted.last().copied().unwrap_or(f64::NAN),
        "body_bytes": body.len(),
    });
    println!("{figures}");
    Ok(())
}
