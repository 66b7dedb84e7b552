//! What a binary reads, from its own argument definitions (`--print-settings`): every
//! flag, the environment variable behind it, and its default. The settings contract
//! test diffs this against what the chart and the webhook's patch give each container,
//! so a setting that one part passes and no binary reads fails a test.

use serde_json::{json, Map, Value};

/// JSON: `{"binary", "commands": {"": {...}, "certs install": {...}}, "env": [...]}`. Each
/// command lists its `flags` (`--name`), `env` (variable names) and `defaults` (flag →
/// default value); `env` at the top lists variables read other than through a flag.
pub fn describe(command: &clap::Command, read_outside_flags: &[&str]) -> String {
    let mut commands = Map::new();
    collect(command, String::new(), &mut commands);
    json!({
        "binary": command.get_name(),
        "commands": commands,
        "env": read_outside_flags,
    })
    .to_string()
}

fn collect(command: &clap::Command, path: String, into: &mut Map<String, Value>) {
    let mut flags = Vec::new();
    let mut env = Vec::new();
    let mut defaults = Map::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let flag = format!("--{long}");
        if let Some(name) = arg.get_env() {
            env.push(name.to_string_lossy().into_owned());
        }
        let values: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        if !values.is_empty() {
            defaults.insert(flag.clone(), Value::String(values.join(",")));
        }
        flags.push(flag);
    }
    into.insert(path.clone(), json!({ "flags": flags, "env": env, "defaults": defaults }));
    for sub in command.get_subcommands() {
        let name = if path.is_empty() { sub.get_name().to_string() } else { format!("{path} {}", sub.get_name()) };
        collect(sub, name, into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_env_and_defaults_of_every_command() {
        let command = clap::Command::new("tool")
            .arg(clap::Arg::new("dir").long("dir").env("TOOL_DIR").default_value("/etc/tool"))
            .arg(clap::Arg::new("file"))
            .subcommand(clap::Command::new("certs").subcommand(clap::Command::new("install").arg(clap::Arg::new("days").long("days"))));
        let out: Value = serde_json::from_str(&describe(&command, &["EXTRA"])).expect("json");
        assert_eq!(out["binary"], "tool");
        assert_eq!(out["env"], json!(["EXTRA"]));
        assert_eq!(out["commands"][""]["flags"], json!(["--dir"]), "positional arguments are not flags");
        assert_eq!(out["commands"][""]["env"], json!(["TOOL_DIR"]));
        assert_eq!(out["commands"][""]["defaults"]["--dir"], "/etc/tool");
        assert_eq!(out["commands"]["certs install"]["flags"], json!(["--days"]));
    }
}
