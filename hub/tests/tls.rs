//! The hub over TLS: the real `remora-hub` with `--tls-dir` (certificates from
//! `remora certs`' library, for the hub Service's names), the real `remora-sidecar`
//! connecting with `wss://` by the Service name (mapped to the hub's namespace address
//! through `/etc/netns/NS/hosts`, which `ip netns exec` applies), and `remora query`
//! over `https://`. A sidecar trusting another CA, or speaking plain `ws://`, gets no
//! session. Needs root, iproute2, curl, python3.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use remora_testkit::process::Logged;
use remora_testkit::{output, Netns, NetnsHosts, CLIENT_V4, SERVER_V4};

#[path = "support/certs.rs"]
mod certs;
use certs::write_certs;

const TOKEN: &str = "tls-token-77c1";
const HUB_NAME: &str = "remora-hub.remora.svc";

fn beside_hub(name: &str) -> PathBuf {
    remora_testkit::process::workspace_binary(env!("CARGO_BIN_EXE_remora-hub"), name)
}

/// A sidecar trusting the CA in `ca`: as a file (`REMORA_HUB_CA_FILE`), or, as the
/// injector hands it over, as PEM text (`REMORA_HUB_CA`).
fn sidecar(net: &Netns, hub: &str, ca: &Path, inline: bool, token: &Path, health: &str) -> Logged {
    let mut command = net.exec(&net.client, &[beside_hub("remora-sidecar").to_str().expect("path"), "--health-listen", health, "--scripts-dir", "/nonexistent"]);
    command
        .envs([("REMORA_HUB", hub), ("REMORA_HUB_TOKEN_FILE", token.to_str().expect("path")), ("REMORA_POD_NAME", "web-1"), ("REMORA_POD_IP", CLIENT_V4)])
        .stdout(Stdio::null());
    if inline {
        command.env("REMORA_HUB_CA", std::fs::read_to_string(ca).expect("CA"));
    } else {
        command.env("REMORA_HUB_CA_FILE", ca);
    }
    Logged::spawn(command)
}

#[test]
fn sidecars_and_clients_reach_the_hub_over_tls_only_with_its_ca() {
    let mut net = Netns::new();
    let _client_hosts = NetnsHosts::new(&net.client, SERVER_V4, HUB_NAME);
    let _server_hosts = NetnsHosts::new(&net.server, SERVER_V4, HUB_NAME);
    let work = tempfile::tempdir().expect("tempdir");
    let tls_dir = work.path().join("tls");
    write_certs(&tls_dir, "remora-hub");
    let other_ca = work.path().join("other");
    write_certs(&other_ca, "remora-hub");
    let token = work.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("write");
    std::fs::write(work.path().join("page"), "hello").expect("write");
    let server = net.server.clone();
    net.spawn(&server, &["python3", "-m", "http.server", "8080", "--bind", "192.0.2.2", "--directory", work.path().to_str().expect("path")]);
    net.wait_for_http(&net.client, "http://192.0.2.2:8080/page");

    let mut hub_command = net.exec(
        &net.server,
        &[
            env!("CARGO_BIN_EXE_remora-hub"), "--listen", "192.0.2.2:8898", "--api-listen", "192.0.2.2:8899", "--token-file", token.to_str().expect("path"),
            "--tls-dir", tls_dir.to_str().expect("path"),
        ],
    );
    hub_command.stdout(Stdio::null());
    let hub = Logged::spawn(hub_command);
    let mut hub_log = Vec::new();
    hub.wait_for("TLS certificate loaded", &mut hub_log);
    hub.wait_for("API (", &mut hub_log);

    // Trusting another CA: the handshake fails and the sidecar says why.
    let wrong = sidecar(&net, &format!("wss://{HUB_NAME}:8898"), &other_ca.join("ca.crt"), false, &token, "127.0.0.1:15091");
    let mut wrong_log = Vec::new();
    // rustls's verdict on a certificate its CA did not sign (the other CA has the same
    // name, so the signature is what fails), not some other error with "certificate".
    wrong.wait_for("IO error: invalid peer certificate: BadSignature; retrying", &mut wrong_log);
    assert!(!wrong_log.iter().any(|l| l.contains("connected to the hub")), "{wrong_log:?}");
    // Plain WebSocket against the TLS port: no session either.
    let plain = sidecar(&net, &format!("ws://{HUB_NAME}:8898"), &tls_dir.join("ca.crt"), false, &token, "127.0.0.1:15092");
    let mut plain_log = Vec::new();
    plain.wait_for("retrying", &mut plain_log);
    assert!(!plain_log.iter().any(|l| l.contains("connected to the hub")), "{plain_log:?}");
    // Both kept trying for a while: the hub holds no session of either.
    std::thread::sleep(Duration::from_secs(2));
    let metrics = output(net.exec(&net.server, &["curl", "-s", "--cacert", tls_dir.join("ca.crt").to_str().expect("path"), &format!("https://{HUB_NAME}:8899/metrics")]));
    assert!(metrics.contains("\nremora_hub_sessions 0\n"), "{metrics}");
    drop(wrong);
    drop(plain);

    let good = sidecar(&net, &format!("wss://{HUB_NAME}:8898"), &tls_dir.join("ca.crt"), true, &token, "127.0.0.1:15090");
    let mut log = Vec::new();
    good.wait_for("connected to the hub", &mut log);
    good.wait_for("capturing on", &mut log);
    let capturing = log.iter().find(|l| l.contains("capturing on")).cloned().unwrap_or_default();
    assert!(capturing.contains("not ((host 192.0.2.2 and tcp port 8898))"), "the hub's session, found by name, is not captured: {capturing}");
    output(net.exec(&net.client, &["curl", "-s", "-o", "/dev/null", "http://192.0.2.2:8080/page"]));

    // `remora query` over https, trusting the hub's CA.
    let remora = beside_hub("remora");
    let query = |ca: &Path| {
        net.exec(
            &net.server,
            &[remora.to_str().expect("path"), "query", "http", "--hub", &format!("https://{HUB_NAME}:8899"), "--token", TOKEN, "--ca-file", ca.to_str().expect("path")],
        )
        .output()
        .expect("remora query")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = query(&tls_dir.join("ca.crt"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.contains("\"/page\"") {
            assert!(stdout.contains("\"worker\":\"web-1\""), "{stdout}");
            break;
        }
        assert!(Instant::now() < deadline, "the item did not reach the hub over wss: {stdout}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let refused = query(&other_ca.join("ca.crt"));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot reach the hub"), "{}", String::from_utf8_lossy(&refused.stderr));
    drop(good);
}
