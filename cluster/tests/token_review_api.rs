//! TokenReview on replayed answers: a pod's projected token names its pod; an expired
//! one is refused with the API server's reason; answers are kept, so a second look does
//! not ask again.

use axum::http::StatusCode;
use remora_cluster::token_review::{ReviewedPod, TokenReviewer};
use remora_testkit::api_server as api;

const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

#[tokio::test]
async fn a_pod_token_names_its_pod_and_an_expired_one_is_refused() {
    let server = api::ApiServer::start().await;
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-pod.json"));
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));
    let reviewer = TokenReviewer::new(server.client(), "remora-hub");
    let pod = ReviewedPod { namespace: "shop".into(), pod: "web-7c9f8b6d4-x2lkq".into(), service_account: "default".into() };
    assert_eq!(reviewer.review("token-of-web").await, Ok(pod.clone()));
    assert_eq!(reviewer.review("token-of-web").await, Ok(pod), "kept");
    let refused = reviewer.review("expired").await.expect_err("refused");
    assert!(refused.contains("service account token has expired"), "{refused}");
    assert!(reviewer.review("expired").await.is_err());

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2, "one review per token: {bodies:?}");
    let sent: serde_json::Value = serde_json::from_str(&bodies[0].2).expect("json");
    assert_eq!(sent["kind"], "TokenReview");
    assert_eq!(sent["spec"], serde_json::json!({"token": "token-of-web", "audiences": ["remora-hub"]}));
}

#[tokio::test]
async fn a_flood_of_unknown_tokens_is_rate_limited_and_never_evicts_admitted_pods() {
    use remora_cluster::token_review::REVIEW_BURST;
    let server = api::ApiServer::start().await;
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-pod.json"));
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));
    let reviewer = TokenReviewer::new(server.client(), "remora-hub");
    assert!(reviewer.review("token-of-web").await.is_ok());
    // 5,000 distinct bad tokens at once: the burst is asked, the rest refused unasked.
    let mut unasked = 0;
    for i in 0..5000 {
        let refused = reviewer.review(&format!("forged-{i}")).await.expect_err("refused");
        unasked += usize::from(refused.contains("not asked, retry"));
    }
    let asked = server.bodies().len() - 1;
    // The budget refills at REVIEWS_PER_SECOND while the loop runs: a few more on a slow machine.
    assert!(asked >= REVIEW_BURST as usize && asked < 1000, "{asked} reviews asked");
    assert_eq!(asked + unasked, 5000);
    // The admitted pod is still known without asking again.
    assert!(reviewer.review("token-of-web").await.is_ok());
    assert_eq!(server.bodies().len(), asked + 1);
}
