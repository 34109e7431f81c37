//! Resources: list, templates, read, subscribe/unsubscribe (legacy) and update notifications.

use super::content::{Annotations, ResourceContents};
use super::meta::{RequestMeta, ResultEnvelope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A concrete resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// URI.
    pub uri: String,
    /// Name.
    pub name: String,
    /// Display title (2025-06-18+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// A URI template (RFC 6570 level 1) naming a family of resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceTemplate {
    /// The template, e.g. `demo://greeting/{name}`.
    #[serde(rename = "uriTemplate")]
    pub uri_template: String,
    /// Name.
    pub name: String,
    /// Display title (2025-06-18+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// `resources/list` result.
#[derive(Debug, Clone, Serialize)]
pub struct ListResourcesResult<'a> {
    /// One page.
    pub resources: &'a [Resource],
    /// Next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `resources/templates/list` result.
#[derive(Debug, Clone, Serialize)]
pub struct ListResourceTemplatesResult<'a> {
    /// One page.
    #[serde(rename = "resourceTemplates")]
    pub resource_templates: &'a [ResourceTemplate],
    /// Next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `resources/read` params.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadResourceParams {
    /// URI to read.
    pub uri: String,
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

/// `resources/read` result.
#[derive(Debug, Clone, Serialize)]
pub struct ReadResourceResult {
    /// The contents (one or more).
    pub contents: Vec<ResourceContents>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `resources/subscribe` and `resources/unsubscribe` params (legacy).
#[derive(Debug, Clone, Deserialize)]
pub struct SubscribeParams {
    /// URI to watch.
    pub uri: String,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// `subscriptions/listen` filter (2026-07-28).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionFilter {
    /// `notifications/tools/list_changed`.
    #[serde(
        rename = "toolsListChanged",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tools_list_changed: Option<bool>,
    /// `notifications/prompts/list_changed`.
    #[serde(
        rename = "promptsListChanged",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prompts_list_changed: Option<bool>,
    /// `notifications/resources/list_changed`.
    #[serde(
        rename = "resourcesListChanged",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resources_list_changed: Option<bool>,
    /// `notifications/resources/updated` for these URIs.
    #[serde(
        rename = "resourceSubscriptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_subscriptions: Option<Vec<String>>,
    /// `notifications/tasks/status` (the tasks extension, SEP-2663) for these tasks. The
    /// revision defines no key for it yet; this one is the extension's identifier, and names the
    /// tasks by id because a 2026-07-28 task has no owner: its id is what entitles a client to it.
    #[serde(
        rename = "io.modelcontextprotocol/tasks",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tasks: Option<TaskStatusFilter>,
}

/// Which tasks' status changes a listen stream hears.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskStatusFilter {
    /// The tasks, by id.
    #[serde(rename = "taskIds", default)]
    pub task_ids: Vec<String>,
}

/// `subscriptions/listen` params.
#[derive(Debug, Clone, Deserialize)]
pub struct ListenParams {
    /// What to send.
    pub notifications: SubscriptionFilter,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
