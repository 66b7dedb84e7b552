//! `test.pass(data)` and `test.fail(data)`: set `data.passed` / `data.failed` to true
//! and return `data`.

use rquickjs::{Ctx, Function, Object, Result, Value};

use super::fail;

fn marker<'js>(ctx: &Ctx<'js>, field: &'static str, helper: &'static str) -> Result<Function<'js>> {
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, data: Value<'js>| -> Result<Value<'js>> {
        let Some(object) = data.as_object() else {
            return Err(fail(&ctx, helper, "the argument must be an object (the item `data`)"));
        };
        object.set(field, true)?;
        Ok(data)
    })
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let test = Object::new(ctx.clone())?;
    test.set("pass", marker(ctx, "passed", "test.pass")?)?;
    test.set("fail", marker(ctx, "failed", "test.fail")?)?;
    Ok(test)
}
