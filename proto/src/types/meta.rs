//! `_meta` on requests and results: the 2026-07-28 per-request keys (protocol version, client info,
//! client capabilities, log level), progress tokens, and the cache hints every modern result carries.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;

/// `_meta` key carrying the protocol revision of a 2026-07-28 request.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's capabilities on a 2026-07-28 request.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key carrying the client's implementation info on a 2026-07-28 request.
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key carrying the minimum log level for this request's log notifications.
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key on results naming the server.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key naming the `subscriptions/listen` stream a notification (or the stream's closing
/// answer) belongs to: the id of the listen request.
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// The `_meta` of a request, with the fields the server acts on pulled out. Only an object
/// deserialises into it (serde's derive would also take a positional array), and a progress token
/// must be a string or a number.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(remote = "Self")]
pub struct RequestMeta {
    /// Progress token: when present the caller wants `notifications/progress`.
    #[serde(rename = "progressToken", default)]
    pub progress_token: Option<Value>,
    /// 2026-07-28 protocol revision.
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default)]
    pub protocol_version: Option<Value>,
    /// 2026-07-28 client capabilities, kept as raw JSON: most requests never look inside.
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    pub client_capabilities: Option<Box<RawValue>>,
    /// 2026-07-28 client info (self-reported; for logs only), kept as raw JSON.
    #[serde(rename = "io.modelcontextprotocol/clientInfo", default)]
    pub client_info: Option<Box<RawValue>>,
    /// 2026-07-28 per-request log level.
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    pub log_level: Option<Value>,
    /// W3C trace context, if the client propagates one.
    #[serde(default)]
    pub traceparent: Option<String>,
    /// W3C trace state that goes with `traceparent`.
    #[serde(default)]
    pub tracestate: Option<String>,
}

impl<'de> Deserialize<'de> for RequestMeta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = RequestMeta;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("_meta as an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RequestMeta, A::Error> {
                let meta =
                    RequestMeta::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                match &meta.progress_token {
                    None | Some(Value::String(_) | Value::Number(_)) => Ok(meta),
                    Some(_) => Err(serde::de::Error::custom(
                        "progressToken must be a string or a number",
                    )),
                }
            }
        }
        d.deserialize_map(ObjectOnly)
    }
}

/// Who may cache a modern result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Only the requesting client.
    Private,
    /// Any client of this server.
    Public,
}

/// `resultType` of a 2026-07-28 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultType {
    /// The request is done.
    Complete,
    /// The server needs more input (elicitation, sampling, roots) before it can finish.
    InputRequired,
    /// The request became a task (the tasks extension's `CreateTaskResult`).
    Task,
}

/// Envelope fields common to results: all empty on legacy revisions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResultEnvelope {
    /// 2026-07-28 `resultType`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// 2026-07-28 cache lifetime for list and read results.
    #[serde(rename = "ttlMs", skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// 2026-07-28 cache scope for list and read results.
    #[serde(rename = "cacheScope", skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
    /// Result `_meta` (server info on 2026-07-28), serialised once and shared by every result.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<Arc<RawValue>>,
}

/// Pagination parameters shared by every list request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaginatedParams {
    /// Opaque cursor from a previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// Params of requests that carry nothing but `_meta` (ping, discover).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaOnlyParams {
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
