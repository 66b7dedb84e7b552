//! Who a sidecar is, from the projected service-account token it presents (audience
//! `remora-hub`, bound to its pod): the hub asks the API server with a TokenReview, and
//! learns the pod's namespace and name from the answer. Answers are kept a minute (a
//! refusal ten seconds), so a reconnecting fleet does not flood the API server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::PostParams;
use kube::Api;

/// The pod a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedPod {
    pub namespace: String,
    pub pod: String,
    pub service_account: String,
}

/// The pod a token is bound to, or why it is refused.
type Review = Result<ReviewedPod, String>;

const KEEP_ADMITTED: Duration = Duration::from_secs(60);
const KEEP_REFUSED: Duration = Duration::from_secs(10);
/// Answers kept at most (past it, the cache starts over).
const CACHE: usize = 4096;

pub struct TokenReviewer {
    api: Api<TokenReview>,
    audience: String,
    /// Token → (the answer, until when it holds).
    cache: Mutex<HashMap<String, (Review, Instant)>>,
}

impl TokenReviewer {
    pub fn new(client: kube::Client, audience: &str) -> TokenReviewer {
        TokenReviewer { api: Api::all(client), audience: audience.to_string(), cache: Mutex::new(HashMap::new()) }
    }

    /// The pod the token belongs to, or why it is refused.
    pub async fn review(&self, token: &str) -> Result<ReviewedPod, String> {
        if let Some((answer, until)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(token) {
            if Instant::now() < *until {
                return answer.clone();
            }
        }
        let answer = self.ask(token).await;
        let keep = if answer.is_ok() { KEEP_ADMITTED } else { KEEP_REFUSED };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.insert(token.to_string(), (answer.clone(), Instant::now() + keep));
        answer
    }

    async fn ask(&self, token: &str) -> Result<ReviewedPod, String> {
        let review = TokenReview {
            spec: TokenReviewSpec { token: Some(token.to_string()), audiences: Some(vec![self.audience.clone()]) },
            ..Default::default()
        };
        let answered = self.api.create(&PostParams::default(), &review).await.map_err(|e| format!("the TokenReview failed: {e}"))?;
        let status = answered.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            return Err(format!("the token is not valid: {}", status.error.unwrap_or_else(|| "not authenticated".into())));
        }
        if !status.audiences.iter().flatten().any(|a| *a == self.audience) {
            return Err(format!("the token is not for audience {}", self.audience));
        }
        let user = status.user.unwrap_or_default();
        let username = user.username.unwrap_or_default();
        // system:serviceaccount:NAMESPACE:NAME
        let mut parts = username.splitn(4, ':');
        let (Some("system"), Some("serviceaccount"), Some(namespace), Some(service_account)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{username} is not a service account"));
        };
        let pod = user.extra.as_ref().and_then(|e| e.get("authentication.kubernetes.io/pod-name")).and_then(|v| v.first()).cloned();
        let Some(pod) = pod else {
            return Err(format!("the token of {username} is not bound to a pod (a projected token is)"));
        };
        Ok(ReviewedPod { namespace: namespace.to_string(), pod, service_account: service_account.to_string() })
    }
}
