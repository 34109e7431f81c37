//! The blocking client over Streamable HTTP against a scripted in-process server: a legacy
//! session (session id on every later request, the standalone GET stream asked for, DELETE at
//! the end), a server request on a POST's SSE stream answered by a new POST, and a stream closed
//! before its answer resumed by GET with `Last-Event-ID` no sooner than its `retry:` delay.
//! Also a 2026-07-28 server whose first answer is a -32022 error with `id: null`, and pagination.

mod scripted;

use ringmcp_client::{Client, ConnectOptions, Era};
use ringmcp_proto::ProtocolVersion;
use scripted::{message, serve, sse};
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn legacy_session_with_server_request_and_resumed_stream() {
    let (url, log) = serve(|req, earlier| {
        let id = req.body.get("id").cloned().unwrap_or(Value::Null);
        match (req.method.as_str(), req.body["method"].as_str()) {
            ("POST", Some("initialize")) => (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{
                "protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"mock","version":"1"}}}).to_string()),
            ("POST", Some("tools/call")) => (200, "text/event-stream", sse(&[
                "id: e1\nretry: 300\ndata: \n\n".into(),
                message(json!({"jsonrpc":"2.0","id":"srv-1","method":"elicitation/create","params":{
                    "message":"m","requestedSchema":{"type":"object","properties":{"n":{"type":"integer","default":7}}}}})),
            ])),
            ("GET", _) if req.headers.contains_key("last-event-id") => {
                let call = earlier.iter().rev().find(|s| s.body["method"] == "tools/call").map(|s| s.body["id"].clone());
                (200, "text/event-stream", message(json!({"jsonrpc":"2.0","id":call,"result":{"content":[]}})))
            }
            ("GET", _) => (405, "text/plain", String::new()),
            ("POST", None) | ("POST", Some("notifications/initialized")) => (202, "text/plain", String::new()),
            ("DELETE", _) => (200, "text/plain", String::new()),
            _ => (400, "text/plain", "unexpected".into()),
        }
    });
    let options = ConnectOptions {
        era: Era::Fixed(ProtocolVersion::V2025_11_25),
        ..ConnectOptions::default()
    };
    let mut client = Client::connect_http(&url, options).unwrap_or_else(|e| panic!("connect: {e}"));
    let result = client
        .call_tool("t", json!({}))
        .unwrap_or_else(|e| panic!("call: {e}"));
    assert_eq!(result, json!({"content":[]}));
    client.close().unwrap_or_else(|e| panic!("close: {e}"));

    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let methods: Vec<String> = log
        .iter()
        .map(|s| format!("{} {}", s.method, s.body["method"].as_str().unwrap_or("-")))
        .collect();
    // Every request after initialize names the session; the legacy ones name the version too.
    for s in &log[1..] {
        assert_eq!(
            s.headers.get("mcp-session-id").map(String::as_str),
            Some("s-1"),
            "{methods:?}"
        );
    }
    let answer = log
        .iter()
        .find(|s| s.body["id"] == "srv-1")
        .unwrap_or_else(|| panic!("no answer to the server request: {methods:?}"));
    assert_eq!(
        answer.body["result"],
        json!({"action":"accept","content":{"n":7}})
    );
    assert_eq!(
        answer
            .headers
            .get("mcp-protocol-version")
            .map(String::as_str),
        Some("2025-11-25")
    );
    let call = log
        .iter()
        .find(|s| s.body["method"] == "tools/call")
        .map(|s| s.at);
    let resume = log.iter().find(|s| s.headers.contains_key("last-event-id"));
    let (Some(call), Some(resume)) = (call, resume) else {
        panic!("no resumption: {methods:?}");
    };
    assert_eq!(
        resume.headers.get("last-event-id").map(String::as_str),
        Some("e1")
    );
    assert!(
        resume.at - call >= Duration::from_millis(300),
        "resumed too early"
    );
    assert!(log.iter().any(|s| s.method == "DELETE"), "{methods:?}");
}

#[test]
fn modern_version_error_with_null_id_is_retried_once() {
    let (url, log) = serve(|req, earlier| {
        let id = req.body.get("id").cloned().unwrap_or(Value::Null);
        if earlier.is_empty() {
            return (400, "application/json", json!({"jsonrpc":"2.0","id":null,"error":{
                "code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"]}}}).to_string());
        }
        match req.body["method"].as_str() {
            Some("server/discover") => (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{
                "supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"resultType":"complete"}}).to_string()),
            Some("tools/list") if req.body["params"]["cursor"] == "p2" => (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{
                "tools":[{"name":"b","inputSchema":{"type":"object"}}]}}).to_string()),
            Some("tools/list") => (200, "application/json", json!({"jsonrpc":"2.0","id":id,"result":{
                "tools":[{"name":"a","inputSchema":{"type":"object"}}],"nextCursor":"p2"}}).to_string()),
            _ => (400, "text/plain", String::new()),
        }
    });
    let mut client = Client::connect_http(&url, ConnectOptions::default())
        .unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(client.version(), Some(ProtocolVersion::V2026_07_28));
    let tools = client.list_tools().unwrap_or_else(|e| panic!("list: {e}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(log.len(), 4);
    assert_ne!(log[0].body["id"], log[1].body["id"]);
    for s in &log {
        assert_eq!(
            s.headers.get("mcp-protocol-version").map(String::as_str),
            Some("2026-07-28")
        );
        assert_eq!(
            s.headers.get("mcp-method").map(String::as_str),
            s.body["method"].as_str()
        );
    }
    assert!(
        log.iter().all(|s| s.method == "POST"),
        "no GET stream in the stateless era"
    );
}
