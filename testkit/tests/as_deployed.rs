//! Remora run as a cluster runs it (tests/deployed: the images configured exactly as the
//! rendered chart and the webhook's patch configure them, run by podman and runc). A
//! client container sends HTTP with an Authorization header and a DNS query to the
//! injected pod; the CLI image then finds the items at the hub with the header redacted,
//! exports the streams' PCAPs, and the health and metrics endpoints answer.

mod deployed;

use std::time::Duration;

use deployed::{image, sample, Deployment, APP_POD, DNS_ANSWER, DNS_NAME, PROJECTED_TOKEN};
use remora_testkit::eventually;
use remora_testkit::podman;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_and_an_injected_pod_run_as_deployed() {
    let d = Deployment::start().await;
    assert_eq!(d.admission["uid"], "e2e-1");
    assert_eq!(d.admission["allowed"], true);
    assert!(d.admission["warnings"].is_null(), "no warnings for a plain pod: {}", d.admission);
    let sidecar = d.patched["spec"]["initContainers"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "remora-sidecar")).expect("a native sidecar");
    assert_eq!(sidecar["image"], image("sidecar"));

    // A client sends HTTP with credentials and asks the app's DNS.
    let app_ip = &d.app_ip;
    let script = format!(
        "/bin/busybox wget -q -O - --header 'Authorization: Bearer e2e-secret-token' http://{app_ip}:8080/index.html?api_key=e2e-query-key && \
         /bin/busybox nslookup -type=a {DNS_NAME} {app_ip}"
    );
    let client = podman::run_once(&d.network, &d.network.host(40), &["--entrypoint=/bin/busybox", &image("testpeer"), "sh", "-c", &script]);
    let said = String::from_utf8_lossy(&client.stdout).into_owned();
    assert!(client.status.success() && said.contains("hello from the app") && said.contains(DNS_ANSWER), "client: {said}{}", String::from_utf8_lossy(&client.stderr));

    // The CLI image finds both items at the hub; the credentials never left the pod.
    let exports = d.out_dir("exports");
    let hub_api = d.hub_api.clone();
    let items: Vec<Value> = eventually(Duration::from_secs(30), "the items at the hub", || {
        let out = d.cli(&exports, &["query", "--hub", &hub_api, "--ca-file", "/etc/remora/ca/ca.crt", "--token-file", "/etc/remora/hub/tokens", "http or dns"]);
        let items: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let protocols: Vec<&str> = items.iter().filter_map(|i| i["protocol"]["name"].as_str()).collect();
        (protocols.contains(&"http") && protocols.contains(&"dns")).then_some(items)
    });
    let http = items.iter().find(|i| i["protocol"]["name"] == "http").expect("the HTTP item");
    assert_eq!(http["request"]["path"], "/index.html");
    assert_eq!(http["response"]["status"], 200);
    assert_eq!(http["request"]["headers"]["authorization"], "[REDACTED]", "{http}");
    assert_eq!(http["request"]["queryString"]["api_key"], "[REDACTED]", "secret-named values by default: {http}");
    assert_eq!(http["namespace"], "shop");
    assert_eq!(http["worker"], APP_POD);
    assert_eq!(http["node"]["name"], "node-1");
    assert!(!http.to_string().contains("e2e-secret-token") && !http.to_string().contains("e2e-query-key"), "{http}");
    let dns = items.iter().find(|i| i["protocol"]["name"] == "dns").expect("the DNS item");
    assert_eq!(dns["request"]["questions"][0]["name"], DNS_NAME);
    assert_eq!(dns["response"]["answers"][0]["data"], DNS_ANSWER, "{dns}");

    // The streams' PCAPs, fetched from the sidecar through the hub (its scratch space on
    // the data volume: the root filesystem is read-only and there is no /tmp), asked for
    // the moment the items are there.
    let out = d.cli(&exports, &["pcap", "export", "--hub", &hub_api, "--ca-file", "/etc/remora/ca/ca.crt", "--token-file", "/etc/remora/hub/tokens", "--kfl", "http or dns", "--out", "/out/streams.pcap"]);
    assert!(out.status.success(), "remora pcap export: {}{}\nhub:\n{}\nsidecar:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), d.hub.logs("hub"), d.app.logs("remora-sidecar"));
    let tshark = std::process::Command::new("tshark")
        .args(["-r", exports.join("streams.pcap").to_str().expect("path"), "-T", "fields", "-e", "http.request.uri", "-e", "dns.qry.name"])
        .output()
        .expect("tshark");
    let seen = String::from_utf8_lossy(&tshark.stdout);
    assert!(seen.contains("/index.html") && seen.contains(DNS_NAME), "the export holds both streams: {seen}");

    // Health and metrics answer where the probes and Prometheus look.
    let plain = deployed::http_client(None, None);
    let metrics = deployed::wait_http(&d.hub_client, &format!("{hub_api}/metrics"), "the hub's metrics", &d.hub).await;
    assert!(sample(&metrics, "remora_hub_items_received_total").is_some_and(|n| n >= 2.0), "{metrics}");
    assert_eq!(sample(&metrics, "remora_hub_sessions"), Some(1.0), "{metrics}");
    let sidecar_metrics = deployed::wait_http(&plain, &format!("http://{app_ip}:15090/metrics"), "the sidecar's metrics", &d.app).await;
    assert_eq!(sample(&sidecar_metrics, "remora_sidecar_capturing"), Some(1.0), "{sidecar_metrics}");
    for pod in [&d.hub, &d.injector, &d.app] {
        pod.assert_running();
    }
    // The scripts' heap stays under the container's memory limit (the chart's 256Mi).
    let sidecar_log = d.app.logs("remora-sidecar");
    assert!(sidecar_log.contains("scripts' heap at most 128 MiB (the container may use 256 MiB)"), "{sidecar_log}");
    // The hub reviewed the sidecar's projected token with the API server.
    assert!(d.server.bodies().iter().any(|(call, _, body)| call.contains("tokenreviews") && body.contains(PROJECTED_TOKEN)));
}
