//! `utils.*`: `nodeName()` — the node the scripts run for (`"hub"` in the hub, the
//! sidecar's node from the downward API, the host's name offline), so one script can
//! do some work only in the hub or only on workers; `json2Yaml(json)` — YAML text of a
//! JSON document (serde_norway).

use rquickjs::{Ctx, Function, Object, Result, Value};

use super::{fail, SharedRef};

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let utils = Object::new(ctx.clone())?;
    let s = shared.clone();
    utils.set("nodeName", Function::new(ctx.clone(), move || s.borrow().node.name.clone())?)?;
    utils.set("json2Yaml", Function::new(ctx.clone(), json_to_yaml)?)?;
    Ok(utils)
}

/// A JSON string's YAML; an object or array is taken as the JSON it stringifies to.
fn json_to_yaml<'js>(ctx: Ctx<'js>, json: Value<'js>) -> Result<String> {
    const HELPER: &str = "utils.json2Yaml";
    let text = if let Some(s) = json.as_string() {
        s.to_string()?
    } else if json.is_object() && !json.is_function() {
        ctx.json_stringify(json)?.and_then(|s| s.to_string().ok()).unwrap_or_default()
    } else {
        return Err(fail(&ctx, HELPER, "the argument must be a JSON string"));
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(&ctx, HELPER, format!("the argument is not JSON: {e} (it starts {:?})", start_of(&text))))?;
    serde_norway::to_string(&value).map_err(|e| fail(&ctx, HELPER, e))
}

/// The first characters of a bad input, for the message.
fn start_of(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}
