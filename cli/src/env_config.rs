//! `env` for scripts: the `scripting.env` map of a YAML config file (the reference's
//! `kubeshark.yaml` layout) and `--env KEY=VALUE` flags, the flags winning.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

/// Reads `scripting.env` from a YAML config file (remora_scripting::env_config).
pub fn env_from_config(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    remora_scripting::env_config::env_from_yaml(&text).map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))
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
    fn reads_the_config_file_and_env_flags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kubeshark.yaml");
        std::fs::write(&path, "scripting:\n  env:\n    SLACK_AUTH_TOKEN: \"foo\"\n").expect("write");
        let env = env_from_config(&path).expect("parses");
        assert_eq!(env.get("SLACK_AUTH_TOKEN").map(String::as_str), Some("foo"));
        std::fs::write(&path, "scripting:\n  env: [1, 2]\n").expect("write");
        let refused = env_from_config(&path).expect_err("a list").to_string();
        assert!(refused.contains("kubeshark.yaml: scripting.env must be a map"), "{refused}");
        assert_eq!(parse_env_flag("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_env_flag("=x").is_err());
    }
}
