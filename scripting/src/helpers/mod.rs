//! The helpers of the public scripting API, one module per namespace. Each takes the
//! host's shared state, borrows it only for as long as it needs, and turns every error
//! into a JavaScript exception that names the helper and the bad argument.

mod chatgpt;
mod console;
mod file;
mod hub;
mod jobs;
pub(crate) mod kfl;
mod pcap;
mod prometheus;
mod test;
mod timers;
mod utils;
mod vendor;
mod wrapper;

use std::cell::RefCell;
use std::rc::Rc;

use rquickjs::{Ctx, Exception, Object, Result};

use crate::host::Shared;

pub(crate) use pcap::merge as merge_pcaps;
pub use hub::NONE_TARGETED;

pub(crate) type SharedRef = Rc<RefCell<Shared>>;

pub(crate) fn install(ctx: &Ctx<'_>, shared: &SharedRef) -> Result<()> {
    let globals = ctx.globals();
    globals.set("console", console::object(ctx, shared)?)?;
    globals.set("test", test::object(ctx)?)?;
    globals.set("env", env_object(ctx, shared)?)?;
    globals.set("file", file::object(ctx, shared)?)?;
    globals.set("pcap", pcap::object(ctx, shared)?)?;
    globals.set("jobs", jobs::object(ctx, shared)?)?;
    globals.set("hub", hub::object(ctx, shared)?)?;
    globals.set("kfl", kfl::object(ctx, shared)?)?;
    globals.set("vendor", vendor::object(ctx, shared)?)?;
    globals.set("chatgpt", chatgpt::object(ctx, shared)?)?;
    globals.set("utils", utils::object(ctx, shared)?)?;
    globals.set("prometheus", prometheus::object(ctx, shared)?)?;
    globals.set("wrapper", wrapper::object(ctx)?)?;
    timers::install(ctx, shared)?;
    Ok(())
}

/// `env`: the `scripting.env` map, as strings.
fn env_object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let env = Object::new(ctx.clone())?;
    for (key, value) in &shared.borrow().env {
        env.set(key.as_str(), value.as_str())?;
    }
    Ok(env)
}

/// An exception whose message names the helper: `file.write: ...`.
pub(crate) fn fail(ctx: &Ctx<'_>, helper: &str, message: impl std::fmt::Display) -> rquickjs::Error {
    Exception::throw_message(ctx, &format!("{helper}: {message}"))
}
