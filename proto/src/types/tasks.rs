//! Tasks on the wire, for the 2025-11-25 experimental tasks and the 2026-07-28 tasks extension:
//! states, params, and the results that show a task ([`Task`] and [`LegacyTask`], the two eras'
//! task objects, and the results built around them). The task machinery is the server's; this
//! only names what crosses the wire.

use super::input::InputRequest;
use super::meta::{RequestMeta, ResultType};
use crate::jsonrpc::ErrorObject;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// A task as 2026-07-28 shows it (durations in `ttlMs`, `pollIntervalMs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The task.
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// Why it is in that status (failed: the error's message; cancelled: who cancelled).
    #[serde(
        rename = "statusMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_message: Option<String>,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// RFC 3339 time of the last change of status.
    #[serde(rename = "lastUpdatedAt")]
    pub last_updated_at: String,
    /// How long the task is kept after it was created, in milliseconds.
    #[serde(rename = "ttlMs")]
    pub ttl_ms: u64,
    /// How often to poll `tasks/get`, in milliseconds.
    #[serde(rename = "pollIntervalMs")]
    pub poll_interval_ms: u64,
}

/// A task as the 2025-11-25 experimental tasks show it: [`Task`] with `ttl` and `pollInterval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyTask {
    /// The task.
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// Why it is in that status.
    #[serde(
        rename = "statusMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_message: Option<String>,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// RFC 3339 time of the last change of status.
    #[serde(rename = "lastUpdatedAt")]
    pub last_updated_at: String,
    /// How long the task is kept after it was created, in milliseconds.
    pub ttl: u64,
    /// How often to poll `tasks/get`, in milliseconds.
    #[serde(rename = "pollInterval")]
    pub poll_interval: u64,
}

impl From<Task> for LegacyTask {
    fn from(t: Task) -> Self {
        LegacyTask {
            task_id: t.task_id,
            status: t.status,
            status_message: t.status_message,
            created_at: t.created_at,
            last_updated_at: t.last_updated_at,
            ttl: t.ttl_ms,
            poll_interval: t.poll_interval_ms,
        }
    }
}

/// 2026-07-28 `CreateTaskResult`: the task, flat, with `resultType: "task"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateTaskResult {
    /// The task just created.
    #[serde(flatten)]
    pub task: Task,
    /// Always [`ResultType::Task`].
    #[serde(rename = "resultType")]
    pub result_type: ResultType,
    /// Result `_meta` (server info).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Arc<RawValue>>,
}

impl CreateTaskResult {
    /// The result announcing `task`.
    pub fn new(task: Task, meta: Option<Arc<RawValue>>) -> Self {
        CreateTaskResult {
            task,
            result_type: ResultType::Task,
            meta,
        }
    }
}

/// 2026-07-28 `tasks/get`: the task, flat, with what its status carries: the input requests
/// while `input_required`, the call's result once `completed`, its error once `failed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetTaskResult {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// What the task waits for, by key (`tasks/update` answers them).
    #[serde(
        rename = "inputRequests",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// The call's result, as the handler wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    /// The call's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// Always [`ResultType::Complete`]: the `tasks/get` request itself is done.
    #[serde(rename = "resultType")]
    pub result_type: ResultType,
    /// Result `_meta` (server info).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Arc<RawValue>>,
}

/// 2025-11-25 `CreateTaskResult`: the task under `task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyCreateTaskResult {
    /// The task just created.
    pub task: LegacyTask,
}

/// 2025-11-25 `tasks/list` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTasksResult {
    /// The caller's tasks, oldest first.
    pub tasks: Vec<LegacyTask>,
    /// Where the next page starts, if there is one.
    #[serde(
        rename = "nextCursor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_cursor: Option<String>,
}

/// The value of [`RELATED_TASK_KEY`] in a 2025-11-25 `_meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedTask {
    /// The task the message belongs to.
    #[serde(rename = "taskId")]
    pub task_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(message: Option<&str>) -> Task {
        Task {
            task_id: "01ab".into(),
            status: TaskStatus::InputRequired,
            status_message: message.map(str::to_owned),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            last_updated_at: "2026-01-01T00:00:01.000Z".into(),
            ttl_ms: 60_000,
            poll_interval_ms: 500,
        }
    }

    fn meta() -> Option<Arc<RawValue>> {
        RawValue::from_string(r#"{"io.modelcontextprotocol/serverInfo":{"name":"s"}}"#.into())
            .ok()
            .map(Arc::from)
    }

    fn json_of<T: Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_two_eras_name_the_durations_differently() {
        assert_eq!(
            json_of(&task(None)),
            json!({"taskId": "01ab", "status": "input_required",
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:01.000Z",
                   "ttlMs": 60000, "pollIntervalMs": 500})
        );
        let legacy = LegacyTask::from(task(Some("why")));
        assert_eq!(
            json_of(&LegacyCreateTaskResult {
                task: legacy.clone()
            }),
            json!({"task": {"taskId": "01ab", "status": "input_required", "statusMessage": "why",
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:01.000Z",
                   "ttl": 60000, "pollInterval": 500}})
        );
        let back: LegacyCreateTaskResult =
            serde_json::from_value(json_of(&LegacyCreateTaskResult {
                task: legacy.clone(),
            }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.task, legacy);
        let list = ListTasksResult {
            tasks: vec![legacy],
            next_cursor: None,
        };
        let value = json_of(&list);
        assert!(value.get("nextCursor").is_none());
        assert_eq!(value["tasks"][0]["ttl"], 60000);
    }

    #[test]
    fn create_task_result_is_flat_with_result_type_task() {
        let created = CreateTaskResult::new(task(None), meta());
        let value = json_of(&created);
        assert_eq!(value["resultType"], "task");
        assert_eq!(value["taskId"], "01ab");
        assert_eq!(value["ttlMs"], 60000);
        assert_eq!(
            value["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "s"
        );
        assert!(value.get("task").is_none());
        let back: CreateTaskResult =
            serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.task, task(None));
        assert_eq!(back.result_type, ResultType::Task);
    }

    #[test]
    fn get_task_result_carries_what_the_status_carries() {
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "elicitation-create-1".to_owned(),
            InputRequest {
                method: "elicitation/create".into(),
                params: Some(json!({"message": "name?"})),
            },
        );
        let got = GetTaskResult {
            task: task(None),
            input_requests: Some(inputs),
            result: None,
            error: None,
            result_type: ResultType::Complete,
            meta: meta(),
        };
        let text = serde_json::to_string(&got).unwrap_or_else(|e| panic!("{e}"));
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value["resultType"], "complete");
        assert_eq!(
            value["inputRequests"]["elicitation-create-1"]["method"],
            "elicitation/create"
        );
        assert!(value.get("result").is_none() && value.get("error").is_none());
        let back: GetTaskResult = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.input_requests, got.input_requests);

        let done = GetTaskResult {
            task: Task {
                status: TaskStatus::Completed,
                ..task(None)
            },
            input_requests: None,
            result: RawValue::from_string(r#"{"content":[]}"#.into()).ok(),
            error: None,
            result_type: ResultType::Complete,
            meta: None,
        };
        let text = serde_json::to_string(&done).unwrap_or_else(|e| panic!("{e}"));
        let back: GetTaskResult = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.result.map(|r| r.get().to_owned()).as_deref(),
            Some(r#"{"content":[]}"#)
        );
        let failed = GetTaskResult {
            task: Task {
                status: TaskStatus::Failed,
                status_message: Some("boom".into()),
                ..task(None)
            },
            input_requests: None,
            result: None,
            error: Some(ErrorObject::new(-32603, "boom")),
            result_type: ResultType::Complete,
            meta: None,
        };
        assert_eq!(
            json_of(&failed)["error"],
            json!({"code": -32603, "message": "boom"})
        );
    }

    #[test]
    fn related_task_meta() {
        assert_eq!(
            json_of(&RelatedTask {
                task_id: "01ab".into()
            }),
            json!({"taskId": "01ab"})
        );
    }
}
