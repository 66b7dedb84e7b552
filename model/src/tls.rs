//! TLS items: a handshake's ClientHello and ServerHello, in the clear before encryption
//! starts. Nothing is decrypted.

use serde::{Deserialize, Serialize};

/// `request` of a TLS item: what the client offered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsRequest {
    /// The ClientHello's own version field (`TLS 1.2` for TLS 1.3 clients too).
    pub version: String,
    /// The server name asked for (SNI), or empty; with ECH, the outer (public) name.
    pub server_name: String,
    /// Application protocols offered (ALPN), in order.
    pub alpn: Vec<String>,
    /// Versions offered in `supported_versions`, GREASE values left out.
    pub supported_versions: Vec<String>,
    /// Cipher suites offered, by IANA name (`0x....` when unnamed), GREASE left out.
    pub cipher_suites: Vec<String>,
    /// The client sent an Encrypted Client Hello extension.
    pub ech: bool,
}

/// `response` of a TLS item: what the server chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsResponse {
    /// The version negotiated (`supported_versions` when present, else the version field).
    pub version: String,
    /// The cipher suite chosen, by IANA name.
    pub cipher_suite: String,
    /// The application protocol chosen, or empty.
    pub alpn: String,
    /// The ServerHello is a HelloRetryRequest: the client must send another ClientHello.
    pub hello_retry_request: bool,
}
