//! Tools: `tools/list` and `tools/call`.

use super::content::Content;
use super::meta::{RequestMeta, ResultEnvelope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Behaviour hints about a tool (2025-03-26+).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolAnnotations {
    /// Display title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Does not modify its environment.
    #[serde(rename = "readOnlyHint", skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// May destroy data.
    #[serde(rename = "destructiveHint", skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call has no further effect.
    #[serde(rename = "idempotentHint", skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// Talks to the outside world.
    #[serde(rename = "openWorldHint", skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// A tool as listed by `tools/list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// Unique name.
    pub name: String,
    /// Display title (2025-06-18+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (`type: object`).
    #[serde(rename = "inputSchema")]
    pub input_schema: Value,
    /// JSON Schema of `structuredContent` (2025-06-18+).
    #[serde(rename = "outputSchema", skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints (2025-03-26+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// 2025-11-25 `execution` (`{"taskSupport": ...}`); only listed on that revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<Value>,
}

/// `tools/list` result.
#[derive(Debug, Clone, Serialize)]
pub struct ListToolsResult<'a> {
    /// One page of tools.
    pub tools: &'a [Tool],
    /// Cursor of the next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `tools/call` params.
#[derive(Debug, Clone, Deserialize)]
pub struct CallToolParams {
    /// Tool name.
    pub name: String,
    /// Arguments object.
    #[serde(default)]
    pub arguments: Option<Map<String, Value>>,
    /// 2026-07-28 multi round-trip: answers to a previous `input_required` result.
    #[serde(rename = "inputResponses", default)]
    pub input_responses: Option<Map<String, Value>>,
    /// 2026-07-28 multi round-trip: the opaque state echoed back.
    #[serde(rename = "requestState", default)]
    pub request_state: Option<String>,
    /// 2025-11-25 task augmentation (`{ttl?}`); ignored on 2026-07-28.
    #[serde(default)]
    pub task: Option<Value>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// `tools/call` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallToolResult {
    /// Unstructured content.
    pub content: Vec<Content>,
    /// Structured output conforming to the tool's `outputSchema` (2025-06-18+).
    #[serde(rename = "structuredContent", skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// True when the tool failed (the model should see the error).
    #[serde(rename = "isError", skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

impl CallToolResult {
    /// A successful text result.
    pub fn text(text: impl Into<String>) -> Self {
        CallToolResult {
            content: vec![Content::text(text)],
            structured_content: None,
            is_error: None,
        }
    }
    /// A failed result whose text the model sees.
    pub fn error(text: impl Into<String>) -> Self {
        CallToolResult {
            content: vec![Content::text(text)],
            structured_content: None,
            is_error: Some(true),
        }
    }
}
