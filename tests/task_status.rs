//! Task status on a listen stream (the 2026-07-28 tasks extension, SEP-2663), over every
//! transport: a `subscriptions/listen` that names tasks under `io.modelcontextprotocol/tasks`
//! hears `notifications/tasks/status` for each status change of those tasks (the task as
//! `tasks/get` shows it: a completed one with its result), tagged with its subscription id, and
//! nothing of the tasks it did not name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::time::Duration;

/// A 2026-07-28 request from a client that speaks the tasks extension.
fn with_ext(m: msg::Msg) -> msg::Msg {
    m.meta(
        "io.modelcontextprotocol/clientCapabilities",
        json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}),
    )
    .stateless()
}

/// `sleep ms` as a task: its id.
fn sleeping_task(c: &mut Client, id: i64, ms: u64) -> String {
    let created = c.result(with_ext(msg::call(id, "sleep").args(json!({"ms": ms}))));
    assert_eq!(created["resultType"], "task", "{created}");
    created["taskId"].as_str().unwrap().to_owned()
}

fn status_of(c: &mut Client, task: &str) -> Value {
    let n = c.notification("notifications/tasks/status");
    assert_eq!(n["params"]["taskId"], task, "{n}");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "tasks-1",
        "{n}"
    );
    assert!(n["params"].get("resultType").is_none(), "{n}");
    n["params"].clone()
}

fn task_status_on_listen(via: Via) {
    let (s, mut listener) = open(via, &[]);
    // On stdio the one client both listens and works; elsewhere another client works.
    let mut other = match via {
        Via::Stdio => None,
        _ => Some(s.client(via)),
    };
    let long = sleeping_task(other.as_mut().unwrap_or(&mut listener), 1, 60_000);
    let short = sleeping_task(other.as_mut().unwrap_or(&mut listener), 2, 400);
    listener.send(
        msg::request("tasks-1", "subscriptions/listen")
            .param(
                "notifications",
                json!({"io.modelcontextprotocol/tasks": {"taskIds": [long, short]}}),
            )
            .stateless(),
    );
    let ack = listener.notification("notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["notifications"]["io.modelcontextprotocol/tasks"]["taskIds"],
        json!([long, short]),
        "{ack}"
    );

    let done = status_of(&mut listener, &short);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["content"][0]["text"], "slept 400 ms",
        "{done}"
    );

    let worker = other.as_mut().unwrap_or(&mut listener);
    worker.result(with_ext(
        msg::request(3, "tasks/cancel").param("taskId", long.as_str()),
    ));
    let cancelled = status_of(&mut listener, &long);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    // A task the stream did not name is not told.
    let unnamed = sleeping_task(other.as_mut().unwrap_or(&mut listener), 4, 10);
    std::thread::sleep(Duration::from_millis(100));
    let worker = other.as_mut().unwrap_or(&mut listener);
    let got = worker.result(with_ext(
        msg::request(5, "tasks/get").param("taskId", unnamed.as_str()),
    ));
    assert_eq!(got["status"], "completed", "{got}");
    listener.assert_silent(Duration::from_millis(200));
}

for_each_transport!(task_status_on_listen);
