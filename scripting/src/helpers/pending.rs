//! Helpers of the public API that later issues implement. Until then each one exists
//! and throws an error that says so, rather than failing as "not a function" or
//! pretending to work.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::fail;

/// (namespace path, helper, where it lands)
const PENDING: [(&str, &str, &str); 12] = [
    ("vendor", "webhook", "the vendor helpers issue (9)"),
    ("vendor", "slack", "the vendor helpers issue (9)"),
    ("vendor", "slackBot", "the vendor helpers issue (9)"),
    ("vendor", "influxdb", "the vendor helpers issue (9)"),
    ("vendor", "elastic", "the vendor helpers issue (9)"),
    ("vendor.s3", "put", "the vendor helpers issue (9)"),
    ("vendor.s3", "clear", "the vendor helpers issue (9)"),
    ("vendor.gcs", "put", "the vendor helpers issue (9)"),
    ("vendor.gcs", "clear", "the vendor helpers issue (9)"),
    ("vendor.kinesis", "put", "the vendor helpers issue (9)"),
    ("chatgpt", "prompt", "the vendor helpers issue (9)"),
    ("wrapper", "kflPcapS3", "the vendor helpers issue (9)"),
];

/// The helper names that exist but are not implemented yet (`ns.name`).
pub fn names() -> impl Iterator<Item = String> {
    PENDING.iter().map(|(ns, name, _)| format!("{ns}.{name}"))
}

pub(crate) fn install(ctx: &Ctx<'_>) -> Result<()> {
    let globals = ctx.globals();
    for (path, name, lands) in PENDING {
        let mut object: Object = globals.clone();
        for part in path.split('.') {
            object = match object.get::<_, Option<Object>>(part)? {
                Some(existing) => existing,
                None => {
                    let created = Object::new(ctx.clone())?;
                    object.set(part, created.clone())?;
                    created
                }
            };
        }
        if object.contains_key(name)? {
            continue;
        }
        let helper = format!("{path}.{name}");
        let message = format!("not available yet in Remora; it arrives with {lands}");
        object.set(
            name,
            Function::new(ctx.clone(), move |ctx: Ctx<'_>, _args: Rest<Value<'_>>| -> Result<()> { Err(fail(&ctx, &helper, &message)) })?,
        )?;
    }
    Ok(())
}
