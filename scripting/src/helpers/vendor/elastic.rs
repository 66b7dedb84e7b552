//! `vendor.elastic(url, index, data, username?, password?, cloudID?, apiKey?,
//! serviceToken?, certificateFingerprint?)`: indexes `data` as one document
//! (`POST /<index>/_doc`). Authentication as Elasticsearch's own clients choose it: an API
//! key (`ApiKey`), else a service token (`Bearer`), else username and password (Basic).
//! With a Cloud ID and no URL, the URL is the deployment's Elasticsearch endpoint. With a
//! certificate fingerprint (SHA-256, hex, colons optional) the server is trusted when a
//! certificate of its chain has that fingerprint, as those clients do, instead of by CA.

use std::sync::Arc;

use base64::Engine;
use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::webhook::url;
use super::{with_network, Args, HELPER_LIMIT};
use crate::helpers::SharedRef;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vendor: &Object<'js>, shared: &SharedRef) -> Result<()> {
    let shared = shared.clone();
    vendor.set(
        "elastic",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "vendor.elastic", args);
            let cloud_id = args.opt_string(5, "cloudID")?;
            let base = match (args.opt_string(0, "url")?, &cloud_id) {
                (Some(_), _) => url(&args, 0)?,
                (None, Some(id)) => cloud_url(id).map_err(|e| args.fail(format!("argument 6 (cloudID): {e}")))?,
                (None, None) => return Err(args.fail("give a URL (argument 1) or a Cloud ID (argument 6)")),
            };
            let index = args.string(1, "index")?;
            if index.contains('/') || index.starts_with(['_', '-', '+']) || index.chars().any(|c| c.is_ascii_uppercase()) {
                return Err(args.fail(format!("\"{index}\" is not an index name (lowercase, no '/', not starting with _, - or +)")));
            }
            let data = args.json(2, "data")?;
            let user = args.opt_string(3, "username")?;
            let password = args.opt_string(4, "password")?.unwrap_or_default();
            let api_key = args.opt_string(6, "apiKey")?;
            let service_token = args.opt_string(7, "serviceToken")?;
            let fingerprint = match args.opt_string(8, "certificateFingerprint")? {
                Some(text) => Some(parse_fingerprint(&text).map_err(|e| args.fail(format!("argument 9 (certificateFingerprint): {e}")))?),
                None => None,
            };
            let secrets = [password.as_str(), api_key.as_deref().unwrap_or(""), service_token.as_deref().unwrap_or("")];
            let mut target = base.clone();
            target.set_path(&format!("{}/{index}/_doc", base.path().trim_end_matches('/')));
            with_network(&ctx, &shared, "vendor.elastic", HELPER_LIMIT, &secrets, |net| {
                let client = match fingerprint {
                    Some(fingerprint) => pinned_client(fingerprint)?,
                    None => net.net.client().clone(),
                };
                let mut request = client.post(target).json(&data);
                request = match (&api_key, &service_token, &user) {
                    (Some(key), _, _) => request.header("Authorization", format!("ApiKey {key}")),
                    (None, Some(token), _) => request.bearer_auth(token),
                    (None, None, Some(user)) => request.basic_auth(user, Some(&password)),
                    (None, None, None) => request,
                };
                // rustls calls a verifier's own refusal "unexpected error".
                net.send(request).map(|reply| reply.text()).map_err(|e| e.replace(&format!("unexpected error: {NO_MATCH}"), NO_MATCH))
            })
        })?,
    )
}

/// `name:base64("host$es-id$kibana-id")` → `https://es-id.host[:port]`.
fn cloud_url(id: &str) -> std::result::Result<reqwest::Url, String> {
    let encoded = id.rsplit_once(':').map_or(id, |(_, e)| e);
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|e| format!("not base64 after the name: {e}"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| "the decoded Cloud ID is not text".to_string())?;
    let mut parts = decoded.split('$');
    let (Some(host), Some(es)) = (parts.next(), parts.next()) else { return Err("the decoded Cloud ID is not host$id$id".into()) };
    if host.is_empty() || es.is_empty() {
        return Err("the decoded Cloud ID is not host$id$id".into());
    }
    let (host, port) = host.split_once(':').map_or((host, None), |(h, p)| (h, Some(p)));
    let url = match port {
        Some(port) => format!("https://{es}.{host}:{port}"),
        None => format!("https://{es}.{host}"),
    };
    reqwest::Url::parse(&url).map_err(|e| format!("gives {url}, not a URL: {e}"))
}

fn parse_fingerprint(text: &str) -> std::result::Result<[u8; 32], String> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("must be a SHA-256 fingerprint: 64 hex digits, colons allowed".into());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn pinned_client(fingerprint: [u8; 32]) -> std::result::Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Pinned { fingerprint, provider: provider.clone() };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(config).build().map_err(|e| format!("cannot build the pinned HTTP client: {e}"))
}

const NO_MATCH: &str = "no certificate of the server matches the given fingerprint";

/// Trusts a server whose chain holds a certificate with the given SHA-256 fingerprint.
#[derive(Debug)]
struct Pinned {
    fingerprint: [u8; 32],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let matches = |cert: &CertificateDer<'_>| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.as_ref()).as_ref() == self.fingerprint;
        if std::iter::once(end_entity).chain(intermediates).any(matches) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(NO_MATCH.into()))
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_ids_and_fingerprints_parse() {
        // Elastic's documented example: "cluster:" + base64("us-central1.gcp.cloud.es.io$abc$def").
        let id = format!("cluster:{}", base64::engine::general_purpose::STANDARD.encode("us-central1.gcp.cloud.es.io$abc$def"));
        assert_eq!(cloud_url(&id).expect("url").as_str(), "https://abc.us-central1.gcp.cloud.es.io/");
        let with_port = format!("c:{}", base64::engine::general_purpose::STANDARD.encode("example.com:9243$es1$kb1"));
        assert_eq!(cloud_url(&with_port).expect("url").as_str(), "https://es1.example.com:9243/");
        assert!(cloud_url("c:!!!").is_err());
        assert!(cloud_url(&format!("c:{}", base64::engine::general_purpose::STANDARD.encode("nohost"))).is_err());
        let fp = parse_fingerprint(&"AB:".repeat(31).chars().chain("AB".chars()).collect::<String>()).expect("fingerprint");
        assert_eq!(fp, [0xab; 32]);
        assert!(parse_fingerprint("abc").is_err());
    }
}
