//! PostgreSQL items: one query cycle of the frontend/backend protocol — a simple query, or
//! an extended-query batch up to its Sync — with what the server answered up to Ready for
//! Query; or the connection's startup.

use serde::{Deserialize, Serialize};

/// `request` of a PostgreSQL item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostgresRequest {
    /// `simple` (a Query message), `extended` (Parse/Bind/Execute up to Sync), `startup`,
    /// `ssl` (an SSLRequest), or `cancel`.
    pub kind: String,
    /// The SQL text (cut to 4 KiB); for an extended batch that parsed nothing, the text of
    /// the prepared statement it ran, when the capture saw it prepared.
    pub query: String,
    /// The prepared statement run (empty for the unnamed one).
    pub statement: String,
    /// The query ran a statement prepared earlier (no Parse in this batch).
    pub prepared: bool,
    /// Parameters bound.
    pub parameters: u32,
    /// Startup only: `user`, `database`, `application_name`.
    pub user: String,
    pub database: String,
    pub application: String,
    /// Startup only: the protocol version asked for (`3.0`; `3.2` from PostgreSQL 18).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// `response` of a PostgreSQL item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostgresResponse {
    /// Each command's completion tag, in order (`SELECT 2`, `INSERT 0 1`).
    pub tags: Vec<String>,
    /// Data rows returned.
    pub rows: u64,
    /// Column names of the last row description (at most 64).
    pub columns: Vec<String>,
    /// The error the server reported, if any.
    pub error: Option<PostgresError>,
    /// Notices (warnings, notes) the server sent meanwhile.
    pub notices: u32,
    /// The transaction status at Ready for Query: `idle`, `transaction`, `failed`; for an
    /// SSLRequest, `accepted` or `refused`; for startup, `ready` or empty.
    pub status: String,
    /// Startup only: the version the server offered instead (NegotiateProtocolVersion),
    /// when it speaks an older minor version than the client asked for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostgresError {
    /// `ERROR`, `FATAL`, `PANIC`.
    pub severity: String,
    /// The SQLSTATE code (`42P01`).
    pub code: String,
    pub message: String,
}
