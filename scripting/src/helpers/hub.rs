//! `hub.action(action, object)`: hands an object to the hub's `onHubAction`. Offline
//! (replay) the local scripts' `onHubAction` receives it, after the current call returns.

use rquickjs::{Ctx, Function, Object, Persistent, Result, Value};

use super::{fail, SharedRef};

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let hub = Object::new(ctx.clone())?;
    let shared = shared.clone();
    hub.set(
        "action",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, action: Value<'js>, object: Value<'js>| -> Result<()> {
            let Some(action) = action.as_string().and_then(|s| s.to_string().ok()) else {
                return Err(fail(&ctx, "hub.action", "the first argument (action) must be a string"));
            };
            shared.borrow_mut().hub_actions.push_back((action, Persistent::save(&ctx, object)));
            Ok(())
        })?,
    )?;
    Ok(hub)
}
