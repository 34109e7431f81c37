//! JSON-RPC and MCP errors over stdio and TCP: every error leaves the connection usable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{json, Value};

fn still_works(c: &mut Client, id: i64) {
    let r = c.call(
        id,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "still here"}}),
    );
    assert_eq!(text_of(&r), "still here");
}

fn envelope_errors(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\n");
    let r = c.next(TIMEOUT).expect("parse error answer");
    assert_eq!(
        (code(&r["error"]), r["id"].clone()),
        (-32700, Value::Null),
        "{r}"
    );
    c.send_raw(b"\xff\xfe not utf8\n");
    let r = c.next(TIMEOUT).expect("answer to invalid UTF-8");
    assert_eq!(code(&r["error"]), -32700, "{r}");
    c.send(&json!({"jsonrpc": "1.0", "id": 7, "method": "ping"}));
    let r = c.response(7);
    assert_eq!(code(&r["error"]), -32600, "{r}");
    c.send(&json!({"id": 8, "method": "ping"}));
    assert_eq!(code(&c.response(8)["error"]), -32600);
    c.send(&json!({"jsonrpc": "2.0", "id": {"no": 1}, "method": "ping"}));
    let r = c.next(TIMEOUT).expect("answer");
    assert_eq!(
        (code(&r["error"]), r["id"].clone()),
        (-32600, Value::Null),
        "{r}"
    );
    c.send(&json!({"jsonrpc": "2.0", "id": 9, "method": "no/such/method"}));
    assert_eq!(code(&c.response(9)["error"]), -32601);
    c.send(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": 42}}));
    assert_eq!(code(&c.response(10)["error"]), -32602);
    c.send(&json!({"jsonrpc": "2.0", "id": 11, "method": "resources/read"}));
    assert_eq!(code(&c.response(11)["error"]), -32602, "missing params");
    // Ids come back exactly as sent.
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"ping\"}\n");
    let line = c.next_line(TIMEOUT).expect("ping answer");
    assert!(line.contains(r#""id":18446744073709551616"#), "{line}");
    c.request("str-id", "ping", Value::Null);
    assert_eq!(c.response("str-id")["result"], json!({}));
    still_works(&mut c, 12);
}

#[test]
fn envelope_errors_stdio() {
    envelope_errors(Via::Stdio)
}

#[test]
fn envelope_errors_tcp() {
    envelope_errors(Via::Tcp)
}

fn oversize(via: Via) {
    let (_s, mut c) = open(via, &["--max-message-bytes", "512"]);
    c.initialize("2025-11-25");
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(5000)
    );
    c.send_raw(format!("{big}\n").as_bytes());
    let r = c.next(TIMEOUT).expect("oversize answer");
    assert_eq!(r["id"], Value::Null, "{r}");
    assert_eq!(code(&r["error"]), -32600, "{r}");
    // Sent in pieces, still discarded up to its newline.
    let (a, b) = big.split_at(2000);
    c.send_raw(a.as_bytes());
    c.send_raw(format!("{b}\n").as_bytes());
    assert_eq!(
        c.next(TIMEOUT).expect("second oversize answer")["id"],
        Value::Null
    );
    still_works(&mut c, 2);
}

#[test]
fn oversize_line_stdio() {
    oversize(Via::Stdio)
}

#[test]
fn oversize_line_tcp() {
    oversize(Via::Tcp)
}

fn tools_errors(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-06-18");
    let e = c.call_err(1, "tools/call", json!({"name": "nope", "arguments": {}}));
    assert_eq!(code(&e), -32602, "unknown tool: {e}");
    // Before 2025-11-25, invalid arguments are a protocol error.
    let e = c.call_err(
        2,
        "tools/call",
        json!({"name": "add", "arguments": {"a": "one", "b": 2}}),
    );
    assert_eq!(code(&e), -32602, "{e}");
    // From 2025-11-25 they are a tool result with isError.
    let (_s2, mut c2) = open(via, &[]);
    c2.initialize("2025-11-25");
    let r = c2.call(
        3,
        "tools/call",
        json!({"name": "add", "arguments": {"a": "one", "b": 2}}),
    );
    assert_eq!(r["isError"], true, "{r}");
    assert!(text_of(&r).contains("Invalid arguments"), "{r}");
    let r = c2.call(4, "tools/call", json!({"name": "echo", "arguments": {}}));
    assert_eq!(r["isError"], true, "missing required argument: {r}");
    // A panic fails its own request only.
    let e = c2.call_err(5, "tools/call", json!({"name": "crash", "arguments": {}}));
    assert_eq!(code(&e), -32603, "{e}");
    still_works(&mut c2, 6);
    still_works(&mut c, 7);
}

#[test]
fn tool_errors_stdio() {
    tools_errors(Via::Stdio)
}

#[test]
fn tool_errors_tcp() {
    tools_errors(Via::Tcp)
}

#[test]
fn panic_leaves_other_sessions_alone() {
    let s = Server::tcp(&["--cores", "1"]);
    let mut a = s.connect();
    let mut b = s.connect();
    a.initialize("2025-11-25");
    b.initialize("2025-11-25");
    b.request(
        1,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 200}}),
    );
    for i in 0..5 {
        assert_eq!(
            code(&a.call_err(
                10 + i,
                "tools/call",
                json!({"name": "crash", "arguments": {}})
            )),
            -32603
        );
    }
    assert_eq!(text_of(&b.response(1)["result"]), "slept 200 ms");
    still_works(&mut b, 2);
    still_works(&mut a, 3);
}

#[test]
fn resource_not_found_codes() {
    let (_s, mut c) = open(Via::Tcp, &[]);
    c.initialize("2025-11-25");
    let e = c.call_err(1, "resources/read", json!({"uri": "demo://missing"}));
    assert_eq!(code(&e), -32002, "legacy: {e}");
    assert_eq!(e["data"]["uri"], "demo://missing");
    let e = c.call_err(
        2,
        "resources/read",
        modern(json!({"uri": "demo://missing"})),
    );
    assert_eq!(code(&e), -32602, "2026-07-28: {e}");
    let e = c.call_err(3, "prompts/get", json!({"name": "greet", "arguments": {}}));
    assert_eq!(code(&e), -32602, "missing required prompt argument: {e}");
    let e = c.call_err(4, "prompts/get", json!({"name": "nope"}));
    assert_eq!(code(&e), -32602);
}
