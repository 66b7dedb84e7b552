//! Script failures, each reported once (with its location) and counted after that. A
//! failure is its script, hook (or job) and location: a hook that throws a different
//! message for every item is still one failure, shown with its first message.

use std::collections::BTreeMap;

/// A failure of a script: where, what, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub script: String,
    /// The hook, job or `load` during which it happened.
    pub during: String,
    /// `file:line` when the engine knows it.
    pub location: String,
    pub message: String,
    pub count: u64,
}

#[derive(Default)]
pub struct Failures {
    /// (script, during, location or, without one, the message) → (first message, count)
    by_key: BTreeMap<(String, String, String), (String, u64)>,
}

impl Failures {
    /// Records a failure; true when it is the first of its kind (so it should be shown).
    pub fn record(&mut self, script: &str, during: &str, location: &str, message: &str) -> bool {
        let place = if location.is_empty() { message } else { location };
        let entry = self.by_key.entry((script.into(), during.into(), place.into())).or_insert_with(|| (message.to_string(), 0));
        entry.1 += 1;
        entry.1 == 1
    }

    pub fn list(&self) -> Vec<Failure> {
        self.by_key
            .iter()
            .map(|((script, during, place), (message, count))| Failure {
                script: script.clone(),
                during: during.clone(),
                location: if place == message { String::new() } else { place.clone() },
                message: message.clone(),
                count: *count,
            })
            .collect()
    }
}
