//! The chart's hub Deployment passes only flags `remora-hub` takes.

use remora_testkit::chart::{container_args, render, unknown_flags};

#[test]
fn the_chart_passes_only_flags_the_hub_knows() {
    let rendered = render(&[]).expect("render");
    let args = container_args(&rendered, "Deployment", "remora-hub");
    assert!(args.iter().any(|a| a.starts_with("--token-file=")), "{args:?}");
    let unknown = unknown_flags(env!("CARGO_BIN_EXE_remora-hub"), &[], &args);
    assert!(unknown.is_empty(), "remora-hub does not take {unknown:?}");
}
