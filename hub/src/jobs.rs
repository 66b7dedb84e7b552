//! The cluster's jobs: every `jobs.schedule` any script made (sidecars announce theirs
//! on each connection), the cron that decides when each fires, and the runs per node
//! that `limit` counts. Firing is the server's part: it sends the tags to every session
//! whose node may still run them.

use std::collections::{BTreeMap, HashMap};

use chrono::{TimeZone, Utc};
use remora_model::wire::{JobInfo, JobRequest};

/// Longest job tag (and cron expression) a script may schedule.
pub const MAX_TAG: usize = 256;
/// Jobs the cluster holds at most: every one is sent to every sidecar.
pub const MAX_JOBS: usize = 1000;

/// The node name the hub's own scripts count their runs under.
pub const HUB_NODE: &str = "hub";

struct ClusterJob {
    info: JobInfo,
    schedule: cron::Schedule,
    /// Next fire time, ns since the epoch.
    next: Option<i64>,
    runs: HashMap<String, u64>,
}

/// What a request changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// The job list or the scheduler state changed: tell every session.
    pub announce: bool,
    /// Jobs to run now (`jobs.run`, `jobs.runAll`).
    pub run: Vec<String>,
}

#[derive(Default)]
pub struct JobRegistry {
    jobs: BTreeMap<String, ClusterJob>,
    stopped: bool,
    /// Tags removed since the last announcement.
    removed: Vec<String>,
}

/// The first fire time strictly after `ns`.
fn next_after(schedule: &cron::Schedule, ns: i64) -> Option<i64> {
    schedule.after(&Utc.timestamp_nanos(ns)).next().and_then(|t| t.timestamp_nanos_opt())
}

impl JobRegistry {
    /// Applies one `jobs.*` call. `Err` names a request that cannot be applied (a cron
    /// the hub cannot read).
    pub fn apply(&mut self, request: JobRequest, now: i64) -> Result<Change, String> {
        let mut change = Change::default();
        match request {
            JobRequest::Schedule { tag, cron, limit } => {
                if tag.len() > MAX_TAG || cron.len() > MAX_TAG {
                    return Err(format!("a job's tag and cron are at most {MAX_TAG} bytes (tag of {}, cron of {})", tag.len(), cron.len()));
                }
                if !self.jobs.contains_key(&tag) && self.jobs.len() >= MAX_JOBS {
                    return Err(format!("the cluster has {MAX_JOBS} jobs already; {tag:?} is not scheduled"));
                }
                if self.jobs.get(&tag).is_some_and(|j| j.info.cron == cron && j.info.limit == limit) {
                    // Every sidecar announces the same job: the first one counts.
                    return Ok(change);
                }
                let schedule = remora_scripting::parse_cron(&cron)?;
                let next = next_after(&schedule, now);
                let runs = self.jobs.remove(&tag).map(|j| j.runs).unwrap_or_default();
                self.removed.retain(|t| *t != tag);
                self.jobs.insert(tag.clone(), ClusterJob { info: JobInfo { tag, cron, limit }, schedule, next, runs });
                change.announce = true;
            }
            JobRequest::Remove { tag } => {
                if self.jobs.remove(&tag).is_some() {
                    self.removed.push(tag);
                    change.announce = true;
                }
            }
            JobRequest::RemoveAll => {
                let tags: Vec<String> = std::mem::take(&mut self.jobs).into_keys().collect();
                change.announce = !tags.is_empty();
                self.removed.extend(tags);
            }
            JobRequest::Run { tag } => {
                if self.jobs.contains_key(&tag) {
                    change.run.push(tag);
                }
            }
            JobRequest::RunAll => change.run = self.jobs.keys().cloned().collect(),
            JobRequest::Stop | JobRequest::Start => {
                let stopped = matches!(request, JobRequest::Stop);
                change.announce = self.stopped != stopped;
                self.stopped = stopped;
                if !stopped {
                    // Fire times passed while stopped are not caught up on.
                    for job in self.jobs.values_mut() {
                        job.next = next_after(&job.schedule, now);
                    }
                }
            }
        }
        Ok(change)
    }

    /// Tags due at `now`, once each: a fire time missed (the hub was busy or asleep) is
    /// skipped rather than caught up on.
    pub fn due(&mut self, now: i64) -> Vec<String> {
        if self.stopped {
            return Vec::new();
        }
        let mut due = Vec::new();
        for job in self.jobs.values_mut() {
            if job.next.is_some_and(|next| next <= now) {
                due.push(job.info.tag.clone());
                job.next = next_after(&job.schedule, now);
            }
        }
        due
    }

    /// Of `nodes`, those that may still run `tag` (its limit counts per node), each
    /// counted as having run it once more.
    pub fn claim<'n>(&mut self, tag: &str, nodes: impl IntoIterator<Item = &'n str>) -> Vec<&'n str> {
        let Some(job) = self.jobs.get_mut(tag) else { return Vec::new() };
        let mut claimed: Vec<&str> = Vec::new();
        for node in nodes {
            if claimed.contains(&node) {
                continue;
            }
            let runs = job.runs.entry(node.to_string()).or_default();
            if job.info.limit == 0 || *runs < job.info.limit {
                *runs += 1;
                claimed.push(node);
            }
        }
        claimed
    }

    pub fn list(&self) -> Vec<JobInfo> {
        self.jobs.values().map(|j| j.info.clone()).collect()
    }

    /// Runs of `tag` per node so far.
    pub fn runs(&self, tag: &str) -> BTreeMap<String, u64> {
        self.jobs.get(tag).map(|j| j.runs.iter().map(|(n, r)| (n.clone(), *r)).collect()).unwrap_or_default()
    }

    /// When `tag` fires next (ns since the epoch); `None` once its cron has no more.
    pub fn next_run(&self, tag: &str) -> Option<i64> {
        self.jobs.get(tag).and_then(|j| j.next)
    }

    pub fn running(&self) -> bool {
        !self.stopped
    }

    /// The removals to announce (once).
    pub fn take_removed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;
    const T0: i64 = 1_700_000_000 * SECOND + 300_000_000; // .3 s into a second

    fn schedule(tag: &str, cron: &str, limit: u64) -> JobRequest {
        JobRequest::Schedule { tag: tag.into(), cron: cron.into(), limit }
    }

    #[test]
    fn tags_and_the_number_of_jobs_are_bounded() {
        let mut jobs = JobRegistry::default();
        let long = "t".repeat(MAX_TAG + 1);
        assert!(jobs.apply(schedule(&long, "* * * * * *", 0), T0).expect_err("too long").contains("at most 256 bytes"));
        for i in 0..MAX_JOBS {
            jobs.apply(schedule(&format!("job-{i}"), "0 0 * * * *", 0), T0).expect("scheduled");
        }
        assert!(jobs.apply(schedule("one-more", "0 0 * * * *", 0), T0).expect_err("full").contains("1000 jobs already"));
        assert!(jobs.apply(schedule("job-7", "0 30 * * * *", 0), T0).is_ok(), "an existing job may still change");
    }

    #[test]
    fn every_second_fires_once_per_second_and_skips_missed_times() {
        let mut jobs = JobRegistry::default();
        assert!(jobs.apply(schedule("tick", "* * * * * *", 0), T0).expect("cron").announce);
        assert!(jobs.due(T0).is_empty());
        assert_eq!(jobs.due(T0 + SECOND), ["tick"]);
        assert!(jobs.due(T0 + SECOND + 1).is_empty(), "once per fire time");
        // Ten seconds asleep: one fire, not ten.
        assert_eq!(jobs.due(T0 + 11 * SECOND), ["tick"]);
        assert!(jobs.due(T0 + 11 * SECOND + 100).is_empty());
    }

    #[test]
    fn announcements_are_idempotent_and_bad_cron_is_refused() {
        let mut jobs = JobRegistry::default();
        jobs.apply(schedule("a", "*/5 * * * * *", 3), T0).expect("cron");
        assert_eq!(jobs.apply(schedule("a", "*/5 * * * * *", 3), T0).expect("same"), Change::default());
        assert!(jobs.apply(schedule("a", "*/10 * * * * *", 3), T0).expect("changed").announce);
        assert!(jobs.apply(schedule("b", "61 * * * * *", 0), T0).is_err());
        assert_eq!(jobs.list().len(), 1);
    }

    #[test]
    fn limit_counts_per_node() {
        let mut jobs = JobRegistry::default();
        jobs.apply(schedule("twice", "* * * * * *", 2), T0).expect("cron");
        assert_eq!(jobs.claim("twice", ["n1", "n1", "n2"]), ["n1", "n2"], "two pods on n1 are one node");
        assert_eq!(jobs.claim("twice", ["n1", "n2"]), ["n1", "n2"]);
        assert!(jobs.claim("twice", ["n1", "n2"]).is_empty());
        assert_eq!(jobs.claim("twice", ["n3"]), ["n3"], "a node joining later runs it too");
        assert_eq!(jobs.runs("twice").get("n1"), Some(&2));
    }

    #[test]
    fn run_remove_stop_and_start() {
        let mut jobs = JobRegistry::default();
        jobs.apply(schedule("a", "* * * * * *", 0), T0).expect("cron");
        jobs.apply(schedule("b", "* * * * * *", 0), T0).expect("cron");
        assert_eq!(jobs.apply(JobRequest::Run { tag: "a".into() }, T0).expect("run").run, ["a"]);
        assert!(jobs.apply(JobRequest::Run { tag: "zz".into() }, T0).expect("run").run.is_empty());
        assert_eq!(jobs.apply(JobRequest::RunAll, T0).expect("all").run, ["a", "b"]);
        assert!(jobs.apply(JobRequest::Stop, T0).expect("stop").announce);
        assert!(jobs.due(T0 + 5 * SECOND).is_empty());
        assert!(!jobs.running());
        jobs.apply(JobRequest::Start, T0 + 5 * SECOND).expect("start");
        assert!(jobs.due(T0 + 5 * SECOND + 1).is_empty(), "no catching up after a start");
        assert_eq!(jobs.due(T0 + 6 * SECOND), ["a", "b"]);
        jobs.apply(JobRequest::Remove { tag: "a".into() }, T0).expect("remove");
        assert_eq!(jobs.take_removed(), ["a"]);
        assert!(jobs.take_removed().is_empty());
        jobs.apply(JobRequest::RemoveAll, T0).expect("remove all");
        assert_eq!(jobs.take_removed(), ["b"]);
        assert!(jobs.list().is_empty());
    }
}
