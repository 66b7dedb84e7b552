//! Where jobs fire and where `hub.action` goes. Offline (`remora replay`) both stay in
//! the process: jobs fire on the capture's clock and `onHubAction` of the same scripts
//! receives the actions. In a sidecar, `jobs.*` and `hub.action` go to the hub, whose
//! cron fires each job on every node at once. In the hub, `jobs.*` act on the hub's
//! cluster-wide registry and `hub.action` reaches the hub's own `onHubAction`.

use std::collections::VecDeque;

use remora_model::wire::{JobInfo, JobRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Offline,
    Sidecar,
    Hub,
}

impl Role {
    /// Jobs fire when the hub says (not on the local clock).
    pub fn cluster_jobs(self) -> bool {
        self != Role::Offline
    }
}

/// What a script asked of the cluster, for the process to pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRequest {
    Job(JobRequest),
    /// `hub.action(action, object)`, the object as JSON.
    HubAction { action: String, object: String },
}

/// Requests waiting to be passed on; a script calling `jobs.run` in a loop must not
/// grow memory without bound.
const MAX_WAITING: usize = 10_000;

pub(crate) struct Cluster {
    pub role: Role,
    pub waiting: VecDeque<ClusterRequest>,
    /// Requests refused because `waiting` was full.
    pub overflowed: u64,
    /// The cluster's jobs as the hub last told them.
    pub jobs: Vec<JobInfo>,
    pub running: bool,
}

impl Cluster {
    pub fn new(role: Role) -> Cluster {
        Cluster { role, waiting: VecDeque::new(), overflowed: 0, jobs: Vec::new(), running: true }
    }

    /// Queues a request; false when the queue is full (the request is dropped).
    pub fn request(&mut self, request: ClusterRequest) -> bool {
        if self.waiting.len() >= MAX_WAITING {
            self.overflowed += 1;
            return false;
        }
        self.waiting.push_back(request);
        true
    }

    pub fn knows(&self, tag: &str) -> bool {
        self.jobs.iter().any(|j| j.tag == tag)
    }
}
