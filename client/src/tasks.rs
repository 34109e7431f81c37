//! Tasks, blocking, in both eras: a tool call made a task (2025-11-25 `params.task`, or the
//! 2026-07-28 tasks extension), `tasks/get`, `tasks/result`, `tasks/cancel`, `tasks/list`, and
//! waiting for a task by polling at the interval the server asks. The messages are built in
//! `ringmcp_proto::client`; this file only sends them and sleeps between polls.

use crate::blocking::{Client, ClientError};
use crate::calls::Watch;
use ringmcp_proto::client::{is_terminal, task_of};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The poll interval when the server names none.
const DEFAULT_POLL: Duration = Duration::from_millis(500);
/// The longest pause between polls, whatever the server asks.
const MAX_POLL: Duration = Duration::from_secs(5);

impl Client {
    /// `tools/call` as a task (`ttl_ms`: how long the server keeps it, on 2025-11-25). The answer
    /// as the server sent it: a task (see [`ringmcp_proto::client::task_of`]), or the tool's
    /// result when the server ran it at once.
    pub fn call_tool_as_task(
        &mut self,
        name: &str,
        arguments: Value,
        ttl_ms: Option<u64>,
    ) -> Result<Value, ClientError> {
        let params = json!({ "name": name, "arguments": arguments });
        let out = self.session.call_as_task("tools/call", params, ttl_ms)?;
        self.drive(out, &mut Watch::default())
    }

    fn task_op(&mut self, method: &str, task_id: &str) -> Result<Value, ClientError> {
        let out = self
            .session
            .task_request(method, json!({ "taskId": task_id }))?;
        self.drive(out, &mut Watch::default())
    }

    /// `tasks/get`: the task's status.
    pub fn get_task(&mut self, task_id: &str) -> Result<Value, ClientError> {
        self.task_op("tasks/get", task_id)
    }

    /// `tasks/result` (2025-11-25): the result of a finished task (the server may hold the
    /// answer until it is). A 2026-07-28 task carries its result in `tasks/get` instead.
    pub fn task_result(&mut self, task_id: &str) -> Result<Value, ClientError> {
        self.task_op("tasks/result", task_id)
    }

    /// `tasks/cancel`.
    pub fn cancel_task(&mut self, task_id: &str) -> Result<Value, ClientError> {
        self.task_op("tasks/cancel", task_id)
    }

    /// `tasks/list`, every page (2025-11-25; a 2026-07-28 task has no owner to list it for).
    pub fn list_tasks(&mut self) -> Result<Vec<Value>, ClientError> {
        self.paged("tasks/list", "tasks", true)
    }

    /// Poll `tasks/get` at the server's interval until the task is final or `timeout` passes;
    /// then, on 2025-11-25, fetch its result with `tasks/result` (a final 2026-07-28 task is
    /// returned as `tasks/get` shows it, result included).
    pub fn wait_task(&mut self, task_id: &str, timeout: Duration) -> Result<Value, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.get_task(task_id)?;
            // 2025-11-25 answers with the task itself; some servers wrap it as a call result does.
            let task = task_of(&got).unwrap_or(&got);
            let status = task
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if is_terminal(status) {
                if self.version().is_some_and(|v| v.is_modern()) {
                    return Ok(got);
                }
                return self.task_result(task_id);
            }
            let pause = task
                .get("pollIntervalMs")
                .or_else(|| task.get("pollInterval"))
                .and_then(Value::as_u64)
                .map_or(DEFAULT_POLL, Duration::from_millis)
                .min(MAX_POLL);
            if Instant::now() + pause > deadline {
                return Err(ClientError::TimedOut(format!("task {task_id}")));
            }
            std::thread::sleep(pause);
        }
    }
}
