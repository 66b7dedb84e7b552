//! `chatgpt.sentiment(text)`: VADER sentiment scores `{neg, neu, pos, compound}` (the
//! reference's Score object), computed here with vader-parity (the VADER 3.3.2 rules and
//! lexicons, output equal to Python's vaderSentiment). `chatgpt.prompt` is still pending.

use std::sync::OnceLock;

use rquickjs::{Ctx, Function, Object, Result, Value};
use vader_parity::SentimentIntensityAnalyzer;

use super::fail;

/// Longest text scored: VADER is linear, but this runs outside the script's time budget.
const MAX_TEXT: usize = 256 << 10;

fn analyzer() -> &'static SentimentIntensityAnalyzer {
    static ANALYZER: OnceLock<SentimentIntensityAnalyzer> = OnceLock::new();
    ANALYZER.get_or_init(SentimentIntensityAnalyzer::new)
}

pub(crate) fn object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let chatgpt = Object::new(ctx.clone())?;
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
