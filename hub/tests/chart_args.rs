//! The chart's hub Deployment passes only flags `remora-hub` takes.

use remora_testkit::chart::{container_args, render, unknown_flags};

#[test]
fn the_chart_passes_only_flags_the_hub_knows() {
    let rendered = render(&[]).expect("render");
    let args = container_args(&rendered, "Deployment", "remora-hub");
    assert!(args.iter().any(|a| a.starts_with("--token-file=")), "{args:?}");
    let unknown = unknown_flags(env!("CARGO_BIN_EXE_remora-hub"), &[], &args);
    assert!(unknown.is_empty(), "remora-hub does not take {unknown:?}");
}

/// People's roles: the chart's ClusterRoles grant exactly the verbs the hub asks about
/// (its roles, on the resource it names), nested as the roles are, and the hub may ask.
#[test]
fn the_chart_grants_people_the_roles_the_hub_asks_about() {
    use remora_cluster::access_review::{GROUP, RESOURCE};
    use remora_hub::auth::ROLE_VERBS;
    let rendered = render(&[]).expect("render");
    assert!(container_args(&rendered, "Deployment", "remora-hub").iter().any(|a| a == "--kubernetes-users"));
    let role = |name: &str| {
        rendered
            .objects
            .iter()
            .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ClusterRole {name}"))
            .clone()
    };
    let hub = role("remora-hub");
    let may_ask = hub["rules"].as_array().expect("rules").iter().any(|r| {
        r["apiGroups"] == serde_json::json!(["authorization.k8s.io"]) && r["resources"] == serde_json::json!(["subjectaccessreviews"]) && r["verbs"] == serde_json::json!(["create"])
    });
    assert!(may_ask, "the hub may not create SubjectAccessReviews: {hub}");
    // ROLE_VERBS is highest first; each role grants itself and every role below it.
    for (at, verb) in ROLE_VERBS.iter().enumerate() {
        let rules = role(&format!("remora-{verb}"))["rules"].clone();
        let mut granted: Vec<String> = serde_json::from_value(rules[0]["verbs"].clone()).expect("verbs");
        granted.sort();
        let mut expected: Vec<String> = ROLE_VERBS[at..].iter().map(|v| v.to_string()).collect();
        expected.sort();
        assert_eq!(granted, expected, "remora-{verb}");
        assert_eq!(rules[0]["apiGroups"], serde_json::json!([GROUP]));
        assert_eq!(rules[0]["resources"], serde_json::json!([RESOURCE]));
    }
}
