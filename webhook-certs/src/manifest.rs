//! What a cluster needs from a bundle: the serving pair as a `kubernetes.io/tls` Secret
//! and the CA as the webhook configuration's `caBundle`.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;

use crate::{Bundle, CA_CERT, CA_KEY, TLS_CERT, TLS_KEY};

pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";
pub const PART_OF_LABEL: (&str, &str) = ("app.kubernetes.io/part-of", "remora");

/// A `kubernetes.io/tls` Secret (YAML) holding `tls.crt`, `tls.key` and `ca.crt` — the
/// layout cert-manager writes, so the injector's mount is the same either way.
pub fn tls_secret_manifest(name: &str, namespace: &str, bundle: &Bundle) -> String {
    let secret = tls_secret(name, namespace, bundle_data(bundle, false));
    let mut value = serde_json::to_value(&secret).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("apiVersion".into(), "v1".into());
        object.insert("kind".into(), "Secret".into());
    }
    serde_norway::to_string(&value).unwrap_or_default()
}

/// The Secret's keys, PEM; `ca.key` only where the Secret is also where the CA is kept.
pub(crate) fn bundle_data(bundle: &Bundle, with_ca_key: bool) -> BTreeMap<String, ByteString> {
    let pem = |text: &str| ByteString(text.as_bytes().to_vec());
    let mut data = BTreeMap::from([
        (CA_CERT.to_string(), pem(&bundle.ca_cert)),
        (TLS_CERT.to_string(), pem(&bundle.cert)),
        (TLS_KEY.to_string(), pem(&bundle.key)),
    ]);
    if with_ca_key {
        data.insert(CA_KEY.to_string(), pem(&bundle.ca_key));
    }
    data
}

pub(crate) fn tls_secret(
    name: &str,
    namespace: &str,
    data: BTreeMap<String, ByteString>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([(
                PART_OF_LABEL.0.to_string(),
                PART_OF_LABEL.1.to_string(),
            )])),
            ..Default::default()
        },
        type_: Some(TLS_SECRET_TYPE.to_string()),
        data: Some(data),
        ..Default::default()
    }
}

/// The `caBundle` value: the CA's PEM, base64-encoded.
pub fn ca_bundle(ca_pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes())
}

/// An RFC 6902 patch setting `caBundle` on the first `webhooks` entries of a
/// MutatingWebhookConfiguration: `kubectl patch mutatingwebhookconfiguration NAME
/// --type json -p "$(remora certs ca-bundle --dir DIR --json-patch)"`.
pub fn ca_bundle_json_patch(ca_pem: &str, webhooks: usize) -> String {
    let bundle = ca_bundle(ca_pem);
    let ops: Vec<serde_json::Value> = (0..webhooks.max(1))
        .map(|i| {
            serde_json::json!({
                "op": "replace",
                "path": format!("/webhooks/{i}/clientConfig/caBundle"),
                "value": bundle,
            })
        })
        .collect();
    serde_json::Value::Array(ops).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{issue, Request};

    #[test]
    fn secret_manifest_round_trips_the_pem() {
        let bundle = issue(
            &Request {
                service: "hook".into(),
                namespace: "ns".into(),
                cert_days: 30,
                ca_days: 60,
            },
            None,
        )
        .expect("issue");
        let yaml = tls_secret_manifest("hook-tls", "ns", &bundle);
        let secret: Secret = serde_norway::from_str(&yaml).expect("parse");
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        let data = secret.data.expect("data");
        assert_eq!(data["tls.crt"].0, bundle.cert.as_bytes());
        assert_eq!(data["tls.key"].0, bundle.key.as_bytes());
        assert!(!data.contains_key("ca.key"), "the CA key stays in --dir");
        let patch: serde_json::Value =
            serde_json::from_str(&ca_bundle_json_patch(&bundle.ca_cert, 1)).expect("json");
        assert_eq!(patch[0]["path"], "/webhooks/0/clientConfig/caBundle");
    }
}
