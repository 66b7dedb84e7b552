//! `remora certs`: files, renewal that keeps the CA, the Secret manifest, the caBundle,
//! and `install` against remora-certs' API server stand-in through a kubeconfig.

#[path = "../../webhook-certs/tests/api_server/mod.rs"]
mod api_server;
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

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

/// `remora ARGS` with KUBECONFIG pointing at `kubeconfig` and no in-cluster settings.
async fn remora_with_kubeconfig(kubeconfig: &Path, args: &[&str]) -> Output {
    let kubeconfig = kubeconfig.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // Blocking wait off the runtime's thread, which serves the stand-in meanwhile.
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_remora"))
            .args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .output()
            .expect("remora runs")
    })
    .await
    .expect("join")
}

fn write_kubeconfig(dir: &Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = r#"apiVersion: v1
kind: Config
clusters:
- name: stand-in
  cluster:
    server: SERVER
users:
- name: hook
  user: {}
contexts:
- name: stand-in
  context:
    cluster: stand-in
    user: hook
current-context: stand-in
"#
    .replace("SERVER", server);
    std::fs::write(&path, text).expect("kubeconfig");
    path
}

/// The arguments the chart's hook Job passes.
const HOOK_ARGS: [&str; 8] = [
    "certs",
    "install",
    "--service=remora-injector",
    "--namespace=remora",
    "--secret=remora-injector-tls",
    "--webhook=remora",
    "--days=365",
    "--renew-before-days=30",
];

#[tokio::test]
async fn install_through_a_kubeconfig_and_its_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = api_server::ApiServer::start().await;
    let kubeconfig = write_kubeconfig(dir.path(), &api.url);

    let out = remora_with_kubeconfig(&kubeconfig, &HOOK_ARGS).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("created Secret remora/remora-injector-tls: tls.crt for remora-injector, "), "{stdout}");
    assert!(stdout.contains("MutatingWebhookConfiguration remora does not exist yet"), "{stdout}");
    let methods: Vec<String> = api.take_requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["GET", "POST", "GET"]);

    api.with(|c| c.webhook = Some(api_server::webhook_fixture()));
    let out = remora_with_kubeconfig(&kubeconfig, &HOOK_ARGS).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.starts_with("kept Secret remora/remora-injector-tls"), "{stdout}");
    assert!(stdout.contains("set caBundle on 1 of 1 webhook(s)"), "{stdout}");

    api.with(|c| c.forbidden.push((axum::http::Method::GET, "secrets")));
    let out = remora_with_kubeconfig(&kubeconfig, &HOOK_ARGS).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.starts_with("remora: error: reading Secret remora/remora-injector-tls: forbidden"), "{stderr}");
    assert!(stderr.contains("`get secrets` in namespace remora"), "{stderr}");

    let out = remora_with_kubeconfig(&dir.path().join("missing"), &HOOK_ARGS).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no Kubernetes API server to talk to") && stderr.contains("set KUBECONFIG"), "{stderr}");
}

#[test]
fn the_charts_certificate_jobs_pass_only_flags_remora_certs_install_knows() {
    let values = remora_testkit::chart::repo().join("charts/remora/ci/no-cert-manager-values.yaml");
    let rendered = remora_testkit::chart::render(&[values]).expect("render");
    for job in ["remora-certs-pre", "remora-certs-post"] {
        let args = remora_testkit::chart::container_args(&rendered, "Job", job);
        let unknown = remora_testkit::chart::unknown_flags(env!("CARGO_BIN_EXE_remora"), &["certs", "install"], &args);
        assert!(unknown.is_empty(), "{job}: remora certs install does not take {unknown:?}");
    }
}
