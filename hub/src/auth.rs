//! Tokens: a sidecar or an API client presents `Authorization: Bearer <token>`. The hub
//! knows the valid ones from a file (one per line); with `--token-review-audience`, a
//! sidecar may instead present the projected service-account token the injector mounts,
//! which the API server vouches for (TokenReview) and which binds the session to its pod.

use axum::http::HeaderMap;

pub struct Tokens {
    tokens: Vec<String>,
}

impl Tokens {
    /// Reads the token file: one token per line, blank lines and `#` comments ignored.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Tokens> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--token-file {}: {e}", path.display()))?;
        let tokens: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        if tokens.is_empty() {
            anyhow::bail!("--token-file {}: no token in it; without one nobody could connect", path.display());
        }
        Ok(Tokens { tokens })
    }

    /// Whether the request's bearer token is one of ours.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = bearer(headers) else { return false };
        self.tokens.iter().fold(false, |found, token| found | same(token.as_bytes(), presented.as_bytes()))
    }
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
        assert!(!tokens.admits(&headers));
        headers.insert("authorization", "Bearer s3cr3t".parse().expect("header"));
        assert!(tokens.admits(&headers));
        headers.insert("authorization", "Bearer s3cr3u".parse().expect("header"));
        assert!(!tokens.admits(&headers));
        std::fs::write(&path, "# none\n").expect("write");
        assert!(Tokens::from_file(&path).is_err());
    }
}
