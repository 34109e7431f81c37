//! Server-to-client input: elicitation, sampling and roots. On legacy revisions the server sends
//! them as JSON-RPC requests; on 2026-07-28 it returns an `input_required` result naming them, and
//! the client retries the original request with `inputResponses`.

use super::meta::ResultEnvelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `elicitation/create`.
pub const ELICIT: &str = "elicitation/create";
/// `sampling/createMessage`.
pub const CREATE_MESSAGE: &str = "sampling/createMessage";
/// `roots/list`.
pub const LIST_ROOTS: &str = "roots/list";

/// One request embedded in an `input_required` result (no id, no jsonrpc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRequest {
    /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
    pub method: String,
    /// The request's params.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A 2026-07-28 result asking the client for input before the request can finish.
#[derive(Debug, Clone, Serialize)]
pub struct InputRequiredResult {
    /// What the server needs, by server-chosen key.
    #[serde(rename = "inputRequests")]
    pub input_requests: BTreeMap<String, InputRequest>,
    /// Opaque state the client echoes back.
    #[serde(rename = "requestState", skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// `resultType: "input_required"` and server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}
