//! Task states shared by the 2025-11-25 experimental tasks and the 2026-07-28 tasks extension.
//! The task machinery itself lands with the HTTP transport; this names its wire states.

use super::meta::RequestMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The 2026-07-28 tasks extension's identifier (capability key, `_meta` prefix).
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// `_meta` key tying a 2025-11-25 message to its task.
pub const RELATED_TASK_KEY: &str = "io.modelcontextprotocol/related-task";

/// Lifecycle state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the client.
    InputRequired,
    /// Done with a result.
    Completed,
    /// Done with an error.
    Failed,
    /// Cancelled by the client.
    Cancelled,
}

impl TaskStatus {
    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// Whether (and how) a tool runs as a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskSupport {
    /// Never a task.
    #[default]
    Forbidden,
    /// A task when the client supports tasks, synchronous otherwise.
    Optional,
    /// Only as a task: refused (-32021) when the client does not support tasks.
    Required,
}

/// `tasks/get`, `tasks/cancel`, `tasks/result` params.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskIdParams {
    /// The task.
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// `tasks/update` params (2026-07-28).
#[derive(Debug, Clone, Deserialize)]
pub struct TaskUpdateParams {
    /// The task.
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Answers to the task's input requests, by key (unknown keys are ignored).
    #[serde(rename = "inputResponses", default)]
    pub input_responses: Option<Map<String, Value>>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
