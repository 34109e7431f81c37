//! Tasks as the client sees them: the wire shapes of `ringmcp_proto::types::tasks`, built from
//! the stored state ([`TaskInfo`], [`TaskState`]) for each era. Reads no live state and changes
//! nothing.

use crate::store::{TaskInfo, TaskState};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::{
    CreateTaskResult, GetTaskResult, LegacyCreateTaskResult, LegacyTask, ListTasksResult,
    RelatedTask, ResultType, Task, TaskStatus, RELATED_TASK_KEY,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The 2026-07-28 task object.
fn task(info: TaskInfo) -> Task {
    Task {
        task_id: info.id,
        status: info.status,
        status_message: info.status_message,
        created_at: info.created_at,
        last_updated_at: info.updated_at,
        ttl_ms: info.ttl_ms,
        poll_interval_ms: info.poll_ms,
    }
}

/// 2025-11-25 `tasks/get` and `tasks/cancel`: the task, flat.
pub(crate) fn legacy_task(info: TaskInfo) -> LegacyTask {
    task(info).into()
}

/// The 2026-07-28 `CreateTaskResult` (flat, `resultType: "task"`).
pub(crate) fn created_modern(info: TaskInfo, server_meta: &Arc<RawValue>) -> CreateTaskResult {
    CreateTaskResult::new(task(info), Some(server_meta.clone()))
}

/// The 2025-11-25 `CreateTaskResult` (`{task: {...}}`).
pub(crate) fn created_legacy(info: TaskInfo) -> LegacyCreateTaskResult {
    LegacyCreateTaskResult {
        task: legacy_task(info),
    }
}

/// 2026-07-28 `tasks/get`: the task plus its inputs, result or error.
pub(crate) fn detailed_modern(state: TaskState, server_meta: &Arc<RawValue>) -> GetTaskResult {
    let TaskState {
        info,
        result,
        error,
        inputs,
        ..
    } = state;
    let status = info.status;
    GetTaskResult {
        task: task(info),
        input_requests: (status == TaskStatus::InputRequired).then(|| inputs.into_iter().collect()),
        result: result.filter(|_| status == TaskStatus::Completed),
        error: error.filter(|_| status == TaskStatus::Failed),
        result_type: ResultType::Complete,
        meta: Some(server_meta.clone()),
    }
}

/// The params of a 2026-07-28 `notifications/tasks/status`: the task as `tasks/get` shows it,
/// without the result's envelope (a notification has none), as a JSON object's text.
pub(crate) fn status_params(state: TaskState) -> String {
    let no_meta: Arc<RawValue> = Arc::from(RawValue::NULL.to_owned());
    let mut detailed =
        serde_json::to_value(detailed_modern(state, &no_meta)).unwrap_or(Value::Null);
    if let Some(fields) = detailed.as_object_mut() {
        fields.remove("resultType");
        fields.remove("_meta");
    }
    detailed.to_string()
}

/// 2025-11-25 `tasks/list`: the session's tasks.
pub(crate) fn legacy_list(tasks: Vec<TaskInfo>) -> ListTasksResult {
    ListTasksResult {
        tasks: tasks.into_iter().map(legacy_task).collect(),
        next_cursor: None,
    }
}

/// 2025-11-25 `tasks/result` once terminal: the call's own result with the related-task
/// `_meta`, or its error.
pub(crate) fn legacy_payload(state: TaskState) -> Result<Value, ErrorObject> {
    if let Some(e) = state.error {
        return Err(e);
    }
    let mut result: Value = match state.result {
        Some(r) => serde_json::from_str(r.get()).unwrap_or(Value::Null),
        None => {
            return Err(ErrorObject::invalid_params(format!(
                "task {} was cancelled",
                state.info.id
            )))
        }
    };
    if let Some(obj) = result.as_object_mut() {
        obj.remove("resultType");
        let meta = obj
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            let related = RelatedTask {
                task_id: state.info.id,
            };
            meta.insert(
                RELATED_TASK_KEY.into(),
                serde_json::to_value(related).unwrap_or(Value::Null),
            );
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    //! The shapes as they were built with `json!` before they were typed: the same JSON.
    use super::*;
    use ringmcp_proto::types::InputRequest;
    use serde_json::json;

    fn info(status: TaskStatus, message: Option<&str>) -> TaskInfo {
        TaskInfo {
            id: "03abcdef".into(),
            owner: None,
            status,
            status_message: message.map(str::to_owned),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:02.000Z".into(),
            created_ms: 0,
            ttl_ms: 60_000,
            poll_ms: 1_000,
        }
    }

    fn meta() -> Arc<RawValue> {
        let raw = RawValue::from_string(
            r#"{"io.modelcontextprotocol/serverInfo":{"name":"demo","version":"1"}}"#.into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Arc::from(raw)
    }

    fn meta_value() -> Value {
        json!({"io.modelcontextprotocol/serverInfo": {"name": "demo", "version": "1"}})
    }

    fn value<T: serde::Serialize>(v: &T) -> Value {
        serde_json::to_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn state(status: TaskStatus, message: Option<&str>) -> TaskState {
        TaskState::new(info(status, message))
    }

    #[test]
    fn created_results_are_the_json_they_were() {
        assert_eq!(
            value(&created_modern(info(TaskStatus::Working, None), &meta())),
            json!({"taskId": "03abcdef", "status": "working",
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:02.000Z",
                   "ttlMs": 60000, "pollIntervalMs": 1000,
                   "resultType": "task", "_meta": meta_value()})
        );
        assert_eq!(
            value(&created_legacy(info(TaskStatus::Working, None))),
            json!({"task": {"taskId": "03abcdef", "status": "working",
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:02.000Z",
                   "ttl": 60000, "pollInterval": 1000}})
        );
        assert_eq!(
            value(&legacy_list(vec![info(
                TaskStatus::Cancelled,
                Some("cancelled by the client")
            )])),
            json!({"tasks": [{"taskId": "03abcdef", "status": "cancelled",
                   "statusMessage": "cancelled by the client",
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:02.000Z",
                   "ttl": 60000, "pollInterval": 1000}]})
        );
    }

    #[test]
    fn modern_get_is_the_json_it_was() {
        let base = |status: &str| {
            json!({"taskId": "03abcdef", "status": status,
                   "createdAt": "2026-01-01T00:00:00.000Z",
                   "lastUpdatedAt": "2026-01-01T00:00:02.000Z",
                   "ttlMs": 60000, "pollIntervalMs": 1000,
                   "resultType": "complete", "_meta": meta_value()})
        };
        assert_eq!(
            value(&detailed_modern(state(TaskStatus::Working, None), &meta())),
            base("working")
        );
        let mut waiting = state(TaskStatus::InputRequired, None);
        waiting.inputs.push((
            "elicitation-create-1".into(),
            InputRequest {
                method: "elicitation/create".into(),
                params: Some(json!({"message": "name?"})),
            },
        ));
        let mut expected = base("input_required");
        expected["inputRequests"] = json!({"elicitation-create-1":
            {"method": "elicitation/create", "params": {"message": "name?"}}});
        assert_eq!(value(&detailed_modern(waiting, &meta())), expected);

        let mut done = state(TaskStatus::Completed, None);
        done.result =
            RawValue::from_string(r#"{"content":[{"type":"text","text":"hi"}]}"#.into()).ok();
        let mut expected = base("completed");
        expected["result"] = json!({"content": [{"type": "text", "text": "hi"}]});
        assert_eq!(value(&detailed_modern(done, &meta())), expected);

        let mut failed = state(TaskStatus::Failed, Some("boom"));
        failed.error = Some(ErrorObject::new(-32603, "boom"));
        let mut expected = base("failed");
        expected["statusMessage"] = json!("boom");
        expected["error"] = json!({"code": -32603, "message": "boom"});
        assert_eq!(value(&detailed_modern(failed, &meta())), expected);
    }

    #[test]
    fn legacy_payload_is_the_result_with_the_related_task() {
        let mut done = state(TaskStatus::Completed, None);
        done.result =
            RawValue::from_string(r#"{"content":[],"resultType":"complete"}"#.into()).ok();
        assert_eq!(
            legacy_payload(done).unwrap_or_else(|e| panic!("{e:?}")),
            json!({"content": [], "_meta": {"io.modelcontextprotocol/related-task":
                   {"taskId": "03abcdef"}}})
        );
        let cancelled = state(TaskStatus::Cancelled, Some("cancelled by the client"));
        assert_eq!(
            legacy_payload(cancelled).err().map(|e| e.message),
            Some("Invalid params: task 03abcdef was cancelled".into())
        );
        let mut failed = state(TaskStatus::Failed, Some("boom"));
        failed.error = Some(ErrorObject::new(-32603, "boom"));
        assert_eq!(legacy_payload(failed).err().map(|e| e.code), Some(-32603));
    }
}
