//! The JSON patch that sets `caBundle` on the webhooks of a MutatingWebhookConfiguration
//! whose value is not the CA's already. No API calls here: `install` fetches and patches.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, ReplaceOperation, TestOperation};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;

use crate::ca_bundle;

pub(crate) struct CaBundlePatch {
    pub patch: Patch,
    /// Webhooks whose caBundle the patch changes.
    pub stale: usize,
    /// Webhooks in the configuration.
    pub webhooks: usize,
}

pub(crate) fn ca_bundle_patch(
    config: &MutatingWebhookConfiguration,
    ca_pem: &str,
) -> CaBundlePatch {
    let value = serde_json::Value::String(ca_bundle(ca_pem));
    let webhooks = config.webhooks.as_deref().unwrap_or_default();
    let mut ops = Vec::new();
    let mut stale = 0;
    for (i, webhook) in webhooks.iter().enumerate() {
        let current = webhook.client_config.ca_bundle.as_ref();
        if current.is_some_and(|b| b.0 == ca_pem.as_bytes()) {
            continue;
        }
        stale += 1;
        let index = i.to_string();
        // Entries are addressed by position: the test makes the patch fail, rather than
        // set the wrong webhook, if the list changed since it was read.
        ops.push(PatchOperation::Test(TestOperation {
            path: PointerBuf::from_tokens(["webhooks", index.as_str(), "name"]),
            value: webhook.name.clone().into(),
        }));
        let path =
            PointerBuf::from_tokens(["webhooks", index.as_str(), "clientConfig", "caBundle"]);
        // The API server leaves an empty caBundle out, and `replace` needs the member there.
        ops.push(match current {
            Some(_) => PatchOperation::Replace(ReplaceOperation {
                path,
                value: value.clone(),
            }),
            None => PatchOperation::Add(AddOperation {
                path,
                value: value.clone(),
            }),
        });
    }
    CaBundlePatch {
        patch: Patch(ops),
        stale,
        webhooks: webhooks.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::admissionregistration::v1::{MutatingWebhook, WebhookClientConfig};
    use k8s_openapi::ByteString;

    fn webhook(name: &str, ca: Option<&str>) -> MutatingWebhook {
        MutatingWebhook {
            name: name.into(),
            client_config: WebhookClientConfig {
                ca_bundle: ca.map(|c| ByteString(c.as_bytes().to_vec())),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_stale_entries_are_patched_each_behind_a_name_test() {
        let config = MutatingWebhookConfiguration {
            webhooks: Some(vec![
                webhook("a", None),
                webhook("b", Some("CA")),
                webhook("c", Some("old")),
            ]),
            ..Default::default()
        };
        let plan = ca_bundle_patch(&config, "CA");
        assert_eq!((plan.stale, plan.webhooks), (2, 3));
        let encoded = ca_bundle("CA");
        assert_eq!(
            serde_json::to_value(&plan.patch).expect("json"),
            serde_json::json!([
                {"op": "test", "path": "/webhooks/0/name", "value": "a"},
                {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": encoded},
                {"op": "test", "path": "/webhooks/2/name", "value": "c"},
                {"op": "replace", "path": "/webhooks/2/clientConfig/caBundle", "value": encoded},
            ])
        );
    }

    #[test]
    fn no_webhooks_no_patch() {
        let plan = ca_bundle_patch(&MutatingWebhookConfiguration::default(), "CA");
        assert_eq!((plan.stale, plan.webhooks), (0, 0));
        assert!(plan.patch.0.is_empty());
    }
}
