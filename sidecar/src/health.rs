//! The sidecar's /healthz, /readyz and /metrics, on a plain-HTTP port of the pod.
//!
//! /readyz is the injected startupProbe: it passes once capture runs, or once the
//! sidecar has given up on capture (it then says why) — a native sidecar's startupProbe
//! holds the application back, and a sidecar that cannot capture must not do that.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::live::InterfaceStats;
use remora_scripting::ScriptMetrics;
use remora_model::wire::SidecarStats;

/// Where capture stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Capturing,
    /// Capture could not start or stopped; the sidecar stays up and says why.
    GaveUp(String),
}

/// What the endpoints report; shared with the capture loop.
#[derive(Debug)]
pub struct Status {
    pub phase: Mutex<Phase>,
    pub interfaces: Mutex<Vec<Arc<InterfaceStats>>>,
    pub items: AtomicU64,
    pub packets: AtomicU64,
    /// The scripts' `prometheus.*` metrics, shown after the sidecar's own.
    pub script_metrics: ScriptMetrics,
    /// Every script failure (the scripts' hosts add to it).
    pub script_failures: Arc<AtomicU64>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            phase: Mutex::new(Phase::Starting),
            interfaces: Mutex::new(Vec::new()),
            items: AtomicU64::new(0),
            packets: AtomicU64::new(0),
            script_metrics: ScriptMetrics::new(),
            script_failures: Arc::default(),
        }
    }
}

impl Status {
    pub fn set_phase(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }

    fn phase(&self) -> Phase {
        self.phase.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The counters the hub is told (the outbox's are the hub client's to fill).
    pub fn stats(&self) -> SidecarStats {
        let interfaces = self.interfaces.lock().unwrap_or_else(|p| p.into_inner()).clone();
        SidecarStats {
            capturing: self.phase() == Phase::Capturing,
            packets: self.packets.load(Ordering::Relaxed),
            items: self.items.load(Ordering::Relaxed),
            kernel_dropped: interfaces.iter().map(|i| i.dropped.load(Ordering::Relaxed)).sum(),
            interface_dropped: interfaces.iter().map(|i| i.if_dropped.load(Ordering::Relaxed)).sum(),
            ..SidecarStats::default()
        }
    }
}

/// Binds `address` now (so a taken port is an error at start) and serves on a thread
/// of its own with a one-thread runtime; returns the bound address.
pub fn serve(address: SocketAddr, status: Arc<Status>) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind(address).map_err(|e| format!("health port {address}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(status);
    std::thread::Builder::new()
        .name("health".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, router).await;
                }
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(bound)
}

async fn readyz(State(status): State<Arc<Status>>) -> (StatusCode, String) {
    match status.phase() {
        Phase::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting capture\n".into()),
        Phase::Capturing => (StatusCode::OK, "capturing\n".into()),
        Phase::GaveUp(why) => (StatusCode::OK, format!("not capturing: {why}\n")),
    }
}

async fn metrics(State(status): State<Arc<Status>>) -> String {
    let mut out = String::new();
    let capturing = u8::from(status.phase() == Phase::Capturing);
    let _ = writeln!(out, "# HELP remora_sidecar_capturing 1 while capture runs");
    let _ = writeln!(out, "# TYPE remora_sidecar_capturing gauge");
    let _ = writeln!(out, "remora_sidecar_capturing {capturing}");
    let _ = writeln!(out, "# HELP remora_sidecar_packets_total Packets taken by the pipeline");
    let _ = writeln!(out, "# TYPE remora_sidecar_packets_total counter");
    let _ = writeln!(out, "remora_sidecar_packets_total {}", status.packets.load(Ordering::Relaxed));
    let _ = writeln!(out, "# HELP remora_sidecar_items_total Items (request/response pairs) produced");
    let _ = writeln!(out, "# TYPE remora_sidecar_items_total counter");
    let _ = writeln!(out, "remora_sidecar_items_total {}", status.items.load(Ordering::Relaxed));
    let _ = writeln!(out, "# HELP remora_sidecar_script_failures_total Script failures (a hook, job or load that threw or ran out of time or memory)");
    let _ = writeln!(out, "# TYPE remora_sidecar_script_failures_total counter");
    let _ = writeln!(out, "remora_sidecar_script_failures_total {}", status.script_failures.load(Ordering::Relaxed));
    let interfaces = status.interfaces.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (name, help) in [
        ("kernel_received", "Packets the kernel passed to the capture filter"),
        ("kernel_dropped", "Packets the kernel dropped for lack of capture buffer"),
        ("interface_dropped", "Packets the interface or its driver dropped"),
    ] {
        let _ = writeln!(out, "# HELP remora_sidecar_{name}_total {help}, per interface");
        let _ = writeln!(out, "# TYPE remora_sidecar_{name}_total counter");
        for i in &interfaces {
            let value = match name {
                "kernel_received" => i.received.load(Ordering::Relaxed),
                "kernel_dropped" => i.dropped.load(Ordering::Relaxed),
                _ => i.if_dropped.load(Ordering::Relaxed),
            };
            let _ = writeln!(out, "remora_sidecar_{name}_total{{interface=\"{}\"}} {value}", i.name);
        }
    }
    out.push_str(&status.script_metrics.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use remora_scripting::{HostConfig, ScriptHost};

    /// A script's metrics reach the health port's /metrics, where a Prometheus parser
    /// reads them beside the sidecar's own.
    #[test]
    fn metrics_show_the_scripts_metrics() {
        let status = Arc::new(Status::default());
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = HostConfig::new(dir.path().to_path_buf());
        config.metrics = status.script_metrics.clone();
        config.failures_total = status.script_failures.clone();
        let mut host = ScriptHost::new(config, Box::new(|_| {})).expect("host");
        host.load_source("m.js", "prometheus.vector('shop_requests', 'Requests by path', 1, 2, {path: '/a'}); prometheus.metric('shop_up', 'Up', 2, 1);").expect("loads");
        // Two throws of one kind: reported once, counted twice.
        host.load_source("bad.js", "function onPodEvent(e) { throw new Error('no'); }").expect("loads");
        host.on_pod_event("{}");
        host.on_pod_event("{}");
        let address = serve("127.0.0.1:0".parse().expect("address"), status).expect("serves");
        let body = fetch(address, "/metrics");
        let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text");
        let value = |name: &str| scrape.samples.iter().find(|s| s.metric == name).map(|s| s.value.clone());
        assert_eq!(value("shop_requests"), Some(prometheus_parse::Value::Counter(2.0)), "{body}");
        assert_eq!(value("shop_up"), Some(prometheus_parse::Value::Gauge(1.0)), "{body}");
        assert_eq!(scrape.samples.iter().find(|s| s.metric == "shop_requests").map(|s| s.labels.get("path")), Some(Some("/a")));
        assert_eq!(scrape.docs.get("shop_requests").map(String::as_str), Some("Requests by path"));
        assert_eq!(value("remora_sidecar_capturing"), Some(prometheus_parse::Value::Gauge(0.0)), "{body}");
        assert_eq!(value("remora_sidecar_script_failures_total"), Some(prometheus_parse::Value::Counter(2.0)), "{body}");
    }

    /// One plain HTTP/1.0 GET; the body.
    fn fetch(address: SocketAddr, path: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }
}
