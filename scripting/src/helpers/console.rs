//! `console.log(...args)` and `console.error(...args)`: arguments joined by one space,
//! strings as they are, objects and arrays as JSON, anything else as `String(x)`.
//! `console.clear()` puts a clear marker in the console stream (`crate::console`).

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::SharedRef;
use crate::console::Level;

pub(crate) fn text_of<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(s) = value.as_string() {
        return s.to_string().unwrap_or_default();
    }
    if value.is_object() && !value.is_function() {
        if let Ok(Some(json)) = ctx.json_stringify(value.clone()) {
            return json.to_string().unwrap_or_default();
        }
    }
    ctx.globals()
        .get::<_, Function>("String")
        .and_then(|string| string.call::<_, rquickjs::String>((value.clone(),)))
        .and_then(|s| s.to_string())
        .unwrap_or_default()
}

fn printer<'js>(ctx: &Ctx<'js>, shared: &SharedRef, level: Level) -> Result<Function<'js>> {
    let shared = shared.clone();
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        let text: Vec<String> = args.0.iter().map(|v| text_of(&ctx, v)).collect();
        shared.borrow_mut().log(level, text.join(" "));
    })
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let console = Object::new(ctx.clone())?;
    console.set("log", printer(ctx, shared, Level::Log)?)?;
    console.set("error", printer(ctx, shared, Level::Error)?)?;
    let s = shared.clone();
    console.set("clear", Function::new(ctx.clone(), move || s.borrow_mut().log(Level::Clear, String::new()))?)?;
    Ok(console)
}
