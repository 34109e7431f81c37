//! Argument completion: `completion/complete`.

use super::meta::{RequestMeta, ResultEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is being completed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum CompletionRef {
    /// A prompt argument.
    #[serde(rename = "ref/prompt")]
    Prompt {
        /// Prompt name.
        name: String,
    },
    /// A resource template variable.
    #[serde(rename = "ref/resource")]
    Resource {
        /// URI template.
        uri: String,
    },
}

/// The argument being typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CompletionArgument {
    /// Argument name.
    pub name: String,
    /// What the user typed so far.
    pub value: String,
}

/// Already-resolved arguments (2025-06-18+).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CompletionContext {
    /// Argument values.
    #[serde(default)]
    pub arguments: BTreeMap<String, String>,
}

/// `completion/complete` params.
#[derive(Debug, Clone, Deserialize)]
pub struct CompleteParams {
    /// Prompt or resource template.
    #[serde(rename = "ref")]
    pub reference: CompletionRef,
    /// The argument.
    pub argument: CompletionArgument,
    /// Context.
    #[serde(default)]
    pub context: Option<CompletionContext>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// Completion values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completion {
    /// Up to 100 values.
    pub values: Vec<String>,
    /// Total number of matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// More than `values` exist.
    #[serde(rename = "hasMore")]
    pub has_more: bool,
}

/// `completion/complete` result.
#[derive(Debug, Clone, Serialize)]
pub struct CompleteResult {
    /// The values.
    pub completion: Completion,
    /// resultType, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}
