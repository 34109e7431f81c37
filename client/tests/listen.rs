//! Listening, progress, cancellation and tasks against scripted servers. A legacy HTTP session
//! subscribes to a resource, hears its updates on the standalone GET stream (reopened with
//! `Last-Event-ID` no sooner than the server's `retry:`), does not hear list changes it did not
//! ask for, and unsubscribes at the end. A 2026-07-28 session over newline JSON opens
//! `subscriptions/listen`, hears only its own stream's notifications and sees the server end it;
//! a call's progress reaches its callback; a call given up on is cancelled at the server. A
//! task-augmented call is made in each era's way and waited for by polling `tasks/get`.

mod scripted;

use ringmcp_client::stream::LineTransport;
use ringmcp_client::{
    CallOptions, Client, ConnectOptions, Era, Heard, Listener, SubscriptionFilter,
};
use ringmcp_proto::ProtocolVersion;
use scripted::{message, serve, sse};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn next_notice(listener: &mut Listener<'_>) -> Value {
    match listener.next(Duration::from_secs(5)) {
        Ok(Heard::Notice(n)) => n.to_json(),
        other => panic!("no notification: {other:?}"),
    }
}

#[test]
fn legacy_http_listener_hears_the_standalone_stream_across_a_reopen() {
    let updated = |n: u32| {
        message(
            json!({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"demo://c","n":n}}),
        )
    };
    let (url, log) = serve(move |req, _| {
        let id = req.body.get("id").cloned().unwrap_or(Value::Null);
        match (req.method.as_str(), req.body["method"].as_str()) {
            ("POST", Some("initialize")) => (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{
                "protocolVersion":"2025-11-25","capabilities":{"resources":{"subscribe":true}},"serverInfo":{"name":"mock","version":"1"}}}).to_string()),
            ("POST", Some("resources/subscribe" | "resources/unsubscribe")) => {
                (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{}}).to_string())
            }
            ("GET", _) => match req.headers.get("last-event-id").map(String::as_str) {
                None => (200, "text/event-stream", sse(&[
                    "id: e1\nretry: 300\ndata: \n\n".into(),
                    message(json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})),
                    updated(1),
                ])),
                Some("e1") => (200, "text/event-stream", sse(&["id: e2\ndata: \n\n".into(), updated(2)])),
                Some(_) => (405, "text/plain", String::new()),
            },
            ("POST", _) => (202, "text/plain", String::new()),
            ("DELETE", _) => (200, "text/plain", String::new()),
            _ => (400, "text/plain", "unexpected".into()),
        }
    });
    let options = ConnectOptions {
        era: Era::Fixed(ProtocolVersion::V2025_11_25),
        ..ConnectOptions::default()
    };
    let mut client = Client::connect_http(&url, options).unwrap_or_else(|e| panic!("connect: {e}"));
    let filter = SubscriptionFilter {
        resource_subscriptions: Some(vec!["demo://c".into()]),
        ..SubscriptionFilter::default()
    };
    let mut listener = client
        .listen(filter)
        .unwrap_or_else(|e| panic!("listen: {e}"));
    // The list change was not asked for: the first notice heard is the update.
    assert_eq!(next_notice(&mut listener)["params"]["n"], 1);
    assert_eq!(next_notice(&mut listener)["params"]["n"], 2);
    listener.close().unwrap_or_else(|e| panic!("close: {e}"));
    client.close().unwrap_or_else(|e| panic!("close: {e}"));

    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let calls: Vec<&str> = log
        .iter()
        .filter_map(|s| s.body["method"].as_str())
        .collect();
    assert!(calls.contains(&"resources/subscribe"), "{calls:?}");
    assert!(calls.contains(&"resources/unsubscribe"), "{calls:?}");
    let gets: Vec<_> = log.iter().filter(|s| s.method == "GET").collect();
    let reopen = gets
        .iter()
        .find(|s| s.headers.get("last-event-id").map(String::as_str) == Some("e1"))
        .unwrap_or_else(|| panic!("not reopened from e1: {gets:?}"));
    assert!(
        reopen.at - gets[0].at >= Duration::from_millis(300),
        "reopened before the server's retry delay"
    );
}

/// A scripted newline-JSON server: `script` answers each message the client sends with lines.
fn line_server(
    script: impl Fn(&Value) -> Vec<Value> + Send + 'static,
) -> (String, std::thread::JoinHandle<Vec<Value>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let server = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let Ok((conn, _)) = listener.accept() else {
            return seen;
        };
        let mut out = conn.try_clone().unwrap_or_else(|e| panic!("{e}"));
        for line in BufReader::new(conn).lines() {
            let Ok(line) = line else { break };
            let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            seen.push(msg.clone());
            for reply in script(&msg) {
                let _ = out.write_all(format!("{reply}\n").as_bytes());
            }
        }
        seen
    });
    (addr, server)
}

fn modern_client(addr: &str) -> Client {
    let transport = LineTransport::tcp(addr).unwrap_or_else(|e| panic!("connect: {e}"));
    let options = ConnectOptions {
        era: Era::Fixed(ProtocolVersion::V2026_07_28),
        ..ConnectOptions::default()
    };
    Client::connect(Box::new(transport), options).unwrap_or_else(|e| panic!("handshake: {e}"))
}

fn discover(id: &Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"result":{"resultType":"complete","supportedVersions":["2026-07-28"],
        "capabilities":{"resources":{}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"m","version":"1"}}}})
}

#[test]
fn modern_listen_hears_its_own_stream_until_the_server_ends_it() {
    let (addr, seen) = line_server(|msg| {
        let id = msg["id"].clone();
        let tagged = |sub: &Value, method: &str, params: Value| {
            let mut params = params;
            params["_meta"] = json!({"io.modelcontextprotocol/subscriptionId": sub});
            json!({"jsonrpc":"2.0","method":method,"params":params})
        };
        match msg["method"].as_str() {
            Some("server/discover") => vec![discover(&id)],
            Some("subscriptions/listen") => vec![
                tagged(
                    &id,
                    "notifications/subscriptions/acknowledged",
                    json!({"notifications":{"resourceSubscriptions":["demo://c"]}}),
                ),
                tagged(
                    &json!("someone-else"),
                    "notifications/resources/updated",
                    json!({"uri":"demo://x"}),
                ),
                tagged(
                    &id,
                    "notifications/resources/updated",
                    json!({"uri":"demo://c"}),
                ),
                json!({"jsonrpc":"2.0","id":id,"result":{"resultType":"complete",
                    "_meta":{"io.modelcontextprotocol/subscriptionId":id}}}),
            ],
            _ => vec![],
        }
    });
    let mut client = modern_client(&addr);
    let filter = SubscriptionFilter {
        resource_subscriptions: Some(vec!["demo://c".into(), "demo://nope".into()]),
        ..SubscriptionFilter::default()
    };
    let mut listener = client
        .listen(filter)
        .unwrap_or_else(|e| panic!("listen: {e}"));
    assert_eq!(
        listener.honoured().resource_subscriptions,
        Some(vec!["demo://c".to_owned()])
    );
    assert_eq!(next_notice(&mut listener)["params"]["uri"], "demo://c");
    assert!(matches!(
        listener.next(Duration::from_secs(5)),
        Ok(Heard::Ended)
    ));
    listener.close().unwrap_or_else(|e| panic!("close: {e}"));
    client.close().unwrap_or_else(|e| panic!("close: {e}"));
    let seen = seen.join().unwrap_or_else(|_| panic!("the server failed"));
    let listen = seen
        .iter()
        .find(|m| m["method"] == "subscriptions/listen")
        .unwrap_or_else(|| panic!("no listen: {seen:?}"));
    assert_eq!(
        listen["params"]["notifications"]["resourceSubscriptions"],
        json!(["demo://c", "demo://nope"])
    );
    assert_eq!(
        listen["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    // The server ended the stream: nothing to cancel.
    assert!(
        !seen
            .iter()
            .any(|m| m["method"] == "notifications/cancelled"),
        "{seen:?}"
    );
}

#[test]
fn progress_reaches_the_callback_and_a_call_given_up_is_cancelled() {
    let (addr, seen) = line_server(|msg| {
        let id = msg["id"].clone();
        match (msg["method"].as_str(), msg["params"]["name"].as_str()) {
            (Some("server/discover"), _) => vec![discover(&id)],
            (Some("tools/call"), Some("count")) => {
                let token = msg["params"]["_meta"]["progressToken"].clone();
                let progress = |p: u32| {
                    json!({"jsonrpc":"2.0","method":"notifications/progress",
                    "params":{"progressToken":token,"progress":p,"total":2}})
                };
                vec![
                    progress(1),
                    json!({"jsonrpc":"2.0","method":"notifications/progress",
                        "params":{"progressToken":"not-mine","progress":9}}),
                    progress(2),
                    json!({"jsonrpc":"2.0","id":id,"result":{"resultType":"complete","content":[]}}),
                ]
            }
            // `sleep` never answers.
            _ => vec![],
        }
    });
    let mut client = modern_client(&addr);
    let mut heard = Vec::new();
    let options = CallOptions {
        on_progress: Some(Box::new(|p: &Value| heard.push(p["progress"].clone()))),
        ..CallOptions::default()
    };
    let result = client
        .request_with(
            "tools/call",
            json!({"name":"count","arguments":{}}),
            options,
        )
        .unwrap_or_else(|e| panic!("call: {e}"));
    assert_eq!(result["content"], json!([]));
    assert_eq!(heard, vec![json!(1), json!(2)]);

    let options = CallOptions {
        timeout: Some(Duration::from_millis(200)),
        ..CallOptions::default()
    };
    let err = client.request_with("tools/call", json!({"name":"sleep"}), options);
    assert!(
        matches!(err, Err(ringmcp_client::ClientError::TimedOut(_))),
        "{err:?}"
    );
    let cancel = Arc::new(AtomicBool::new(true));
    let options = CallOptions {
        cancel: Some(cancel),
        ..CallOptions::default()
    };
    let err = client.request_with("tools/call", json!({"name":"sleep"}), options);
    assert!(
        matches!(err, Err(ringmcp_client::ClientError::Cancelled(_))),
        "{err:?}"
    );
    client.close().unwrap_or_else(|e| panic!("close: {e}"));
    let seen = seen.join().unwrap_or_else(|_| panic!("the server failed"));
    let sleeps: Vec<Value> = seen
        .iter()
        .filter(|m| m["params"]["name"] == "sleep")
        .map(|m| m["id"].clone())
        .collect();
    let cancelled: Vec<Value> = seen
        .iter()
        .filter(|m| m["method"] == "notifications/cancelled")
        .map(|m| m["params"]["requestId"].clone())
        .collect();
    assert_eq!(sleeps.len(), 2, "{seen:?}");
    assert_eq!(cancelled, sleeps, "{seen:?}");
}

/// A server with tasks: `tasks/get` says working once, then completed.
fn task_server(modern: bool) -> (String, std::thread::JoinHandle<Vec<Value>>) {
    let gets = AtomicUsize::new(0);
    line_server(move |msg| {
        let id = msg["id"].clone();
        let ok = |result: Value| vec![json!({"jsonrpc":"2.0","id":id,"result":result})];
        match msg["method"].as_str() {
            Some("server/discover") if modern => vec![discover(&id)],
            Some("server/discover") => {
                vec![json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"no"}})]
            }
            Some("initialize") => ok(
                json!({"protocolVersion":"2025-11-25","capabilities":{"tasks":{}},
                "serverInfo":{"name":"m","version":"1"}}),
            ),
            Some("tools/call") if modern => ok(
                json!({"resultType":"task","taskId":"t1","status":"working","pollIntervalMs":10}),
            ),
            Some("tools/call") => {
                ok(json!({"task":{"taskId":"t1","status":"working","pollInterval":10}}))
            }
            Some("tasks/get") => {
                let status = if gets.fetch_add(1, Ordering::SeqCst) == 0 {
                    "working"
                } else {
                    "completed"
                };
                let mut task = json!({"taskId":"t1","status":status,"pollIntervalMs":10});
                if modern && status == "completed" {
                    task["result"] = json!({"content":[{"type":"text","text":"done"}]});
                }
                ok(task)
            }
            Some("tasks/result") => ok(json!({"content":[{"type":"text","text":"done"}]})),
            _ => vec![],
        }
    })
}

#[test]
fn a_task_is_made_and_waited_for_in_each_era() {
    for modern in [false, true] {
        let (addr, seen) = task_server(modern);
        let transport = LineTransport::tcp(&addr).unwrap_or_else(|e| panic!("connect: {e}"));
        let mut client = Client::connect(Box::new(transport), ConnectOptions::default())
            .unwrap_or_else(|e| panic!("handshake: {e}"));
        let created = client
            .call_tool_as_task("slow", json!({}), Some(60_000))
            .unwrap_or_else(|e| panic!("call: {e}"));
        let task = ringmcp_proto::client::task_of(&created)
            .unwrap_or_else(|| panic!("no task: {created}"));
        assert_eq!(task["taskId"], "t1");
        let done = client
            .wait_task("t1", Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("wait: {e}"));
        let content = if modern {
            &done["result"]["content"]
        } else {
            &done["content"]
        };
        assert_eq!(content[0]["text"], "done", "{done}");
        client.close().unwrap_or_else(|e| panic!("close: {e}"));
        let seen = seen.join().unwrap_or_else(|_| panic!("the server failed"));
        let call = seen
            .iter()
            .find(|m| m["method"] == "tools/call")
            .unwrap_or_else(|| panic!("no call: {seen:?}"));
        let ext = |m: &Value| {
            m["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]["extensions"]
                .get("io.modelcontextprotocol/tasks")
                .is_some()
        };
        let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
        if modern {
            assert!(ext(call), "{call}");
            assert!(call["params"].get("task").is_none(), "{call}");
            assert!(seen.iter().filter(|m| m["method"] == "tasks/get").all(ext));
            assert!(!methods.contains(&"tasks/result"), "{methods:?}");
        } else {
            assert_eq!(call["params"]["task"], json!({"ttl": 60_000}));
            assert!(methods.contains(&"tasks/result"), "{methods:?}");
        }
        assert_eq!(
            methods.iter().filter(|m| **m == "tasks/get").count(),
            2,
            "{methods:?}"
        );
    }
}
