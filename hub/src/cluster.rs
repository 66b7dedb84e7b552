//! What the hub does for the whole cluster: it fires every job on time on each node that
//! may still run it, applies the `jobs.*` calls of any script, hands `hub.action` calls to
//! its own scripts' `onHubAction`, and gives every sidecar the scripts to run.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use remora_model::wire::{JobRequest, ToSidecar, VERSION};
use remora_scripting::ScriptSet;

use crate::jobs::HUB_NODE;
use crate::scripts::{Call, Callbacks, HubScripts};
use crate::server::Hub;

/// How often the cron is looked at: a job fires at most this late.
const TICK: Duration = Duration::from_millis(20);

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Fires the jobs due, every tick, until the task is dropped.
pub async fn fire_jobs_on_time(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let due = hub.jobs().due(now_ns());
        if !due.is_empty() {
            hub.fire(due);
        }
    }
}

impl Hub {
    pub(crate) fn jobs(&self) -> std::sync::MutexGuard<'_, crate::jobs::JobRegistry> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a sidecar gets when it connects: the scripts to run (when the hub has a
    /// source), the cluster's jobs and the names of the addresses.
    pub(crate) fn greet(&self, session: u64) {
        let scripts = self.script_set.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(set) = scripts {
            self.sessions.send(session, &ToSidecar::Scripts { v: VERSION, scripts: set.scripts, env: set.env });
        }
        {
            let jobs = self.jobs();
            self.sessions.send(session, &ToSidecar::Jobs { v: VERSION, jobs: jobs.list(), running: jobs.running(), removed: Vec::new() });
        }
        if let Some(names) = self.names_frame() {
            self.sessions.send(session, &names);
        }
    }

    /// Runs `tags` now: on every sidecar (and the hub's scripts) whose node has not
    /// reached the job's limit.
    pub fn fire(&self, tags: Vec<String>) {
        let sessions = self.sessions.nodes();
        let hub_runs = self.scripts.get().is_some_and(HubScripts::running);
        let mut per_session: std::collections::HashMap<u64, Vec<String>> = std::collections::HashMap::new();
        let mut hub_tags = Vec::new();
        {
            let mut jobs = self.jobs();
            for tag in tags {
                let nodes = sessions.iter().map(|(_, node)| node.as_str()).chain(hub_runs.then_some(HUB_NODE));
                let claimed = jobs.claim(&tag, nodes);
                for (id, node) in &sessions {
                    if claimed.contains(&node.as_str()) {
                        per_session.entry(*id).or_default().push(tag.clone());
                    }
                }
                if claimed.contains(&HUB_NODE) {
                    hub_tags.push(tag);
                }
            }
        }
        for (id, tags) in per_session {
            self.sessions.send(id, &ToSidecar::RunJobs { v: VERSION, tags });
        }
        if let (Some(scripts), false) = (self.scripts.get(), hub_tags.is_empty()) {
            scripts.call(Call::RunJobs(hub_tags));
        }
    }

    /// Applies the `jobs.*` calls of a script (in a sidecar, or the hub's); tells every
    /// sidecar when the jobs change and runs what was asked to run.
    pub fn job_requests(&self, requests: Vec<JobRequest>, source: &str) {
        let now = now_ns();
        let mut announce = false;
        let mut run = Vec::new();
        {
            let mut jobs = self.jobs();
            for request in requests {
                match jobs.apply(request, now) {
                    Ok(change) => {
                        announce |= change.announce;
                        run.extend(change.run);
                    }
                    Err(e) => tracing::warn!(source, "job not scheduled: {e}"),
                }
            }
        }
        if announce {
            let (list, running, removed) = {
                let mut jobs = self.jobs();
                (jobs.list(), jobs.running(), jobs.take_removed())
            };
            tracing::info!(jobs = list.len(), running, removed = removed.len(), source, "cluster jobs changed");
            if let Some(scripts) = self.scripts.get() {
                scripts.call(Call::Jobs { jobs: list.clone(), running, removed: removed.clone() });
            }
            self.sessions.broadcast(&ToSidecar::Jobs { v: VERSION, jobs: list, running, removed });
        }
        if !run.is_empty() {
            self.fire(run);
        }
    }

    /// `hub.action(action, object)` from a sidecar: to the hub's `onHubAction`.
    pub fn hub_action(&self, action: String, object_json: String) {
        self.hub_actions.fetch_add(1, Ordering::Relaxed);
        match self.scripts.get() {
            Some(scripts) => {
                if !scripts.call(Call::HubAction { action: action.clone(), object: object_json }) {
                    tracing::warn!(action, "hub action dropped: the hub's scripts are too far behind");
                }
            }
            None => tracing::debug!(action, "hub action without hub scripts to receive it"),
        }
    }

    /// A new script set: the hub's scripts restart with it and every sidecar gets it.
    pub fn set_scripts(&self, set: ScriptSet) {
        *self.script_set.lock().unwrap_or_else(|p| p.into_inner()) = Some(set.clone());
        if let Some(scripts) = self.scripts.get() {
            scripts.call(Call::Load(set.clone()));
        }
        self.sessions.broadcast(&ToSidecar::Scripts { v: VERSION, scripts: set.scripts, env: set.env });
    }
}

/// Starts the hub's own scripts: console lines labelled `hub`, their job calls to the
/// registry. Scripts' `file.*` work in `data_dir`; `node_ip` is the hub pod's address.
pub fn start_hub_scripts(hub: &Arc<Hub>, data_dir: PathBuf, node_ip: String) -> std::io::Result<()> {
    let console_hub: Weak<Hub> = Arc::downgrade(hub);
    let jobs_hub: Weak<Hub> = Arc::downgrade(hub);
    let pods_hub: Weak<Hub> = Arc::downgrade(hub);
    let callbacks = Callbacks {
        console: Arc::new(move |line: String| {
            // A `console.clear()` marker is for the console stream, not the hub's log.
            if !remora_scripting::is_clear_marker(&line) {
                eprintln!("{line}");
            }
            if let Some(hub) = console_hub.upgrade() {
                hub.console_line("hub", &line);
            }
        }),
        jobs: Box::new(move |requests| {
            if let Some(hub) = jobs_hub.upgrade() {
                hub.job_requests(requests, "hub");
            }
        }),
        targeted: Arc::new(move || pods_hub.upgrade().map_or_else(|| remora_scripting::NONE_TARGETED.to_string(), |hub| hub.coverage().targeted())),
    };
    let scripts = HubScripts::start(data_dir, node_ip, callbacks)?;
    if hub.scripts.set(scripts).is_err() {
        tracing::warn!("the hub's scripts were started twice; the first stay");
    }
    Ok(())
}
