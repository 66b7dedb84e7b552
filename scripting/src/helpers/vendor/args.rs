//! A helper's arguments as scripts pass them: positional, optional ones possibly
//! `undefined`, `null` or `""` (the reference's Elastic example passes `""` for what it
//! skips). Errors name the helper, the argument's position and name, and what it must be.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Result, Value};

use crate::helpers::fail;

pub(crate) struct Args<'js> {
    ctx: Ctx<'js>,
    helper: &'static str,
    values: Vec<Value<'js>>,
}

impl<'js> Args<'js> {
    pub fn new(ctx: &Ctx<'js>, helper: &'static str, values: Rest<Value<'js>>) -> Self {
        Args { ctx: ctx.clone(), helper, values: values.0 }
    }

    /// How many arguments were given.
    pub fn count(&self) -> usize {
        self.values.len()
    }

    pub fn fail(&self, message: impl std::fmt::Display) -> rquickjs::Error {
        fail(&self.ctx, self.helper, message)
    }

    fn value(&self, index: usize) -> Option<&Value<'js>> {
        self.values.get(index).filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn problem(&self, index: usize, name: &str, what: &str) -> rquickjs::Error {
        self.fail(format!("argument {} ({name}) must be {what}", index + 1))
    }

    /// A string, a number or a boolean, as text; `None` when absent or empty.
    pub fn opt_string(&self, index: usize, name: &str) -> Result<Option<String>> {
        let Some(value) = self.value(index) else { return Ok(None) };
        let text = if let Some(s) = value.as_string() {
            s.to_string()?
        } else if let Some(n) = value.as_number() {
            n.to_string()
        } else if let Some(b) = value.as_bool() {
            b.to_string()
        } else {
            return Err(self.problem(index, name, "a string"));
        };
        Ok((!text.is_empty()).then_some(text))
    }

    pub fn string(&self, index: usize, name: &str) -> Result<String> {
        self.opt_string(index, name)?.ok_or_else(|| self.problem(index, name, "a non-empty string"))
    }

    pub fn opt_number(&self, index: usize, name: &str) -> Result<Option<f64>> {
        match self.value(index) {
            None => Ok(None),
            Some(v) => v.as_number().map(Some).ok_or_else(|| self.problem(index, name, "a number")),
        }
    }

    /// Any value, as JSON (what `JSON.stringify` makes of it).
    pub fn json(&self, index: usize, name: &str) -> Result<serde_json::Value> {
        let Some(value) = self.value(index) else { return Err(self.problem(index, name, "given")) };
        let text = self.ctx.json_stringify(value.clone())?.and_then(|s| s.to_string().ok()).unwrap_or_else(|| "null".into());
        serde_json::from_str(&text).map_err(|e| self.fail(format!("argument {} ({name}) is not JSON: {e}", index + 1)))
    }

    /// An object of string values (headers, tags, fields, files), in the object's order;
    /// empty when absent.
    pub fn string_map(&self, index: usize, name: &str) -> Result<Vec<(String, String)>> {
        let Some(value) = self.value(index) else { return Ok(Vec::new()) };
        let Some(object) = value.as_object() else { return Err(self.problem(index, name, "an object of strings")) };
        let mut pairs = Vec::new();
        for key in object.keys::<String>() {
            let key = key?;
            let value: Value = object.get(key.as_str())?;
            let text = if let Some(s) = value.as_string() {
                s.to_string()?
            } else if value.is_number() || value.is_bool() {
                self.ctx.json_stringify(value)?.and_then(|s| s.to_string().ok()).unwrap_or_default()
            } else {
                return Err(self.fail(format!("argument {} ({name}): the value of \"{key}\" must be a string", index + 1)));
            };
            pairs.push((key, text));
        }
        Ok(pairs)
    }
}
