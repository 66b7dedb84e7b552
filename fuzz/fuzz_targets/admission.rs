//! Fuzzes the webhook's AdmissionReview handling. Two ways in: the bytes as a whole
//! request body, and the bytes (when they are JSON) as the pod inside a well-formed
//! review of a pod CREATE, in a namespace with annotations — so the mutation of
//! arbitrary pods is reached, not only the JSON parser. Nothing may panic, every
//! answer must admit, and any patch must apply to the pod it was made for.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use remora_injector::{review, Injector, NamespaceInfo, Settings};

fn injector() -> &'static Injector {
    static INJECTOR: OnceLock<Injector> = OnceLock::new();
    INJECTOR.get_or_init(|| Injector::new(Settings::default()).expect("defaults"))
}

fn namespace() -> NamespaceInfo {
    NamespaceInfo {
        name: "shop".into(),
        labels: [("remora.dev/inject".to_string(), "enabled".to_string())].into(),
        annotations: [("remora.dev/log-level".to_string(), "debug".to_string())].into(),
        ..Default::default()
    }
}

fn check(body: &[u8], pod: Option<&serde_json::Value>) {
    let ns = namespace();
    let Ok(request) = review::parse(body) else {
        let answer: serde_json::Value =
            serde_json::from_slice(&review::unreadable("x")).expect("unreadable answer is JSON");
        assert_eq!(answer["response"]["allowed"], true);
        return;
    };
    let (answer, _) = review::respond(&request, injector(), Some(&ns), None);
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("answer is JSON");
    assert_eq!(answer["response"]["allowed"], true);
    if let (Some(pod), Some(patch)) = (pod, answer["response"]["patch"].as_str()) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(patch).expect("base64");
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("patch");
        let mut patched = pod.clone();
        json_patch::patch(&mut patched, &patch).expect("the patch applies");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, None);
    let Ok(pod) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let mut review = review::pod_create_review("fuzz", &pod);
    review["request"]["namespace"] = "shop".into();
    check(&serde_json::to_vec(&review).expect("json"), Some(&pod));
});
