//! MySQL items: one command of the client/server protocol and the server's answer, or the
//! connection's handshake.

use serde::{Deserialize, Serialize};

/// `request` of a MySQL item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MysqlRequest {
    /// `Query`, `Prepare`, `Execute`, `InitDB`, `Ping`, `FieldList`, ..., or `Handshake`.
    pub command: String,
    /// The SQL (cut to 4 KiB): a query's, a prepared statement's, or for `Execute` the
    /// statement's when the capture saw it prepared; for `InitDB` the database.
    pub query: String,
    /// The prepared statement's id (`Execute`, `Prepare`'s answer), else 0.
    pub statement: u32,
    /// Handshake only: the user and the database asked for.
    pub user: String,
    pub database: String,
}

/// `response` of a MySQL item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MysqlResponse {
    /// `ok`, `error`, `resultset`, or for `Prepare` `prepared`.
    pub kind: String,
    pub affected_rows: u64,
    pub last_insert_id: u64,
    /// Rows of a result set.
    pub rows: u64,
    /// Column names of a result set (at most 64).
    pub columns: Vec<String>,
    /// The error, if the answer is one.
    pub error: Option<MysqlError>,
    /// `Prepare`: the statement id, its columns and parameters.
    pub statement: u32,
    pub parameters: u32,
    /// The server's version (`Handshake` only).
    pub server_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MysqlError {
    pub code: u16,
    /// The SQLSTATE (`42S02`), when the server sent one.
    pub sql_state: String,
    pub message: String,
}
