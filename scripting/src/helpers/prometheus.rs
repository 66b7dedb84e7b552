//! `prometheus.metric(name, description, type, value)` and
//! `prometheus.vector(name, description, type, value, labels)`: type 1 a counter
//! (`value` is added), 2 a gauge (`value` is set); `labels` an object of strings. The
//! metrics live in the process's [`ScriptMetrics`](crate::ScriptMetrics), shown on its
//! /metrics. A bad name, type or value throws; a label set past the per-metric cap is
//! dropped, counted, and said once on the console.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::vendor::Args;
use super::SharedRef;
use crate::console::Level;
use crate::metrics::{Kind, Recorded, MAX_SERIES, MAX_TOTAL_SERIES};

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let prometheus = Object::new(ctx.clone())?;
    for (name, helper, labelled) in [("metric", "prometheus.metric", false), ("vector", "prometheus.vector", true)] {
        let shared = shared.clone();
        prometheus.set(
            name,
            Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
                let args = Args::new(&ctx, helper, args);
                let metric = args.string(0, "name")?;
                let help = args.opt_string(1, "description")?.unwrap_or_default();
                let code = args.opt_number(2, "type")?.ok_or_else(|| args.fail("argument 3 (type) must be 1 (counter) or 2 (gauge)"))?;
                let kind = Kind::from_code(code).ok_or_else(|| args.fail(format!("argument 3 (type) must be 1 (counter) or 2 (gauge), not {code}")))?;
                let value = args.opt_number(3, "value")?.ok_or_else(|| args.fail("argument 4 (value) must be a number"))?;
                let labels = if labelled { args.string_map(4, "labels")? } else { Vec::new() };
                let metrics = shared.borrow().metrics.clone();
                match metrics.record(&metric, &help, kind, value, labels).map_err(|e| args.fail(e))? {
                    Recorded::Done | Recorded::Capped { first: false } => {}
                    Recorded::Capped { first: true } => shared.borrow_mut().log(
                        Level::Error,
                        format!("{helper}: {metric} has {MAX_SERIES} label sets (or the scripts {MAX_TOTAL_SERIES} in all); new ones are dropped and counted in remora_script_metric_series_dropped_total"),
                    ),
                }
                Ok(())
            })?,
        )?;
    }
    Ok(prometheus)
}
