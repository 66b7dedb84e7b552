//! `remora certs install` against an API server stand-in (tests/api_server) that answers
//! with real response shapes (tests/data/api) and records what it is sent: the Helm
//! pre-install run, the post-install run, renewal, a second run that changes nothing,
//! write races, and the errors a hook's log must explain.

mod api_server;

use api_server::*;
use axum::http::Method;
use remora_certs::install::{
    install, uninstall, CaOrigin, InstallError, Options, Report, SecretAction, WebhookAction,
};
use remora_certs::{issue, Bundle, Request};
use serde_json::{json, Value};
use x509_parser::extensions::GeneralName;

fn request(cert_days: u32) -> Request {
    Request {
        service: SERVICE.into(),
        namespace: NAMESPACE.into(),
        cert_days,
        ca_days: 3650,
    }
}

fn options() -> Options {
    Options {
        request: request(365),
        secret: SECRET.into(),
        webhook: WEBHOOK.into(),
        renew_before_days: 30,
    }
}

fn full_secret(bundle: &Bundle) -> Value {
    secret_fixture(&[
        ("ca.crt", &bundle.ca_cert),
        ("ca.key", &bundle.ca_key),
        ("tls.crt", &bundle.cert),
        ("tls.key", &bundle.key),
    ])
}

/// One run with the default options: what it reports and the requests it made.
async fn run(api: &ApiServer) -> (Report, Vec<Recorded>) {
    let report = install(api.client(), &options()).await.expect("install");
    (report, api.take_requests())
}

/// A stand-in that already holds `secret` and, when given, `webhook`.
async fn cluster_with(secret: Value, webhook: Option<Value>) -> ApiServer {
    let api = ApiServer::start().await;
    api.with(|c| {
        c.secret = Some(secret);
        c.webhook = webhook;
    });
    api
}

/// The webhook configuration fixture with its caBundle set to `ca_pem`.
fn webhook_trusting(ca_pem: &str) -> Value {
    let mut webhook = webhook_fixture();
    webhook["webhooks"][0]["clientConfig"]["caBundle"] = json!(base64_of(ca_pem));
    webhook
}

type Call = (&'static str, &'static str);
const GET_SECRET: Call = ("GET", SECRET_PATH);
const POST_SECRET: Call = ("POST", SECRETS_PATH);
const PUT_SECRET: Call = ("PUT", SECRET_PATH);
const GET_WEBHOOK: Call = ("GET", WEBHOOK_PATH);
const PATCH_WEBHOOK: Call = ("PATCH", WEBHOOK_PATH);

/// A write: its body's type, and the field manager the API server records.
fn assert_write(request: &Recorded, content_type: &str) {
    assert_eq!(request.content_type, content_type);
    let query = &request.query;
    assert!(query.contains("fieldManager=remora-certs"), "{query}");
}

/// A run with the default options that must fail, its message naming each of `parts`.
async fn fails_mentioning(client: kube::Client, parts: &[&str]) -> InstallError {
    let err = install(client, &options())
        .await
        .expect_err("the run fails");
    let text = err.to_string();
    for part in parts {
        assert!(text.contains(part), "{part:?} not in: {text}");
    }
    err
}

fn assert_calls(sent: &[Recorded], expected: &[Call]) {
    let sent: Vec<String> = sent.iter().map(Recorded::line).collect();
    let expected: Vec<String> = expected.iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert_eq!(sent, expected);
}

/// Days the serving certificate in `secret` has left, its DNS names, and whether
/// the Secret's ca.crt signed it.
fn serving_cert(secret: &Value) -> (i64, Vec<String>, bool) {
    let cert_pem = pem_in(secret, "tls.crt");
    let ca_pem = pem_in(secret, "ca.crt");
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).expect("tls.crt PEM");
    let cert = pem.parse_x509().expect("tls.crt");
    let (_, ca) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).expect("ca.crt PEM");
    let ca = ca.parse_x509().expect("ca.crt");
    let days =
        (cert.validity().not_after.to_datetime() - time::OffsetDateTime::now_utc()).whole_days();
    let names = cert
        .subject_alternative_name()
        .expect("san")
        .expect("present")
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect();
    (
        days,
        names,
        cert.verify_signature(Some(ca.public_key())).is_ok(),
    )
}

fn ca_bundle_of(webhook: &Value, i: usize) -> Value {
    webhook["webhooks"][i]["clientConfig"]["caBundle"].clone()
}

#[tokio::test]
async fn helm_install_pre_then_post_then_nothing_more() {
    let api = ApiServer::start().await;

    // pre-install: nothing exists yet.
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, POST_SECRET, GET_WEBHOOK]);
    let post = &sent[1];
    assert_write(post, "application/json");
    let secret = post.json();
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], SECRET);
    assert_eq!(secret["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        secret["metadata"]["labels"],
        json!({"app.kubernetes.io/part-of": "remora"})
    );
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let keys: Vec<&String> = secret["data"].as_object().expect("data").keys().collect();
    assert_eq!(keys, ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    let (days, names, signed) = serving_cert(&secret);
    assert!((364..=365).contains(&days), "{days}");
    assert_eq!(
        names,
        [
            "remora-injector",
            "remora-injector.remora",
            "remora-injector.remora.svc",
            "remora-injector.remora.svc.cluster.local"
        ]
    );
    assert!(signed, "tls.crt is signed by ca.crt");
    assert!(matches!(
        report.secret_action,
        SecretAction::Created {
            ca: CaOrigin::New { .. },
            ..
        }
    ));
    assert_eq!(report.webhook_action, WebhookAction::Absent);
    let text = report.to_string();
    assert!(
        text.starts_with(
            "created Secret remora/remora-injector-tls: tls.crt for remora-injector, "
        ),
        "{text}"
    );
    assert!(
        text.contains("MutatingWebhookConfiguration remora does not exist yet"),
        "{text}"
    );

    // Helm creates the release's objects, then the post-install run.
    api.with(|c| c.webhook = Some(webhook_fixture()));
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, GET_WEBHOOK, PATCH_WEBHOOK]);
    assert!(matches!(report.secret_action, SecretAction::Kept { .. }));
    assert_eq!(
        report.webhook_action,
        WebhookAction::Patched {
            patched: 1,
            webhooks: 1
        }
    );
    let stored = api.with(|c| c.webhook.clone()).expect("webhook");
    let ca_pem = pem_in(&secret, "ca.crt");
    assert_eq!(ca_bundle_of(&stored, 0), json!(base64_of(&ca_pem)));

    // Upgrades with nothing to renew: reads only.
    for _ in 0..2 {
        let (report, sent) = run(&api).await;
        assert_calls(&sent, &[GET_SECRET, GET_WEBHOOK]);
        assert_eq!(
            report.webhook_action,
            WebhookAction::Current { webhooks: 1 }
        );
        assert!(report.to_string().contains("nothing changed"), "{report}");
    }
}

#[tokio::test]
async fn post_install_keeps_a_valid_secret_and_patches_the_empty_ca_bundle() {
    let bundle = issue(&request(365), None).expect("issue");
    let api = cluster_with(full_secret(&bundle), Some(webhook_fixture())).await;
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, GET_WEBHOOK, PATCH_WEBHOOK]);
    let patch = &sent[2];
    assert_write(patch, "application/json-patch+json");
    assert_eq!(
        patch.json(),
        json!([
            {"op": "test", "path": "/webhooks/0/name", "value": "inject.remora.dev"},
            {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": base64_of(&bundle.ca_cert)},
        ])
    );
    let text = report.to_string();
    assert!(
        text.starts_with("kept Secret remora/remora-injector-tls: tls.crt valid until "),
        "{text}"
    );
    assert!(text.contains("set caBundle on 1 of 1 webhook(s)"), "{text}");
    // The Secret is untouched (same resourceVersion as the fixture).
    let stored = api.with(|c| c.secret.clone()).expect("secret");
    assert_eq!(stored["metadata"]["resourceVersion"], "1834");

    let (_, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, GET_WEBHOOK]);
}

#[tokio::test]
async fn renewal_replaces_tls_crt_and_keeps_the_ca() {
    let expiring = issue(&request(10), None).expect("issue");
    let api = cluster_with(
        full_secret(&expiring),
        Some(webhook_trusting(&expiring.ca_cert)),
    )
    .await;
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, PUT_SECRET, GET_WEBHOOK]);
    let put = &sent[1];
    assert_write(put, "application/json");
    let secret = put.json();
    // The object as read, so the write fails rather than overwrite a concurrent one.
    assert_eq!(secret["metadata"]["resourceVersion"], "1834");
    assert_eq!(
        secret["metadata"]["uid"],
        "9b2d6c1e-47a3-4f0e-8c5b-2e7f1a9d3c64"
    );
    assert!(secret["metadata"].get("managedFields").is_none());
    assert_eq!(pem_in(&secret, "ca.crt"), expiring.ca_cert);
    assert_eq!(pem_in(&secret, "ca.key"), expiring.ca_key);
    assert_ne!(pem_in(&secret, "tls.crt"), expiring.cert);
    assert_ne!(pem_in(&secret, "tls.key"), expiring.key);
    let (days, names, signed) = serving_cert(&secret);
    assert!((364..=365).contains(&days), "{days}");
    assert_eq!(names.len(), 4);
    assert!(signed);
    match &report.secret_action {
        SecretAction::Replaced { why, ca, .. } => {
            assert!(why.contains("within the 30-day renewal window"), "{why}");
            assert_eq!(*ca, CaOrigin::Reused);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        report.webhook_action,
        WebhookAction::Current { webhooks: 1 }
    );
    assert!(
        report
            .to_string()
            .contains("kept the CA (the caBundle stays valid)"),
        "{report}"
    );
}

#[tokio::test]
async fn a_secret_without_its_ca_key_gets_a_new_ca_and_the_webhook_follows() {
    // As `remora certs secret` writes it: the CA key stayed on someone's disk.
    let old = issue(&request(365), None).expect("issue");
    let secret = secret_fixture(&[
        ("ca.crt", &old.ca_cert),
        ("tls.crt", &old.cert),
        ("tls.key", &old.key),
    ]);
    let mut webhook = webhook_trusting(&old.ca_cert);
    let mut second = webhook["webhooks"][0].clone();
    second["name"] = json!("inject-again.remora.dev");
    webhook["webhooks"]
        .as_array_mut()
        .expect("webhooks")
        .push(second);
    let api = cluster_with(secret, Some(webhook)).await;
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, PUT_SECRET, GET_WEBHOOK, PATCH_WEBHOOK]);
    let new_ca = pem_in(&sent[1].json(), "ca.crt");
    assert_ne!(new_ca, old.ca_cert);
    assert_eq!(
        sent[3].json(),
        json!([
            {"op": "test", "path": "/webhooks/0/name", "value": "inject.remora.dev"},
            {"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": base64_of(&new_ca)},
            {"op": "test", "path": "/webhooks/1/name", "value": "inject-again.remora.dev"},
            {"op": "replace", "path": "/webhooks/1/clientConfig/caBundle", "value": base64_of(&new_ca)},
        ])
    );
    match &report.secret_action {
        SecretAction::Replaced {
            why, ca, dns_names, ..
        } => {
            assert_eq!(why, "it holds no ca.crt and ca.key");
            assert_eq!(*ca, CaOrigin::New { why: why.clone() });
            assert_eq!(*dns_names, remora_certs::dns_names(SERVICE, NAMESPACE));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        report.webhook_action,
        WebhookAction::Patched {
            patched: 2,
            webhooks: 2
        }
    );
}

#[tokio::test]
async fn a_secret_written_meanwhile_is_read_again_not_overwritten() {
    let api = ApiServer::start().await;
    let theirs = issue(&request(365), None).expect("issue");
    api.with(|c| c.races.push_back(full_secret(&theirs)));
    let (report, sent) = run(&api).await;
    assert_calls(&sent, &[GET_SECRET, POST_SECRET, GET_SECRET, GET_WEBHOOK]);
    assert!(matches!(report.secret_action, SecretAction::Kept { .. }));
    let stored = api.with(|c| c.secret.clone()).expect("secret");
    assert_eq!(pem_in(&stored, "tls.crt"), theirs.cert);

    // Losing twice is reported, not retried forever.
    let api = ApiServer::start().await;
    let expiring = issue(&request(10), None).expect("issue");
    api.with(|c| {
        c.races.push_back(full_secret(&expiring));
        c.races.push_back(full_secret(&expiring));
    });
    let err = fails_mentioning(api.client(), &["another `remora certs install`"]).await;
    assert!(matches!(err, InstallError::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn forbidden_calls_name_the_missing_rbac_rule() {
    let api = ApiServer::start().await;
    api.with(|c| c.forbidden.push((Method::GET, "secrets")));
    fails_mentioning(
        api.client(),
        &[
            "reading Secret remora/remora-injector-tls: forbidden",
            "needs RBAC `get secrets` in namespace remora",
            // The API server's own words, naming the ServiceAccount.
            "User \"system:serviceaccount:remora:remora-certs\" cannot get resource \"secrets\"",
        ],
    )
    .await;
    assert_eq!(api.take_requests().len(), 1, "nothing after a failed read");

    let bundle = issue(&request(365), None).expect("issue");
    let api = cluster_with(full_secret(&bundle), Some(webhook_fixture())).await;
    api.with(|c| {
        c.forbidden
            .push((Method::PATCH, "mutatingwebhookconfigurations"))
    });
    fails_mentioning(
        api.client(),
        &[
            "patching MutatingWebhookConfiguration remora: forbidden",
            "needs RBAC `patch mutatingwebhookconfigurations`",
            "resourceNames [remora], verbs [patch]",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_opaque_secret_that_needs_renewing_is_not_overwritten() {
    let mut secret = secret_fixture(&[]);
    secret["type"] = json!("Opaque");
    let api = cluster_with(secret, None).await;
    fails_mentioning(
        api.client(),
        &[
            "has type Opaque",
            "kubectl delete secret -n remora remora-injector-tls",
        ],
    )
    .await;
    assert_calls(&api.take_requests(), &[GET_SECRET]);
}

#[tokio::test]
async fn no_api_server_and_bad_options_are_explained() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    let config = kube::Config::new(format!("http://{address}").parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    fails_mentioning(
        client.clone(),
        &[
            "reading Secret remora/remora-injector-tls: no answer from the API server",
            "Connection refused",
        ],
    )
    .await;

    let mut bad = options();
    bad.renew_before_days = 365;
    let err = install(client, &bad).await.expect_err("window");
    assert_eq!(
        err.to_string(),
        "--renew-before-days (365) must be less than --days (365), or every run would renew"
    );
}

/// The injector's own renewal: a 365-day certificate with a third of its life left is
/// renewed (keeping the CA, so the webhook's caBundle stays) at the first turn, and kept
/// at the next; nothing waits for a `helm upgrade`.
#[tokio::test]
async fn the_injector_renews_its_certificate_a_third_before_the_end() {
    use remora_certs::install::renew::{keep_renewed, renew_before_days};

    assert_eq!(renew_before_days(365), 121);
    let expiring = issue(&request(120), None).expect("issue");
    let api = cluster_with(full_secret(&expiring), Some(webhook_trusting(&expiring.ca_cert))).await;
    let options = Options { renew_before_days: renew_before_days(365), ..options() };
    let (runs, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let renewing = tokio::spawn(keep_renewed(api.client(), options, std::time::Duration::from_millis(20), move |result| {
        let _ = runs.send(result.as_ref().map(|r| matches!(r.secret_action, SecretAction::Replaced { .. })).map_err(|e| e.to_string()));
    }));
    let first = outcomes.recv().await.expect("a first turn");
    let second = outcomes.recv().await.expect("a second turn");
    renewing.abort();
    assert_eq!((first, second), (Ok(true), Ok(false)), "renewed at the first turn, kept at the next");
    let stored = api.with(|c| c.secret.clone()).expect("the Secret");
    assert_eq!(pem_in(&stored, "ca.crt"), expiring.ca_cert, "the CA is kept");
    let (days, _, signed) = serving_cert(&stored);
    assert!((364..=365).contains(&days) && signed, "{days}");
    let webhook = api.with(|c| c.webhook.clone()).expect("webhook");
    assert_eq!(ca_bundle_of(&webhook, 0), json!(base64_of(&expiring.ca_cert)), "the caBundle did not have to change");
}

/// `helm uninstall`'s post-delete hook: the Secret the hooks made (Helm does not own
/// it) goes, with the CA's key; run again, or with nothing there, it is fine.
#[tokio::test]
async fn uninstall_deletes_the_secret_the_hooks_made() {
    let made = issue(&request(365), None).expect("issue");
    let api = cluster_with(full_secret(&made), Some(webhook_trusting(&made.ca_cert))).await;
    assert!(uninstall(api.client(), NAMESPACE, SECRET).await.expect("deleted"));
    assert!(api.with(|c| c.secret.is_none()), "the Secret is gone");
    assert!(!uninstall(api.client(), NAMESPACE, SECRET).await.expect("nothing to delete"), "gone already is fine");
    let sent: Vec<String> = api.take_requests().iter().map(|r| r.line()).collect();
    assert!(sent.iter().all(|l| l.starts_with("DELETE ")), "{sent:?}");
}
