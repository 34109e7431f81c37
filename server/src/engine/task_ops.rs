//! Requests about tasks: `tasks/get`, `tasks/update`, `tasks/cancel`, `tasks/result` and
//! (2025-11-25) `tasks/list`, answered from the shard's task store. Creating a task is the call's
//! business (`calls.rs`); this file only reads and steers existing ones.

use super::errors::missing_tasks_extension;
use super::reply::Sink;
use super::{Call, McpService};
use crate::service::{
    detailed_modern, legacy_list, legacy_payload, legacy_task, settle, store_error,
};
use crate::store::{Lookup, StoreError};
use ringmcp_proto::jsonrpc::{code, ErrorObject, RequestId};
use ringmcp_proto::types::{ResultEnvelope, ResultType, TASKS_EXTENSION};
use serde_json::{json, Map, Value};

/// What a `tasks/*` request asks.
pub(super) enum TaskOp {
    Get,
    Update(Map<String, Value>),
    Cancel,
    Result,
}

fn not_found(task_id: &str) -> ErrorObject {
    ErrorObject::invalid_params("Failed to retrieve task: Task not found")
        .with_data(json!({ "taskId": task_id }))
}

/// Answer `call` once the store has: `found` with the task's answer, "Task not found" when there
/// is none, -32000 when the store could not tell. At once when the store answers at once.
fn answer<T: 'static>(
    sink: &Sink,
    call: &Call,
    task_id: &str,
    lookup: Lookup<Result<Option<T>, StoreError>>,
    found: impl FnOnce(&Sink, &RequestId, T) + 'static,
) {
    let reply =
        |sink: &Sink, id: &RequestId, task_id: &str, r: Result<Option<T>, StoreError>| match r {
            Ok(Some(task)) => found(sink, id, task),
            Ok(None) => sink.error(Some(id), &not_found(task_id)),
            Err(e) => sink.error(Some(id), &store_error(e)),
        };
    match lookup.now() {
        Ok(r) => reply(sink, &call.id, task_id, r),
        Err(later) => {
            let (sink, id, task_id) = (sink.clone(), call.id.clone(), task_id.to_owned());
            settle(later, move |r| reply(&sink, &id, &task_id, r));
        }
    }
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
        // The same acknowledgement in both eras (a legacy client may send `tasks/update` too).
        let ack = ResultEnvelope {
            result_type: Some(ResultType::Complete),
            meta: Some(self.shape.server_meta.clone()),
            ..ResultEnvelope::default()
        };
        match (op, modern.is_some()) {
            (TaskOp::Get, true) => {
                let meta = self.shape.server_meta.clone();
                let lookup = self.tasks.load(task_id);
                answer(sink, call, task_id, lookup, move |sink, id, task| {
                    sink.result(id, &detailed_modern(task, &meta))
                })
            }
            (TaskOp::Get, false) => {
                let lookup = self.tasks.load(task_id);
                answer(sink, call, task_id, lookup, |sink, id, task| {
                    sink.result(id, &legacy_task(task.info))
                })
            }
            (TaskOp::Update(responses), _) => {
                let lookup = self.tasks.answer(task_id, responses);
                answer(sink, call, task_id, lookup, move |sink, id, _| {
                    sink.result(id, &ack)
                })
            }
            (TaskOp::Cancel, true) => {
                let lookup = self.tasks.cancel(task_id);
                answer(sink, call, task_id, lookup, move |sink, id, _| {
                    sink.result(id, &ack)
                })
            }
            (TaskOp::Cancel, false) => {
                let lookup = self.tasks.cancel(task_id);
                answer(sink, call, task_id, lookup, |sink, id, changed| {
                    if changed.from.is_terminal() {
                        let e = ErrorObject::invalid_params(format!(
                            "Cannot cancel task: already in terminal status '{}'",
                            json!(changed.from).as_str().unwrap_or("")
                        ));
                        return sink.error(Some(id), &e);
                    }
                    sink.result(id, &legacy_task(changed.task))
                })
            }
            (TaskOp::Result, _) => {
                let tasks = self.tasks.clone();
                let lookup = self.tasks.load(task_id);
                answer(sink, call, task_id, lookup, move |sink, id, task| {
                    let payload = |sink: &Sink, id: &RequestId, task| match legacy_payload(task) {
                        Ok(result) => sink.result(id, &result),
                        Err(e) => sink.error(Some(id), &e),
                    };
                    if task.info.status.is_terminal() {
                        return payload(sink, id, task);
                    }
                    let (sink, id) = (sink.clone(), id.clone());
                    glommio::spawn_local(async move {
                        match tasks.finished(&task.info.id).await {
                            Ok(Some(task)) if !task.info.status.is_terminal() => {
                                let e = ErrorObject::new(
                                    code::SERVER_BUSY,
                                    "task still running after its time to live; ask again",
                                )
                                .with_data(json!({ "taskId": task.info.id }));
                                sink.error(Some(&id), &e)
                            }
                            Ok(Some(task)) => payload(&sink, &id, task),
                            Ok(None) => sink.error(Some(&id), &not_found(&task.info.id)),
                            Err(e) => sink.error(Some(&id), &store_error(e)),
                        }
                    })
                    .detach();
                })
            }
        }
    }

    /// `tasks/list` (2025-11-25): the tasks this session owns.
    pub(super) fn task_list(&self, sink: &Sink, call: &Call) {
        let lookup = self.tasks.owned_by(sink.session());
        let reply = |sink: &Sink, id: &RequestId, r| match r {
            Ok(tasks) => sink.result(id, &legacy_list(tasks)),
            Err(e) => sink.error(Some(id), &store_error(e)),
        };
        match lookup.now() {
            Ok(r) => reply(sink, &call.id, r),
            Err(later) => {
                let (sink, id) = (sink.clone(), call.id.clone());
                settle(later, move |r| reply(&sink, &id, r));
            }
        }
    }
}
