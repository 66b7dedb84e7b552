//! `vendor.webhook(method, url, body, headers?)`: one HTTP request; returns the answer's
//! body as text. A status of 400 or more throws (status and an excerpt of the body).

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::{with_network, Args, HELPER_LIMIT};
use crate::helpers::SharedRef;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vendor: &Object<'js>, shared: &SharedRef) -> Result<()> {
    let shared = shared.clone();
    vendor.set(
        "webhook",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "vendor.webhook", args);
            let method = args.string(0, "method")?;
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| args.fail(format!("\"{method}\" is not an HTTP method")))?;
            let url = url(&args, 1)?;
            let body = args.opt_string(2, "body")?.unwrap_or_default();
            let headers = args.string_map(3, "headers")?;
            let secrets: Vec<&str> = headers.iter().filter(|(k, _)| is_secret_header(k)).map(|(_, v)| v.as_str()).collect();
            with_network(&ctx, &shared, "vendor.webhook", HELPER_LIMIT, &secrets, |net| {
                let mut request = net.net.client().request(method, url).body(body);
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                net.send(request).map(|reply| reply.text())
            })
        })?,
    )
}

/// An `http`/`https` URL from argument `index`.
pub(crate) fn url(args: &Args<'_>, index: usize) -> Result<reqwest::Url> {
    let text = args.string(index, "url")?;
    let url = reqwest::Url::parse(&text).map_err(|e| args.fail(format!("argument {} (url) is not a URL: {e}", index + 1)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(args.fail(format!("argument {} (url) must be http or https, not {}", index + 1, url.scheme())));
    }
    Ok(url)
}

pub(crate) fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name.contains("token") || name.contains("key") || name.contains("secret")
}
