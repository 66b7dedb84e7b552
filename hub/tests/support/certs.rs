//! Serving certificates as cert-manager's Secret mounts hold them, for the hub tests that
//! run a component over TLS (tests/tls.rs, tests/prometheus.rs).

use std::path::Path;

/// A CA and a certificate for Service `service` in namespace `remora` (its names),
/// written into `dir` as `tls.crt`, `tls.key` and `ca.crt`.
pub fn write_certs(dir: &Path, service: &str) -> remora_certs::Bundle {
    let request = remora_certs::Request { service: service.into(), namespace: "remora".into(), cert_days: 2, ca_days: 3 };
    let bundle = remora_certs::issue(&request, None).expect("certificates");
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("tls.crt"), &bundle.cert).expect("write");
    std::fs::write(dir.join("tls.key"), &bundle.key).expect("write");
    std::fs::write(dir.join("ca.crt"), &bundle.ca_cert).expect("write");
    bundle
}
