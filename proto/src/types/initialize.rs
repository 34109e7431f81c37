//! The legacy handshake (`initialize`) and capability objects shared with `server/discover`.

use super::meta::RequestMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Name and version of a client or server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// Display name (2025-06-18+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `initialize` params.
#[derive(Debug, Clone, Deserialize)]
pub struct InitializeParams {
    /// The revision the client wants.
    #[serde(rename = "protocolVersion")]
    pub protocol_version: String,
    /// What the client supports.
    #[serde(default)]
    pub capabilities: Value,
    /// Who the client is.
    #[serde(rename = "clientInfo")]
    pub client_info: Implementation,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// A capability with an optional `listChanged` flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListChangedCapability {
    /// Whether the server sends list_changed notifications.
    #[serde(rename = "listChanged")]
    pub list_changed: bool,
}

/// The resources capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourcesCapability {
    /// Whether `resources/subscribe` is supported.
    pub subscribe: bool,
    /// Whether the server sends list_changed notifications.
    #[serde(rename = "listChanged")]
    pub list_changed: bool,
}

/// What the server offers; a capability is present only when something is registered for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerCapabilities {
    /// Tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChangedCapability>,
    /// Resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChangedCapability>,
    /// Log notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    /// Argument completion (2025-03-26+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<Value>,
    /// Experimental features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Value>,
    /// 2025-11-25 experimental tasks (`{list, cancel, requests: {tools: {call}}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Value>,
    /// 2026-07-28 extensions (`io.modelcontextprotocol/tasks`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

/// `initialize` result.
#[derive(Debug, Clone, Serialize)]
pub struct InitializeResult {
    /// The negotiated revision.
    #[serde(rename = "protocolVersion")]
    pub protocol_version: &'static str,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    #[serde(rename = "serverInfo")]
    pub server_info: Implementation,
    /// Usage hints for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}
