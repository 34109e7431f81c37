//! Requests about tasks: `tasks/get`, `tasks/update`, `tasks/cancel`, `tasks/result` and
//! (2025-11-25) `tasks/list`, answered from the shard's task store. Creating a task is the call's
//! business (`calls.rs`); this file only reads and steers existing ones.

use super::errors::missing_tasks_extension;
use super::reply::Sink;
use super::{Call, McpService};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::TASKS_EXTENSION;
use serde_json::{json, Map, Value};

/// What a `tasks/*` request asks.
pub(super) enum TaskOp {
    Get,
    Update(Map<String, Value>),
    Cancel,
    Result,
}

impl McpService {
    /// `tasks/get`, `tasks/update`, `tasks/cancel` and (2025-11-25) `tasks/result`.
    pub(super) fn task_request(&self, sink: &Sink, call: &Call, task_id: &str, op: TaskOp) {
        let modern = call.era.modern();
        // The extension gate comes before the lookup: an undeclared client learns nothing.
        if let Some(m) = modern {
            if !m.has_extension(TASKS_EXTENSION) {
                let e = missing_tasks_extension(format!(
                    "tasks/* needs the {TASKS_EXTENSION} extension"
                ));
                return sink.error(Some(&call.id), &e);
            }
        }
        let Some(task) = self.tasks.get(task_id) else {
            let e = ErrorObject::invalid_params("Failed to retrieve task: Task not found")
                .with_data(json!({ "taskId": task_id }));
            return sink.error(Some(&call.id), &e);
        };
        let ack = || json!({ "resultType": "complete", "_meta": serde_json::from_str::<Value>(self.shape.server_meta.get()).unwrap_or(Value::Null) });
        match (op, modern.is_some()) {
            (TaskOp::Get, true) => {
                sink.result(&call.id, &task.detailed_modern(&self.shape.server_meta))
            }
            (TaskOp::Get, false) => sink.result(&call.id, &task.legacy_task()),
            (TaskOp::Update(responses), _) => {
                task.answer(&responses);
                sink.result(&call.id, &ack())
            }
            (TaskOp::Cancel, true) => {
                task.cancel();
                sink.result(&call.id, &ack())
            }
            (TaskOp::Cancel, false) => {
                if task.status().is_terminal() {
                    let e = ErrorObject::invalid_params(format!(
                        "Cannot cancel task: already in terminal status '{}'",
                        json!(task.status()).as_str().unwrap_or("")
                    ));
                    return sink.error(Some(&call.id), &e);
                }
                task.cancel();
                sink.result(&call.id, &task.legacy_task())
            }
            (TaskOp::Result, _) => {
                let sink = sink.clone();
                let id = call.id.clone();
                glommio::spawn_local(async move {
                    task.finished().await;
                    match task.legacy_payload() {
                        Ok(result) => sink.result(&id, &result),
                        Err(e) => sink.error(Some(&id), &e),
                    }
                })
                .detach();
            }
        }
    }

    /// `tasks/list` (2025-11-25): the tasks this session owns.
    pub(super) fn task_list(&self, sink: &Sink, call: &Call) {
        let tasks: Vec<Value> = self
            .tasks
            .of_session(sink.session())
            .iter()
            .map(|t| t.legacy_task())
            .collect();
        sink.result(&call.id, &json!({ "tasks": tasks }))
    }
}
