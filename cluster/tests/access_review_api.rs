//! People's own Kubernetes tokens on replayed answers: the API server says who the token
//! is (TokenReview, no audience), RBAC which Remora role they have (SubjectAccessReview,
//! highest role first); someone RBAC grants nothing is refused with what to bind.

use axum::http::StatusCode;
use remora_cluster::access_review::{AccessReviewer, Person};
use remora_testkit::api_server as api;

const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const ACCESS: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
const ROLES: &[&str] = &["admin", "editor", "viewer"];

#[tokio::test]
async fn a_person_gets_the_highest_role_rbac_grants_them() {
    let server = api::ApiServer::start().await;
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-person.json"));
    server.answer("POST", ACCESS, StatusCode::CREATED, api::data("subjectaccessreview-admin-denied.json"));
    server.answer("POST", ACCESS, StatusCode::CREATED, api::data("subjectaccessreview-editor-allowed.json"));
    let reviewer = AccessReviewer::new(server.client(), "remora", ROLES);
    let jane = Person { username: "oidc:jane@example.com".into(), role: "editor" };
    assert_eq!(reviewer.review("jane-id-token").await, Ok(jane.clone()));
    assert_eq!(reviewer.review("jane-id-token").await, Ok(jane), "kept");

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3, "one TokenReview, then admin (no), editor (yes): {bodies:?}");
    let review: serde_json::Value = serde_json::from_str(&bodies[0].2).expect("json");
    assert_eq!(review["spec"], serde_json::json!({"token": "jane-id-token"}), "no audience: the token is the API server's");
    for (body, verb) in bodies[1..].iter().zip(["admin", "editor"]) {
        let sent: serde_json::Value = serde_json::from_str(&body.2).expect("json");
        assert_eq!(sent["kind"], "SubjectAccessReview");
        assert_eq!(sent["spec"]["user"], "oidc:jane@example.com");
        assert_eq!(sent["spec"]["groups"], serde_json::json!(["oidc:shop-developers", "system:authenticated"]));
        assert_eq!(sent["spec"]["resourceAttributes"], serde_json::json!({"group": "remora.dev", "resource": "hubs", "verb": verb, "namespace": "remora"}));
    }
}

#[tokio::test]
async fn someone_granted_nothing_is_told_what_to_bind_and_a_bad_token_why() {
    let server = api::ApiServer::start().await;
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-person.json"));
    for verb in ["admin", "editor", "viewer"] {
        let mut denied: serde_json::Value = serde_json::from_str(&api::data("subjectaccessreview-viewer-denied.json")).expect("json");
        denied["spec"]["resourceAttributes"]["verb"] = verb.into();
        server.answer("POST", ACCESS, StatusCode::CREATED, denied.to_string());
    }
    server.answer("POST", REVIEWS, StatusCode::CREATED, api::data("tokenreview-refused.json"));
    let reviewer = AccessReviewer::new(server.client(), "remora", ROLES);
    let refused = reviewer.review("jane-id-token").await.expect_err("no role");
    assert!(refused.contains("oidc:jane@example.com has no Remora role") && refused.contains("remora-viewer"), "{refused}");
    assert_eq!(server.bodies().len(), 4, "every role asked");
    let refused = reviewer.review("expired").await.expect_err("refused");
    assert!(refused.contains("service account token has expired"), "{refused}");
    assert_eq!(server.bodies().len(), 5, "no access review for a token nobody owns");
}
