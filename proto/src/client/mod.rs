//! The client side of MCP, sans-IO: a [`ClientSession`] builds every message a client sends (the
//! handshake of either era, requests with their 2026-07-28 `_meta` and HTTP routing headers,
//! answers to server requests) and decides what to do with what comes back (retry with another
//! version, fall back to `initialize`, run the multi-round-trip loop, or hand the result over).
//!
//! It owns no socket, thread or clock: the caller sends each [`Outgoing`] over its transport and
//! feeds the [`Answer`] back. Transport concerns (HTTP status codes, session ids, SSE streams and
//! their resumption, authorization) belong to the caller; so do timers.

mod envelope;
mod era;
mod handlers;
mod mrtr;
mod notices;
mod pages;
mod pending;
mod request_headers;
mod tasks;

#[cfg(test)]
mod tests;

pub use era::{Era, HandshakeStep};
pub use handlers::{fill_elicitation_defaults, ClientHandler, DefaultHandler};
pub use mrtr::CallStep;
pub use notices::{Notice, ACKNOWLEDGED, CANCELLED, PROGRESS};
pub use pages::{Pages, MAX_PAGES};
pub use pending::{Call, IdAllocator};
pub use tasks::{is_terminal, task_of};

use crate::streamable_http::params::ToolHeaderError;
use pending::Pending;

use crate::jsonrpc::{ErrorObject, RequestId};
use crate::revision::ProtocolVersion;
use crate::types::Implementation;
use serde_json::Value;
use std::collections::HashMap;

/// One message for the caller to send, with the HTTP headers MCP adds to it (the caller adds its
/// transport's own: content type, accept, session id, authorization).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The request's id; `None` for notifications and answers to server requests.
    pub id: Option<RequestId>,
    /// The method (`None` for answers).
    pub method: Option<String>,
    /// The JSON-RPC message (no trailing newline).
    pub body: Vec<u8>,
    /// `MCP-Protocol-Version` once a version is known, and on 2026-07-28 `Mcp-Method`,
    /// `Mcp-Name` and `Mcp-Param-*`.
    pub headers: Vec<(String, String)>,
}

/// What came back for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A JSON-RPC result.
    Result(Value),
    /// A JSON-RPC error.
    Error(ErrorObject),
    /// The transport refused the request without a JSON-RPC answer (an HTTP 4xx or 5xx with some
    /// other body); the status, if any.
    Refused(Option<u16>),
}

impl Answer {
    /// The answer a JSON-RPC response carries (a result that is not valid JSON cannot come out of
    /// [`crate::jsonrpc::parse`], so it is read as null only in theory).
    pub fn from_response(response: crate::jsonrpc::Response) -> Self {
        match response.outcome {
            Ok(raw) => Answer::Result(serde_json::from_str(raw.get()).unwrap_or(Value::Null)),
            Err(e) => Answer::Error(e),
        }
    }
}

/// Why a client operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a JSON-RPC error.
    #[error("server error: {0}")]
    Server(ErrorObject),
    /// The transport refused the request.
    #[error("request refused by the transport (status {0:?})")]
    Refused(Option<u16>),
    /// The server's answer does not have the shape the method needs.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The server chose a protocol version this client does not speak.
    #[error("server chose unsupported protocol version '{0}'")]
    UnsupportedVersion(String),
    /// A handler for a server request failed.
    #[error("input handler failed: {0}")]
    Handler(ErrorObject),
    /// The server kept asking for input past the round limit.
    #[error("more than {0} input rounds")]
    TooManyRounds(u32),
}

/// What the client says about itself.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `clientInfo`.
    pub client_info: Implementation,
    /// Which era to speak.
    pub era: Era,
    /// The client capabilities object (see [`ClientHandler::capabilities`]).
    pub capabilities: Value,
}

/// What the server said about itself in the handshake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerInfo {
    /// `capabilities` (an empty object when the server sent none).
    pub capabilities: Value,
    /// `serverInfo` (in the result, or in its `_meta` on 2026-07-28), if given.
    pub server_info: Option<Value>,
    /// `instructions`, if given.
    pub instructions: Option<String>,
}

/// One client's protocol state: the version in use, the next id, what the server offered, and
/// the `x-mcp-header` parameters of the tools it listed.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    version: Option<ProtocolVersion>,
    ids: IdAllocator,
    server: ServerInfo,
    handshake: era::Handshake,
    pending: Pending,
    tool_headers: HashMap<String, Vec<(String, String)>>,
}

impl ClientSession {
    /// A session that has not shaken hands yet.
    pub fn new(config: ClientConfig) -> Self {
        let handshake = era::Handshake::new(config.era);
        ClientSession {
            config,
            version: None,
            ids: IdAllocator::default(),
            server: ServerInfo::default(),
            handshake,
            pending: Pending::default(),
            tool_headers: HashMap::new(),
        }
    }

    /// The protocol version in use (after the handshake, or once a fixed era names one).
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// What the server said about itself.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// The value of the `MCP-Protocol-Version` header for requests after the handshake.
    pub fn version_header(&self) -> Option<&'static str> {
        self.version.map(ProtocolVersion::as_str)
    }

    /// Keep the tools whose `x-mcp-header` annotations are valid, remembering their header
    /// parameters for later calls; the others are dropped, as SEP-2243 asks, and returned with
    /// the reason (for the caller to log).
    pub fn accept_tools(
        &mut self,
        tools: Vec<Value>,
    ) -> (Vec<Value>, Vec<(String, ToolHeaderError)>) {
        let mut kept = Vec::with_capacity(tools.len());
        let mut dropped = Vec::new();
        for tool in tools {
            let name = tool
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
            match crate::streamable_http::tool_header_params(schema) {
                Ok(params) => {
                    self.tool_headers.insert(name, params);
                    kept.push(tool);
                }
                Err(e) => {
                    self.tool_headers.remove(&name);
                    dropped.push((name, e));
                }
            }
        }
        (kept, dropped)
    }
}
