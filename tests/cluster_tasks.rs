//! Tasks across nodes (tasks kept in Redis): a task created through one node is read, listed,
//! awaited, given input and cancelled through the others, in both eras (2025-11-25 tasks in a
//! legacy session, the 2026-07-28 tasks extension), and a task whose node is killed ends
//! `failed` within the node's lease, for whoever reads it. The nodes serve the conformance
//! fixtures, whose task tools sleep (`slow_compute`) and ask for input (`multi_input`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::nodes::*;
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Options of every node here: the fixtures with task tools, a short polling interval.
const NODE_ARGS: &[&str] = &["--fixtures", "conformance", "--task-poll-ms", "100"];

/// A 2026-07-28 request through `port` from a client that speaks the tasks extension and
/// elicitation; `Mcp-Name` as the method wants it.
fn modern(port: u16, id: i64, method: &str, params: Value) -> HttpResponse {
    let name = match method {
        "tools/call" => params["name"].as_str(),
        _ => params["taskId"].as_str(),
    }
    .map(str::to_owned);
    let body = msg::request(id, method)
        .params(params)
        .meta(
            "io.modelcontextprotocol/clientCapabilities",
            json!({"extensions": {"io.modelcontextprotocol/tasks": {}}, "elicitation": {}}),
        )
        .stateless();
    let mut c = HttpClient::connect(port);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    c.send(
        "POST",
        "/mcp",
        &modern_headers(method, name.as_deref()),
        body.text().as_bytes(),
    );
    c.try_response()
        .unwrap_or_else(|e| panic!("{method} through :{port}: {e}"))
}

fn modern_get(port: u16, task: &str) -> Value {
    result_of(
        &modern(port, 50, "tasks/get", json!({ "taskId": task })),
        50,
    )
}

/// Polls `tasks/get` through `port` until the task's status is `status`; the last answer.
fn modern_wait(port: u16, task: &str, status: &str, within: Duration) -> Value {
    let began = Instant::now();
    loop {
        let got = modern_get(port, task);
        if got["status"] == status {
            return got;
        }
        assert!(
            began.elapsed() < within,
            "task {task} through :{port} still {} after {within:?}: {got}",
            got["status"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A 2026-07-28 task of the fixture tool `tool` created through `port`: its id.
fn modern_task(port: u16, tool: &str, arguments: Value) -> String {
    let created = result_of(
        &modern(
            port,
            1,
            "tools/call",
            json!({"name": tool, "arguments": arguments}),
        ),
        1,
    );
    assert_eq!(created["resultType"], "task", "{created}");
    created["taskId"].as_str().unwrap().to_owned()
}

#[test]
fn a_2026_07_28_task_is_read_answered_and_cancelled_through_any_node() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, NODE_ARGS);
    let [n1, n2, n3] = ports(&nodes);
    // Input asked by a handler on n1, seen through n2, answered through n3.
    let id = modern_task(n1, "multi_input", json!({}));
    assert!(id.starts_with("n1."), "a task id names its node: {id}");
    let asked = modern_wait(n2, &id, "input_required", Duration::from_secs(5));
    let requests = asked["inputRequests"].as_object().unwrap();
    assert!(
        requests.contains_key("elicit-1") && requests.contains_key("elicit-2"),
        "{asked}"
    );
    let answers = json!({
        "elicit-1": {"action": "accept", "content": {"name": "Ada"}},
        "elicit-2": {"action": "accept", "content": {"confirm": true}},
    });
    let ack = result_of(
        &modern(
            n3,
            2,
            "tasks/update",
            json!({"taskId": id, "inputResponses": answers}),
        ),
        2,
    );
    assert_eq!(ack["resultType"], "complete", "{ack}");
    let began = Instant::now();
    let done = modern_wait(n2, &id, "completed", Duration::from_secs(5));
    eprintln!(
        "answer through n3 -> completed on n1, seen through n2: {:?}",
        began.elapsed()
    );
    assert_eq!(
        done["result"]["content"][0]["text"], "name=\"Ada\" confirmed=true",
        "{done}"
    );
    assert_eq!(modern_get(n1, &id)["status"], "completed");
    // Cancelled through n2 while it runs on n3; read through n1.
    let long = modern_task(n3, "slow_compute", json!({"seconds": 600}));
    assert_eq!(modern_get(n1, &long)["status"], "working");
    let ack = result_of(&modern(n2, 3, "tasks/cancel", json!({"taskId": long})), 3);
    assert_eq!(ack["resultType"], "complete", "{ack}");
    assert_eq!(modern_get(n1, &long)["status"], "cancelled");
    // The running node stopped the handler: its end never overwrites the cancellation.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(modern_get(n3, &long)["status"], "cancelled");
    // Through the balancer (round robin): every node serves the same task the same way.
    let lb = Haproxy::start([n1, n2, n3]);
    let mut served = std::collections::BTreeSet::new();
    for i in 0..6 {
        let r = modern(lb.port, 60 + i, "tasks/get", json!({"taskId": id}));
        served.insert(served_by(&r));
        assert_eq!(result_of(&r, 60 + i)["status"], "completed");
    }
    assert_eq!(served.len(), 3, "every node answered: {served:?}");
    // An unknown task is not found on any node.
    for port in [n1, n2, n3] {
        let r = modern(port, 4, "tasks/get", json!({"taskId": "n2.00nope"}));
        assert_eq!(answer(&r, 4)["error"]["code"], -32602, "{}", r.body_text());
    }
}

#[test]
fn a_2025_11_25_task_is_polled_listed_awaited_and_cancelled_through_any_node() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, NODE_ARGS);
    let [n1, n2, n3] = ports(&nodes);
    let (sid, _) = open_session(n1, V1125);
    let call = |id: i64, seconds: u64| {
        msg::call(id, "slow_compute")
            .args(json!({ "seconds": seconds }))
            .param("task", json!({"ttl": 60000}))
            .value()
    };
    let send = |port: u16, body: Value| legacy(port, &sid, V1125, &body).unwrap();
    let created = result_of(&send(n1, call(2, 2)), 2);
    let id = created["task"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(created["task"]["status"], "working", "{created}");
    let get = |port: u16, rid: i64, id: &str| {
        result_of(
            &send(port, rpc(rid, "tasks/get", json!({ "taskId": id }))),
            rid,
        )
    };
    assert_eq!(get(n2, 3, &id)["status"], "working");
    let listed = result_of(&send(n3, rpc(4, "tasks/list", json!({}))), 4);
    assert!(
        listed["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["taskId"] == id.as_str()),
        "{listed}"
    );
    // tasks/result through n2 waits for the end of the handler on n1.
    let began = Instant::now();
    let result = result_of(
        &send(n2, rpc(5, "tasks/result", json!({ "taskId": id }))),
        5,
    );
    eprintln!(
        "tasks/result through n2 answered after {:?}",
        began.elapsed()
    );
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("completed after 2 seconds"),
        "{result}"
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    assert_eq!(get(n3, 6, &id)["status"], "completed");
    // A running task cancelled through n3, read through n2; cancelling an ended task is an error.
    let long = result_of(&send(n1, call(7, 600)), 7)["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = result_of(
        &send(n3, rpc(8, "tasks/cancel", json!({ "taskId": long }))),
        8,
    );
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(get(n2, 9, &long)["status"], "cancelled");
    let again = send(n2, rpc(10, "tasks/cancel", json!({ "taskId": long })));
    assert_eq!(answer(&again, 10)["error"]["code"], -32602);
    // Both tasks, oldest first, through every node.
    for port in [n1, n2, n3] {
        let listed = result_of(&send(port, rpc(11, "tasks/list", json!({}))), 11);
        let ids: Vec<&str> = listed["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["taskId"].as_str())
            .collect();
        assert_eq!(ids, [id.as_str(), long.as_str()], "through :{port}");
    }
}

/// kill -9 of the node running a task: the node's lease lapses (5 s) and whoever reads the task
/// next marks it failed, naming the node; it is never left working.
#[test]
fn a_task_of_a_killed_node_ends_failed_within_the_lease() {
    let redis = Redis::new();
    let mut nodes = cluster_nodes(&redis, NODE_ARGS);
    let [n1, n2, n3] = ports(&nodes);
    let id = modern_task(n1, "slow_compute", json!({"seconds": 600}));
    assert_eq!(modern_get(n2, &id)["status"], "working");
    nodes[0].child.kill().unwrap();
    let killed = Instant::now();
    let failed = modern_wait(n2, &id, "failed", Duration::from_secs(10));
    let took = killed.elapsed();
    eprintln!("task of the killed node failed after {took:?}");
    assert!(
        took < Duration::from_secs(7),
        "failed within the 5 s lease (and a poll): {took:?}"
    );
    assert!(
        failed["statusMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("node n1 stopped"),
        "{failed}"
    );
    assert_eq!(modern_get(n3, &id)["status"], "failed");
}
