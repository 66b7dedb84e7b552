//! `vendor.gcs.put(bucket, path, saKeyObj)`: uploads a file to
//! `<NODE_NAME>_<NODE_IP>_<RUN_ID>/<file name>` and returns its URL;
//! `vendor.gcs.clear(bucket, saKeyObj)`: deletes every object of this node (all runs),
//! returns how many. `saKeyObj` is a service account's JSON key: the helper signs a JWT
//! with its private key (RS256), trades it at the key's `token_uri` for an access token
//! (kept until a minute before it expires) and calls the JSON API with it.
//! `STORAGE_EMULATOR_HOST` (env or the process's), as Google's own clients read it,
//! replaces `https://storage.googleapis.com`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};
use serde_json::Value as Json;

use super::{readable, setting, with_network, Args, Session, HELPER_LIMIT};
use crate::helpers::SharedRef;

const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
const GOOGLE: &str = "https://storage.googleapis.com";

/// Access tokens by service account, with when they stop being used.
type Tokens = Rc<RefCell<HashMap<String, (String, Instant)>>>;

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let gcs = Object::new(ctx.clone())?;
    let tokens: Tokens = Rc::default();

    let (s, t) = (shared.clone(), tokens.clone());
    gcs.set(
        "put",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "vendor.gcs.put", args);
            let bucket = args.string(0, "bucket")?;
            let file = readable(&s, &args.string(1, "path")?).map_err(|e| args.fail(e))?;
            let account = account(&args, 2)?;
            let name = file.name();
            let key = format!("{}/{name}", s.borrow().node.run_folder());
            let base = base(&s);
            let secret = account.private_key.clone();
            with_network(&ctx, &s, "vendor.gcs.put", HELPER_LIMIT, &[&secret], |net| {
                let token = token(net, &t, &account)?;
                let bytes = file.bytes()?;
                let mut upload = url(&base, &["upload", "storage", "v1", "b", &bucket, "o"])?;
                upload.query_pairs_mut().append_pair("uploadType", "media").append_pair("name", &key);
                let request = net.net.client().post(upload).bearer_auth(&token).header("Content-Type", "application/octet-stream").body(bytes);
                net.send(request).map_err(|e| format!("upload to {bucket}/{key}: {e}"))?;
                let mut location = url(&base, &[&bucket])?;
                if let Ok(mut segments) = location.path_segments_mut() {
                    segments.extend(key.split('/'));
                }
                Ok(location.to_string())
            })
        })?,
    )?;

    let (s, t) = (shared.clone(), tokens);
    gcs.set(
        "clear",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<u32> {
            let args = Args::new(&ctx, "vendor.gcs.clear", args);
            let bucket = args.string(0, "bucket")?;
            let account = account(&args, 1)?;
            let prefix = format!("{}_", s.borrow().node.node_prefix());
            let base = base(&s);
            let secret = account.private_key.clone();
            with_network(&ctx, &s, "vendor.gcs.clear", HELPER_LIMIT, &[&secret], |net| {
                let token = token(net, &t, &account)?;
                let mut deleted = 0;
                let mut page: Option<String> = None;
                loop {
                    let mut list = url(&base, &["storage", "v1", "b", &bucket, "o"])?;
                    list.query_pairs_mut().append_pair("prefix", &prefix).append_pair("fields", "items(name),nextPageToken");
                    if let Some(page) = &page {
                        list.query_pairs_mut().append_pair("pageToken", page);
                    }
                    let reply = net.send(net.net.client().get(list).bearer_auth(&token)).map_err(|e| format!("listing {bucket}/{prefix}: {e}"))?;
                    let answer: Json = serde_json::from_slice(&reply.body).map_err(|e| format!("listing {bucket}: the answer is not JSON ({e})"))?;
                    let names = answer.get("items").and_then(Json::as_array).into_iter().flatten().filter_map(|i| i.get("name").and_then(Json::as_str));
                    for name in names {
                        let object = url(&base, &["storage", "v1", "b", &bucket, "o", name])?;
                        net.send(net.net.client().delete(object).bearer_auth(&token)).map_err(|e| format!("deleting {bucket}/{name}: {e}"))?;
                        deleted += 1;
                    }
                    page = answer.get("nextPageToken").and_then(Json::as_str).map(str::to_string);
                    if page.is_none() {
                        return Ok(deleted);
                    }
                }
            })
        })?,
    )?;
    Ok(gcs)
}

/// What the helper uses of a service account key.
struct Account {
    email: String,
    key_id: String,
    private_key: String,
    token_uri: String,
}

fn account(args: &Args<'_>, index: usize) -> Result<Account> {
    let key = match args.json(index, "saKeyObj")? {
        // A script may pass the key's JSON text rather than the parsed object.
        Json::String(text) => serde_json::from_str(&text).map_err(|e| args.fail(format!("argument {} (saKeyObj) is not a key's JSON: {e}", index + 1)))?,
        other => other,
    };
    let field = |name: &str| key.get(name).and_then(Json::as_str).filter(|v| !v.is_empty()).map(str::to_string);
    let (Some(email), Some(private_key)) = (field("client_email"), field("private_key")) else {
        return Err(args.fail(format!("argument {} (saKeyObj) must be a service account key with client_email and private_key", index + 1)));
    };
    Ok(Account { email, key_id: field("private_key_id").unwrap_or_default(), private_key, token_uri: field("token_uri").unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()) })
}

fn base(shared: &SharedRef) -> String {
    match setting(shared, "STORAGE_EMULATOR_HOST") {
        Some(host) if host.contains("://") => host,
        Some(host) => format!("http://{host}"),
        None => GOOGLE.into(),
    }
}

/// `base` with `segments` appended, each percent-encoded.
fn url(base: &str, segments: &[&str]) -> std::result::Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| format!("{base} is not a URL: {e}"))?;
    url.path_segments_mut().map_err(|_| format!("{base} cannot take a path"))?.pop_if_empty().extend(segments);
    Ok(url)
}

/// An access token for `account`: the kept one, or a fresh one for a signed JWT.
fn token(net: &Session<'_>, tokens: &Tokens, account: &Account) -> std::result::Result<String, String> {
    if let Some((token, until)) = tokens.borrow().get(&account.email) {
        if Instant::now() < *until {
            return Ok(token.clone());
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let claims = serde_json::json!({ "iss": account.email, "scope": SCOPE, "aud": account.token_uri, "iat": now, "exp": now + 3600 });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = (!account.key_id.is_empty()).then(|| account.key_id.clone());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|e| format!("the key's private_key is not an RSA key in PEM: {e}"))?;
    let assertion = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("cannot sign the token request: {e}"))?;
    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
    let reply = net.send(net.net.client().post(&account.token_uri).form(&form)).map_err(|e| format!("token for {}: {e}", account.email))?;
    let answer: Json = serde_json::from_slice(&reply.body).map_err(|e| format!("token for {}: the answer is not JSON ({e})", account.email))?;
    let token = answer.get("access_token").and_then(Json::as_str).ok_or_else(|| format!("token for {}: the answer has no access_token", account.email))?.to_string();
    let lifetime = answer.get("expires_in").and_then(Json::as_u64).unwrap_or(3600);
    let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60));
    tokens.borrow_mut().insert(account.email.clone(), (token.clone(), until));
    Ok(token)
}
