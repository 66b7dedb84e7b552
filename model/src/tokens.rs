//! The hub's tokens file (its `--token-file`, the `tokens` key of its Secret): one token a
//! line, `ROLE:NAME:TOKEN`, `ROLE:TOKEN` (named after its role) or a bare `TOKEN` (an
//! admin's, as files written before roles hold); blank lines and `#` comments are
//! ignored. The hub reads it to authenticate; the CLI reads it to sign in.

/// The roles a line may name.
pub const ROLES: [&str; 3] = ["viewer", "editor", "admin"];

/// One token of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLine<'a> {
    /// One of [`ROLES`].
    pub role: &'a str,
    pub name: &'a str,
    /// Empty when the line names a role and no token.
    pub token: &'a str,
}

/// Every token line of `text`, in order.
pub fn token_lines(text: &str) -> impl Iterator<Item = TokenLine<'_>> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(|line| {
        let parts: Vec<&str> = line.splitn(3, ':').collect();
        match parts.as_slice() {
            [role, name, token] if ROLES.contains(role) => TokenLine { role, name, token },
            [role, token] if ROLES.contains(role) => TokenLine { role, name: role, token },
            _ => TokenLine { role: "admin", name: "admin", token: line },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_of_line() {
        let lines: Vec<TokenLine> = token_lines("# comment\n\nviewer:ops:v1\neditor:e1\nplain\nadmin:root:a:b\nviewer:\n").collect();
        assert_eq!(
            lines,
            [
                TokenLine { role: "viewer", name: "ops", token: "v1" },
                TokenLine { role: "editor", name: "editor", token: "e1" },
                TokenLine { role: "admin", name: "admin", token: "plain" },
                TokenLine { role: "admin", name: "root", token: "a:b" },
                TokenLine { role: "viewer", name: "viewer", token: "" },
            ]
        );
    }
}
