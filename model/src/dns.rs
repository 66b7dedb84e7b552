use serde::{Deserialize, Serialize};

/// `request` of a DNS item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRequest {
    /// The message ID that pairs query and answer.
    pub id: u16,
    /// `Query`, `IQuery`, `Status`, `Notify`, `Update` (the public entry's `opCode`).
    pub op_code: String,
    /// Recursion desired.
    pub recursion_desired: bool,
    pub questions: Vec<DnsQuestion>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuestion {
    /// Fully qualified name without the trailing dot (`example.com`; the root is `.`).
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, ... or `TYPE<n>` for unknown numbers.
    #[serde(rename = "type")]
    pub qtype: String,
    /// `IN`, `CH`, ... or `CLASS<n>`.
    pub class: String,
}

/// `response` of a DNS item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsResponse {
    /// The response code as the public entry words it (`No Error`, `Non-Existent
    /// Domain`, `Server Failure`, ...).
    pub code: String,
    /// The response code's mnemonic (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...).
    pub rcode_name: String,
    /// The numeric response code.
    pub rcode: u16,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_available: bool,
    pub answers: Vec<DnsRecord>,
    pub authorities: Vec<DnsRecord>,
    pub additionals: Vec<DnsRecord>,
}

/// One resource record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub class: String,
    pub ttl: u32,
    /// The record data in presentation form (`93.184.216.34`, `alias.example.com`,
    /// `10 mx.example.com`, ...).
    pub data: String,
    /// The address of an `A`/`AAAA` record (the public entry's field), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The target of a `CNAME` record (the public entry's field), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
}
