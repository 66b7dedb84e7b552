//! `hub.action(action, object)`: hands an object to the hub's `onHubAction`. In a
//! sidecar it goes to the hub as JSON; offline (replay) and in the hub itself the local
//! scripts' `onHubAction` receives it, after the current call returns.
//!
//! `hub.targeted()`: the pods the hub sees as JSON text, `{"targets": [...],
//! "excluded": [...]}` (pods running the sidecar; pods of opted-in namespaces running
//! without it), each a pod summary (metadata, spec.nodeName, status). The hub gives the
//! host where to read it (`ScriptHost::set_targeted`); offline and in a sidecar, which
//! do not watch pods, both lists are empty.

use rquickjs::{Ctx, Function, Object, Persistent, Result, Value};

use super::{fail, SharedRef};
use crate::cluster::{ClusterRequest, Role};

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let hub = Object::new(ctx.clone())?;
    let s = shared.clone();
    hub.set(
        "action",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, action: Value<'js>, object: Value<'js>| -> Result<()> {
            let Some(action) = action.as_string().and_then(|s| s.to_string().ok()) else {
                return Err(fail(&ctx, "hub.action", "the first argument (action) must be a string"));
            };
            let mut shared = s.borrow_mut();
            if shared.cluster.role == Role::Sidecar {
                let object = ctx.json_stringify(object)?.and_then(|s| s.to_string().ok()).unwrap_or_else(|| "null".into());
                if !shared.cluster.request(ClusterRequest::HubAction { action, object }) {
                    return Err(fail(&ctx, "hub.action", "too many actions wait for the hub; this one was dropped"));
                }
            } else {
                shared.hub_actions.push_back((action, Persistent::save(&ctx, object)));
            }
            Ok(())
        })?,
    )?;
    let s = shared.clone();
    hub.set(
        "targeted",
        Function::new(ctx.clone(), move || -> String {
            match &s.borrow().targeted {
                Some(targeted) => targeted(),
                None => NONE_TARGETED.to_string(),
            }
        })?,
    )?;
    Ok(hub)
}

/// `hub.targeted()` where no pods are watched.
pub const NONE_TARGETED: &str = r#"{"targets":[],"excluded":[]}"#;
