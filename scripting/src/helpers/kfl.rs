//! `kfl.match(query, data)` and `kfl.validate(query)`. Compiled queries are kept by their
//! text (a bounded cache), so a hook that filters every item compiles once.

use std::collections::HashMap;
use std::rc::Rc;

use remora_kfl::Query;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::{fail, SharedRef};

/// Queries kept compiled; past this the cache starts over.
const CACHE: usize = 256;

#[derive(Default)]
pub(crate) struct QueryCache {
    compiled: HashMap<String, Rc<Query>>,
}

impl QueryCache {
    fn get(&mut self, text: &str) -> std::result::Result<Rc<Query>, remora_kfl::KflError> {
        if let Some(query) = self.compiled.get(text) {
            return Ok(query.clone());
        }
        let query = Rc::new(Query::compile(text)?);
        if self.compiled.len() >= CACHE {
            self.compiled.clear();
        }
        self.compiled.insert(text.to_string(), query.clone());
        Ok(query)
    }
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let kfl = Object::new(ctx.clone())?;
    let s = shared.clone();
    kfl.set(
        "match",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, query: Value<'js>, data: Value<'js>| -> Result<bool> {
            let Some(text) = query.as_string().and_then(|q| q.to_string().ok()) else {
                return Err(fail(&ctx, "kfl.match", "the first argument (query) must be a string"));
            };
            let compiled = s.borrow_mut().kfl.get(&text).map_err(|e| fail(&ctx, "kfl.match", format!("{text:?}: {e}")))?;
            if !data.is_object() {
                return Err(fail(&ctx, "kfl.match", "the second argument must be an object (the item `data`)"));
            }
            let json = ctx.json_stringify(data)?.map(|s| s.to_string()).transpose()?.unwrap_or_default();
            let item: serde_json::Value = serde_json::from_str(&json).map_err(|e| fail(&ctx, "kfl.match", format!("data is not JSON: {e}")))?;
            let now = s.borrow().now_ns() / 1_000_000;
            Ok(compiled.matches_value_at(&item, now))
        })?,
    )?;
    let s = shared.clone();
    kfl.set(
        "validate",
        Function::new(ctx.clone(), move |query: Value<'js>| -> bool {
            query.as_string().and_then(|q| q.to_string().ok()).is_some_and(|text| s.borrow_mut().kfl.get(&text).is_ok())
        })?,
    )?;
    Ok(kfl)
}
