//! `vendor.webhookForm(method, url, form, headers?)`: an HTML form sent as
//! `vendor.webhook` sends a body. `form` is an object of fields; a field whose value is
//! `{file: path}`, or an absolute path to a file in the data directory or among the
//! per-stream PCAPs (what `file.temp`, `pcap.snapshot` and `pcap.path` return), is a
//! file: the form then goes as `multipart/form-data`, else as
//! `application/x-www-form-urlencoded`. Returns the answer's body as text; a status of
//! 400 or more throws, as `vendor.webhook`.



use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::webhook::{is_secret_header, url};
use super::{readable, with_network, Args, Readable, HELPER_LIMIT};
use crate::helpers::SharedRef;

const HELPER: &str = "vendor.webhookForm";
/// Largest file a form carries.
const MAX_FILE: u64 = 256 << 20;

enum Field {
    Text(String),
    File(Readable),
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vendor: &Object<'js>, shared: &SharedRef) -> Result<()> {
    let shared = shared.clone();
    vendor.set(
        "webhookForm",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let form_value = args.0.get(2).cloned();
            let args = Args::new(&ctx, HELPER, args);
            let method = args.string(0, "method")?;
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| args.fail(format!("\"{method}\" is not an HTTP method")))?;
            let url = url(&args, 1)?;
            let fields = fields(&args, &shared, form_value)?;
            let headers = args.string_map(3, "headers")?;
            let secrets: Vec<&str> = headers.iter().filter(|(k, _)| is_secret_header(k)).map(|(_, v)| v.as_str()).collect();
            let multipart = fields.iter().any(|(_, f)| matches!(f, Field::File(_)));
            let body = if multipart { Body::Multipart(multipart_form(&args, fields)?) } else { Body::Form(text_pairs(fields)) };
            with_network(&ctx, &shared, HELPER, HELPER_LIMIT, &secrets, |net| {
                let mut request = net.net.client().request(method, url);
                request = match body {
                    Body::Form(pairs) => request.form(&pairs),
                    Body::Multipart(form) => request.multipart(form),
                };
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                net.send(request).map(|reply| reply.text())
            })
        })?,
    )
}

enum Body {
    Form(Vec<(String, String)>),
    Multipart(reqwest::multipart::Form),
}

/// The form's fields, in the object's order.
fn fields<'js>(args: &Args<'js>, shared: &SharedRef, form: Option<Value<'js>>) -> Result<Vec<(String, Field)>> {
    let Some(object) = form.as_ref().and_then(Value::as_object) else { return Err(args.fail("argument 3 (form) must be an object of fields")) };
    let mut fields = Vec::new();
    for key in object.keys::<String>() {
        let key = key?;
        let value: Value = object.get(key.as_str())?;
        let field = if let Some(s) = value.as_string() {
            let text = s.to_string()?;
            match file_path(shared, &text) {
                Some(path) => Field::File(path),
                None => Field::Text(text),
            }
        } else if let Some(n) = value.as_number() {
            Field::Text(if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() })
        } else if let Some(b) = value.as_bool() {
            Field::Text(b.to_string())
        } else if let Some(path) = value.as_object().and_then(|o| o.get::<_, Option<String>>("file").ok().flatten()) {
            Field::File(readable(shared, &path).map_err(|e| args.fail(format!("field \"{key}\": {e}")))?)
        } else {
            return Err(args.fail(format!("field \"{key}\" must be a string, a number, a boolean or {{file: path}}")));
        };
        fields.push((key, field));
    }
    Ok(fields)
}

/// An absolute path to a file a helper may send (see `readable`), or nothing: a string
/// that is not such a path is text.
fn file_path(shared: &SharedRef, text: &str) -> Option<Readable> {
    if !text.starts_with('/') || text.contains('\n') {
        return None;
    }
    readable(shared, text).ok().filter(Readable::is_file)
}

fn text_pairs(fields: Vec<(String, Field)>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .filter_map(|(k, f)| match f {
            Field::Text(t) => Some((k, t)),
            Field::File(_) => None,
        })
        .collect()
}

fn multipart_form(args: &Args<'_>, fields: Vec<(String, Field)>) -> Result<reqwest::multipart::Form> {
    let mut form = reqwest::multipart::Form::new();
    for (key, field) in fields {
        form = match field {
            Field::Text(text) => form.text(key, text),
            Field::File(file) => {
                let size = file.size().map_err(|e| args.fail(format!("field \"{key}\": {e}")))?;
                if size > MAX_FILE {
                    return Err(args.fail(format!("field \"{key}\": {} is {size} bytes; a form carries at most {MAX_FILE}", file.path.display())));
                }
                let bytes = file.bytes().map_err(|e| args.fail(format!("field \"{key}\": {e}")))?;
                let name = file.name();
                let mime = if file.path.extension().is_some_and(|x| x == "pcap") { "application/vnd.tcpdump.pcap" } else { "application/octet-stream" };
                let part = reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str(mime).map_err(|e| args.fail(e))?;
                form.part(key, part)
            }
        };
    }
    Ok(form)
}
