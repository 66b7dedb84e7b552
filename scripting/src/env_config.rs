//! `env` for scripts from a YAML config file: its `scripting.env` map (the reference's
//! `kubeshark.yaml` layout); scalar values become strings. Any text is read without
//! panicking (fuzz/fuzz_targets/env_config.rs).

use std::collections::BTreeMap;

/// `scripting.env` of the YAML `text`; no such map is an empty env.
pub fn env_from_yaml(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc: serde_norway::Value = serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let mut env = BTreeMap::new();
    let Some(map) = doc.get("scripting").and_then(|s| s.get("env")) else { return Ok(env) };
    let Some(map) = map.as_mapping() else { return Err("scripting.env must be a map of names to values".into()) };
    for (key, value) in map {
        let Some(key) = key.as_str() else { return Err("scripting.env has a key that is not a string".into()) };
        let value = match value {
            serde_norway::Value::String(s) => s.clone(),
            serde_norway::Value::Number(n) => n.to_string(),
            serde_norway::Value::Bool(b) => b.to_string(),
            serde_norway::Value::Null => String::new(),
            _ => return Err(format!("scripting.env.{key} must be a string, number or boolean")),
        };
        env.insert(key.to_string(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_layout() {
        let env = env_from_yaml("tap:\n  namespaces: [a]\nscripting:\n  env:\n    SLACK_AUTH_TOKEN: \"foo\"\n    KINESIS_MIN_BATCH_SIZE: 10\n").expect("parses");
        assert_eq!(env.get("SLACK_AUTH_TOKEN").map(String::as_str), Some("foo"));
        assert_eq!(env.get("KINESIS_MIN_BATCH_SIZE").map(String::as_str), Some("10"));
        assert!(env_from_yaml("scripting:\n  env: [1, 2]\n").expect_err("a list").contains("must be a map"));
        assert!(env_from_yaml("scripting: {env: {A: [1]}}").expect_err("a list value").contains("scripting.env.A"));
        assert!(env_from_yaml("a: [").expect_err("broken").contains("not valid YAML"));
        assert!(env_from_yaml("").expect("empty").is_empty());
    }
}
