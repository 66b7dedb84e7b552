//! Whether the Secret found in the cluster can stay as it is, and the Secret to write
//! when it cannot. No API calls here: `install` fetches and writes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::ca::key_matches;
use crate::manifest::{bundle_data, tls_secret};
use crate::{
    parse_ca, Bundle, CaFiles, CertError, CA_CERT, CA_KEY, PART_OF_LABEL, TLS_CERT, TLS_KEY,
};

/// What to do with the Secret.
#[derive(Debug)]
pub(crate) enum Plan {
    Keep {
        not_after: OffsetDateTime,
        ca_cert: String,
    },
    Issue {
        /// Why the serving certificate is not kept.
        why: String,
        /// The CA to sign with, or why there is none to reuse.
        ca: Result<CaFiles, String>,
    },
}

/// The rules a kept serving certificate must meet.
pub(crate) struct Wanted<'a> {
    pub dns_names: &'a [String],
    pub renew_before_days: u32,
    pub now: OffsetDateTime,
}

pub(crate) fn plan(secret: Option<&Secret>, source: &str, wanted: &Wanted<'_>) -> Plan {
    let Some(secret) = secret else {
        return Plan::Issue {
            why: "it does not exist".into(),
            ca: Err("no Secret yet".into()),
        };
    };
    let empty = BTreeMap::new();
    let data = secret.data.as_ref().unwrap_or(&empty);
    let text = |key: &str| data.get(key).and_then(|v| std::str::from_utf8(&v.0).ok());
    let ca = match (text(CA_CERT), text(CA_KEY)) {
        (Some(cert), Some(key)) => {
            parse_ca(&format!("{source} {CA_CERT}"), cert, key).map_err(|e| match e {
                CertError::BadCa { detail, .. } => format!("its CA is unusable: {detail}"),
                other => other.to_string(),
            })
        }
        _ => Err(format!("it holds no {CA_CERT} and {CA_KEY}")),
    };
    let ca = match ca {
        Ok(ca) => ca,
        Err(why) => {
            return Plan::Issue {
                why: why.clone(),
                ca: Err(why),
            }
        }
    };
    match serving(text(TLS_CERT), text(TLS_KEY), &ca, wanted) {
        Ok(not_after) => Plan::Keep {
            not_after,
            ca_cert: ca.cert_pem,
        },
        Err(why) => Plan::Issue { why, ca: Ok(ca) },
    }
}

/// The serving certificate's expiry when it can be kept, else why not.
fn serving(
    cert_pem: Option<&str>,
    key_pem: Option<&str>,
    ca: &CaFiles,
    wanted: &Wanted<'_>,
) -> Result<OffsetDateTime, String> {
    let cert_pem = cert_pem.ok_or(format!("it holds no {TLS_CERT}"))?;
    let key_pem = key_pem.ok_or(format!("it holds no {TLS_KEY}"))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| format!("{TLS_CERT} is not PEM: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("{TLS_CERT} does not parse: {e}"))?;

    let not_after = cert.validity().not_after.to_datetime();
    let window = Duration::days(i64::from(wanted.renew_before_days));
    if not_after <= wanted.now {
        return Err(format!("{TLS_CERT} expired {}", not_after.date()));
    }
    if not_after - wanted.now <= window {
        return Err(format!(
            "{TLS_CERT} expires {}, within the {}-day renewal window",
            not_after.date(),
            wanted.renew_before_days
        ));
    }

    let named = dns_names(&cert);
    let missing: Vec<&str> = wanted
        .dns_names
        .iter()
        .filter(|n| !named.contains(&n.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!("{TLS_CERT} does not name {}", missing.join(", ")));
    }

    // Signed by another CA, the certificate would fail against the caBundle set below.
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes())
        .map_err(|e| format!("{CA_CERT} is not PEM: {e}"))?;
    let ca_cert = ca_pem
        .parse_x509()
        .map_err(|e| format!("{CA_CERT} does not parse: {e}"))?;
    if cert.verify_signature(Some(ca_cert.public_key())).is_err() {
        return Err(format!("{TLS_CERT} was not signed by {CA_CERT}"));
    }

    let key =
        rcgen::KeyPair::from_pem(key_pem).map_err(|e| format!("{TLS_KEY} does not parse: {e}"))?;
    if !key_matches(&key, &cert) {
        return Err(format!("{TLS_KEY} does not match {TLS_CERT}"));
    }
    Ok(not_after)
}

fn dns_names<'a>(cert: &'a X509Certificate<'_>) -> Vec<&'a str> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(*dns),
            _ => None,
        })
        .collect()
}

/// A new Secret; unlike `remora certs secret`, it keeps `ca.key`, since the cluster is
/// where the next run finds the CA to renew with.
pub(crate) fn created(name: &str, namespace: &str, bundle: &Bundle) -> Secret {
    tls_secret(name, namespace, bundle_data(bundle, true))
}

/// `existing` with the bundle's four keys. Sent with its resourceVersion, so a write
/// racing another one fails with 409 instead of silently losing one of them; other keys,
/// labels and annotations someone added are kept.
pub(crate) fn renewed(existing: &Secret, bundle: &Bundle) -> Secret {
    let mut secret = existing.clone();
    // Left out, the API server keeps its own field ownership record.
    secret.metadata.managed_fields = None;
    secret
        .metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(PART_OF_LABEL.0.to_string(), PART_OF_LABEL.1.to_string());
    let data: &mut BTreeMap<String, ByteString> = secret.data.get_or_insert_with(BTreeMap::new);
    data.extend(bundle_data(bundle, true));
    secret
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dns_names as names_for, issue, Request};

    fn request(days: u32) -> Request {
        Request {
            service: "hook".into(),
            namespace: "ns".into(),
            cert_days: days,
            ca_days: 3650,
        }
    }

    fn secret_of(bundle: &Bundle) -> Secret {
        created("hook-tls", "ns", bundle)
    }

    fn plan_for(secret: &Secret, service: &str) -> Plan {
        let names = names_for(service, "ns");
        let wanted = Wanted {
            dns_names: &names,
            renew_before_days: 30,
            now: OffsetDateTime::now_utc(),
        };
        plan(Some(secret), "Secret ns/hook-tls", &wanted)
    }

    fn why(plan: Plan) -> (String, bool) {
        match plan {
            Plan::Issue { why, ca } => (why, ca.is_ok()),
            Plan::Keep { .. } => panic!("kept"),
        }
    }

    #[test]
    fn a_valid_secret_is_kept() {
        let bundle = issue(&request(365), None).expect("issue");
        match plan_for(&secret_of(&bundle), "hook") {
            Plan::Keep { not_after, ca_cert } => {
                assert_eq!(ca_cert, bundle.ca_cert);
                assert_eq!(not_after.date(), bundle.not_after.date());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expiring_misnamed_or_mismatched_certificates_are_renewed_with_the_same_ca() {
        let bundle = issue(&request(10), None).expect("issue");
        let (why_, has_ca) = why(plan_for(&secret_of(&bundle), "hook"));
        assert!(why_.contains("within the 30-day renewal window"), "{why_}");
        assert!(has_ca);

        let bundle = issue(&request(365), None).expect("issue");
        let (why_, has_ca) = why(plan_for(&secret_of(&bundle), "other"));
        assert!(why_.contains("does not name other, other.ns"), "{why_}");
        assert!(has_ca);

        let other = issue(&request(365), None).expect("issue");
        let mut secret = secret_of(&bundle);
        let data = secret.data.as_mut().expect("data");
        data.insert(TLS_CERT.into(), ByteString(other.cert.clone().into_bytes()));
        let (why_, _) = why(plan_for(&secret, "hook"));
        assert_eq!(why_, "tls.crt was not signed by ca.crt");

        let mut secret = secret_of(&bundle);
        let data = secret.data.as_mut().expect("data");
        data.insert(TLS_KEY.into(), ByteString(other.key.clone().into_bytes()));
        let (why_, _) = why(plan_for(&secret, "hook"));
        assert_eq!(why_, "tls.key does not match tls.crt");
    }

    #[test]
    fn without_a_usable_ca_a_new_one_is_needed() {
        let bundle = issue(&request(365), None).expect("issue");
        let mut secret = secret_of(&bundle);
        secret.data.as_mut().expect("data").remove(CA_KEY);
        let (why_, has_ca) = why(plan_for(&secret, "hook"));
        assert_eq!(why_, "it holds no ca.crt and ca.key");
        assert!(!has_ca);

        let mut secret = secret_of(&bundle);
        let data = secret.data.as_mut().expect("data");
        data.insert(CA_CERT.into(), ByteString(b"garbage".to_vec()));
        let (why_, has_ca) = why(plan_for(&secret, "hook"));
        assert!(why_.starts_with("its CA is unusable"), "{why_}");
        assert!(!has_ca);
    }

    #[test]
    fn renewal_keeps_what_others_added_and_drops_managed_fields() {
        let bundle = issue(&request(365), None).expect("issue");
        let mut existing = secret_of(&bundle);
        existing.metadata.resource_version = Some("7".into());
        existing.metadata.managed_fields = Some(Vec::new());
        existing.metadata.labels = Some(BTreeMap::from([("team".into(), "net".into())]));
        existing
            .data
            .as_mut()
            .expect("data")
            .insert("extra".into(), ByteString(b"x".to_vec()));
        let next = issue(&request(365), None).expect("issue");
        let renewed = renewed(&existing, &next);
        assert_eq!(renewed.metadata.resource_version.as_deref(), Some("7"));
        assert!(renewed.metadata.managed_fields.is_none());
        let labels = renewed.metadata.labels.expect("labels");
        assert_eq!(labels["team"], "net");
        assert_eq!(labels[PART_OF_LABEL.0], PART_OF_LABEL.1);
        let data = renewed.data.expect("data");
        assert_eq!(data["extra"].0, b"x");
        assert_eq!(data[TLS_CERT].0, next.cert.as_bytes());
        assert_eq!(data[CA_KEY].0, next.ca_key.as_bytes());
    }
}
