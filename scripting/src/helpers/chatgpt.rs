//! `chatgpt.sentiment(text)`: VADER sentiment scores `{neg, neu, pos, compound}` (the
//! reference's Score object), computed here with vader-parity (the VADER 3.3.2 rules and
//! lexicons, output equal to Python's vaderSentiment).
//!
//! `chatgpt.prompt(apiKey, prompt, maxTokens = 1024)`: one chat completion
//! (`POST <base>/chat/completions`, the prompt as the user's message); returns the
//! answer's text. `OPENAI_BASE_URL` (env or the process's; default
//! `https://api.openai.com/v1`) points it at any OpenAI-compatible server, `OPENAI_MODEL`
//! picks the model (default `gpt-4o-mini`).

use std::sync::OnceLock;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};
use serde_json::{json, Value as Json};
use vader_parity::SentimentIntensityAnalyzer;

use super::vendor::{setting, with_network, Args, HELPER_LIMIT};
use super::{fail, SharedRef};

/// Longest text scored: VADER is linear, but this runs outside the script's time budget.
const MAX_TEXT: usize = 256 << 10;

fn analyzer() -> &'static SentimentIntensityAnalyzer {
    static ANALYZER: OnceLock<SentimentIntensityAnalyzer> = OnceLock::new();
    ANALYZER.get_or_init(SentimentIntensityAnalyzer::new)
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let chatgpt = Object::new(ctx.clone())?;
    let shared = shared.clone();
    chatgpt.set(
        "prompt",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "chatgpt.prompt", args);
            let key = args.string(0, "apiKey")?;
            let prompt = args.string(1, "prompt")?;
            let max_tokens = match args.opt_number(2, "maxTokens")? {
                Some(n) if n >= 1.0 && n.fract() == 0.0 => n as u64,
                Some(n) => return Err(args.fail(format!("maxTokens must be a whole number of at least 1, not {n}"))),
                None => 1024,
            };
            let base = setting(&shared, "OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
            let model = setting(&shared, "OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into());
            let body = json!({ "model": model, "messages": [{ "role": "user", "content": prompt }], "max_tokens": max_tokens });
            with_network(&ctx, &shared, "chatgpt.prompt", HELPER_LIMIT, &[&key], |net| {
                let request = net.net.client().post(format!("{}/chat/completions", base.trim_end_matches('/'))).bearer_auth(&key).json(&body);
                let reply = net.send(request)?;
                let answer: Json = serde_json::from_slice(&reply.body).map_err(|e| format!("the answer is not JSON ({e})"))?;
                let text = answer.pointer("/choices/0/message/content").and_then(Json::as_str).ok_or("the answer has no choices[0].message.content")?;
                Ok(text.trim().to_string())
            })
        })?,
    )?;
    chatgpt.set(
        "sentiment",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, text: Value<'js>| -> Result<Object<'js>> {
            let helper = "chatgpt.sentiment";
            let Some(text) = text.as_string().and_then(|s| s.to_string().ok()) else {
                return Err(fail(&ctx, helper, "the argument (text) must be a string"));
            };
            if text.len() > MAX_TEXT {
                return Err(fail(&ctx, helper, format!("the text is {} bytes; at most {MAX_TEXT} are scored", text.len())));
            }
            let scores = analyzer().polarity_scores(&text);
            let score = Object::new(ctx.clone())?;
            score.set("neg", scores.neg)?;
            score.set("neu", scores.neu)?;
            score.set("pos", scores.pos)?;
            score.set("compound", scores.compound)?;
            Ok(score)
        })?,
    )?;
    Ok(chatgpt)
}
