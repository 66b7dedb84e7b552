//! `setTimeout(fn, ms, ...args)`, `setInterval(fn, ms, ...args)`, `clearTimeout(id)`,
//! `clearInterval(id)`: globals, as published scripts call them inside jobs and hooks.
//! They run on the script's clock (see `timers.rs`).

use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Function, Persistent, Result, Value};

use super::{fail, SharedRef};

fn setter<'js>(ctx: &Ctx<'js>, shared: &SharedRef, helper: &'static str, repeat: bool) -> Result<Function<'js>> {
    let s = shared.clone();
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, callback: Value<'js>, delay: Opt<Value<'js>>, args: Rest<Value<'js>>| -> Result<u32> {
        let Some(callback) = callback.into_function() else {
            return Err(fail(&ctx, helper, "the first argument must be a function (a string of code is not run)"));
        };
        // As browsers: a missing or non-numeric delay is 0.
        let ms = delay.0.and_then(|d| d.as_number()).filter(|n| n.is_finite()).unwrap_or(0.0);
        let delay_ns = (ms.max(0.0) * 1e6).min(i64::MAX as f64) as i64;
        let args = args.0.into_iter().map(|v| Persistent::save(&ctx, v)).collect();
        let mut shared = s.borrow_mut();
        let (script, now) = (shared.current_script.to_string(), shared.now);
        shared.timers.set(Persistent::save(&ctx, callback), args, delay_ns, repeat, script, now).map_err(|e| fail(&ctx, helper, e))
    })
}

fn clearer<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Function<'js>> {
    let s = shared.clone();
    Function::new(ctx.clone(), move |id: Opt<Value<'js>>| {
        if let Some(id) = id.0.and_then(|v| v.as_number()).filter(|n| *n >= 1.0 && *n <= f64::from(u32::MAX)) {
            s.borrow_mut().timers.clear(id as u32);
        }
    })
}

pub(crate) fn install(ctx: &Ctx<'_>, shared: &SharedRef) -> Result<()> {
    let globals = ctx.globals();
    globals.set("setTimeout", setter(ctx, shared, "setTimeout", false)?)?;
    globals.set("setInterval", setter(ctx, shared, "setInterval", true)?)?;
    globals.set("clearTimeout", clearer(ctx, shared)?)?;
    globals.set("clearInterval", clearer(ctx, shared)?)?;
    Ok(())
}
