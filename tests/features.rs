//! MCP features over stdio and TCP: tools, resources, templates, prompts, completion, logging,
//! progress, cancellation, pagination, batches, subscriptions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn methods(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    let tools = c.call(1, "tools/list", Value::Null);
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for want in ["echo", "add", "sleep", "progress"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let add = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "add")
        .unwrap();
    assert_eq!(add["inputSchema"]["type"], "object");
    assert!(
        add["outputSchema"]["properties"]["sum"].is_object(),
        "{add}"
    );
    let r = c.call(
        2,
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3.5}}),
    );
    assert_eq!(r["structuredContent"]["sum"], 5.5, "{r}");
    assert!(
        r.get("resultType").is_none(),
        "legacy results carry no resultType: {r}"
    );
    let r = c.call(3, "resources/list", Value::Null);
    assert!(r["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["uri"] == "demo://counter"));
    let r = c.call(4, "resources/templates/list", Value::Null);
    assert_eq!(
        r["resourceTemplates"][0]["uriTemplate"],
        "demo://greeting/{name}"
    );
    let r = c.call(5, "resources/read", json!({"uri": "demo://greeting/ada"}));
    assert_eq!(r["contents"][0]["text"], "Hello, ada!");
    assert_eq!(r["contents"][0]["uri"], "demo://greeting/ada");
    let r = c.call(6, "resources/read", json!({"uri": "demo://readme"}));
    assert!(r["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("ringmcp demo"));
    let r = c.call(7, "prompts/list", Value::Null);
    assert!(r["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "greet"));
    let r = c.call(
        8,
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Bob", "style": "formal"}}),
    );
    assert_eq!(r["messages"][0]["content"]["text"], "Good day, Bob.");
    let r = c.call(9, "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "a"}}));
    assert_eq!(r["completion"]["values"], json!(["ada", "alan"]), "{r}");
    let r = c.call(10, "completion/complete", json!({"ref": {"type": "ref/resource", "uri": "demo://greeting/{name}"}, "argument": {"name": "name", "value": "g"}}));
    assert_eq!(r["completion"]["values"], json!(["grace"]));
    let e = c.call_err(11, "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "x", "value": ""}}));
    assert_eq!(code(&e), -32602);
}

#[test]
fn methods_stdio() {
    methods(Via::Stdio)
}

#[test]
fn methods_tcp() {
    methods(Via::Tcp)
}

fn progress_and_logging(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    c.request(1, "tools/call", json!({"name": "progress", "arguments": {"steps": 4, "delay_ms": 1}, "_meta": {"progressToken": "tok"}}));
    let mut seen = Vec::new();
    loop {
        let msg = c.next(TIMEOUT).expect("progress or result");
        if msg.get("id") == Some(&json!(1)) {
            assert_eq!(text_of(&msg["result"]), "done 4 steps");
            break;
        }
        assert_eq!(msg["method"], "notifications/progress", "{msg}");
        assert_eq!(msg["params"]["progressToken"], "tok");
        seen.push(msg["params"]["progress"].as_f64().unwrap());
    }
    assert_eq!(
        seen,
        vec![1.0, 2.0, 3.0, 4.0],
        "one notification per step, increasing"
    );
    // No token, no progress.
    c.request(
        2,
        "tools/call",
        json!({"name": "progress", "arguments": {"steps": 2, "delay_ms": 1}}),
    );
    let msg = c.next(TIMEOUT).expect("result");
    assert_eq!(
        msg["id"], 2,
        "no notifications without a progressToken: {msg}"
    );
    // Logging honours logging/setLevel.
    assert_eq!(
        c.call(3, "logging/setLevel", json!({"level": "warning"})),
        json!({})
    );
    c.call(
        4,
        "tools/call",
        json!({"name": "log", "arguments": {"level": "info", "message": "quiet"}}),
    );
    c.request(
        5,
        "tools/call",
        json!({"name": "log", "arguments": {"level": "error", "message": "loud"}}),
    );
    let note = c.next(TIMEOUT).expect("log notification");
    assert_eq!(note["method"], "notifications/message", "{note}");
    assert_eq!(
        (
            note["params"]["level"].clone(),
            note["params"]["data"].clone()
        ),
        (json!("error"), json!("loud"))
    );
    c.response(5);
}

#[test]
fn progress_and_logging_stdio() {
    progress_and_logging(Via::Stdio)
}

#[test]
fn progress_and_logging_tcp() {
    progress_and_logging(Via::Tcp)
}

fn cancellation(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    c.request(
        1,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 1500}}),
    );
    std::thread::sleep(Duration::from_millis(100));
    c.notify(
        "notifications/cancelled",
        json!({"requestId": 1, "reason": "changed my mind"}),
    );
    let r = c.call(
        2,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "after"}}),
    );
    assert_eq!(text_of(&r), "after");
    // The cancelled request is never answered, even after its sleep would have ended.
    c.assert_silent(Duration::from_millis(2000));
    // Cancelling something unknown is ignored.
    c.notify("notifications/cancelled", json!({"requestId": 99}));
    assert_eq!(
        text_of(&c.call(
            3,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "ok"}})
        )),
        "ok"
    );
}

#[test]
fn cancellation_stdio() {
    cancellation(Via::Stdio)
}

#[test]
fn cancellation_tcp() {
    cancellation(Via::Tcp)
}

fn pagination(via: Via) {
    let (_s, mut c) = open(via, &["--page-size", "2"]);
    c.initialize("2025-11-25");
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 0..20 {
        let params = match &cursor {
            Some(cur) => json!({"cursor": cur}),
            None => Value::Null,
        };
        let r = c.call(id, "tools/list", params);
        let page = r["tools"].as_array().unwrap();
        assert!(page.len() <= 2);
        names.extend(page.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match r.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(names.len() >= 6, "{names:?}");
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique, names, "no tool twice");
    let e = c.call_err(100, "tools/list", json!({"cursor": "not-a-cursor"}));
    assert_eq!(code(&e), -32602, "{e}");
    // A cursor minted for tools is refused for prompts.
    let first = c.call(101, "tools/list", Value::Null);
    let cur = first["nextCursor"].as_str().unwrap().to_owned();
    let e = c.call_err(102, "prompts/list", json!({"cursor": cur}));
    assert_eq!(code(&e), -32602, "{e}");
}

#[test]
fn pagination_stdio() {
    pagination(Via::Stdio)
}

#[test]
fn pagination_tcp() {
    pagination(Via::Tcp)
}

fn batches(via: Via) {
    let batch = json!([
        {"jsonrpc": "2.0", "id": "a", "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}},
        {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": 20}}},
        {"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}},
        {"jsonrpc": "1.0", "id": "d", "method": "ping"}
    ]);
    // 2025-03-26 must accept batches and answers with an array.
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-03-26");
    c.send(&batch);
    let reply = c.next(TIMEOUT).expect("batch reply");
    let items = reply
        .as_array()
        .unwrap_or_else(|| panic!("batch answered with {reply}"));
    assert_eq!(items.len(), 4, "one answer per request: {reply}");
    let by_id = |id: &str| {
        items
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {reply}"))
    };
    assert_eq!(by_id("a")["result"], json!({}));
    assert_eq!(text_of(&by_id("b")["result"]), "slept 20 ms");
    assert_eq!(text_of(&by_id("c")["result"]), "x");
    assert_eq!(code(&by_id("d")["error"]), -32600);
    // A batch of notifications gets no reply at all.
    c.send(&json!([{"jsonrpc": "2.0", "method": "notifications/initialized"}]));
    c.request(1, "ping", Value::Null);
    assert_eq!(c.next(TIMEOUT).expect("ping answer")["id"], 1);
    // Other revisions refuse batches.
    for version in ["2024-11-05", "2025-06-18", "2025-11-25"] {
        let (_s, mut c) = open(via, &[]);
        c.initialize(version);
        c.send(&batch);
        let r = c.next(TIMEOUT).expect("refusal");
        assert_eq!(
            (code(&r["error"]), r["id"].clone()),
            (-32600, Value::Null),
            "{version}: {r}"
        );
    }
}

#[test]
fn batches_stdio() {
    batches(Via::Stdio)
}

#[test]
fn batches_tcp() {
    batches(Via::Tcp)
}

fn modern_requests(via: Via) {
    let (_s, mut c) = open(via, &[]);
    // No handshake: every request carries its own _meta.
    let d = c.call(1, "server/discover", modern(Value::Null));
    assert!(
        d["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN)),
        "{d}"
    );
    assert!(d["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2025-11-25")));
    assert_eq!(d["resultType"], "complete");
    assert!(d["ttlMs"].is_u64() && d["cacheScope"].is_string(), "{d}");
    assert_eq!(
        d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "ringmcp-demo"
    );
    assert!(d["capabilities"]["tools"].is_object());
    let t = c.call(2, "tools/list", modern(Value::Null));
    assert_eq!(t["resultType"], "complete");
    assert!(t["ttlMs"].is_u64() && t["cacheScope"].is_string(), "{t}");
    let r = c.call(
        3,
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"text": "m"}})),
    );
    assert_eq!(
        (text_of(&r), r["resultType"].clone()),
        ("m".into(), json!("complete"))
    );
    assert!(
        r.get("ttlMs").is_none(),
        "tool results are not cacheable: {r}"
    );
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "ringmcp-demo"
    );
    let r = c.call(4, "resources/read", modern(json!({"uri": "demo://readme"})));
    assert!(
        r["ttlMs"].is_u64() && r["cacheScope"].is_string() && r["resultType"] == "complete",
        "{r}"
    );
    let r = c.call(
        5,
        "prompts/get",
        modern(json!({"name": "greet", "arguments": {"name": "Ann"}})),
    );
    assert_eq!(r["messages"][0]["content"]["text"], "Hello, Ann!");
    let r = c.call(6, "completion/complete", modern(json!({"ref": {"type": "ref/prompt", "name": "haiku"}, "argument": {"name": "colour", "value": "i"}})));
    assert_eq!(r["completion"]["values"], json!(["indigo", "ivory"]));
    // Validation failures are tool results on 2026-07-28.
    let r = c.call(
        7,
        "tools/call",
        modern(json!({"name": "add", "arguments": {"a": 1}})),
    );
    assert_eq!(r["isError"], true);
    // Unsupported version: -32022 with the supported list.
    let mut p = modern(Value::Null);
    p["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let e = c.call_err(8, "tools/list", p);
    assert_eq!(code(&e), -32022, "{e}");
    assert_eq!(e["data"]["requested"], "1900-01-01");
    assert!(e["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!(MODERN)));
    // Missing client capabilities: -32602.
    let e = c.call_err(
        9,
        "tools/list",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}),
    );
    assert_eq!(code(&e), -32602, "{e}");
    // discover without _meta: -32602.
    assert_eq!(
        code(&c.call_err(10, "server/discover", Value::Null)),
        -32602
    );
    // Methods removed in 2026-07-28.
    for (id, method) in [
        (11, "ping"),
        (12, "logging/setLevel"),
        (13, "resources/subscribe"),
    ] {
        let params = if method == "logging/setLevel" {
            json!({"level": "info"})
        } else if method == "ping" {
            json!({})
        } else {
            json!({"uri": "demo://counter"})
        };
        let e = c.call_err(id, method, modern(params));
        assert_eq!(code(&e), -32601, "{method}: {e}");
    }
    // Per-request log level instead of setLevel.
    let mut p = modern(json!({"name": "log", "arguments": {"level": "warning", "message": "w"}}));
    p["_meta"]["io.modelcontextprotocol/logLevel"] = json!("warning");
    c.request(14, "tools/call", p);
    assert_eq!(
        c.notification("notifications/message")["params"]["data"],
        "w"
    );
    c.response(14);
    let p = modern(json!({"name": "log", "arguments": {"level": "emergency", "message": "never"}}));
    c.call(15, "tools/call", p);
    assert!(
        !c.pending
            .iter()
            .any(|m| m["method"] == "notifications/message"),
        "no logLevel, no logs: {:?}",
        c.pending
    );
    // A modern request on a legacy session does not disturb it.
    c.initialize("2025-11-25");
    assert!(c
        .call(16, "tools/list", Value::Null)
        .get("resultType")
        .is_none());
}

#[test]
fn modern_requests_stdio() {
    modern_requests(Via::Stdio)
}

#[test]
fn modern_requests_tcp() {
    modern_requests(Via::Tcp)
}

#[test]
fn resource_updates_reach_subscribers_on_every_shard() {
    let s = Server::tcp(&["--cores", "2"]);
    let mut subscribers: Vec<Client> = (0..8).map(|_| s.connect()).collect();
    for (i, c) in subscribers.iter_mut().enumerate() {
        c.initialize("2025-11-25");
        assert_eq!(
            c.call(
                i as i64,
                "resources/subscribe",
                json!({"uri": "demo://counter"})
            ),
            json!({})
        );
    }
    let mut listener = s.connect();
    listener.request(
        "listen-1",
        "subscriptions/listen",
        modern(json!({"notifications": {"resourceSubscriptions": ["demo://counter"]}})),
    );
    let ack = listener.notification("notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "listen-1"
    );
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"],
        json!(["demo://counter"])
    );
    let mut bumper = s.connect();
    bumper.initialize("2025-11-25");
    // Unsubscribed sessions hear nothing.
    let mut quiet = s.connect();
    quiet.initialize("2025-11-25");
    bumper.call(100, "tools/call", json!({"name": "bump", "arguments": {}}));
    for c in subscribers.iter_mut() {
        let n = c.notification("notifications/resources/updated");
        assert_eq!(n["params"]["uri"], "demo://counter");
    }
    let n = listener.notification("notifications/resources/updated");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "listen-1"
    );
    quiet.assert_silent(Duration::from_millis(200));
    // Unsubscribe stops them.
    subscribers[0].call(
        200,
        "resources/unsubscribe",
        json!({"uri": "demo://counter"}),
    );
    bumper.call(101, "tools/call", json!({"name": "bump", "arguments": {}}));
    subscribers[1].notification("notifications/resources/updated");
    subscribers[0].assert_silent(Duration::from_millis(200));
    let r = subscribers[0].call(201, "resources/read", json!({"uri": "demo://counter"}));
    assert_eq!(r["contents"][0]["text"], "2");
    let e = subscribers[0].call_err(202, "resources/subscribe", json!({"uri": "demo://readme"}));
    assert_eq!(code(&e), -32602, "not subscribable: {e}");
}

#[test]
fn many_connections_many_shards() {
    let s = Server::tcp(&["--cores", "2"]);
    let mut clients: Vec<Client> = (0..64).map(|_| s.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.initialize("2025-11-25");
        c.request(
            i as i64,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": format!("c{i}")}}),
        );
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(text_of(&c.response(i as i64)["result"]), format!("c{i}"));
    }
}

fn modern_input_required(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let mut params = modern(json!({"name": "confirm", "arguments": {"question": "Deploy?"}}));
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({"elicitation": {}});
    let r = c.call(1, "tools/call", params.clone());
    assert_eq!(r["resultType"], "input_required", "{r}");
    let requests = r["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1);
    let (key, req) = requests.iter().next().unwrap();
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(req["params"]["message"], "Deploy?");
    assert_eq!(req["params"]["requestedSchema"]["type"], "object");
    // Retry with the answer under the same key, on a new id.
    params["inputResponses"] =
        json!({ key.clone(): {"action": "accept", "content": {"confirmed": true}} });
    let r = c.call(2, "tools/call", params.clone());
    assert_eq!(
        (text_of(&r), r["resultType"].clone()),
        ("confirmed: yes".into(), json!("complete")),
        "{r}"
    );
    params["inputResponses"] = json!({ key.clone(): {"action": "decline"} });
    assert_eq!(text_of(&c.call(3, "tools/call", params)), "declined");
    // Without the elicitation capability: -32021 naming it.
    let e = c.call_err(
        4,
        "tools/call",
        modern(json!({"name": "confirm", "arguments": {"question": "Deploy?"}})),
    );
    assert_eq!(code(&e), -32021, "{e}");
    assert!(
        e["data"]["requiredCapabilities"]["elicitation"].is_object(),
        "{e}"
    );
    // roots/list the same way.
    let mut params = modern(json!({"name": "roots", "arguments": {}}));
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({"roots": {}});
    let r = c.call(5, "tools/call", params.clone());
    let key = r["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(r["inputRequests"][&key]["method"], "roots/list");
    params["inputResponses"] = json!({ key: {"roots": [{"uri": "file:///work", "name": "work"}]} });
    assert_eq!(text_of(&c.call(6, "tools/call", params)), "file:///work");
}

#[test]
fn modern_input_required_stdio() {
    modern_input_required(Via::Stdio)
}

#[test]
fn modern_input_required_tcp() {
    modern_input_required(Via::Tcp)
}

fn legacy_server_to_client_requests(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let init = json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}, "roots": {}}, "clientInfo": {"name": "t", "version": "1"}});
    c.call(0, "initialize", init);
    c.notify("notifications/initialized", Value::Null);
    c.request(
        1,
        "tools/call",
        json!({"name": "confirm", "arguments": {"question": "Ship it?"}}),
    );
    let ask = c.next(TIMEOUT).expect("elicitation request");
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    assert_eq!(ask["params"]["message"], "Ship it?");
    let ask_id = ask["id"].clone();
    assert!(!ask_id.is_null());
    c.send(&json!({"jsonrpc": "2.0", "id": ask_id, "result": {"action": "accept", "content": {"confirmed": false}}}));
    assert_eq!(text_of(&c.response(1)["result"]), "confirmed: no");
    // The client may refuse: the tool reports it.
    c.request(2, "tools/call", json!({"name": "roots", "arguments": {}}));
    let ask = c.next(TIMEOUT).expect("roots request");
    assert_eq!(ask["method"], "roots/list");
    c.send(
        &json!({"jsonrpc": "2.0", "id": ask["id"].clone(), "error": {"code": -1, "message": "no"}}),
    );
    let r = c.response(2)["result"].clone();
    assert_eq!(r["isError"], true, "{r}");
    // A session that did not declare elicitation gets -32021.
    let (_s2, mut c2) = open(via, &[]);
    c2.initialize("2025-11-25");
    let e = c2.call_err(
        3,
        "tools/call",
        json!({"name": "confirm", "arguments": {"question": "?"}}),
    );
    assert_eq!(code(&e), -32021, "{e}");
    // A response to nothing is ignored.
    c2.send(&json!({"jsonrpc": "2.0", "id": 424242, "result": {}}));
    assert_eq!(
        text_of(&c2.call(
            4,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "ok"}})
        )),
        "ok"
    );
}

#[test]
fn legacy_server_to_client_requests_stdio() {
    legacy_server_to_client_requests(Via::Stdio)
}

#[test]
fn legacy_server_to_client_requests_tcp() {
    legacy_server_to_client_requests(Via::Tcp)
}

fn legacy_tasks(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let init = c.initialize("2025-11-25");
    assert!(
        init["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object(),
        "{init}"
    );
    let tools = c.call(1, "tools/list", Value::Null);
    let sleep = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sleep")
        .unwrap()
        .clone();
    assert_eq!(sleep["execution"]["taskSupport"], "optional");
    // Task-augmented call: answered at once with the task.
    let created = c.call(
        2,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 200}, "task": {"ttl": 60000}}),
    );
    let task = created["task"].clone();
    assert_eq!(task["status"], "working", "{created}");
    let id = task["taskId"].as_str().unwrap().to_owned();
    assert!(task["ttl"].is_u64() && task["createdAt"].is_string());
    assert_eq!(
        c.call(3, "tasks/get", json!({"taskId": id}))["status"],
        "working"
    );
    let listed = c.call(4, "tasks/list", json!({}));
    assert!(listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["taskId"] == id.as_str()));
    // tasks/result waits for the end and carries the related-task meta.
    let result = c.call(5, "tasks/result", json!({"taskId": id}));
    assert_eq!(text_of(&result), "slept 200 ms");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    assert_eq!(
        c.call(6, "tasks/get", json!({"taskId": id}))["status"],
        "completed"
    );
    // Cancelling a finished task is an error on 2025-11-25; a running one is cancelled.
    assert_eq!(
        code(&c.call_err(7, "tasks/cancel", json!({"taskId": id}))),
        -32602
    );
    let long = c.call(
        8,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60000}, "task": {}}),
    );
    let long_id = long["task"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(
        c.call(9, "tasks/cancel", json!({"taskId": long_id}))["status"],
        "cancelled"
    );
    assert_eq!(
        code(&c.call_err(10, "tasks/get", json!({"taskId": "00nope"}))),
        -32602
    );
    // A tool that never runs as a task refuses the augmentation.
    assert_eq!(
        code(&c.call_err(
            11,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}, "task": {}})
        )),
        -32601
    );
}

#[test]
fn legacy_tasks_stdio() {
    legacy_tasks(Via::Stdio)
}

#[test]
fn legacy_tasks_tcp() {
    legacy_tasks(Via::Tcp)
}

fn modern_tasks(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let with_ext = |params: Value| {
        let mut p = modern(params);
        p["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
            json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
        p
    };
    let d = c.call(1, "server/discover", with_ext(Value::Null));
    assert!(
        d["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_object(),
        "{d}"
    );
    // Without the extension the optional-task tool answers synchronously.
    assert_eq!(
        text_of(&c.call(
            2,
            "tools/call",
            modern(json!({"name": "sleep", "arguments": {"ms": 10}}))
        )),
        "slept 10 ms"
    );
    let created = c.call(
        3,
        "tools/call",
        with_ext(json!({"name": "sleep", "arguments": {"ms": 100}})),
    );
    assert_eq!(created["resultType"], "task", "{created}");
    assert!(
        created.get("ttlMs").is_some()
            && created.get("task").is_none()
            && created.get("result").is_none()
    );
    let id = created["taskId"].as_str().unwrap().to_owned();
    let mut status = Value::Null;
    for i in 0..100 {
        let got = c.call(10 + i, "tasks/get", with_ext(json!({"taskId": id})));
        assert_eq!(got["resultType"], "complete");
        status = got["status"].clone();
        if status == "completed" {
            assert_eq!(got["result"]["content"][0]["text"], "slept 100 ms");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, "completed");
    // tasks/* without the extension: -32021 naming it, before any lookup.
    let e = c.call_err(200, "tasks/get", modern(json!({"taskId": id})));
    assert_eq!(code(&e), -32021);
    assert!(
        e["data"]["requiredCapabilities"]["extensions"]["io.modelcontextprotocol/tasks"]
            .is_object()
    );
    // tasks/result and tasks/list are not part of 2026-07-28.
    assert_eq!(
        code(&c.call_err(201, "tasks/result", with_ext(json!({"taskId": id})))),
        -32601
    );
    // Cancel: an empty acknowledgement, the task ends cancelled, cancelling again is the same ack.
    let long = c.call(
        202,
        "tools/call",
        with_ext(json!({"name": "sleep", "arguments": {"ms": 60000}})),
    );
    let long_id = long["taskId"].as_str().unwrap().to_owned();
    let ack = c.call(203, "tasks/cancel", with_ext(json!({"taskId": long_id})));
    assert_eq!(ack["resultType"], "complete");
    assert!(ack.get("status").is_none() && ack.get("taskId").is_none());
    assert_eq!(
        c.call(204, "tasks/get", with_ext(json!({"taskId": long_id})))["status"],
        "cancelled"
    );
    assert_eq!(
        c.call(205, "tasks/cancel", with_ext(json!({"taskId": long_id})))["resultType"],
        "complete"
    );
}

#[test]
fn modern_tasks_stdio() {
    modern_tasks(Via::Stdio)
}

#[test]
fn modern_tasks_tcp() {
    modern_tasks(Via::Tcp)
}
