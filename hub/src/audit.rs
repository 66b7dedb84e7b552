//! The audit log: every script change and job run made through the API — who (the token's
//! name and role), when, what, and the content's SHA-256 — in the hub's log (target
//! `audit`) and in `GET /api/audit` (the newest [`KEPT`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::auth::Principal;

/// Entries `GET /api/audit` keeps.
pub const KEPT: usize = 1000;

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
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= KEPT {
            entries.pop_front();
        }
        entries.push_back(entry);
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
        audit.record(&alice, "put script", "errors.js", Some(b"abc"));
        let first = &audit.entries()[0];
        assert_eq!((first.who.as_str(), first.role, first.action.as_str(), first.target.as_str()), ("alice", "editor", "put script", "errors.js"));
        assert_eq!(first.sha256.as_deref(), Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "SHA-256 of \"abc\"");
        for i in 0..KEPT + 5 {
            audit.record(&alice, "run job", &format!("job-{i}"), None);
        }
        let entries = audit.entries();
        assert_eq!(entries.len(), KEPT);
        assert_eq!(entries.last().map(|e| e.target.as_str()), Some("job-1004"));
    }
}
