//! Tasks from the client's side, sans-IO, in both eras: a task-augmented call (2025-11-25:
//! `params.task`; 2026-07-28: the `io.modelcontextprotocol/tasks` extension declared in the
//! request's client capabilities, which `tasks/*` requests need too), the task a call's result
//! names when the server made it one, and which statuses are final. Polling and waiting belong
//! to the caller.

use super::{ClientError, ClientSession, Outgoing};
use crate::types::meta::CLIENT_CAPABILITIES_KEY;
use crate::types::TASKS_EXTENSION;
use serde_json::{json, Map, Value};

/// Add the tasks extension to the client capabilities in a 2026-07-28 request's `_meta`.
pub(crate) fn declare_tasks_extension(params: &mut Map<String, Value>) {
    let Some(Value::Object(meta)) = params.get_mut("_meta") else {
        return;
    };
    let caps = meta
        .entry(CLIENT_CAPABILITIES_KEY)
        .or_insert_with(|| json!({}));
    if !caps.is_object() {
        *caps = json!({});
    }
    let extensions = &mut caps["extensions"];
    if !extensions.is_object() {
        *extensions = json!({});
    }
    extensions[TASKS_EXTENSION] = json!({});
}

/// The task a call's result names, if the server answered with one: on 2026-07-28 the result
/// itself (`resultType: "task"`), on 2025-11-25 its `task` object.
pub fn task_of(result: &Value) -> Option<&Value> {
    if result.get("resultType").and_then(Value::as_str) == Some("task") {
        return Some(result);
    }
    result
        .get("task")
        .filter(|t| t.get("taskId").is_some_and(Value::is_string))
}

/// Whether a task status is final (its result, or its failure, is ready).
pub fn is_terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

impl ClientSession {
    /// Start `method` as a task: on 2025-11-25 with `params.task` (`ttl` in milliseconds when
    /// given), on 2026-07-28 declaring the tasks extension, where the server decides.
    pub fn call_as_task(
        &mut self,
        method: &str,
        params: Value,
        ttl_ms: Option<u64>,
    ) -> Result<Outgoing, ClientError> {
        let mut params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(ClientError::Malformed("params must be an object".into())),
        };
        if !self.version.is_some_and(|v| v.is_modern()) {
            let mut task = Map::new();
            if let Some(ttl) = ttl_ms {
                task.insert("ttl".into(), ttl.into());
            }
            params.insert("task".into(), Value::Object(task));
        }
        self.start(method, Value::Object(params), true)
    }

    /// A `tasks/*` request (`tasks/get`, `tasks/result`, `tasks/cancel`, `tasks/list`), with the
    /// tasks extension declared on 2026-07-28.
    pub fn task_request(&mut self, method: &str, params: Value) -> Result<Outgoing, ClientError> {
        self.start(method, params, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_found_in_either_era_and_the_extension_is_declared() {
        let modern = json!({"resultType":"task","taskId":"t1","status":"working"});
        assert_eq!(task_of(&modern), Some(&modern));
        let legacy = json!({"task":{"taskId":"t2","status":"working"}});
        assert_eq!(
            task_of(&legacy).and_then(|t| t["taskId"].as_str()),
            Some("t2")
        );
        assert_eq!(task_of(&json!({"content":[]})), None);
        assert!(is_terminal("completed") && !is_terminal("working"));
        let mut params = Map::new();
        params.insert(
            "_meta".into(),
            json!({ CLIENT_CAPABILITIES_KEY: {"roots": {}} }),
        );
        declare_tasks_extension(&mut params);
        assert_eq!(
            params["_meta"][CLIENT_CAPABILITIES_KEY],
            json!({"roots": {}, "extensions": {TASKS_EXTENSION: {}}})
        );
    }
}
