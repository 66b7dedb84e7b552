//! The sidecar's memory in its container, deployed as a cluster deploys it
//! (tests/deployed: the images, the chart's hub, the webhook's patch, podman and runc;
//! the container's memory limit is the patch's). Prints the images' sizes, the
//! sidecar's RSS idle, under DNS load at `--rate` items/s for `--seconds` (dnsperf in a
//! client container against dnsmasq in the injected pod: one item per query), and after
//! it, with the items/s reached and the kernel's drops. Root; build the images first:
//!
//!     bash scripts/images.sh --test-peer
//!     cargo bench -p remora-testkit --bench sidecar_in_container [-- --rate 2000 --seconds 15]
//!
//! Targets (issue 19): RSS at most 12 MB idle and 32 MB at 2,000 items/s; the sidecar's
//! image at most 40 MB.

#[path = "../tests/deployed/mod.rs"]
mod deployed;

use std::time::{Duration, Instant};

use deployed::{image, sample, Deployment, DNS_NAME};
use remora_testkit::podman;

fn main() {
    let mut rate = 2000u32;
    let mut seconds = 15u32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => rate = args.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            _ => {} // cargo bench passes --bench
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(measure(rate, seconds));
}

/// VmRSS of the container's main process, in MiB.
fn rss_mib(pod: &podman::Pod, container: &str) -> f64 {
    let pid = pod.inspect(container)["State"]["Pid"].as_u64().expect("a running container");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).expect("VmRSS");
    kib / 1024.0
}

async fn sidecar_metrics(d: &Deployment) -> String {
    let client = deployed::http_client(None, None);
    deployed::wait_http(&client, &format!("http://{}:15090/metrics", d.app_ip), "the sidecar's metrics", &d.app).await
}

fn counter_sum(metrics: &str, name: &str) -> f64 {
    metrics.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

async fn measure(rate: u32, seconds: u32) {
    println!("| image | size (uncompressed, as stored) |\n| --- | --- |");
    for name in ["injector", "sidecar", "hub", "cli"] {
        let size: f64 = podman::run(&["image", "inspect", "--format", "{{.Size}}", &image(name)]).trim().parse().expect("size");
        println!("| `{}` | {:.1} MB |", image(name), size / 1e6);
    }
    let d = Deployment::start().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = rss_mib(&d.app, "remora-sidecar");

    let data = d.out_dir("dnsperf");
    std::fs::write(data.join("queries"), format!("{DNS_NAME} A\n")).expect("write");
    let before = sidecar_metrics(&d).await;
    let mut load = podman::podman()
        .args(["run", "--rm", "--pull=never", "--network", &d.network.name, "--ip", &d.network.host(42), "--volume", &format!("{}:/data:ro", data.display()), "--entrypoint=/usr/bin/dnsperf", &image("testpeer")])
        .args(["-s", &d.app_ip, "-d", "/data/queries", "-Q", &rate.to_string(), "-l", &seconds.to_string(), "-c", "4", "-q", "500"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dnsperf");
    let started = Instant::now();
    let mut peak = 0f64;
    while load.try_wait().expect("wait").is_none() {
        peak = peak.max(rss_mib(&d.app, "remora-sidecar"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(started.elapsed() < Duration::from_secs(u64::from(seconds) + 60), "dnsperf did not end");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let output = load.wait_with_output().expect("dnsperf");
    let report = String::from_utf8_lossy(&output.stdout);
    let sent = report.lines().find(|l| l.trim_start().starts_with("Queries sent:")).unwrap_or("Queries sent: ?").trim().to_string();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(&d.app, "remora-sidecar");
    let metrics = sidecar_metrics(&d).await;
    let items = sample(&metrics, "remora_sidecar_items_total").unwrap_or(0.0) - sample(&before, "remora_sidecar_items_total").unwrap_or(0.0);
    let dropped = counter_sum(&metrics, "remora_sidecar_kernel_dropped_total") - counter_sum(&before, "remora_sidecar_kernel_dropped_total");
    let limit = d.patched["spec"]["initContainers"][0]["resources"]["limits"]["memory"].as_str().unwrap_or("?").to_string();

    println!("\n| sidecar in its container (limit {limit}) | |\n| --- | --- |");
    println!("| RSS idle (5 s after ready) | {idle:.1} MiB |");
    println!("| load | dnsperf -Q {rate} for {seconds} s ({sent}) |");
    println!("| items/s during the load | {:.0} |", items / elapsed);
    println!("| RSS peak during the load (sampled every 0.5 s) | {peak:.1} MiB |");
    println!("| RSS 2 s after the load | {after:.1} MiB |");
    println!("| kernel drops during the load | {dropped:.0} |");
}
