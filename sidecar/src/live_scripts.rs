//! The live sidecar's scripts: started from the mounts (the scripts ConfigMap, the env
//! Secret), replaced when the hub pushes other ones — the capture goes on meanwhile, the
//! next batch of packets meets the new scripts — and their cluster calls (`jobs.*`,
//! `hub.action`) exchanged with the hub between batches.

use std::path::Path;
use std::sync::{Arc, Mutex};

use remora_model::wire::{JobInfo, JobRequest, ToSidecar};
use remora_scripting::{Clock, ClusterRequest, ConsoleLine, ConsoleSink, HostConfig, Level, Role, ScriptHost, ScriptSet, Started};

use crate::hub_client::HubClient;
use crate::names::LiveNames;
use crate::pcap_store::PcapStore;
use crate::scripted::flush_before_snapshot;

pub struct LiveScripts {
    /// The pod's `remora.dev/scripts` selection.
    selection: String,
    /// What each new host starts from (data and PCAP directories, node, budgets).
    template: HostConfig,
    pcap_store: Option<Arc<Mutex<PcapStore>>>,
    hub: Option<HubClient>,
    /// The set running now (the mounted one until the hub sends one).
    current: ScriptSet,
    started: Option<Started>,
    /// The cluster's jobs as the hub last said: a new host starts from it.
    cluster_jobs: (Vec<JobInfo>, bool),
    /// The hub's name resolution (the pipeline reads it too).
    names: Arc<LiveNames>,
    /// The names' version the scripts' history copy was made from.
    names_seen: u64,
}

impl LiveScripts {
    pub fn new(selection: String, template: HostConfig, pcap_store: Option<Arc<Mutex<PcapStore>>>, hub: Option<HubClient>, names: Arc<LiveNames>) -> Self {
        LiveScripts { selection, template, pcap_store, hub, current: ScriptSet::default(), started: None, cluster_jobs: (Vec::new(), true), names, names_seen: 0 }
    }

    /// Starts the scripts of the mounts.
    pub fn start_mounted(&mut self, scripts_dir: &Path, env_dir: &Path) {
        match ScriptSet::read(scripts_dir, env_dir) {
            Ok(set) => self.start(set, "mounted"),
            Err(e) => tracing::warn!("scripts not loaded: {e}"),
        }
    }

    pub fn host(&mut self) -> Option<&mut ScriptHost> {
        self.started.as_mut().map(|s| &mut s.host)
    }

    /// Replaces the running scripts with `set` (unless it is the same): a fresh host, so
    /// nothing of the old scripts' state lingers. Jobs the old scripts scheduled and the
    /// new ones do not are removed cluster-wide.
    fn start(&mut self, set: ScriptSet, from: &str) {
        if set == self.current && (self.started.is_some() || set.scripts.is_empty()) {
            return;
        }
        let before: Vec<String> = self.host().map(|h| h.jobs().into_iter().map(|(tag, _, _)| tag).collect()).unwrap_or_default();
        let mut config = self.template.clone();
        config.clock = Clock::Capture;
        config.role = if self.hub.is_some() { Role::Sidecar } else { Role::Offline };
        // The old host goes first: its jobs must not run beside the new ones.
        self.started = None;
        match set.start(&self.selection, config, self.console()) {
            Ok(Some(mut started)) => {
                tracing::info!("scripts ({from}): {} loaded ({})", started.loaded.len(), started.loaded.join(", "));
                for failure in &started.failed {
                    tracing::warn!("script not loaded: {failure}");
                }
                flush_before_snapshot(&mut started.host, self.pcap_store.clone());
                let (jobs, running) = self.cluster_jobs.clone();
                started.host.set_cluster_jobs(jobs, running, &[]);
                started.host.set_name_history(self.names.history());
                self.started = Some(started);
            }
            Ok(None) => tracing::info!("scripts ({from}): none selected"),
            Err(e) => tracing::warn!("scripts ({from}) not loaded: {e}"),
        }
        self.current = set;
        let after: Vec<String> = self.host().map(|h| h.jobs().into_iter().map(|(tag, _, _)| tag).collect()).unwrap_or_default();
        let gone: Vec<JobRequest> = before.into_iter().filter(|t| !after.contains(t)).map(|tag| JobRequest::Remove { tag }).collect();
        if let Some(hub) = &self.hub {
            hub.jobs(gone);
        }
        self.pass_requests();
    }

    /// Acts on what the hub sent, then passes the scripts' cluster calls to it.
    pub fn exchange_with_hub(&mut self) {
        let Some(hub) = self.hub.clone() else { return };
        for frame in hub.take_inbox() {
            match frame {
                ToSidecar::RunJobs { tags, .. } => {
                    if let Some(host) = self.host() {
                        host.run_jobs(&tags);
                    }
                }
                ToSidecar::Jobs { jobs, running, removed, .. } => {
                    self.cluster_jobs = (jobs.clone(), running);
                    if let Some(host) = self.host() {
                        host.set_cluster_jobs(jobs, running, &removed);
                    }
                }
                ToSidecar::Scripts { scripts, env, .. } => self.start(ScriptSet { scripts, env }, "from the hub"),
                ToSidecar::Names { at, full, names, .. } => self.names.apply(at, full, names),
                ToSidecar::PodEvent { event, .. } => {
                    if let Some(host) = self.host() {
                        host.on_pod_event(&event);
                    }
                }
                ToSidecar::Ack { .. } | ToSidecar::Refused { .. } | ToSidecar::PcapRequest { .. } | ToSidecar::Unknown => {}
            }
        }
        let version = self.names.version();
        if version != self.names_seen {
            self.names_seen = version;
            let history = self.names.history();
            if let Some(host) = self.host() {
                host.set_name_history(history);
            }
        }
        self.pass_requests();
    }

    fn pass_requests(&mut self) {
        let Some(hub) = self.hub.clone() else { return };
        let Some(host) = self.host() else { return };
        let (requests, dropped) = host.take_requests();
        if dropped > 0 {
            tracing::warn!("{dropped} script calls for the hub were dropped (too many waited)");
        }
        let mut jobs = Vec::new();
        for request in requests {
            match request {
                ClusterRequest::Job(job) => jobs.push(job),
                ClusterRequest::HubAction { action, object } => hub.hub_action(action, &object),
            }
        }
        hub.jobs(jobs);
    }

    /// Console lines go to stderr and, with a hub, to its console stream; a
    /// `console.clear()` marker goes to the hub only (the sidecar's log is kept whole).
    fn console(&self) -> Box<dyn ConsoleSink> {
        let hub = self.hub.clone();
        Box::new(move |line: ConsoleLine| {
            if line.level != Level::Clear {
                eprintln!("{line}");
            }
            if let Some(hub) = &hub {
                hub.console(line.to_string());
            }
        })
    }
}
