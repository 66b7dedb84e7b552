//! Script failures, each reported once (with its location) and counted after that.

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
    by_key: BTreeMap<(String, String, String, String), u64>,
}

impl Failures {
    /// Records a failure; true when it is the first of its kind (so it should be shown).
    pub fn record(&mut self, script: &str, during: &str, location: &str, message: &str) -> bool {
        let count = self.by_key.entry((script.into(), during.into(), location.into(), message.into())).or_default();
        *count += 1;
        *count == 1
    }

    pub fn list(&self) -> Vec<Failure> {
        self.by_key
            .iter()
            .map(|((script, during, location, message), count)| Failure {
                script: script.clone(),
                during: during.clone(),
                location: location.clone(),
                message: message.clone(),
                count: *count,
            })
            .collect()
    }
}
