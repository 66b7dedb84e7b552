//! Helpers shared by the end-to-end tests of the `remora` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The real captures the tests use (see tests/data/pcaps/MANIFEST.tsv).
pub fn data_dir() -> PathBuf {
    repo_root().join("tests/data/pcaps")
}

pub fn capture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/pcaps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    files
}

pub fn remora(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_remora")).args(args).output().expect("remora runs")
}

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("schema/item.schema.json")).expect("schema/item.schema.json");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("schema compiles")
    })
}

/// Every item must be valid against schema/item.schema.json.
pub fn assert_valid_item(item: &Value) {
    let errors: Vec<String> = schema().iter_errors(item).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "item violates schema/item.schema.json: {errors:?}\n{item}");
}

/// Parses `--output json` lines, validating each item against the schema.
pub fn parse_items(stdout: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(stdout).expect("UTF-8 output");
    text.lines()
        .map(|line| {
            let item: Value = serde_json::from_str(line).expect("each line is a JSON item");
            assert_valid_item(&item);
            item
        })
        .collect()
}

/// Runs `remora replay --output json` on one capture and returns its (validated) items.
pub fn replay_items(path: &Path) -> Vec<Value> {
    let out = remora(&["replay", "--output", "json", "--quiet", path.to_str().expect("UTF-8 path")]);
    assert!(out.status.success(), "replay {} failed: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    parse_items(&out.stdout)
}
