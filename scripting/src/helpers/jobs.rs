//! `jobs.*`: schedule JavaScript functions on cron expressions. Runs asked for with
//! `jobs.run`/`jobs.runAll` happen right after the current call returns.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Persistent, Result, Value};

use super::{fail, SharedRef};

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
            shared.scheduler.schedule(tag.clone(), cron, Persistent::save(&ctx, task), args, limit, script, now).map_err(|e| fail(&ctx, helper, format!("job {tag:?}: {e}")))
        })?,
    )?;

    let s = shared.clone();
    jobs.set("remove", Function::new(ctx.clone(), move |tag: String| {
        s.borrow_mut().scheduler.jobs.remove(&tag);
    })?)?;

    let s = shared.clone();
    jobs.set("removeAll", Function::new(ctx.clone(), move || {
        s.borrow_mut().scheduler.jobs.clear();
    })?)?;

    let s = shared.clone();
    jobs.set("list", Function::new(ctx.clone(), move || -> Vec<String> { s.borrow().scheduler.jobs.keys().cloned().collect() })?)?;

    let s = shared.clone();
    jobs.set("run", Function::new(ctx.clone(), move |ctx: Ctx<'js>, tag: String| -> Result<()> {
        let mut shared = s.borrow_mut();
        if !shared.scheduler.jobs.contains_key(&tag) {
            return Err(fail(&ctx, "jobs.run", format!("no job is scheduled with the tag {tag:?}")));
        }
        shared.scheduler.requested.push_back(tag);
        Ok(())
    })?)?;

    let s = shared.clone();
    jobs.set("runAll", Function::new(ctx.clone(), move || {
        let mut shared = s.borrow_mut();
        let tags: Vec<String> = shared.scheduler.jobs.keys().cloned().collect();
        shared.scheduler.requested.extend(tags);
    })?)?;

    let scheduler = Object::new(ctx.clone())?;
    let s = shared.clone();
    scheduler.set("isRunning", Function::new(ctx.clone(), move || !s.borrow().scheduler.stopped)?)?;
    let s = shared.clone();
    scheduler.set("start", Function::new(ctx.clone(), move || {
        s.borrow_mut().scheduler.stopped = false;
    })?)?;
    let s = shared.clone();
    scheduler.set("stop", Function::new(ctx.clone(), move || {
        s.borrow_mut().scheduler.stopped = true;
    })?)?;
    jobs.set("scheduler", scheduler)?;
    Ok(jobs)
}
