//! The hub's own scripts: the same script set the sidecars run, on a thread of its own
//! (a script host is single-threaded), for the hooks that run in the hub —
//! `onItemQueried` on query answers, `onHubAction` for `hub.action` calls from any
//! sidecar — and for the jobs the hub's scripts schedule. Where the set comes from is
//! `script_store`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remora_model::wire::{JobInfo, JobRequest};
use remora_scripting::{Clock, ClusterRequest, ConsoleLine, HostConfig, Role, ScriptHost, ScriptMetrics, ScriptSet};

/// Bytes the hub's scripts' files may take in its data directory.
const HUB_SCRIPT_FILES: u64 = 512 << 20;

/// Calls waiting for the script thread; past this, hub actions are dropped (counted).
const QUEUE: usize = 4096;
/// A query answer waits this long for `onItemQueried`; then it goes out unchanged.
const QUERY_WAIT: Duration = Duration::from_secs(5);

pub enum Call {
    /// Run this set from now on (a fresh host).
    Load(ScriptSet),
    /// `onItemQueried` over items (JSON), answered in order.
    Queried(Vec<String>, tokio::sync::oneshot::Sender<Vec<String>>),
    HubAction { action: String, object: String },
    RunJobs(Vec<String>),
    Jobs { jobs: Vec<JobInfo>, running: bool, removed: Vec<String> },
    /// `onPodEvent(event)`, the event as JSON.
    PodEvent(String),
}

/// What the script thread reports back to the hub.
pub struct Callbacks {
    /// A console line of a hub script.
    pub console: Arc<dyn Fn(String) + Send + Sync>,
    /// `jobs.*` calls of the hub's scripts, for the cluster's registry.
    pub jobs: Box<dyn Fn(Vec<JobRequest>) + Send>,
    /// What `hub.targeted()` answers (JSON): the pods the hub watches.
    pub targeted: Arc<dyn Fn() -> String + Send + Sync>,
}

pub struct HubScripts {
    calls: SyncSender<Call>,
    /// Whether a loaded script has `onItemQueried` (queries skip the thread otherwise).
    query_hook: Arc<AtomicBool>,
    /// Whether any script runs (the hub then counts as a node for job limits).
    running: Arc<AtomicBool>,
    /// Why scripts of the last load did not load (syntax errors, throwing top levels).
    load_errors: Arc<Mutex<Vec<String>>>,
    pub dropped: AtomicU64,
    /// The scripts' `prometheus.*` metrics, kept across script reloads (/metrics).
    pub metrics: ScriptMetrics,
    /// Every failure of the hub's scripts, across reloads (/metrics).
    pub failures: Arc<AtomicU64>,
}

impl HubScripts {
    pub fn start(data_dir: PathBuf, node_ip: String, callbacks: Callbacks) -> std::io::Result<HubScripts> {
        let (calls, receiver) = sync_channel(QUEUE);
        let query_hook = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicBool::new(false));
        let load_errors = Arc::new(Mutex::new(Vec::new()));
        let (hook, runs, errors) = (query_hook.clone(), running.clone(), load_errors.clone());
        let metrics = ScriptMetrics::new();
        let kept = metrics.clone();
        let failures = Arc::new(AtomicU64::new(0));
        let counted = failures.clone();
        std::thread::Builder::new().name("hub-scripts".into()).spawn(move || {
            // Made on its thread: a script host never moves between threads.
            let thread = ScriptThread { data_dir, node_ip, callbacks, host: None, query_hook: hook, running: runs, load_errors: errors, jobs: (Vec::new(), true), metrics: kept, failures: counted };
            thread.run(receiver)
        })?;
        Ok(HubScripts { calls, query_hook, running, load_errors, dropped: AtomicU64::new(0), metrics, failures })
    }

    /// Queues a call; false (and counted) when the thread is too far behind.
    pub fn call(&self, call: Call) -> bool {
        match self.calls.try_send(call) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// Why scripts of the last load were left out (empty when all loaded).
    pub fn load_errors(&self) -> Vec<String> {
        self.load_errors.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `onItemQueried` over a page of items; unchanged when no script has the hook, or
    /// (with a warning) when the scripts do not answer in time.
    pub async fn queried(&self, items: Vec<String>) -> (Vec<String>, Option<String>) {
        if !self.query_hook.load(Ordering::Relaxed) || items.is_empty() {
            return (items, None);
        }
        let (answer, wait) = tokio::sync::oneshot::channel();
        if !self.call(Call::Queried(items.clone(), answer)) {
            return (items, Some("onItemQueried skipped: the hub's scripts are busy".into()));
        }
        match tokio::time::timeout(QUERY_WAIT, wait).await {
            Ok(Ok(answered)) => (answered, None),
            _ => (items, Some(format!("onItemQueried skipped: no answer within {} s", QUERY_WAIT.as_secs()))),
        }
    }
}

struct ScriptThread {
    data_dir: PathBuf,
    /// The hub pod's address (`--pod-ip`).
    node_ip: String,
    callbacks: Callbacks,
    host: Option<ScriptHost>,
    query_hook: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
    load_errors: Arc<Mutex<Vec<String>>>,
    /// The cluster's jobs as last announced: a new host starts from it.
    jobs: (Vec<JobInfo>, bool),
    metrics: ScriptMetrics,
    failures: Arc<AtomicU64>,
}

impl ScriptThread {
    fn run(mut self, calls: Receiver<Call>) {
        while let Ok(call) = calls.recv() {
            match call {
                Call::Load(set) => self.load(set),
                Call::Queried(items, answer) => {
                    let answered = match &mut self.host {
                        Some(host) => items.iter().map(|item| host.on_item_queried(item)).collect(),
                        None => items,
                    };
                    let _ = answer.send(answered);
                }
                Call::HubAction { action, object } => {
                    if let Some(host) = &mut self.host {
                        host.on_hub_action(&action, &object);
                    }
                }
                Call::RunJobs(tags) => {
                    if let Some(host) = &mut self.host {
                        host.run_jobs(&tags);
                    }
                }
                Call::PodEvent(event) => {
                    if let Some(host) = &mut self.host {
                        host.on_pod_event(&event);
                    }
                }
                Call::Jobs { jobs, running, removed } => {
                    self.jobs = (jobs.clone(), running);
                    if let Some(host) = &mut self.host {
                        host.set_cluster_jobs(jobs, running, &removed);
                    }
                }
            }
            self.pass_requests();
        }
    }

    fn load(&mut self, set: ScriptSet) {
        // The old host goes first: its jobs must not run beside the new ones.
        self.host = None;
        let mut config = HostConfig::new(self.data_dir.clone());
        config.clock = Clock::Wall;
        config.role = Role::Hub;
        // Uploads from the hub's scripts go under `hub_<POD_IP>_<run>/`.
        config.node = remora_scripting::Node::new(crate::jobs::HUB_NODE.into(), self.node_ip.clone());
        config.metrics = self.metrics.clone();
        config.failures_total = self.failures.clone();
        // The hub's data volume (2 GiB in the chart) also holds the journal and exports.
        config.data_usage = remora_scripting::DataUsage::new(HUB_SCRIPT_FILES, None);
        let console = self.callbacks.console.clone();
        let sink = Box::new(move |line: ConsoleLine| console(line.to_string()));
        let mut errors = Vec::new();
        match set.start("all", config, sink) {
            Ok(Some(mut started)) => {
                tracing::info!(loaded = %started.loaded.join(", "), "hub scripts loaded");
                for failure in &started.failed {
                    tracing::warn!("hub script not loaded: {failure}");
                    (self.callbacks.console)(format!("script not loaded: {failure}"));
                }
                errors = std::mem::take(&mut started.failed);
                let (jobs, running) = self.jobs.clone();
                started.host.set_cluster_jobs(jobs, running, &[]);
                let targeted = self.callbacks.targeted.clone();
                started.host.set_targeted(Box::new(move || targeted()));
                self.query_hook.store(started.host.has_hook(remora_scripting::Hook::ItemQueried), Ordering::Relaxed);
                self.host = Some(started.host);
            }
            Ok(None) => self.query_hook.store(false, Ordering::Relaxed),
            Err(e) => {
                self.query_hook.store(false, Ordering::Relaxed);
                tracing::error!("hub scripts not loaded: {e}");
                (self.callbacks.console)(format!("scripts not loaded: {e}"));
                errors.push(e.to_string());
            }
        }
        *self.load_errors.lock().unwrap_or_else(|p| p.into_inner()) = errors;
        self.running.store(self.host.is_some(), Ordering::Relaxed);
    }

    /// The hub scripts' `jobs.*` calls go to the cluster's registry (their `hub.action`
    /// calls were delivered here already).
    fn pass_requests(&mut self) {
        let Some(host) = &mut self.host else { return };
        let (requests, dropped) = host.take_requests();
        if dropped > 0 {
            tracing::warn!(dropped, "hub script job calls dropped (too many waited)");
        }
        let jobs: Vec<JobRequest> = requests
            .into_iter()
            .filter_map(|r| match r {
                ClusterRequest::Job(job) => Some(job),
                ClusterRequest::HubAction { .. } => None,
            })
            .collect();
        if !jobs.is_empty() {
            (self.callbacks.jobs)(jobs);
        }
    }
}
