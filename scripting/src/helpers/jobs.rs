//! `jobs.*`: schedule JavaScript functions on cron expressions. Offline, runs asked for
//! with `jobs.run`/`jobs.runAll` happen right after the current call returns. In a
//! sidecar or the hub every call also goes to the hub, which acts on every node (see
//! `cluster`); `jobs.list` and `jobs.scheduler.isRunning` then answer for the cluster.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Persistent, Result, Value};

use super::{fail, SharedRef};
use crate::cluster::ClusterRequest;
use crate::host::Shared;
use remora_model::wire::JobRequest;

/// Passes a `jobs.*` call on to the hub (sidecar and hub roles). False offline.
fn to_cluster(shared: &mut Shared, request: JobRequest) -> bool {
    if !shared.cluster.role.cluster_jobs() {
        return false;
    }
    if !shared.cluster.request(ClusterRequest::Job(request)) {
        shared.log(crate::console::Level::Error, "jobs: too many job requests wait for the hub; this one was dropped".into());
    }
    true
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let jobs = Object::new(ctx.clone())?;

    let s = shared.clone();
    jobs.set(
        "schedule",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, tag: Value<'js>, cron: Value<'js>, task: Value<'js>, rest: Rest<Value<'js>>| -> Result<()> {
            let helper = "jobs.schedule";
            let tag = tag.as_string().and_then(|t| t.to_string().ok()).filter(|t| !t.is_empty());
            let Some(tag) = tag else { return Err(fail(&ctx, helper, "the first argument (tag) must be a non-empty string")) };
            let Some(cron) = cron.as_string().and_then(|c| c.to_string().ok()) else {
                return Err(fail(&ctx, helper, format!("job {tag:?}: the second argument (cron) must be a string")));
            };
            let Some(task) = task.into_function() else {
                return Err(fail(&ctx, helper, format!("job {tag:?}: the third argument (task) must be a function")));
            };
            let mut rest = rest.0.into_iter();
            let limit = match rest.next() {
                None => 0,
                Some(v) if v.is_undefined() || v.is_null() => 0,
                Some(v) => match v.as_number() {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 => n as u64,
                    _ => return Err(fail(&ctx, helper, format!("job {tag:?}: the fourth argument (limit) must be a whole number >= 0"))),
                },
            };
            let args = rest.map(|v| Persistent::save(&ctx, v)).collect();
            let mut shared = s.borrow_mut();
            let script = shared.current_script.to_string();
            let now = shared.now;
            shared
                .scheduler
                .schedule(tag.clone(), cron.clone(), Persistent::save(&ctx, task), args, limit, script, now)
                .map_err(|e| fail(&ctx, helper, format!("job {tag:?}: {e}")))?;
            to_cluster(&mut shared, JobRequest::Schedule { tag, cron, limit });
            Ok(())
        })?,
    )?;

    let s = shared.clone();
    jobs.set("remove", Function::new(ctx.clone(), move |tag: String| {
        let mut shared = s.borrow_mut();
        shared.scheduler.jobs.remove(&tag);
        to_cluster(&mut shared, JobRequest::Remove { tag });
    })?)?;

    let s = shared.clone();
    jobs.set("removeAll", Function::new(ctx.clone(), move || {
        let mut shared = s.borrow_mut();
        shared.scheduler.jobs.clear();
        to_cluster(&mut shared, JobRequest::RemoveAll);
    })?)?;

    let s = shared.clone();
    jobs.set("list", Function::new(ctx.clone(), move || -> Vec<String> {
        let shared = s.borrow();
        let mut tags: Vec<String> = shared.scheduler.jobs.keys().cloned().collect();
        if shared.cluster.role.cluster_jobs() {
            tags.extend(shared.cluster.jobs.iter().map(|j| j.tag.clone()));
            tags.sort();
            tags.dedup();
        }
        tags
    })?)?;

    let s = shared.clone();
    jobs.set("run", Function::new(ctx.clone(), move |ctx: Ctx<'js>, tag: String| -> Result<()> {
        let mut shared = s.borrow_mut();
        if !shared.scheduler.jobs.contains_key(&tag) && !shared.cluster.knows(&tag) {
            return Err(fail(&ctx, "jobs.run", format!("no job is scheduled with the tag {tag:?}")));
        }
        if !to_cluster(&mut shared, JobRequest::Run { tag: tag.clone() }) {
            shared.scheduler.requested.push_back(tag);
        }
        Ok(())
    })?)?;

    let s = shared.clone();
    jobs.set("runAll", Function::new(ctx.clone(), move || {
        let mut shared = s.borrow_mut();
        if !to_cluster(&mut shared, JobRequest::RunAll) {
            let tags: Vec<String> = shared.scheduler.jobs.keys().cloned().collect();
            shared.scheduler.requested.extend(tags);
        }
    })?)?;

    let scheduler = Object::new(ctx.clone())?;
    let s = shared.clone();
    scheduler.set("isRunning", Function::new(ctx.clone(), move || {
        let shared = s.borrow();
        if shared.cluster.role.cluster_jobs() {
            shared.cluster.running
        } else {
            !shared.scheduler.stopped
        }
    })?)?;
    let s = shared.clone();
    scheduler.set("start", Function::new(ctx.clone(), move || {
        let mut shared = s.borrow_mut();
        shared.scheduler.stopped = false;
        shared.cluster.running = true;
        to_cluster(&mut shared, JobRequest::Start);
    })?)?;
    let s = shared.clone();
    scheduler.set("stop", Function::new(ctx.clone(), move || {
        let mut shared = s.borrow_mut();
        shared.scheduler.stopped = true;
        shared.cluster.running = false;
        to_cluster(&mut shared, JobRequest::Stop);
    })?)?;
    jobs.set("scheduler", scheduler)?;
    Ok(jobs)
}
