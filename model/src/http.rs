use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::Fields;

/// `request` of an HTTP item, HAR-like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    pub method: String,
    /// The request target as sent (`/a/b?x=1`, or absolute form through a proxy).
    pub url: String,
    /// The target without its query string.
    pub path: String,
    /// `path` split on `/`, empty segments left out.
    pub path_segments: Vec<String>,
    /// Query parameters, percent-decoded; a repeated key keeps its values joined by `,`.
    pub query_string: Fields,
    /// Header names lower-cased (as HTTP/2 and KFL write them); repeated headers joined
    /// by `, `.
    pub headers: Fields,
    /// From the `cookie` header.
    pub cookies: Fields,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub http_version: Cow<'static, str>,
    /// Bytes of the start line and headers, up to and including the blank line.
    pub headers_size: u64,
    /// Bytes of the body on the wire (chunk framing excluded).
    pub body_size: u64,
    /// The body, when there is one.
    pub post_data: Option<Body>,
    /// HTTP/2: the stream's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<u32>,
    /// gRPC: the call (HTTP/2 with `content-type: application/grpc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<crate::GrpcCall>,
    /// GraphQL: the operation the body (or `?query=`) carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphql: Option<crate::GraphqlOperation>,
}

/// `response` of an HTTP item, HAR-like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status: u16,
    pub status_text: String,
    pub http_version: Cow<'static, str>,
    /// Header names lower-cased; repeated headers joined by `, `.
    pub headers: Fields,
    /// From `set-cookie` headers: cookie name to value.
    pub cookies: Fields,
    pub headers_size: u64,
    pub body_size: u64,
    /// The `location` header, or empty.
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    pub content: Body,
    /// Statuses of the interim (1xx) responses that came before this one, e.g. `[100]`
    /// for `Expect: 100-continue`.
    pub interim: Vec<u16>,
    /// Set when the connection stopped speaking HTTP after this response: the
    /// `upgrade` protocol of a `101` (`websocket`, `h2c`, `tcp`, ...) or `tunnel` for a
    /// successful `CONNECT`. Bytes after it are not parsed as HTTP.
    pub upgrade: Option<String>,
    /// HTTP/2: header fields sent after the body (gRPC's status travels there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailers: Option<Fields>,
    /// gRPC: how the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<crate::GrpcReply>,
}

/// A message body as captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    /// The `content-type` header, or empty.
    pub mime_type: String,
    /// Decoded size in bytes (after chunking and gzip/deflate content coding were undone)
    /// of what was captured.
    pub size: u64,
    /// The body: UTF-8 text as is, anything else base64 (then `encoding` is `base64`).
    pub text: String,
    /// `base64` when `text` is base64, otherwise absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The content coding that was undone (`gzip`, `deflate`), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_from: Option<String>,
    /// True when the body was longer than the capture limit and `text` holds only its
    /// start, or when the connection ended before the body did.
    pub truncated: bool,
}
