//! `env` for scripts: the `scripting.env` map of a YAML config file (the reference's
//! `kubeshark.yaml` layout) and `--env KEY=VALUE` flags, the flags winning.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};

/// Reads `scripting.env` from a YAML config file; scalar values become strings.
pub fn env_from_config(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    let doc: serde_norway::Value = serde_norway::from_str(&text).with_context(|| format!("--config {}: not valid YAML", path.display()))?;
    let mut env = BTreeMap::new();
    let Some(map) = doc.get("scripting").and_then(|s| s.get("env")) else { return Ok(env) };
    let Some(map) = map.as_mapping() else { bail!("--config {}: scripting.env must be a map of names to values", path.display()) };
    for (key, value) in map {
        let Some(key) = key.as_str() else { bail!("--config {}: scripting.env has a key that is not a string", path.display()) };
        let value = match value {
            serde_norway::Value::String(s) => s.clone(),
            serde_norway::Value::Number(n) => n.to_string(),
            serde_norway::Value::Bool(b) => b.to_string(),
            serde_norway::Value::Null => String::new(),
            _ => bail!("--config {}: scripting.env.{key} must be a string, number or boolean", path.display()),
        };
        env.insert(key.to_string(), value);
    }
    Ok(env)
}

/// Parses `KEY=VALUE`.
pub fn parse_env_flag(flag: &str) -> Result<(String, String), String> {
    match flag.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{flag:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_layout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kubeshark.yaml");
        std::fs::write(&path, "tap:\n  namespaces: [a]\nscripting:\n  env:\n    SLACK_AUTH_TOKEN: \"foo\"\n    KINESIS_MIN_BATCH_SIZE: 10\n").expect("write");
        let env = env_from_config(&path).expect("parses");
        assert_eq!(env.get("SLACK_AUTH_TOKEN").map(String::as_str), Some("foo"));
        assert_eq!(env.get("KINESIS_MIN_BATCH_SIZE").map(String::as_str), Some("10"));
        std::fs::write(&path, "scripting:\n  env: [1, 2]\n").expect("write");
        assert!(env_from_config(&path).expect_err("a list").to_string().contains("must be a map"));
        assert_eq!(parse_env_flag("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_env_flag("=x").is_err());
    }
}
