//! Tokens: a sidecar or an API client presents `Authorization: Bearer <token>`. The hub
//! knows the valid ones from a file (one per line, each with a role); with
//! `--token-review-audience`, a sidecar presents instead the projected service-account
//! token the injector mounts, which the API server vouches for (TokenReview) and which
//! binds the session to its pod.
//!
//! Roles, each allowing what the one before does and more: `viewer` reads items, the
//! console, jobs, sidecars and scripts; `editor` also changes scripts and runs jobs;
//! `admin` also exports PCAPs (the raw bytes, unredacted), reads the audit log, and — when
//! the hub does not review pods' tokens — may open sidecar sessions.
//!
//! With `--kubernetes-users`, a bearer that is not in the file may be a person's own
//! Kubernetes token: the API server says who it is and RBAC which role they hold
//! (remora_cluster::access_review; the role is the verb on `hubs.remora.dev`).

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

/// The roles as RBAC verbs on `hubs.remora.dev`, highest first (a person's role is the
/// first one granted).
pub const ROLE_VERBS: &[&str] = &["admin", "editor", "viewer"];

impl Role {
    pub fn parse(word: &str) -> Option<Role> {
        match word {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// Who made an API call: the token's name (for the audit log) and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// The token file's tokens, read again when the file changes (a Secret update swaps it
/// in place): looked at, at most every [`CHECK_EVERY`], when a token is presented.
pub struct Tokens {
    path: PathBuf,
    check_every: Duration,
    current: RwLock<Loaded>,
}

struct Loaded {
    tokens: Vec<(String, Principal)>,
    /// The file's modification time and length when read.
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

/// How often a changed token file is noticed.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

impl Tokens {
    /// Reads the token file, one token a line: `ROLE:NAME:TOKEN`, `ROLE:TOKEN` (named after
    /// its role) or a bare `TOKEN` (an admin's, as files written before roles hold); blank
    /// lines and `#` comments are ignored.
    pub fn from_file(path: &Path) -> anyhow::Result<Tokens> {
        Self::checked_every(path, CHECK_EVERY)
    }

    /// The same, noticing changes at most every `check_every`.
    pub fn checked_every(path: &Path, check_every: Duration) -> anyhow::Result<Tokens> {
        let loaded = read(path)?;
        Ok(Tokens { path: path.to_path_buf(), check_every, current: RwLock::new(loaded) })
    }

    /// The token file's tokens or, while it is not there yet, `seed`'s (the Secret it
    /// will be mounted from, as read through the API: a Secret the hub has just made
    /// reaches the mount up to a minute later). The file takes over once it appears.
    pub fn from_file_or(path: &Path, seed: Option<String>) -> anyhow::Result<Tokens> {
        Self::seeded(path, seed, CHECK_EVERY)
    }

    fn seeded(path: &Path, seed: Option<String>, check_every: Duration) -> anyhow::Result<Tokens> {
        let loaded = match (read(path), seed) {
            (Ok(loaded), _) => loaded,
            (Err(_), Some(seed)) if !path.exists() => {
                let tokens = parse(&seed, &format!("the Secret for {}", path.display()))?;
                Loaded { tokens, stamp: None, checked: Instant::now() }
            }
            (Err(e), _) => return Err(e),
        };
        Ok(Tokens { path: path.to_path_buf(), check_every, current: RwLock::new(loaded) })
    }

    /// Reads the file again if it changed since; a file that no longer reads keeps the
    /// tokens in force (and says why in the log).
    fn refresh(&self) {
        {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            if current.checked.elapsed() < self.check_every {
                return;
            }
            if stamp(&self.path) == current.stamp {
                drop(current);
                self.current.write().unwrap_or_else(|p| p.into_inner()).checked = Instant::now();
                return;
            }
        }
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        match read(&self.path) {
            Ok(loaded) => {
                tracing::info!(tokens = loaded.tokens.len(), file = %self.path.display(), "token file read again");
                *current = loaded;
            }
            Err(e) => {
                tracing::warn!("{e}; the tokens read before stay in force");
                current.checked = Instant::now();
                current.stamp = stamp(&self.path);
            }
        }
    }

    /// Who the request's bearer token belongs to, if it is one of ours.
    pub fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        let presented = bearer(headers)?;
        self.refresh();
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        // Every token is compared, whichever matches: the time taken tells nothing.
        let mut found = None;
        for (token, principal) in &current.tokens {
            if same(token.as_bytes(), presented.as_bytes()) && found.is_none() {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read(path: &Path) -> anyhow::Result<Loaded> {
    let stamp = stamp(path);
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--token-file {}: {e}", path.display()))?;
    let tokens = parse(&text, &format!("--token-file {}", path.display()))?;
    Ok(Loaded { tokens, stamp, checked: Instant::now() })
}

/// Tokens text, one a line; `origin` names where it came from in errors.
fn parse(text: &str, origin: &str) -> anyhow::Result<Vec<(String, Principal)>> {
    let mut tokens = Vec::new();
    for line in remora_model::tokens::token_lines(text) {
        let (role, name, token) = (Role::parse(line.role).unwrap_or(Role::Admin), line.name.to_string(), line.token);
        if token.is_empty() {
            anyhow::bail!("{origin}: the {} token {name:?} is empty", role.name());
        }
        tokens.push((token.to_string(), Principal { name, role }));
    }
    if tokens.is_empty() {
        anyhow::bail!("{origin}: no token in it; without one nobody could connect");
    }
    Ok(tokens)
}

/// The bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim)
}

/// Who opened a sidecar session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A token of the token file: its hello is taken at its word.
    Token,
    /// A pod's projected token: its hello must name this pod.
    Pod(remora_cluster::token_review::ReviewedPod),
}

/// Compares without stopping at the first difference, so the time taken does not tell
/// how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# sidecars\ns3cr3t\n\nother\n").expect("write");
        let tokens = Tokens::from_file(&path).expect("tokens");
        let mut headers = HeaderMap::new();
        assert_eq!(tokens.principal(&headers), None);
        headers.insert("authorization", "Bearer s3cr3t".parse().expect("header"));
        assert_eq!(tokens.principal(&headers), Some(Principal { name: "admin".into(), role: Role::Admin }), "a bare token is an admin's");
        headers.insert("authorization", "Bearer s3cr3u".parse().expect("header"));
        assert_eq!(tokens.principal(&headers), None);
        std::fs::write(&path, "# none\n").expect("write");
        assert!(Tokens::from_file(&path).is_err());
    }

    #[test]
    fn a_changed_token_file_is_read_again_and_a_broken_one_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, "viewer:old-1\n").expect("write");
        let tokens = Tokens::checked_every(&path, Duration::ZERO).expect("tokens");
        let role = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
            tokens.principal(&headers).map(|p| p.role)
        };
        assert_eq!(role("old-1"), Some(Role::Viewer));
        // As the kubelet updates a Secret mount: the new file appears whole.
        std::fs::write(dir.path().join("new"), "editor:new-22\n").expect("write");
        std::fs::rename(dir.path().join("new"), &path).expect("rename");
        assert_eq!(role("old-1"), None, "the old token is gone");
        assert_eq!(role("new-22"), Some(Role::Editor));
        std::fs::write(&path, "# emptied by mistake\n").expect("write");
        assert_eq!(role("new-22"), Some(Role::Editor), "a file with no token keeps the tokens in force");
    }

    #[test]
    fn the_secrets_tokens_stand_in_until_the_mount_shows_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens");
        let tokens = Tokens::seeded(&path, Some("made-by-the-hub\n".into()), Duration::ZERO).expect("tokens");
        let role = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
            tokens.principal(&headers).map(|p| p.role)
        };
        assert_eq!(role("made-by-the-hub"), Some(Role::Admin), "before the mount shows the Secret");
        std::fs::write(&path, "admin:changed-since\n").expect("write");
        assert_eq!(role("made-by-the-hub"), None, "the mounted file takes over");
        assert_eq!(role("changed-since"), Some(Role::Admin));
        assert!(Tokens::seeded(&dir.path().join("absent"), None, Duration::ZERO).is_err(), "no file and no Secret: no tokens");
    }

    #[test]
    fn roles_and_names_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, "viewer:ops-dashboard:v1\neditor:e1\nadmin:root:a:b\nviewer:\n").expect("write");
        let Err(refused) = Tokens::from_file(&path) else { panic!("an empty token is refused") };
        assert!(refused.to_string().contains("the viewer token \"viewer\" is empty"), "{refused}");
        std::fs::write(&path, "viewer:ops-dashboard:v1\neditor:e1\nadmin:root:a:b\n").expect("write");
        let tokens = Tokens::from_file(&path).expect("tokens");
        let who = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
            tokens.principal(&headers).map(|p| (p.name, p.role))
        };
        assert_eq!(who("v1"), Some(("ops-dashboard".into(), Role::Viewer)));
        assert_eq!(who("e1"), Some(("editor".into(), Role::Editor)));
        assert_eq!(who("a:b"), Some(("root".into(), Role::Admin)), "a token may hold colons");
        assert_eq!(who("viewer:ops-dashboard:v1"), None, "the line is not the token");
    }
}
