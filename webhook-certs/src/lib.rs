//! Certificates for the injector's webhook when cert-manager is not installed.
//!
//! A long-lived CA signs a short-lived serving certificate for the four names the API
//! server may use to reach the webhook's Service. Renewing reuses the CA found in the
//! output directory, so the `caBundle` already in the MutatingWebhookConfiguration
//! stays valid across renewals. [`install`] does the same against the cluster: the
//! Secret the injector mounts and the webhook configuration's `caBundle`.

mod ca;
mod files;
pub mod install;
mod manifest;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

pub use ca::{parse_ca, CaFiles};
pub use files::{read_ca, write_bundle, CA_CERT, CA_KEY, TLS_CERT, TLS_KEY};
pub use manifest::{
    ca_bundle, ca_bundle_json_patch, tls_secret_manifest, PART_OF_LABEL, TLS_SECRET_TYPE,
};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a PEM certificate this tool can read ({detail}); remove the directory's CA files or pass --new-ca")]
    BadCa { path: String, detail: String },
    #[error("the CA in {path} expires {expires}, before the new serving certificate would; pass --new-ca (and update the caBundle)")]
    CaTooOld { path: String, expires: String },
    #[error("invalid {what} {value:?}: {hint}")]
    BadName {
        what: &'static str,
        value: String,
        hint: &'static str,
    },
}

/// What to issue: the webhook's Service and how long each certificate lives.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: String,
    pub namespace: String,
    pub cert_days: u32,
    pub ca_days: u32,
}

/// PEM text of a CA and a serving certificate signed by it.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub ca_cert: String,
    pub ca_key: String,
    pub cert: String,
    pub key: String,
    pub dns_names: Vec<String>,
    pub not_after: OffsetDateTime,
    /// The CA was read from an earlier run rather than created now.
    pub ca_reused: bool,
}

/// The names the API server may use for `service` in `namespace`.
pub fn dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Kubernetes object names are DNS-1123 labels: lower-case alphanumerics and '-'.
pub(crate) fn check_label(what: &'static str, value: &str) -> Result<(), CertError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CertError::BadName {
            what,
            value: value.to_string(),
            hint: "use a DNS-1123 label (lower-case letters, digits, '-', at most 63)",
        })
    }
}

/// Issues a serving certificate, signed by `existing_ca` when given, else by a new CA.
pub fn issue(req: &Request, existing_ca: Option<&CaFiles>) -> Result<Bundle, CertError> {
    check_label("service", &req.service)?;
    check_label("namespace", &req.namespace)?;
    let now = OffsetDateTime::now_utc();
    // Backdate a little: clocks across a cluster are never exactly equal.
    let not_before = now - Duration::minutes(5);
    let not_after = now + Duration::days(i64::from(req.cert_days.max(1)));

    let (ca_cert, ca_key_pem, ca_reused) = match existing_ca {
        Some(ca) => {
            if ca.not_after < not_after {
                return Err(CertError::CaTooOld {
                    path: ca.path.clone(),
                    expires: ca.not_after.to_string(),
                });
            }
            (ca.cert_pem.clone(), ca.key_pem.clone(), true)
        }
        None => {
            let (cert, key) = new_ca(req, not_before, now)?;
            (cert, key, false)
        }
    };
    let ca_key = KeyPair::from_pem(&ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_key)?;

    let names = dns_names(&req.service, &req.namespace);
    let mut params = CertificateParams::new(names.clone())?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, names[2].clone());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    Ok(Bundle {
        ca_cert,
        ca_key: ca_key_pem,
        cert: cert.pem(),
        key: key.serialize_pem(),
        dns_names: names,
        not_after,
        ca_reused,
    })
}

fn new_ca(
    req: &Request,
    not_before: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(String, String), CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("remora-webhook-ca ({}/{})", req.namespace, req.service),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = not_before;
    params.not_after = now + Duration::days(i64::from(req.ca_days.max(req.cert_days).max(1)));
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            service: "remora-injector".into(),
            namespace: "remora".into(),
            cert_days: 365,
            ca_days: 3650,
        }
    }

    #[test]
    fn serving_certificate_names_the_service_four_ways() {
        let bundle = issue(&request(), None).expect("issue");
        let der = x509_parser::pem::parse_x509_pem(bundle.cert.as_bytes())
            .expect("pem")
            .1;
        let cert = der.parse_x509().expect("x509");
        let san = cert
            .subject_alternative_name()
            .expect("san")
            .expect("present");
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "DNSName(remora-injector)",
                "DNSName(remora-injector.remora)",
                "DNSName(remora-injector.remora.svc)",
                "DNSName(remora-injector.remora.svc.cluster.local)"
            ]
        );
        assert!(!cert.is_ca());
        assert!(!bundle.ca_reused);
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        let mut req = request();
        req.service = "Remora_Injector".into();
        let err = issue(&req, None).expect_err("must refuse");
        assert!(err.to_string().contains("DNS-1123"), "{err}");
    }
}
