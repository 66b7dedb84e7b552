//! `vendor.slack(webhookUrl, pretext, text, color)`: one attachment to an incoming
//! webhook. `vendor.slackBot(token, channel, pretext, text, color, fields?, files?)`:
//! `chat.postMessage` with the fields (and a Timestamp field always), then each file
//! through Slack's external upload (`files.getUploadURLExternal`, the bytes to the URL it
//! gives, `files.completeUploadExternal`) into the message's thread. The Web API answers
//! 200 with `{"ok": false, "error": ...}` on failure: that throws too.
//! `SLACK_API_URL` (env or the process's) replaces `https://slack.com/api`.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};
use serde_json::{json, Value as Json};

use super::webhook::url;
use super::{readable, setting, with_network, Args, Session, HELPER_LIMIT};
use crate::helpers::SharedRef;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vendor: &Object<'js>, shared: &SharedRef) -> Result<()> {
    let s = shared.clone();
    vendor.set(
        "slack",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
            let args = Args::new(&ctx, "vendor.slack", args);
            let webhook = url(&args, 0)?;
            let attachment = attachment(&args, 1, Vec::new())?;
            let secret = webhook.path().to_string();
            with_network(&ctx, &s, "vendor.slack", HELPER_LIMIT, &[&secret], |net| {
                net.send(net.net.client().post(webhook).json(&json!({ "attachments": [attachment] }))).map(|_| ())
            })
        })?,
    )?;

    let s = shared.clone();
    vendor.set(
        "slackBot",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
            let args = Args::new(&ctx, "vendor.slackBot", args);
            let token = args.string(0, "token")?;
            let channel = args.string(1, "channelID")?;
            let mut fields = args.string_map(5, "fields")?;
            let now = s.borrow().now_ns();
            fields.push(("Timestamp".into(), timestamp(now)));
            let attachment = attachment(&args, 2, fields)?;
            let mut files = Vec::new();
            for (name, path) in args.string_map(6, "files")? {
                let file = readable(&s, &path).map_err(|e| args.fail(format!("file \"{name}\": {e}")))?;
                let bytes = file.bytes().map_err(|e| args.fail(format!("file \"{name}\": {e}")))?;
                files.push((name, bytes));
            }
            let api = setting(&s, "SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api".into());
            let api = api.trim_end_matches('/').to_string();
            with_network(&ctx, &s, "vendor.slackBot", HELPER_LIMIT, &[&token], |net| {
                let bot = Bot { net, api: &api, token: &token };
                let posted = bot.call("chat.postMessage", &json!({ "channel": channel, "attachments": [attachment] }))?;
                let thread = posted.get("ts").and_then(Json::as_str).unwrap_or_default().to_string();
                for (name, bytes) in files {
                    bot.upload(&channel, &thread, &name, bytes)?;
                }
                Ok(())
            })
        })?,
    )
}

/// `{pretext, text, color, fields}` from arguments `first`.. (pretext, text, color).
fn attachment(args: &Args<'_>, first: usize, fields: Vec<(String, String)>) -> Result<Json> {
    let pretext = args.opt_string(first, "pretext")?.unwrap_or_default();
    let text = args.opt_string(first + 1, "text")?.unwrap_or_default();
    let color = args.opt_string(first + 2, "color")?.unwrap_or_default();
    let mut attachment = json!({ "pretext": pretext, "text": text, "color": color });
    if !fields.is_empty() {
        attachment["fields"] = fields.into_iter().map(|(title, value)| json!({ "title": title, "value": value, "short": true })).collect();
    }
    Ok(attachment)
}

/// RFC 3339 UTC, to the second.
fn timestamp(ns: i64) -> String {
    chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

struct Bot<'a> {
    net: &'a Session<'a>,
    api: &'a str,
    token: &'a str,
}

impl Bot<'_> {
    /// A Web API method with a JSON body; `ok: false` is an error naming Slack's reason.
    fn call(&self, method: &str, body: &Json) -> std::result::Result<Json, String> {
        let request = self.net.net.client().post(format!("{}/{method}", self.api)).bearer_auth(self.token).json(body);
        self.answer(method, request)
    }

    fn answer(&self, method: &str, request: reqwest::RequestBuilder) -> std::result::Result<Json, String> {
        let reply = self.net.send(request)?;
        let answer: Json = serde_json::from_slice(&reply.body).map_err(|e| format!("{method}: the answer is not JSON ({e})"))?;
        if answer.get("ok") != Some(&Json::Bool(true)) {
            let error = answer.get("error").and_then(Json::as_str).unwrap_or("no reason given");
            return Err(format!("{method} refused: {error}"));
        }
        Ok(answer)
    }

    fn upload(&self, channel: &str, thread: &str, name: &str, bytes: Vec<u8>) -> std::result::Result<(), String> {
        let length = bytes.len().to_string();
        let form = [("filename", name), ("length", length.as_str())];
        let request = self.net.net.client().post(format!("{}/files.getUploadURLExternal", self.api)).bearer_auth(self.token).form(&form);
        let target = self.answer("files.getUploadURLExternal", request)?;
        let (Some(upload_url), Some(file_id)) = (target.get("upload_url").and_then(Json::as_str), target.get("file_id").and_then(Json::as_str)) else {
            return Err("files.getUploadURLExternal: the answer has no upload_url or file_id".into());
        };
        self.net.send(self.net.net.client().post(upload_url).body(bytes)).map_err(|e| format!("uploading {name}: {e}"))?;
        let mut complete = json!({ "files": [{ "id": file_id, "title": name }], "channel_id": channel });
        if !thread.is_empty() {
            complete["thread_ts"] = json!(thread);
        }
        self.call("files.completeUploadExternal", &complete).map(|_| ())
    }
}
