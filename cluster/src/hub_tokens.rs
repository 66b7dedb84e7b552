//! The hub's API tokens Secret: made once, by the hub at its first start, and never at
//! render time. A chart that generated it (Helm's `randAlphaNum`) would change it on every
//! `helm template`, Argo CD or Flux render: permanent drift, and logins broken by each
//! sync. Later starts find the Secret and keep it; people change it as they like, and the
//! hub reads the change from its mount without a restart.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::PostParams;
use kube::Api;

/// The key the tokens are under (the hub's `--token-file` mount reads it).
pub const KEY: &str = "tokens";
/// Who the API server records as the Secret's creator.
pub const FIELD_MANAGER: &str = "remora-hub";
/// Characters of a generated token: 40 of [A-Za-z0-9], about 238 bits.
const TOKEN_LENGTH: usize = 40;

/// What the hub found or made.
#[derive(Debug, PartialEq, Eq)]
pub struct Ensured {
    /// The Secret's tokens text (one token a line).
    pub tokens: String,
    pub created: bool,
}

/// The tokens of Secret `namespace/name`, made with one random admin token if it does not
/// exist. Two hubs starting at once agree: the second one's create meets a conflict and
/// reads what the first made.
pub async fn ensure(client: kube::Client, namespace: &str, name: &str) -> Result<Ensured, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    loop {
        if let Some(secret) = api.get_opt(name).await? {
            let tokens = secret.data.as_ref().and_then(|d| d.get(KEY)).map(|b| String::from_utf8_lossy(&b.0).into_owned()).unwrap_or_default();
            return Ok(Ensured { tokens, created: false });
        }
        let tokens = format!("{}\n", random_token().map_err(|e| kube::Error::Service(e.into()))?);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/name".to_string(), "remora".to_string()),
                    ("app.kubernetes.io/component".to_string(), "hub".to_string()),
                    ("app.kubernetes.io/managed-by".to_string(), FIELD_MANAGER.to_string()),
                ])),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([(KEY.to_string(), ByteString(tokens.clone().into_bytes()))])),
            ..Default::default()
        };
        let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        match api.create(&params, &secret).await {
            Ok(_) => return Ok(Ensured { tokens, created: true }),
            // Another hub made it between the read and the create: read theirs.
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A token of [`TOKEN_LENGTH`] characters from the operating system's random source.
fn random_token() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut token = String::with_capacity(TOKEN_LENGTH);
    let mut bytes = [0u8; 64];
    while token.len() < TOKEN_LENGTH {
        getrandom::fill(&mut bytes)?;
        // Bytes past the largest multiple of 62 are dropped, so every character is as likely.
        let fair = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        token.extend(bytes.iter().filter(|b| **b < fair).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).take(TOKEN_LENGTH - token.len()));
    }
    Ok(token)
}
