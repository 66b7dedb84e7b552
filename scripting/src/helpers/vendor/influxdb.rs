//! `vendor.influxdb(url, token, organization, bucket, measurement, data, tags?)`: one
//! point in InfluxDB line protocol to the v2 write API (`POST /api/v2/write`, `Token`
//! authorization, nanosecond precision, the clock's time). `data`'s keys are the fields:
//! numbers are floats (as InfluxDB's own clients write JSON numbers), strings and booleans
//! as such, objects and arrays as their JSON text; `null`s are left out. Fields and tags go in key order.

use std::fmt::Write;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};
use serde_json::Value as Json;

use super::webhook::url;
use super::{with_network, Args, HELPER_LIMIT};
use crate::helpers::SharedRef;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vendor: &Object<'js>, shared: &SharedRef) -> Result<()> {
    let shared = shared.clone();
    vendor.set(
        "influxdb",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
            let args = Args::new(&ctx, "vendor.influxdb", args);
            let mut write = url(&args, 0)?;
            let token = args.string(1, "token")?;
            let org = args.string(2, "organization")?;
            let bucket = args.string(3, "bucket")?;
            let measurement = args.string(4, "measurement")?;
            let data = args.json(5, "data")?;
            let tags = args.string_map(6, "tags")?;
            let now = shared.borrow().now_ns();
            let line = line_protocol(&measurement, &tags, &data, now).map_err(|e| args.fail(e))?;
            write.set_path(&format!("{}/api/v2/write", write.path().trim_end_matches('/')));
            write.query_pairs_mut().clear().append_pair("org", &org).append_pair("bucket", &bucket).append_pair("precision", "ns");
            with_network(&ctx, &shared, "vendor.influxdb", HELPER_LIMIT, &[&token], |net| {
                let request = net
                    .net
                    .client()
                    .post(write)
                    .header("Authorization", format!("Token {token}"))
                    .header("Content-Type", "text/plain; charset=utf-8")
                    .body(line);
                net.send(request).map(|_| ())
            })
        })?,
    )
}

/// `measurement,tag=value field=value timestamp`.
pub(crate) fn line_protocol(measurement: &str, tags: &[(String, String)], data: &Json, ns: i64) -> std::result::Result<String, String> {
    let Json::Object(fields) = data else { return Err("argument 6 (data) must be an object of fields".into()) };
    let mut line = escape(measurement, &[',', ' '], "measurement")?;
    let mut tags: Vec<&(String, String)> = tags.iter().filter(|(_, v)| !v.is_empty()).collect();
    tags.sort();
    for (key, value) in tags {
        let _ = write!(line, ",{}={}", escape(key, &[',', '=', ' '], "tag key")?, escape(value, &[',', '=', ' '], "tag value")?);
    }
    let mut separator = ' ';
    for (key, value) in fields {
        let value = match value {
            Json::Null => continue,
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => match n.as_f64() {
                // Rust writes the shortest digits that read back as `f`, never an exponent.
                Some(f) if f.is_finite() => f.to_string(),
                _ => return Err(format!("field \"{key}\" is not a finite number")),
            },
            Json::String(s) => quote(s),
            other => quote(&other.to_string()),
        };
        let _ = write!(line, "{separator}{}={value}", escape(key, &[',', '=', ' '], "field key")?);
        separator = ',';
    }
    if separator == ' ' {
        return Err("argument 6 (data) has no fields; InfluxDB needs at least one".into());
    }
    let _ = write!(line, " {ns}");
    Ok(line)
}

fn escape(text: &str, special: &[char], what: &str) -> std::result::Result<String, String> {
    if text.is_empty() {
        return Err(format!("a {what} is empty"));
    }
    if text.contains('\n') || text.contains('\r') {
        return Err(format!("the {what} {text:?} holds a line break, which line protocol cannot carry"));
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(&c) || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_follow_the_line_protocol() {
        let tags = vec![("pod".to_string(), "web 1".to_string()), ("a=b".to_string(), "x,y".to_string()), ("empty".to_string(), String::new())];
        let data = json!({"count": 5, "ratio": 0.25, "path": "/say \"hi\"\\", "ok": true, "none": null, "nested": {"k": 1}});
        let line = line_protocol("Example Measurement", &tags, &data, 1_700_000_000_000_000_000).expect("line");
        assert_eq!(
            line,
            r#"Example\ Measurement,a\=b=x\,y,pod=web\ 1 count=5,nested="{\"k\":1}",ok=true,path="/say \"hi\"\\",ratio=0.25 1700000000000000000"#
        );
        assert!(line_protocol("m", &[], &json!({}), 0).err().is_some_and(|e| e.contains("no fields")));
        assert!(line_protocol("m", &[], &json!([1]), 0).err().is_some_and(|e| e.contains("must be an object")));
        assert!(line_protocol("m\nx", &[], &json!({"a": 1}), 0).err().is_some_and(|e| e.contains("line break")));
    }
}
