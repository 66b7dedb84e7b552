//! People who sign in with their own Kubernetes credentials (as kube-rbac-proxy lets
//! them): the API server says who the bearer token belongs to (TokenReview), then whether
//! the cluster's RBAC grants that user each of Remora's roles (SubjectAccessReview on the
//! virtual resource `hubs.remora.dev`, the role as the verb, in the hub's namespace). The
//! cluster's own Roles and bindings decide who may read items or change scripts; the
//! chart ships a ClusterRole per Remora role to bind.

use std::sync::Mutex;

use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::PostParams;
use kube::Api;

use crate::token_review::{authenticate, Answers};

/// The API group and resource the roles are granted on.
pub const GROUP: &str = "remora.dev";
pub const RESOURCE: &str = "hubs";

/// A person the cluster vouched for, and the highest role it grants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub username: String,
    pub role: &'static str,
}

pub struct AccessReviewer {
    tokens: Api<TokenReview>,
    access: Api<SubjectAccessReview>,
    namespace: String,
    /// The roles, highest first: the first one granted is the person's.
    roles: &'static [&'static str],
    answers: Mutex<Answers<Person>>,
}

impl AccessReviewer {
    pub fn new(client: kube::Client, namespace: &str, roles: &'static [&'static str]) -> AccessReviewer {
        AccessReviewer {
            tokens: Api::all(client.clone()),
            access: Api::all(client),
            namespace: namespace.to_string(),
            roles,
            answers: Mutex::new(Answers::new()),
        }
    }

    /// Who presents `token` and their role, or why they have none. Answers are kept as a
    /// TokenReviewer keeps them, and unknown tokens asked about at the same bounded rate.
    pub async fn review(&self, token: &str) -> Result<Person, String> {
        Answers::remembered(&self.answers, token, self.ask(token)).await
    }

    async fn ask(&self, token: &str) -> Result<Person, String> {
        // No audience: a person's token is for the API server itself (kubectl's, an OIDC
        // ID token, `kubectl create token`).
        let user = authenticate(&self.tokens, token, None).await?;
        let username = user.username.clone().unwrap_or_default();
        for role in self.roles {
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: user.username.clone(),
                    uid: user.uid.clone(),
                    groups: user.groups.clone(),
                    extra: user.extra.clone(),
                    resource_attributes: Some(ResourceAttributes {
                        group: Some(GROUP.into()),
                        resource: Some(RESOURCE.into()),
                        verb: Some(role.to_string()),
                        namespace: Some(self.namespace.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answered = self.access.create(&PostParams::default(), &review).await.map_err(|e| format!("the SubjectAccessReview failed: {e}"))?;
            let status = answered.status.unwrap_or_default();
            if status.allowed {
                return Ok(Person { username, role });
            }
        }
        Err(format!(
            "{username} has no Remora role: bind them a ClusterRole that allows a verb of {} on {RESOURCE}.{GROUP} in namespace {} (the chart's remora-viewer, remora-editor, remora-admin)",
            self.roles.join(", "),
            self.namespace
        ))
    }
}
