//! The real `remora-injector` binary over real TLS: certificates from remora-certs in a
//! directory laid out the way the kubelet mounts a Secret (`..data` symlink swapped on
//! update), AdmissionReview bodies as the API server sends them, a client that trusts
//! only the generated CA and reaches the Service's DNS name on loopback.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use remora_testkit::process::Logged;
use serde_json::Value;

const SERVICE: &str = "remora-injector";
const NAMESPACE: &str = "remora";
const HOST: &str = "remora-injector.remora.svc";

/// Writes the bundle the way the kubelet's AtomicWriter updates a Secret volume: files in
/// a fresh timestamped directory, `..data` re-pointed by renaming a new symlink over it,
/// and `tls.crt`/`tls.key` as stable symlinks through `..data`.
fn publish_secret(dir: &Path, bundle: &remora_certs::Bundle, generation: u32) {
    let versioned = dir.join(format!("..2026_11_28_10_00_{generation:02}.000000001"));
    std::fs::create_dir_all(&versioned).expect("mkdir");
    std::fs::write(versioned.join("tls.crt"), &bundle.cert).expect("write");
    std::fs::write(versioned.join("tls.key"), &bundle.key).expect("write");
    std::fs::write(versioned.join("ca.crt"), &bundle.ca_cert).expect("write");
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(versioned.file_name().expect("name"), &tmp).expect("symlink");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap ..data");
    for name in ["tls.crt", "tls.key", "ca.crt"] {
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(format!("..data/{name}"), &link).expect("symlink");
        }
    }
}

fn issue(ca: Option<&remora_certs::CaFiles>) -> remora_certs::Bundle {
    remora_certs::issue(
        &remora_certs::Request {
            service: SERVICE.into(),
            namespace: NAMESPACE.into(),
            cert_days: 30,
            ca_days: 365,
        },
        ca,
    )
    .expect("issue certificate")
}

struct Injector {
    process: Logged,
    webhook: SocketAddr,
    admin: SocketAddr,
}

fn start(cert_dir: &Path, namespaces: &Path) -> Injector {
    let mut command = Command::new(env!("CARGO_BIN_EXE_remora-injector"));
    command
        .arg("--cert-dir")
        .arg(cert_dir)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .arg("--namespaces")
        .arg(namespaces)
        .args(["--log", "info", "--drain-seconds", "2"])
        .env("NO_COLOR", "1");
    let process = Logged::spawn(command);
    let address = |line: &str| -> Option<SocketAddr> {
        line.split("address=").nth(1)?.split_whitespace().next()?.parse().ok()
    };
    let (mut webhook, mut admin) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while webhook.is_none() || admin.is_none() {
        let line = process
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the injector did not report its addresses");
        if line.contains("POST /mutate") {
            webhook = address(&line);
        } else if line.contains("/healthz") {
            admin = address(&line);
        }
    }
    Injector {
        process,
        webhook: webhook.expect("webhook"),
        admin: admin.expect("admin"),
    }
}

/// A client like the API server's: trusts only `ca_pem`, reaches the Service name.
fn client(ca_pem: &str, webhook: SocketAddr, pooled: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca")])
        .resolve(HOST, webhook)
        .tls_info(true)
        .timeout(Duration::from_secs(5));
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().expect("client")
}

fn review_body(uid: &str, dry_run: bool) -> Vec<u8> {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/deployment-pod.in.yaml");
    let pod = common::read_docs(&input).remove(0);
    let mut review = common::admission_review(uid, &pod);
    review["request"]["dryRun"] = dry_run.into();
    serde_json::to_vec(&review).expect("json")
}

struct Answer {
    status: u16,
    body: Value,
    peer_cert: Vec<u8>,
}

async fn post(client: &reqwest::Client, port: u16, content_type: &str, body: Vec<u8>) -> Result<Answer, String> {
    let response = client
        .post(format!("https://{HOST}:{port}/mutate?timeout=10s"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let peer_cert = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    Ok(Answer {
        status,
        body,
        peer_cert,
    })
}

fn der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .expect("pem")
        .1
        .contents
}

async fn admin_get(admin: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{admin}{path}")).await.expect("admin port");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

fn namespaces_file(dir: &Path) -> PathBuf {
    let path = dir.join("namespaces.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    remora.dev/inject: enabled\n",
    )
    .expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_over_tls_reloads_its_certificate_without_failing_a_request() {
    let work = tempfile::tempdir().expect("tempdir");
    let cert_dir = work.path().join("certs");
    std::fs::create_dir_all(&cert_dir).expect("mkdir");
    let injector = start(&cert_dir, &namespaces_file(work.path()));

    // No certificate yet: alive but not ready.
    assert_eq!(admin_get(injector.admin, "/healthz").await.0, 200);
    let (status, text) = admin_get(injector.admin, "/readyz").await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("no serving certificate"), "{text}");

    // The Secret appears (as when cert-manager issues it after the pod started).
    let first = issue(None);
    publish_secret(&cert_dir, &first, 1);
    let deadline = Instant::now() + Duration::from_secs(12);
    while admin_get(injector.admin, "/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "not ready 12 s after the certificate appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let port = injector.webhook.port();
    let fresh = client(&first.ca_cert, injector.webhook, false);
    let answer = post(&fresh, port, "application/json", review_body("7d1f3c2e-0001", false))
        .await
        .expect("review");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer.body["kind"], "AdmissionReview");
    assert_eq!(answer.body["response"]["uid"], "7d1f3c2e-0001");
    assert_eq!(answer.body["response"]["allowed"], true);
    assert_eq!(answer.body["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(answer.body["response"]["patch"].as_str().expect("patch"))
        .expect("base64");
    let patch: Value = serde_json::from_slice(&patch).expect("json patch");
    assert!(patch
        .as_array()
        .expect("ops")
        .iter()
        .any(|op| op["path"] == "/metadata/annotations/remora.dev~1status"));
    assert_eq!(answer.peer_cert, der(&first.cert));

    // dryRun: the same answer, nothing else happens (no side effects exist to skip).
    let dry = post(&fresh, port, "application/json", review_body("7d1f3c2e-0002", true))
        .await
        .expect("dry run");
    assert_eq!(dry.body["response"]["patch"], answer.body["response"]["patch"]);

    // A keep-alive connection opened before the rotation.
    let pooled = client(&first.ca_cert, injector.webhook, true);
    let before = post(&pooled, port, "application/json", review_body("keep-1", false))
        .await
        .expect("pooled");
    assert_eq!(before.peer_cert, der(&first.cert));

    // Rotate (cert-manager renews with the same CA) while requests keep coming.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, sent, client) = (stop.clone(), sent.clone(), fresh.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                match post(&client, port, "application/json", review_body(&format!("load-{n}"), false)).await {
                    Ok(a) if a.status == 200 && a.body["response"]["uid"] == format!("load-{n}") => {}
                    Ok(a) => failures.push(format!("load-{n}: {} {}", a.status, a.body)),
                    Err(e) => failures.push(format!("load-{n}: {e}")),
                }
                sent.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            failures
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ca = remora_certs::CaFiles {
        path: "test".into(),
        cert_pem: first.ca_cert.clone(),
        key_pem: first.ca_key.clone(),
        not_after: first.not_after + time::Duration::days(365),
    };
    let second = issue(Some(&ca));
    let rotated_at = Instant::now();
    publish_secret(&cert_dir, &second, 2);
    loop {
        // A new client each time: a new TLS handshake sees what is served now.
        let probe = client(&first.ca_cert, injector.webhook, false);
        let a = post(&probe, port, "application/json", review_body("probe", false))
            .await
            .expect("probe");
        if a.peer_cert == der(&second.cert) {
            break;
        }
        assert!(
            rotated_at.elapsed() < Duration::from_secs(10),
            "the new certificate was not served within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = rotated_at.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let failures = load.await.expect("load task");
    assert!(failures.is_empty(), "requests failed during rotation: {failures:?}");
    assert!(sent.load(Ordering::Relaxed) > 10, "too little load to mean anything");
    eprintln!("new certificate served {took:?} after the swap; {} requests, none failed", sent.load(Ordering::Relaxed));

    // The connection opened before the rotation still works (and still has the old one).
    let after = post(&pooled, port, "application/json", review_body("keep-2", false))
        .await
        .expect("pooled after rotation");
    assert_eq!(after.status, 200);
    assert_eq!(after.peer_cert, der(&first.cert), "keep-alive connection was replaced");

    // Bad requests get well-formed answers and never a denial.
    let wrong_type = post(&fresh, port, "text/plain", review_body("t", false)).await.expect("415");
    assert_eq!(wrong_type.status, 415);
    assert_eq!(wrong_type.body["response"]["allowed"], true);
    let garbage = post(&fresh, port, "application/json", b"{\"kind\":\"AdmissionReview\",".to_vec())
        .await
        .expect("400");
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.body["kind"], "AdmissionReview");
    assert_eq!(garbage.body["response"]["allowed"], true);
    assert!(garbage.body["response"]["status"]["message"]
        .as_str()
        .expect("message")
        .contains("not an AdmissionReview"));
    let huge = vec![b' '; remora_injector::server::MAX_BODY + 1];
    let too_large = post(&fresh, port, "application/json", huge).await.expect("413");
    assert_eq!(too_large.status, 413);

    let (status, metrics) = admin_get(injector.admin, "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "remora_injector_admissions_total{outcome=\"injected\",dry_run=\"false\"}",
        "remora_injector_admissions_total{outcome=\"injected\",dry_run=\"true\"} 1",
        "remora_injector_errors_total{kind=\"content_type\"} 1",
        "remora_injector_errors_total{kind=\"unreadable\"} 1",
        "remora_injector_errors_total{kind=\"too_large\"} 1",
        "remora_injector_certificate_reloads_total{result=\"loaded\"} 2",
        "remora_injector_review_duration_seconds_bucket",
        "remora_injector_certificate_expiry_timestamp_seconds",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }

    // The preStop hook: not ready from its start, reviews still answered meanwhile,
    // and it returns once the drain time is over (then the kubelet sends SIGTERM).
    let admin = injector.admin;
    let hook = tokio::spawn(async move { admin_get(admin, "/prestop").await });
    let mut readyz = admin_get(injector.admin, "/readyz").await;
    for _ in 0..50 {
        if readyz.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        readyz = admin_get(injector.admin, "/readyz").await;
    }
    assert_eq!(readyz.0, 503, "not ready while draining: {}", readyz.1);
    assert!(readyz.1.contains("draining"), "{}", readyz.1);
    let during = post(&fresh, port, "application/json", review_body("drain", false)).await.expect("a review while draining");
    assert_eq!((during.status, &during.body["response"]["allowed"]), (200, &serde_json::json!(true)));
    assert!(during.body["response"]["patch"].is_string(), "still injecting while draining: {}", during.body);
    assert_eq!(hook.await.expect("hook"), (200, "drained\n".to_string()));

    // SIGTERM: drains and exits cleanly.
    let mut injector = injector;
    let pid = injector.process.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = injector.process.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log: Vec<String> = injector.process.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:?}");
    assert!(
        log.iter().any(|l| l.contains("outcome=\"injected\"") || l.contains("outcome=injected")),
        "no review logged: {log:?}"
    );
}
