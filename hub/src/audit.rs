//! The audit log: every script change and job run made through the API — who (the token's
//! name and role), when, what, and the content's SHA-256 — in the hub's log (target
//! `audit`) and in `GET /api/audit` (the newest [`KEPT`]). The last change of each
//! script is kept apart, however old, for the scripts list ("changed by").

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::auth::Principal;

/// Entries `GET /api/audit` keeps.
pub const KEPT: usize = 1000;
/// Scripts whose last change is kept (far more than a script set holds).
const SCRIPTS_KEPT: usize = 4096;

/// The actions recorded.
pub const PUT_SCRIPT: &str = "put script";
pub const DELETE_SCRIPT: &str = "delete script";
pub const RUN_JOB: &str = "run job";

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    pub who: String,
    pub role: &'static str,
    pub action: String,
    pub target: String,
    /// Of the content written (a script's source), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Default)]
pub struct Audit {
    entries: Mutex<VecDeque<Entry>>,
    /// Script name → its last `put script` through the API (a deleted script's is dropped).
    script_changes: Mutex<HashMap<String, Entry>>,
}

impl Audit {
    pub fn record(&self, who: &Principal, action: &str, target: &str, content: Option<&[u8]>) {
        let sha256 = content.map(|bytes| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>());
        let entry = Entry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            who: who.name.clone(),
            role: who.role.name(),
            action: action.to_string(),
            target: target.to_string(),
            sha256,
        };
        tracing::info!(target: "audit", who = %entry.who, role = entry.role, action = %entry.action, target = %entry.target, sha256 = entry.sha256.as_deref().unwrap_or(""), "audit");
        self.note_script_change(&entry);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= KEPT {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    fn note_script_change(&self, entry: &Entry) {
        let mut changes = self.script_changes.lock().unwrap_or_else(|p| p.into_inner());
        match entry.action.as_str() {
            PUT_SCRIPT => {
                if changes.len() >= SCRIPTS_KEPT && !changes.contains_key(&entry.target) {
                    changes.clear();
                }
                changes.insert(entry.target.clone(), entry.clone());
            }
            DELETE_SCRIPT => {
                changes.remove(&entry.target);
            }
            _ => {}
        }
    }

    /// The last change made to script `name` through the API since the hub started.
    pub fn script_change(&self, name: &str) -> Option<Entry> {
        self.script_changes.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn entries_say_who_what_and_which_content_and_stay_bounded() {
        let audit = Audit::default();
        let alice = Principal { name: "alice".into(), role: Role::Editor };
        audit.record(&alice, PUT_SCRIPT, "errors.js", Some(b"abc"));
        let first = &audit.entries()[0];
        assert_eq!((first.who.as_str(), first.role, first.action.as_str(), first.target.as_str()), ("alice", "editor", "put script", "errors.js"));
        assert_eq!(first.sha256.as_deref(), Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "SHA-256 of \"abc\"");
        for i in 0..KEPT + 5 {
            audit.record(&alice, RUN_JOB, &format!("job-{i}"), None);
        }
        let entries = audit.entries();
        assert_eq!(entries.len(), KEPT);
        assert_eq!(entries.last().map(|e| e.target.as_str()), Some("job-1004"));
        // The script's last change outlives the entries that pushed it out of the log.
        assert_eq!(audit.script_change("errors.js").map(|e| e.who), Some("alice".to_string()));
        let bob = Principal { name: "bob".into(), role: Role::Admin };
        audit.record(&bob, PUT_SCRIPT, "errors.js", Some(b"abd"));
        assert_eq!(audit.script_change("errors.js").map(|e| (e.who, e.role)), Some(("bob".to_string(), "admin")));
        audit.record(&bob, DELETE_SCRIPT, "errors.js", None);
        assert!(audit.script_change("errors.js").is_none());
    }
}
