//! MCP features over every transport (stdio, TCP, Streamable HTTP): tools, resources, templates,
//! prompts, completion, logging, progress, cancellation, pagination, batches, subscriptions,
//! server-to-client requests, tasks. Each scenario is a function of the transport;
//! `for_each_transport!(pagination)` makes the tests `pagination::stdio`, `pagination::tcp` and
//! `pagination::http`, so `cargo test --test features http` runs the HTTP ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::{expect, msg};
use serde_json::{json, Value};
use std::time::Duration;

/// The names in a `tools/list` result.
fn tool_names(list: &Value) -> Vec<&str> {
    list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

fn tool<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name} in {list}"))
}

fn methods(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    let tools = c.result(msg::request(1, "tools/list"));
    let names = tool_names(&tools);
    for want in ["echo", "add", "sleep", "progress"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let add = tool(&tools, "add");
    assert_eq!(add["inputSchema"]["type"], "object");
    assert!(
        add["outputSchema"]["properties"]["sum"].is_object(),
        "{add}"
    );
    let r = c.result(msg::call(2, "add").args(json!({"a": 2, "b": 3.5})));
    assert_eq!(r["structuredContent"]["sum"], 5.5, "{r}");
    assert!(
        r.get("resultType").is_none(),
        "legacy results carry no resultType: {r}"
    );
    let r = c.result(msg::request(3, "resources/list"));
    assert!(r["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["uri"] == "demo://counter"));
    let r = c.result(msg::request(4, "resources/templates/list"));
    assert_eq!(
        r["resourceTemplates"][0]["uriTemplate"],
        "demo://greeting/{name}"
    );
    let r = c.result(msg::read(5, "demo://greeting/ada"));
    assert_eq!(r["contents"][0]["text"], "Hello, ada!");
    assert_eq!(r["contents"][0]["uri"], "demo://greeting/ada");
    let r = c.result(msg::read(6, "demo://readme"));
    assert!(r["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("ringmcp demo"));
    let r = c.result(msg::request(7, "prompts/list"));
    assert!(r["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "greet"));
    let r = c.result(msg::prompt(8, "greet").args(json!({"name": "Bob", "style": "formal"})));
    assert_eq!(r["messages"][0]["content"]["text"], "Good day, Bob.");
    let r = c.result(msg::request(9, "completion/complete").params(json!({
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "name", "value": "a"},
    })));
    assert_eq!(r["completion"]["values"], json!(["ada", "alan"]), "{r}");
    let r = c.result(msg::request(10, "completion/complete").params(json!({
        "ref": {"type": "ref/resource", "uri": "demo://greeting/{name}"},
        "argument": {"name": "name", "value": "g"},
    })));
    assert_eq!(r["completion"]["values"], json!(["grace"]));
    c.error(
        msg::request(11, "completion/complete").params(json!({
            "ref": {"type": "ref/prompt", "name": "nope"},
            "argument": {"name": "x", "value": ""},
        })),
        -32602,
    );
}

for_each_transport!(methods);

fn progress_and_logging(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    c.send(
        msg::call(1, "progress")
            .args(json!({"steps": 4, "delay_ms": 1}))
            .meta("progressToken", "tok"),
    );
    let mut seen = Vec::new();
    loop {
        let msg = c.next(TIMEOUT).expect("progress or result");
        if msg.get("id") == Some(&json!(1)) {
            assert_eq!(expect::text(&expect::result(&msg, 1)), "done 4 steps");
            break;
        }
        let progress = expect::notification(&msg, "notifications/progress");
        assert_eq!(progress["progressToken"], "tok");
        seen.push(progress["progress"].as_f64().unwrap());
    }
    assert_eq!(
        seen,
        vec![1.0, 2.0, 3.0, 4.0],
        "one notification per step, increasing"
    );
    // No token, no progress.
    c.send(msg::call(2, "progress").args(json!({"steps": 2, "delay_ms": 1})));
    let msg = c.next(TIMEOUT).expect("result");
    assert_eq!(
        msg["id"], 2,
        "no notifications without a progressToken: {msg}"
    );
    // Logging honours logging/setLevel.
    assert_eq!(
        c.result(msg::request(3, "logging/setLevel").param("level", "warning")),
        json!({})
    );
    c.result(msg::call(4, "log").args(json!({"level": "info", "message": "quiet"})));
    c.send(msg::call(5, "log").args(json!({"level": "error", "message": "loud"})));
    let note = c.next(TIMEOUT).expect("log notification");
    let params = expect::notification(&note, "notifications/message");
    assert_eq!(
        (params["level"].clone(), params["data"].clone()),
        (json!("error"), json!("loud"))
    );
    c.response(5);
}

for_each_transport!(progress_and_logging);

fn cancellation(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    c.send(msg::call(1, "sleep").args(json!({"ms": 1500})));
    std::thread::sleep(Duration::from_millis(100));
    c.send(msg::cancel(1).param("reason", "changed my mind"));
    let r = c.result(msg::call(2, "echo").args(json!({"text": "after"})));
    assert_eq!(expect::text(&r), "after");
    // The cancelled request is never answered, even after its sleep would have ended.
    c.assert_silent(Duration::from_millis(2000));
    // Cancelling something unknown is ignored.
    c.send(msg::cancel(99));
    let r = c.result(msg::call(3, "echo").args(json!({"text": "ok"})));
    assert_eq!(expect::text(&r), "ok");
}

for_each_transport!(cancellation);

fn pagination(via: Via) {
    let (_s, mut c) = open(via, &["--page-size", "2"]);
    c.initialize("2025-11-25");
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 0..20 {
        let mut list = msg::request(id, "tools/list");
        if let Some(cur) = &cursor {
            list = list.param("cursor", cur.as_str());
        }
        let r = c.result(list);
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
    c.error(
        msg::request(100, "tools/list").param("cursor", "not-a-cursor"),
        -32602,
    );
    // A cursor minted for tools is refused for prompts.
    let first = c.result(msg::request(101, "tools/list"));
    let cur = first["nextCursor"].as_str().unwrap();
    c.error(
        msg::request(102, "prompts/list").param("cursor", cur),
        -32602,
    );
}

for_each_transport!(pagination);

fn batches(via: Via) {
    let batch = msg::batch([
        msg::request("a", "ping"),
        msg::notification("notifications/progress")
            .param("progressToken", 1)
            .param("progress", 1),
        msg::call("b", "sleep").args(json!({"ms": 20})),
        msg::call("c", "echo").args(json!({"text": "x"})),
        msg::request("d", "ping").with("jsonrpc", "1.0"),
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
    assert_eq!(expect::result(&by_id("a"), "a"), json!({}));
    assert_eq!(
        expect::text(&expect::result(&by_id("b"), "b")),
        "slept 20 ms"
    );
    assert_eq!(expect::text(&expect::result(&by_id("c"), "c")), "x");
    expect::error(&by_id("d"), "d", -32600);
    // A batch of notifications gets no reply at all.
    c.send(msg::batch([msg::initialized()]));
    c.send(msg::request(1, "ping"));
    assert_eq!(c.next(TIMEOUT).expect("ping answer")["id"], 1);
    // Other revisions refuse batches.
    for version in ["2024-11-05", "2025-06-18", "2025-11-25"] {
        let (_s, mut c) = open(via, &[]);
        c.initialize(version);
        c.send(&batch);
        let r = c.next(TIMEOUT).expect("refusal");
        expect::error(&r, Value::Null, -32600);
    }
}

for_each_transport!(batches);

fn modern_requests(via: Via) {
    let (_s, mut c) = open(via, &[]);
    // No handshake: every request carries its own _meta.
    let d = c.result(msg::request(1, "server/discover").stateless());
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
    let t = c.result(msg::request(2, "tools/list").stateless());
    assert_eq!(t["resultType"], "complete");
    assert!(t["ttlMs"].is_u64() && t["cacheScope"].is_string(), "{t}");
    let r = c.result(msg::call(3, "echo").args(json!({"text": "m"})).stateless());
    assert_eq!(
        (expect::text(&r), r["resultType"].clone()),
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
    let r = c.result(msg::read(4, "demo://readme").stateless());
    assert!(
        r["ttlMs"].is_u64() && r["cacheScope"].is_string() && r["resultType"] == "complete",
        "{r}"
    );
    let r = c.result(
        msg::prompt(5, "greet")
            .args(json!({"name": "Ann"}))
            .stateless(),
    );
    assert_eq!(r["messages"][0]["content"]["text"], "Hello, Ann!");
    let r = c.result(
        msg::request(6, "completion/complete")
            .params(json!({
                "ref": {"type": "ref/prompt", "name": "haiku"},
                "argument": {"name": "colour", "value": "i"},
            }))
            .stateless(),
    );
    assert_eq!(r["completion"]["values"], json!(["indigo", "ivory"]));
    // Validation failures are tool results on 2026-07-28.
    let r = c.result(msg::call(7, "add").args(json!({"a": 1})).stateless());
    assert_eq!(r["isError"], true);
    // Unsupported version: -32022 with the supported list.
    let e = c.error(
        msg::request(8, "tools/list")
            .meta("io.modelcontextprotocol/protocolVersion", "1900-01-01")
            .stateless(),
        -32022,
    );
    assert_eq!(e["data"]["requested"], "1900-01-01");
    assert!(e["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!(MODERN)));
    // Missing client capabilities: -32602.
    c.error(
        msg::request(9, "tools/list").meta("io.modelcontextprotocol/protocolVersion", MODERN),
        -32602,
    );
    // discover without _meta: -32602.
    c.error(msg::request(10, "server/discover"), -32602);
    // Methods removed in 2026-07-28.
    for removed in [
        msg::request(11, "ping"),
        msg::request(12, "logging/setLevel").param("level", "info"),
        msg::request(13, "resources/subscribe").param("uri", "demo://counter"),
    ] {
        c.error(removed.stateless(), -32601);
    }
    // Per-request log level instead of setLevel.
    c.send(
        msg::call(14, "log")
            .args(json!({"level": "warning", "message": "w"}))
            .meta("io.modelcontextprotocol/logLevel", "warning")
            .stateless(),
    );
    assert_eq!(
        c.notification("notifications/message")["params"]["data"],
        "w"
    );
    c.response(14);
    c.result(
        msg::call(15, "log")
            .args(json!({"level": "emergency", "message": "never"}))
            .stateless(),
    );
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
        .result(msg::request(16, "tools/list"))
        .get("resultType")
        .is_none());
}

for_each_transport!(modern_requests);

// Many clients of one server: a stdio server has exactly one, so this runs on TCP and HTTP.
fn resource_updates_reach_subscribers_on_every_shard(via: Via) {
    let s = Server::on(via, &["--cores", "2"]);
    let mut subscribers: Vec<Client> = (0..8).map(|_| s.client(via)).collect();
    for (i, c) in subscribers.iter_mut().enumerate() {
        c.initialize("2025-11-25");
        let subscribe =
            msg::request(i as i64, "resources/subscribe").param("uri", "demo://counter");
        assert_eq!(c.result(subscribe), json!({}));
    }
    let mut listener = s.client(via);
    listener.send(
        msg::request("listen-1", "subscriptions/listen")
            .param(
                "notifications",
                json!({"resourceSubscriptions": ["demo://counter"]}),
            )
            .stateless(),
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
    let mut bumper = s.client(via);
    bumper.initialize("2025-11-25");
    // Unsubscribed sessions hear nothing.
    let mut quiet = s.client(via);
    quiet.initialize("2025-11-25");
    bumper.result(msg::call(100, "bump").args(json!({})));
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
    subscribers[0]
        .result(msg::request(200, "resources/unsubscribe").param("uri", "demo://counter"));
    bumper.result(msg::call(101, "bump").args(json!({})));
    subscribers[1].notification("notifications/resources/updated");
    subscribers[0].assert_silent(Duration::from_millis(200));
    let r = subscribers[0].result(msg::read(201, "demo://counter"));
    assert_eq!(r["contents"][0]["text"], "2");
    // Not subscribable.
    subscribers[0].error(
        msg::request(202, "resources/subscribe").param("uri", "demo://readme"),
        -32602,
    );
}

for_each_transport!(resource_updates_reach_subscribers_on_every_shard: tcp => Tcp, http => Http);

// Many clients of one server: a stdio server has exactly one, so this runs on TCP and HTTP.
fn many_connections_many_shards(via: Via) {
    let s = Server::on(via, &["--cores", "2"]);
    let mut clients: Vec<Client> = (0..64).map(|_| s.client(via)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.initialize("2025-11-25");
        c.send(msg::call(i as i64, "echo").args(json!({"text": format!("c{i}")})));
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let r = expect::result(&c.response(i as i64), i as i64);
        assert_eq!(expect::text(&r), format!("c{i}"));
    }
}

for_each_transport!(many_connections_many_shards: tcp => Tcp, http => Http);

fn modern_input_required(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let confirm = |id: i64| {
        msg::call(id, "confirm")
            .args(json!({"question": "Deploy?"}))
            .meta(
                "io.modelcontextprotocol/clientCapabilities",
                json!({"elicitation": {}}),
            )
            .stateless()
    };
    let r = c.result(confirm(1));
    assert_eq!(r["resultType"], "input_required", "{r}");
    let requests = r["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1);
    let (key, req) = requests.iter().next().unwrap();
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(req["params"]["message"], "Deploy?");
    assert_eq!(req["params"]["requestedSchema"]["type"], "object");
    // Retry with the answer under the same key, on a new id.
    let r = c.result(confirm(2).param(
        "inputResponses",
        json!({ key.clone(): {"action": "accept", "content": {"confirmed": true}} }),
    ));
    assert_eq!(
        (expect::text(&r), r["resultType"].clone()),
        ("confirmed: yes".into(), json!("complete")),
        "{r}"
    );
    let r = c.result(confirm(3).param(
        "inputResponses",
        json!({ key.clone(): {"action": "decline"} }),
    ));
    assert_eq!(expect::text(&r), "declined");
    // Without the elicitation capability: -32021 naming it.
    let e = c.error(
        msg::call(4, "confirm")
            .args(json!({"question": "Deploy?"}))
            .stateless(),
        -32021,
    );
    assert!(
        e["data"]["requiredCapabilities"]["elicitation"].is_object(),
        "{e}"
    );
    // roots/list the same way.
    let roots = |id: i64| {
        msg::call(id, "roots")
            .args(json!({}))
            .meta(
                "io.modelcontextprotocol/clientCapabilities",
                json!({"roots": {}}),
            )
            .stateless()
    };
    let r = c.result(roots(5));
    let key = r["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(r["inputRequests"][&key]["method"], "roots/list");
    let r = c.result(roots(6).param(
        "inputResponses",
        json!({ key: {"roots": [{"uri": "file:///work", "name": "work"}]} }),
    ));
    assert_eq!(expect::text(&r), "file:///work");
}

for_each_transport!(modern_input_required);

fn legacy_server_to_client_requests(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.handshake(
        msg::initialize(0, "2025-11-25")
            .param("capabilities", json!({"elicitation": {}, "roots": {}})),
    );
    c.send(msg::call(1, "confirm").args(json!({"question": "Ship it?"})));
    let ask = c.next(TIMEOUT).expect("elicitation request");
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    assert_eq!(ask["params"]["message"], "Ship it?");
    let ask_id = ask["id"].clone();
    assert!(!ask_id.is_null());
    c.send(msg::answer(
        ask_id,
        json!({"action": "accept", "content": {"confirmed": false}}),
    ));
    assert_eq!(
        expect::text(&expect::result(&c.response(1), 1)),
        "confirmed: no"
    );
    // The client may refuse: the tool reports it.
    c.send(msg::call(2, "roots").args(json!({})));
    let ask = c.next(TIMEOUT).expect("roots request");
    assert_eq!(ask["method"], "roots/list");
    c.send(msg::reject(ask["id"].clone(), -1, "no"));
    let r = expect::result(&c.response(2), 2);
    assert_eq!(r["isError"], true, "{r}");
    // A session that did not declare elicitation gets -32021.
    let (_s2, mut c2) = open(via, &[]);
    c2.initialize("2025-11-25");
    c2.error(
        msg::call(3, "confirm").args(json!({"question": "?"})),
        -32021,
    );
    // A response to nothing is ignored.
    c2.send(msg::answer(424242, json!({})));
    let r = c2.result(msg::call(4, "echo").args(json!({"text": "ok"})));
    assert_eq!(expect::text(&r), "ok");
}

for_each_transport!(legacy_server_to_client_requests);

fn legacy_tasks(via: Via) {
    let (_s, mut c) = open(via, &[]);
    let init = c.initialize("2025-11-25");
    assert!(
        init["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object(),
        "{init}"
    );
    let tools = c.result(msg::request(1, "tools/list"));
    assert_eq!(
        tool(&tools, "sleep")["execution"]["taskSupport"],
        "optional"
    );
    // Task-augmented call: answered at once with the task.
    let created = c.result(
        msg::call(2, "sleep")
            .args(json!({"ms": 200}))
            .param("task", json!({"ttl": 60000})),
    );
    let task = created["task"].clone();
    assert_eq!(task["status"], "working", "{created}");
    let id = task["taskId"].as_str().unwrap().to_owned();
    assert!(task["ttl"].is_u64() && task["createdAt"].is_string());
    let get = |rid: i64, id: &str| msg::request(rid, "tasks/get").param("taskId", id);
    assert_eq!(c.result(get(3, &id))["status"], "working");
    let listed = c.result(msg::request(4, "tasks/list").params(json!({})));
    assert!(listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["taskId"] == id.as_str()));
    // tasks/result waits for the end and carries the related-task meta.
    let result = c.result(msg::request(5, "tasks/result").param("taskId", id.as_str()));
    assert_eq!(expect::text(&result), "slept 200 ms");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    assert_eq!(c.result(get(6, &id))["status"], "completed");
    // Cancelling a finished task is an error on 2025-11-25; a running one is cancelled.
    c.error(
        msg::request(7, "tasks/cancel").param("taskId", id.as_str()),
        -32602,
    );
    let long = c.result(msg::call(8, "sleep").args(json!({"ms": 60000})).as_task());
    let long_id = long["task"]["taskId"].as_str().unwrap();
    assert_eq!(
        c.result(msg::request(9, "tasks/cancel").param("taskId", long_id))["status"],
        "cancelled"
    );
    c.error(get(10, "00nope"), -32602);
    // A tool that never runs as a task refuses the augmentation.
    c.error(
        msg::call(11, "echo").args(json!({"text": "x"})).as_task(),
        -32601,
    );
}

for_each_transport!(legacy_tasks);

fn modern_tasks(via: Via) {
    let (_s, mut c) = open(via, &[]);
    // A 2026-07-28 request from a client that speaks the tasks extension.
    let with_ext = |m: msg::Msg| {
        m.meta(
            "io.modelcontextprotocol/clientCapabilities",
            json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}),
        )
        .stateless()
    };
    let d = c.result(with_ext(msg::request(1, "server/discover")));
    assert!(
        d["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_object(),
        "{d}"
    );
    // Without the extension the optional-task tool answers synchronously.
    let r = c.result(msg::call(2, "sleep").args(json!({"ms": 10})).stateless());
    assert_eq!(expect::text(&r), "slept 10 ms");
    let created = c.result(with_ext(msg::call(3, "sleep").args(json!({"ms": 100}))));
    assert_eq!(created["resultType"], "task", "{created}");
    assert!(
        created.get("ttlMs").is_some()
            && created.get("task").is_none()
            && created.get("result").is_none()
    );
    let id = created["taskId"].as_str().unwrap().to_owned();
    let get = |rid: i64, id: &str| msg::request(rid, "tasks/get").param("taskId", id);
    let mut status = Value::Null;
    for i in 0..100 {
        let got = c.result(with_ext(get(10 + i, &id)));
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
    let e = c.error(get(200, &id).stateless(), -32021);
    assert!(
        e["data"]["requiredCapabilities"]["extensions"]["io.modelcontextprotocol/tasks"]
            .is_object()
    );
    // tasks/result and tasks/list are not part of 2026-07-28.
    let e = c.error(
        with_ext(msg::request(201, "tasks/result").param("taskId", id.as_str())),
        -32601,
    );
    assert!(
        e["message"].as_str().unwrap().contains("tasks/result"),
        "the refusal names the method refused: {e}"
    );
    // Cancel: an empty acknowledgement, the task ends cancelled, cancelling again is the same ack.
    let long = c.result(with_ext(msg::call(202, "sleep").args(json!({"ms": 60000}))));
    let long_id = long["taskId"].as_str().unwrap();
    let cancel = |rid: i64| with_ext(msg::request(rid, "tasks/cancel").param("taskId", long_id));
    let ack = c.result(cancel(203));
    assert_eq!(ack["resultType"], "complete");
    assert!(ack.get("status").is_none() && ack.get("taskId").is_none());
    assert_eq!(c.result(with_ext(get(204, long_id)))["status"], "cancelled");
    assert_eq!(c.result(cancel(205))["resultType"], "complete");
}

for_each_transport!(modern_tasks);
