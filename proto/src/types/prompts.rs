//! Prompts: `prompts/list` and `prompts/get`.

use super::content::Content;
use super::meta::{RequestMeta, ResultEnvelope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An argument a prompt takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptArgument {
    /// Name.
    pub name: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Must be given.
    pub required: bool,
}

/// A prompt template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prompt {
    /// Name.
    pub name: String,
    /// Display title (2025-06-18+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments.
    pub arguments: Vec<PromptArgument>,
}

/// `prompts/list` result.
#[derive(Debug, Clone, Serialize)]
pub struct ListPromptsResult<'a> {
    /// One page.
    pub prompts: &'a [Prompt],
    /// Next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `prompts/get` params.
#[derive(Debug, Clone, Deserialize)]
pub struct GetPromptParams {
    /// Prompt name.
    pub name: String,
    /// Argument values (strings).
    #[serde(default)]
    pub arguments: Option<BTreeMap<String, String>>,
    /// 2026-07-28 multi round-trip answers.
    #[serde(rename = "inputResponses", default)]
    pub input_responses: Option<Map<String, Value>>,
    /// 2026-07-28 multi round-trip state.
    #[serde(rename = "requestState", default)]
    pub request_state: Option<String>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// Who says a prompt message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a rendered prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptMessage {
    /// Speaker.
    pub role: Role,
    /// Content.
    pub content: Content,
}

/// `prompts/get` result.
#[derive(Debug, Clone, Serialize)]
pub struct GetPromptResult {
    /// Description of the rendered prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
    /// resultType, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}
