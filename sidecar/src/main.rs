//! `remora-sidecar`: captures the pod's network namespace live and runs the same
//! pipeline as `remora replay`. Configured by the environment the injector sets
//! (REMORA_*, see docs/INJECTOR.md), each also a flag.
//!
//! Scripts run on every packet and item as in `remora replay`, their jobs on the wall
//! clock. Items go to the hub (and/or stdout as JSON lines); a PCAP file per stream is
//! kept under a size limit.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use remora_model::redact::{Redaction, DEFAULT_PATHS};
use remora_model::LOG_LEVELS;
use remora_model::wire::PodIdentity;
use remora_model::{Item, Node};
use remora_sidecar::flow::Timestamp;
use remora_sidecar::health::{self, Phase, Status};
use remora_sidecar::hub_client::{HubCa, HubClient, HubConfig};
use remora_sidecar::live::{interfaces, FilterUpdate, LiveCapture};
use remora_sidecar::names::LiveNames;
use remora_scripting::{DataUsage, HostConfig, Node as ScriptNode};
use remora_sidecar::dissect::protocols::ProtocolSet;
use remora_sidecar::dissect::DissectLimits;
use remora_sidecar::live_scripts::LiveScripts;
use remora_sidecar::mesh::{Mesh, MeshPeers};
use remora_sidecar::{memory_limit, pcap_retention};
use remora_sidecar::pcap_store::PcapStore;
use remora_sidecar::pipeline::{Names, PeerOrigins, Pipeline, PipelineConfig, Sink};
use remora_sidecar::replay::replay_file;
use remora_sidecar::script_thread::{self, ScriptFeed};

// Items are many small allocations; mimalloc makes them markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Remora's capture sidecar: the pod's packets become items.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// `all` (every interface but loopback) or names, comma separated.
    #[arg(long, env = "REMORA_INTERFACES", default_value = "all")]
    interfaces: String,
    /// BPF capture filter (tcpdump syntax); empty captures everything.
    #[arg(long, env = "REMORA_CAPTURE_FILTER", default_value = "")]
    capture_filter: String,
    /// Protocols to dissect (the pod's `remora.dev/protocols`): `all` or a comma list.
    #[arg(long, env = "REMORA_PROTOCOLS", default_value = "all", value_parser = ProtocolSet::parse)]
    protocols: ProtocolSet,
    /// Kernel capture buffer per interface, in bytes (mapped into the process: it counts
    /// in its memory; larger absorbs longer bursts).
    #[arg(long, env = "REMORA_CAPTURE_BUFFER_BYTES", default_value_t = remora_sidecar::live::DEFAULT_KERNEL_BUFFER)]
    capture_buffer_bytes: u32,
    /// The service mesh whose proxy shares the pod (`istio`, `linkerd`; the injector sets
    /// it when it finds one): `lo` is captured too, where the plaintext is, and the peers
    /// of the flows its iptables redirected are restored from connection tracking.
    #[arg(long, env = "REMORA_MESH", default_value = "")]
    mesh: String,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "REMORA_HEALTH_LISTEN", default_value = "0.0.0.0:15090")]
    health_listen: SocketAddr,
    /// `json`: one item per line on stdout; `none`: not; `auto`: json unless a hub is set.
    #[arg(long, env = "REMORA_OUTPUT", default_value = "auto", value_parser = ["auto", "json", "none"])]
    output: String,
    /// The hub: `ws://host:port`. Empty: items only on stdout.
    #[arg(long, env = "REMORA_HUB", default_value = "")]
    hub: String,
    /// How often the hub's name is resolved again, so that the capture filter keeps
    /// leaving out the sidecar's own session with it (a recreated Service, a name that
    /// did not resolve at start).
    #[arg(long, env = "REMORA_HUB_RECHECK_SECONDS", default_value_t = 30)]
    hub_recheck_seconds: u64,
    /// The bearer token for the hub (re-read at each connection).
    #[arg(long, env = "REMORA_HUB_TOKEN_FILE")]
    hub_token_file: Option<PathBuf>,
    /// CA certificates (PEM) of a `wss://` hub (re-read at each connection); none: the
    /// system's roots.
    #[arg(long, env = "REMORA_HUB_CA_FILE")]
    hub_ca_file: Option<PathBuf>,
    /// The same as PEM text (the injector sets it when the hub runs TLS).
    #[arg(long, env = "REMORA_HUB_CA", hide_env_values = true)]
    hub_ca: Option<String>,
    /// The pod's identity (downward API), written into every item.
    #[arg(long, env = "REMORA_POD_NAME", default_value = "")]
    pod_name: String,
    #[arg(long, env = "REMORA_POD_NAMESPACE", default_value = "")]
    pod_namespace: String,
    #[arg(long, env = "REMORA_POD_IP", default_value = "")]
    pod_ip: String,
    #[arg(long, env = "REMORA_NODE_NAME", default_value = "")]
    node_name: String,
    #[arg(long, env = "REMORA_NODE_IP", default_value = "")]
    node_ip: String,
    /// Scripts (`*.js`) to run: the scripts ConfigMap's mount.
    #[arg(long, env = "REMORA_SCRIPTS_DIR", default_value = "/etc/remora/scripts")]
    scripts_dir: PathBuf,
    /// Which of them: `all`, `none`, or file names, comma separated.
    #[arg(long, env = "REMORA_SCRIPTS", default_value = "all")]
    scripts: String,
    /// `env` for scripts: one file per variable (the env Secret's mount).
    #[arg(long, env = "REMORA_ENV_DIR", default_value = "/etc/remora/env")]
    env_dir: PathBuf,
    /// The data volume's byte quota (`remora.dev/pcap-retention`): the scripts' files
    /// (`file.*`, snapshots) may take half of it, the per-stream PCAPs (in
    /// DATA_DIR/pcaps, oldest deleted first) what the scripts leave; 0 keeps no PCAPs and
    /// does not bound the scripts' files.
    #[arg(long, env = "REMORA_PCAP_RETENTION_BYTES", default_value_t = 512 << 20)]
    pcap_retention_bytes: u64,
    /// Where scripts' files and PCAPs go (the pod's emptyDir).
    #[arg(long, env = "REMORA_DATA_DIR", default_value = "/var/run/remora/data")]
    data_dir: PathBuf,
    /// Longest one call into a script may wait on the network inside helpers (`vendor.*`,
    /// `chatgpt.prompt`), all its requests together. Capture goes on meanwhile.
    #[arg(long, env = "REMORA_SCRIPT_NETWORK_BUDGET_MS", default_value_t = 30_000)]
    script_network_budget_ms: u64,
    /// Item fields replaced by `[REDACTED]` before scripts, the hub or stdout see an
    /// item (`remora.dev/redact`); `none` or empty redacts nothing. A bad list is reported and
    /// the default used.
    #[arg(long, env = "REMORA_REDACT", default_value = remora_model::redact::DEFAULT_PATHS)]
    redact: String,
    /// Log level: error, warn, info, debug or trace (`remora.dev/log-level`).
    #[arg(long, env = "REMORA_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Print the settings this binary reads (flags, environment variables, default
    /// paths) as JSON, and exit.
    #[arg(long)]
    print_settings: bool,
    /// Read these capture files instead of capturing live, then stay connected (until
    /// SIGTERM) so the hub can still fetch their streams: feeds a hub and its dashboard
    /// without a cluster. Scripts run as they would live.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    replay: Vec<PathBuf>,
}

/// The mesh `REMORA_MESH` names; a value it cannot read is said and ignored.
fn mesh(text: &str) -> Option<Mesh> {
    Mesh::parse(text).unwrap_or_else(|e| {
        tracing::warn!("{e}; capturing as if there were no mesh");
        None
    })
}

/// Environment variables read by something other than a flag: the allocator's (the
/// images set it).
const READ_OUTSIDE_FLAGS: [&str; 1] = ["MIMALLOC_ARENA_EAGER_COMMIT"];

/// The redaction `list` asks for, or the default with the reason when it cannot be read.
fn redaction(list: &str) -> Redaction {
    match Redaction::parse(list) {
        Ok(redaction) if redaction.is_empty() => {
            tracing::warn!(
                "redaction is off (REMORA_REDACT={list:?}): credentials in headers and bodies leave the pod as captured"
            );
            redaction
        }
        Ok(redaction) => {
            tracing::info!("redacting {}", redaction.paths().join(", "));
            redaction
        }
        Err(e) => {
            tracing::warn!("REMORA_REDACT: {e}; redacting the default ({DEFAULT_PATHS}) instead");
            Redaction::parse(DEFAULT_PATHS).unwrap_or_default()
        }
    }
}

/// Where packets come from.
enum Source {
    Live(LiveCapture),
    Files(Vec<PathBuf>),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.print_settings {
        println!("{}", remora_service::settings::describe(&Args::command(), &READ_OUTSIDE_FLAGS));
        return std::process::ExitCode::SUCCESS;
    }
    let level = args.log_level.trim();
    let known = LOG_LEVELS.contains(&level);
    remora_service::init_logging(if known { level } else { "info" });
    if !known {
        tracing::warn!("REMORA_LOG_LEVEL {:?} is not one of {}; logging at info", args.log_level, LOG_LEVELS.join(", "));
    }
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("remora-sidecar: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let status = Arc::new(Status::default());
    let bound = health::serve(args.health_listen, status.clone()).map_err(anyhow::Error::msg)?;
    tracing::info!("health on http://{bound} (/healthz, /readyz, /metrics)");

    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone());

    // Read once: it picks the interfaces and the peer restoration.
    let mesh = mesh(&args.mesh);
    let source = if args.replay.is_empty() {
        match start_live(&args, mesh, &status) {
            Some(capture) => {
                follow_hub_address(&args, capture.filter.clone(), stop.clone());
                Source::Live(capture)
            }
            None => {
                // Stay up and say why: the native sidecar's startupProbe must let the app
                // start even when this pod cannot be captured.
                wait_for_stop(&stop);
                return Ok(());
            }
        }
    } else {
        status.set_phase(Phase::Capturing);
        Source::Files(args.replay.clone())
    };

    let local_ips: Vec<IpAddr> = args.pod_ip.parse().into_iter().collect();
    let names = Arc::new(LiveNames::default());
    let config = PipelineConfig {
        dissect: DissectLimits { protocols: args.protocols, ..DissectLimits::default() },
        names: Some(Names(names.clone())),
        udp_answered_idle_timeout_ns: Some(2 * Timestamp::SECOND),
        worker: if args.pod_name.is_empty() { "sidecar".into() } else { args.pod_name.as_str().into() },
        node: Arc::new(Node { name: args.node_name.clone(), ip: args.node_ip.clone() }),
        namespace: args.pod_namespace.as_str().into(),
        local_ips,
        redaction: redaction(&args.redact),
        peer_origins: mesh.map(mesh_peers),
        ..PipelineConfig::default()
    };
    let pcap_dir = args.data_dir.join("pcaps");
    // One quota for the data volume: the scripts' files may take half of it, the PCAPs
    // what the scripts leave.
    let data_usage = match args.pcap_retention_bytes {
        0 => DataUsage::unlimited(),
        quota => DataUsage::new(quota / 2, Some(pcap_dir.clone())),
    };
    let store = match args.pcap_retention_bytes {
        0 => None,
        limit => match PcapStore::new(&pcap_dir) {
            Ok(store) => {
                pcap_retention::spawn(pcap_dir.clone(), limit, data_usage.clone(), Duration::from_secs(2), stop.clone());
                tracing::info!("PCAPs per stream in {} (at most {limit} bytes)", pcap_dir.display());
                Some(store)
            }
            Err(e) => {
                tracing::warn!("no PCAPs kept: {e}");
                None
            }
        },
    };
    let mut pipeline = Pipeline::new(config, store);
    let hub = if args.hub.trim().is_empty() {
        None
    } else {
        let identity = PodIdentity {
            pod: args.pod_name.clone(),
            namespace: args.pod_namespace.clone(),
            pod_ip: args.pod_ip.clone(),
            node: args.node_name.clone(),
            node_ip: args.node_ip.clone(),
        };
        let config = HubConfig {
            url: args.hub.trim().to_string(),
            token_file: args.hub_token_file.clone(),
            ca: match (&args.hub_ca_file, &args.hub_ca) {
                (Some(path), _) => Some(HubCa::File(path.clone())),
                (None, Some(pem)) if !pem.trim().is_empty() => Some(HubCa::Pem(pem.clone())),
                _ => None,
            },
            identity,
            max_items: 100_000,
            max_bytes: 64 << 20,
            pcap_store: pipeline.pcap_store(),
            status: status.clone(),
        };
        Some(HubClient::start(config).map_err(anyhow::Error::msg)?)
    };
    let json = args.output == "json" || (args.output == "auto" && hub.is_none());
    let output = Output { json, hub: hub.clone(), status: status.clone() };
    let mut template = HostConfig::new(args.data_dir.clone());
    template.pcap_dir = (args.pcap_retention_bytes > 0).then(|| pcap_dir.clone());
    template.data_usage = data_usage;
    let container_limit = memory_limit::container_limit(std::path::Path::new("/sys/fs/cgroup"));
    template.memory_limit = memory_limit::script_heap(container_limit);
    match container_limit {
        Some(limit) => tracing::info!("scripts' heap at most {} MiB (the container may use {} MiB)", template.memory_limit >> 20, limit >> 20),
        None => tracing::info!("scripts' heap at most {} MiB (no container memory limit seen)", template.memory_limit >> 20),
    }
    template.node = ScriptNode::new(args.node_name.clone(), args.node_ip.clone());
    template.network_budget = Duration::from_millis(args.script_network_budget_ms);
    template.metrics = status.script_metrics.clone();
    template.failures_total = status.script_failures.clone();
    let (selection, pcap_store, scripts_dir, env_dir) = (args.scripts.clone(), pipeline.pcap_store(), args.scripts_dir.clone(), args.env_dir.clone());
    let start_scripts = move || {
        let mut scripts = LiveScripts::new(selection, template, pcap_store, hub, names);
        scripts.start_mounted(&scripts_dir, &env_dir);
        scripts
    };
    let mut feed = ScriptFeed::start(start_scripts, output.clone(), output, script_thread::QUEUE).map_err(|e| anyhow::anyhow!("cannot start the scripts' thread: {e}"))?;
    match source {
        Source::Live(capture) => {
            capture_loop(&capture, &mut pipeline, &mut feed, &stop, &status);
            pipeline.finish(&mut feed);
            feed.finish();
            for problem in &capture.stop() {
                tracing::warn!("{problem}");
            }
        }
        Source::Files(files) => {
            feed.wait_loaded(Duration::from_secs(10));
            replay_files(&files, &mut pipeline, &mut feed, &status);
            pipeline.finish(&mut feed);
            flush_pcaps(&pipeline);
            tracing::info!("replay done; staying connected until stopped");
            wait_for_stop(&stop);
            feed.finish();
        }
    }
    tracing::info!(
        "stopped after {} packets, {} items",
        status.packets.load(Ordering::Relaxed),
        status.items.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Restores the peers a mesh's proxy hid; says once when connection tracking cannot be
/// read (the peers of redirected flows then show as the proxy's).
fn mesh_peers(mesh: Mesh) -> PeerOrigins {
    let peers = MeshPeers::new(mesh);
    match peers.readable() {
        Ok(()) => tracing::info!("{mesh:?}'s proxy is in the pod: capturing lo too, peers of redirected flows from connection tracking"),
        Err(e) => tracing::warn!("{mesh:?}'s proxy is in the pod, but connection tracking cannot be read ({e}): flows through it show the proxy's address"),
    }
    PeerOrigins(Arc::new(peers))
}

/// Starts live capture on the selected interfaces; `None` (phase `GaveUp`, said on
/// stderr) when it cannot.
fn start_live(args: &Args, mesh: Option<Mesh>, status: &Status) -> Option<LiveCapture> {
    let filter = capture_filter(&args.capture_filter, &hub_addresses(&args.hub));
    let capture = interfaces::select(&args.interfaces, mesh.is_some())
        .map_err(|e| e.to_string())
        .and_then(|devices| {
            let names: Vec<String> = devices.iter().map(|d| d.name.clone()).collect();
            LiveCapture::start(&devices, &filter, args.capture_buffer_bytes)
                .map(|c| (c, names))
                .map_err(|e| e.to_string())
        });
    let (capture, names) = match capture {
        Ok(started) => started,
        Err(why) => {
            tracing::warn!("not capturing: {why}");
            status.set_phase(Phase::GaveUp(why));
            return None;
        }
    };
    *status.interfaces.lock().unwrap_or_else(|p| p.into_inner()) = capture.interfaces.clone();
    status.set_phase(Phase::Capturing);
    let shown = if filter.is_empty() { "none".to_string() } else { format!("{filter:?}") };
    tracing::info!("capturing on {} (filter {shown})", names.join(", "));
    Some(capture)
}

/// `--replay`: the files through the pipeline in order; a bad file is named and skipped.
fn replay_files(files: &[PathBuf], pipeline: &mut Pipeline, sink: &mut impl Sink, status: &Status) {
    for path in files {
        match replay_file(path, pipeline, sink, &mut |_| {}) {
            Ok(summary) => {
                status.packets.fetch_add(summary.packets, Ordering::Relaxed);
                tracing::info!("replayed {} ({} packets)", path.display(), summary.packets);
            }
            Err(e) => tracing::warn!("replay: {e}"),
        }
    }
}

/// How often an idle sidecar's loops wake (capture, scripts): an idle pod's sidecar must
/// cost next to nothing (bench/idle_sidecar.py).
const IDLE_TICK: Duration = Duration::from_millis(500);

/// Feeds captured frames to the pipeline until `stop`; moves its clock on with the
/// wall clock when nothing arrives, so timeouts and jobs run in quiet periods too. The
/// scripts run on their own thread behind `sink`.
fn capture_loop(capture: &LiveCapture, pipeline: &mut Pipeline, sink: &mut impl Sink, stop: &AtomicBool, status: &Status) {
    let mut flushed = std::time::Instant::now();
    let mut advanced = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // PCAP files on disk lag at most a second behind the capture (retention measures
        // them, scripts and the hub read them).
        if flushed.elapsed() >= Duration::from_secs(1) {
            flushed = std::time::Instant::now();
            flush_pcaps(pipeline);
        }
        // Idle, the loop wakes twice a second: to move the clock on and flush the PCAPs.
        match capture.next(IDLE_TICK) {
            Ok(frames) => {
                for (ts, wire, frame) in frames.iter() {
                    pipeline.packet(frames.link, frames.link_number, ts, frame, wire, sink);
                }
                status.packets.fetch_add(frames.packets.len() as u64, Ordering::Relaxed);
                capture.recycle(frames);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if advanced.elapsed() >= IDLE_TICK {
                    advanced = std::time::Instant::now();
                    pipeline.advance(Timestamp::now(), sink);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// The per-stream PCAP files' buffers to disk, where retention, scripts and the hub read them.
fn flush_pcaps(pipeline: &Pipeline) {
    if let Some(store) = pipeline.pcap_store() {
        if let Ok(mut store) = store.lock() {
            store.flush_all();
        }
    }
}

fn wait_for_stop(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SIGTERM (the kubelet) or Ctrl-C set `stop`; the capture loop sees it within half a second.
fn watch_signals(stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else { return };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        });
        stop.store(true, Ordering::Relaxed);
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot watch signals ({e}); stop it with SIGKILL");
    }
}

/// Resolves the hub's name again every `--hub-recheck-seconds` and, when its addresses
/// changed, has the readers put in place the filter that leaves the new ones out.
fn follow_hub_address(args: &Args, update: Arc<FilterUpdate>, stop: Arc<AtomicBool>) {
    if args.hub.trim().is_empty() {
        return;
    }
    let (user, hub, every) = (args.capture_filter.clone(), args.hub.clone(), Duration::from_secs(args.hub_recheck_seconds.max(1)));
    let mut known = sorted(hub_addresses(&hub));
    let spawned = std::thread::Builder::new().name("hub-address".into()).spawn(move || {
        let mut waited = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            waited += Duration::from_secs(1);
            if waited < every {
                continue;
            }
            waited = Duration::ZERO;
            let now = sorted(hub_addresses(&hub));
            // A failed lookup keeps the exclusion in force rather than dropping it.
            if now.is_empty() || now == known {
                continue;
            }
            let filter = capture_filter(&user, &now);
            tracing::info!("the hub {hub} is now at {now:?} (was {known:?}); capture filter {filter:?}");
            update.set(&filter);
            known = now;
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("the hub's address will not be followed ({e}); its session is left out of capture as resolved at start");
    }
}

fn sorted(mut addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addresses.sort();
    addresses.dedup();
    addresses
}

/// The pod's filter, minus the sidecar's own session with the hub (at `hub_addresses`):
/// capturing it would feed the hub its own traffic.
fn capture_filter(user: &str, hub_addresses: &[SocketAddr]) -> String {
    let exclusions: Vec<String> = hub_addresses
        .iter()
        .map(|a| format!("(host {} and tcp port {})", a.ip(), a.port()))
        .collect();
    match (user.trim().is_empty(), exclusions.is_empty()) {
        (true, true) => String::new(),
        (false, true) => user.trim().to_string(),
        (true, false) => format!("not ({})", exclusions.join(" or ")),
        (false, false) => format!("({}) and not ({})", user.trim(), exclusions.join(" or ")),
    }
}

/// The addresses the hub's URL resolves to, with the scheme's port when it names none.
fn hub_addresses(hub: &str) -> Vec<SocketAddr> {
    let Ok(uri) = hub.trim().parse::<axum::http::Uri>() else { return Vec::new() };
    let Some(host) = uri.host() else { return Vec::new() };
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("wss") { 443 } else { 80 });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map(Iterator::collect).unwrap_or_default()
}

/// Items to the hub and/or as JSON lines on stdout, counted for /metrics.
/// Where items go: the hub and/or stdout as JSON lines. One per thread (the pipeline's
/// for items no script wants, the scripts' for the rest); a line is written whole.
#[derive(Clone)]
struct Output {
    json: bool,
    hub: Option<HubClient>,
    status: Arc<Status>,
}

impl Sink for Output {
    fn item(&mut self, item: Item) {
        self.status.items.fetch_add(1, Ordering::Relaxed);
        if !self.json && self.hub.is_none() {
            return;
        }
        let Ok(text) = serde_json::to_string(&item) else { return };
        if self.json {
            // One line per item, out at once: a reader (a test, a log shipper) sees it now.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        if let Some(hub) = &self.hub {
            hub.send(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{capture_filter, hub_addresses};

    #[test]
    fn the_hub_session_is_left_out_of_the_capture() {
        let filter = |user: &str, hub: &str| capture_filter(user, &hub_addresses(hub));
        assert_eq!(filter("", ""), "");
        assert_eq!(filter("tcp", ""), "tcp");
        assert_eq!(filter("", "ws://192.0.2.2:8898"), "not ((host 192.0.2.2 and tcp port 8898))");
        assert_eq!(filter("tcp", "ws://192.0.2.2"), "(tcp) and not ((host 192.0.2.2 and tcp port 80))");
        assert_eq!(filter("", "wss://[2001:db8::2]/x"), "not ((host 2001:db8::2 and tcp port 443))");
    }
}
