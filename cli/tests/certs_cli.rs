//! `remora certs`: files, renewal that keeps the CA, the Secret manifest, the caBundle.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::remora;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = remora(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generate_renew_secret_and_ca_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let out_s = out.to_str().expect("path");
    let (ok, _, stderr) = run(&["certs", "generate", "--service", "hook", "--namespace", "ops", "--out", out_s]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("hook, hook.ops, hook.ops.svc, hook.ops.svc.cluster.local"), "{stderr}");
    assert!(stderr.contains("new CA in"), "{stderr}");
    for (name, mode) in [("ca.crt", 0o644), ("ca.key", 0o600), ("tls.crt", 0o644), ("tls.key", 0o600)] {
        let meta = std::fs::metadata(out.join(name)).expect(name);
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{name}");
    }
    let ca_before = std::fs::read(out.join("ca.crt")).expect("ca");
    let tls_before = std::fs::read(out.join("tls.crt")).expect("tls");

    let (ok, _, stderr) = run(&["certs", "generate", "--service", "hook", "--namespace", "ops", "--out", out_s]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("kept the CA in"), "{stderr}");
    assert_eq!(std::fs::read(out.join("ca.crt")).expect("ca"), ca_before);
    assert_ne!(std::fs::read(out.join("tls.crt")).expect("tls"), tls_before);

    let (ok, yaml, stderr) = run(&["certs", "secret", "--service", "hook", "--namespace", "ops", "--dir", out_s, "--name", "hook-tls"]);
    assert!(ok, "{stderr}");
    let secret: serde_json::Value = serde_norway::from_str(&yaml).expect("yaml");
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["metadata"]["namespace"], "ops");
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(secret["data"][key].is_string(), "{key} missing");
    }

    let (ok, patch, _) = run(&["certs", "ca-bundle", "--dir", out_s, "--json-patch"]);
    assert!(ok);
    let patch: serde_json::Value = serde_json::from_str(&patch).expect("json");
    assert_eq!(patch[0]["op"], "replace");
    let (ok, bundle, _) = run(&["certs", "ca-bundle", "--dir", out_s]);
    assert!(ok);
    assert_eq!(patch[0]["value"], bundle.trim());
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("path");
    let (ok, _, stderr) = run(&["certs", "generate", "--service", "Bad_Name", "--out", out]);
    assert!(!ok);
    assert!(stderr.contains("invalid service \"Bad_Name\"") && stderr.contains("DNS-1123"), "{stderr}");
    let (ok, _, stderr) = run(&["certs", "ca-bundle", "--dir", out]);
    assert!(!ok);
    assert!(stderr.contains("ca.crt") && stderr.contains("remora certs generate"), "{stderr}");
}
