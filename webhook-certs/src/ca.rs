//! A CA kept from an earlier run (files or a Secret), checked before it signs anything:
//! reusing it is what keeps the webhook's `caBundle` valid across renewals.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use crate::CertError;

/// A CA certificate and its key, as PEM, with where they came from.
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// Where the CA was read (a file path or `Secret ns/name ca.crt`), for messages.
    pub path: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub not_after: OffsetDateTime,
}

/// Checks that `cert_pem` is a CA certificate and `key_pem` its private key.
pub fn parse_ca(path: &str, cert_pem: &str, key_pem: &str) -> Result<CaFiles, CertError> {
    let bad = |detail: String| CertError::BadCa {
        path: path.to_string(),
        detail,
    };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| bad(e.to_string()))?;
    if !cert.is_ca() {
        return Err(bad("it is not a CA certificate".into()));
    }
    let key = rcgen::KeyPair::from_pem(key_pem)
        .map_err(|e| bad(format!("its key does not parse: {e}")))?;
    // A key from another CA would sign certificates the caBundle cannot verify.
    if !key_matches(&key, &cert) {
        return Err(bad("its key belongs to another certificate".into()));
    }
    Ok(CaFiles {
        path: path.to_string(),
        cert_pem: cert_pem.to_string(),
        key_pem: key_pem.to_string(),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

/// The private key is the one whose public half the certificate carries.
pub(crate) fn key_matches(key: &rcgen::KeyPair, cert: &X509Certificate<'_>) -> bool {
    key.public_key_raw() == cert.public_key().subject_public_key.data.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{issue, Request};

    fn bundle() -> crate::Bundle {
        let req = Request {
            service: "hook".into(),
            namespace: "ns".into(),
            cert_days: 30,
            ca_days: 60,
        };
        issue(&req, None).expect("issue")
    }

    #[test]
    fn a_ca_and_its_key_are_accepted() {
        let b = bundle();
        let ca = parse_ca("here", &b.ca_cert, &b.ca_key).expect("valid");
        assert_eq!(ca.path, "here");
        assert!(ca.not_after > b.not_after);
    }

    #[test]
    fn a_key_from_another_ca_is_refused() {
        let (one, two) = (bundle(), bundle());
        let err = parse_ca("here", &one.ca_cert, &two.ca_key).expect_err("mismatch");
        assert!(err.to_string().contains("another certificate"), "{err}");
    }

    #[test]
    fn a_serving_certificate_is_not_a_ca() {
        let b = bundle();
        let err = parse_ca("here", &b.cert, &b.key).expect_err("not a CA");
        assert!(err.to_string().contains("not a CA"), "{err}");
    }
}
