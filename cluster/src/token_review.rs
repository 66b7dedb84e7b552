//! Who a sidecar is, from the projected service-account token it presents (audience
//! `remora-hub`, bound to its pod): the hub asks the API server with a TokenReview, and
//! learns the pod's namespace and name from the answer. Answers are kept a minute (a
//! refusal ten seconds), so a reconnecting fleet does not flood the API server, and
//! unknown tokens are reviewed at a bounded rate, so nobody can flood it through the hub.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, UserInfo};
use kube::api::PostParams;
use kube::Api;

/// Who the API server says `token` is; with an `audience`, only a token minted for it.
pub(crate) async fn authenticate(api: &Api<TokenReview>, token: &str, audience: Option<&str>) -> Result<UserInfo, String> {
    let review = TokenReview {
        spec: TokenReviewSpec { token: Some(token.to_string()), audiences: audience.map(|a| vec![a.to_string()]) },
        ..Default::default()
    };
    let answered = api.create(&PostParams::default(), &review).await.map_err(|e| format!("the TokenReview failed: {e}"))?;
    let status = answered.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        return Err(format!("the token is not valid: {}", status.error.unwrap_or_else(|| "not authenticated".into())));
    }
    if let Some(audience) = audience {
        if !status.audiences.iter().flatten().any(|a| a == audience) {
            return Err(format!("the token is not for audience {audience}"));
        }
    }
    Ok(status.user.unwrap_or_default())
}

/// The pod a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedPod {
    pub namespace: String,
    pub pod: String,
    pub service_account: String,
}

const KEEP_ADMITTED: Duration = Duration::from_secs(60);
const KEEP_REFUSED: Duration = Duration::from_secs(10);
/// Admitted tokens kept at most (a cluster's injected pods); refusals kept at most. The two
/// are apart: a flood of bad tokens never pushes out the pods already admitted.
const ADMITTED: usize = 100_000;
const REFUSED: usize = 4096;
/// Reviews asked of the API server per second, on average, and at once: past them an
/// unknown token is refused without asking (anyone can present one on the sidecar port).
pub const REVIEWS_PER_SECOND: f64 = 50.0;
pub const REVIEW_BURST: f64 = 200.0;

/// What the API server said of each token lately (an admission a minute, a refusal ten
/// seconds), and the budget for asking about new ones.
pub(crate) struct Answers<T> {
    admitted: HashMap<String, (T, Instant)>,
    refused: HashMap<String, (String, Instant)>,
    /// Reviews that may be asked now, and when that was counted.
    budget: Option<(f64, Instant)>,
}

impl<T: Clone> Answers<T> {
    pub(crate) fn new() -> Self {
        Answers { admitted: HashMap::new(), refused: HashMap::new(), budget: None }
    }

    /// The answer for `token`: the one kept, or `ask`'s (then kept); past the budget a
    /// refusal without asking.
    pub(crate) async fn remembered(answers: &Mutex<Self>, token: &str, ask: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
        let lock = || answers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = lock().lookup(token, Instant::now()) {
            return answer;
        }
        let answer = ask.await;
        lock().keep(token, &answer, Instant::now());
        answer
    }

    /// The answer kept for `token`, or — when none is and the budget allows — `None`, to
    /// ask; past the budget a refusal that says so.
    fn lookup(&mut self, token: &str, now: Instant) -> Option<Result<T, String>> {
        match (self.admitted.get(token), self.refused.get(token)) {
            (Some((answer, until)), _) if now < *until => return Some(Ok(answer.clone())),
            (_, Some((why, until))) if now < *until => return Some(Err(why.clone())),
            _ => {}
        }
        if self.spend(now) {
            None
        } else {
            Some(Err(format!("more than {REVIEWS_PER_SECOND} unknown tokens a second are being presented; not asked, retry")))
        }
    }

    /// Takes one review from the budget, if there is one.
    fn spend(&mut self, now: Instant) -> bool {
        let (left, since) = self.budget.unwrap_or((REVIEW_BURST, now));
        let left = (left + now.duration_since(since).as_secs_f64() * REVIEWS_PER_SECOND).min(REVIEW_BURST);
        let spent = left >= 1.0;
        self.budget = Some((if spent { left - 1.0 } else { left }, now));
        spent
    }

    fn keep(&mut self, token: &str, answer: &Result<T, String>, now: Instant) {
        match answer {
            Ok(admitted) => {
                if self.admitted.len() >= ADMITTED {
                    self.admitted.retain(|_, (_, until)| now < *until);
                }
                if self.admitted.len() < ADMITTED {
                    self.admitted.insert(token.to_string(), (admitted.clone(), now + KEEP_ADMITTED));
                }
            }
            Err(why) => {
                if self.refused.len() >= REFUSED {
                    self.refused.clear();
                }
                self.refused.insert(token.to_string(), (why.clone(), now + KEEP_REFUSED));
            }
        }
    }
}

pub struct TokenReviewer {
    api: Api<TokenReview>,
    audience: String,
    cache: Mutex<Answers<ReviewedPod>>,
}

impl TokenReviewer {
    pub fn new(client: kube::Client, audience: &str) -> TokenReviewer {
        TokenReviewer { api: Api::all(client), audience: audience.to_string(), cache: Mutex::new(Answers::new()) }
    }

    /// The pod the token belongs to, or why it is refused.
    pub async fn review(&self, token: &str) -> Result<ReviewedPod, String> {
        Answers::remembered(&self.cache, token, self.ask(token)).await
    }

    async fn ask(&self, token: &str) -> Result<ReviewedPod, String> {
        let user = authenticate(&self.api, token, Some(&self.audience)).await?;
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
