//! JSON-RPC and MCP errors over every transport: every error leaves the connection (or HTTP
//! session) usable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::{expect, msg};
use serde_json::{json, Value};

fn still_works(c: &mut Client, id: i64) {
    let r = c.result(msg::call(id, "echo").args(json!({"text": "still here"})));
    assert_eq!(expect::text(&r), "still here");
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
    c.error(msg::request(7, "ping").with("jsonrpc", "1.0"), -32600);
    c.error(msg::request(8, "ping").without("jsonrpc"), -32600);
    c.send(msg::request(json!({"no": 1}), "ping"));
    let r = c.next(TIMEOUT).expect("answer");
    expect::error(&r, Value::Null, -32600);
    c.error(msg::request(9, "no/such/method"), -32601);
    c.error(msg::request(10, "tools/call").param("name", 42), -32602);
    // Missing params.
    c.error(msg::request(11, "resources/read"), -32602);
    // Ids come back exactly as sent.
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"ping\"}\n");
    let line = c.next_line(TIMEOUT).expect("ping answer");
    assert!(line.contains(r#""id":18446744073709551616"#), "{line}");
    assert_eq!(c.result(msg::request("str-id", "ping")), json!({}));
    still_works(&mut c, 12);
}

for_each_transport!(envelope_errors);

fn oversize(via: Via) {
    let (_s, mut c) = open(via, &["--max-message-bytes", "512"]);
    c.initialize("2025-11-25");
    let big = msg::call(1, "echo")
        .args(json!({"text": "x".repeat(5000)}))
        .text();
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

// Line framing: an oversize line is discarded up to its newline, however it is split. HTTP bodies
// have their own limit (413, tests/http.rs), so this is stdio's and TCP's.
for_each_transport!(oversize: stdio => Stdio, tcp => Tcp);

fn tools_errors(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-06-18");
    // Unknown tool.
    c.error(msg::call(1, "nope").args(json!({})), -32602);
    // Before 2025-11-25, invalid arguments are a protocol error.
    c.error(
        msg::call(2, "add").args(json!({"a": "one", "b": 2})),
        -32602,
    );
    // From 2025-11-25 they are a tool result with isError.
    let (_s2, mut c2) = open(via, &[]);
    c2.initialize("2025-11-25");
    let r = c2.result(msg::call(3, "add").args(json!({"a": "one", "b": 2})));
    assert_eq!(r["isError"], true, "{r}");
    assert!(expect::text(&r).contains("Invalid arguments"), "{r}");
    let r = c2.result(msg::call(4, "echo").args(json!({})));
    assert_eq!(r["isError"], true, "missing required argument: {r}");
    // A panic fails its own request only.
    c2.error(msg::call(5, "crash").args(json!({})), -32603);
    still_works(&mut c2, 6);
    still_works(&mut c, 7);
}

for_each_transport!(tools_errors);

// Two clients of one server: a stdio server has exactly one, so this runs on TCP and HTTP.
fn panic_leaves_other_sessions_alone(via: Via) {
    let s = Server::on(via, &["--cores", "1"]);
    let mut a = s.client(via);
    let mut b = s.client(via);
    a.initialize("2025-11-25");
    b.initialize("2025-11-25");
    b.send(msg::call(1, "sleep").args(json!({"ms": 200})));
    for i in 0..5 {
        a.error(msg::call(10 + i, "crash").args(json!({})), -32603);
    }
    assert_eq!(
        expect::text(&expect::result(&b.response(1), 1)),
        "slept 200 ms"
    );
    still_works(&mut b, 2);
    still_works(&mut a, 3);
}

for_each_transport!(panic_leaves_other_sessions_alone: tcp => Tcp, http => Http);

fn resource_not_found_codes(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-11-25");
    let e = c.error(msg::read(1, "demo://missing"), -32002);
    assert_eq!(e["data"]["uri"], "demo://missing", "legacy: {e}");
    // 2026-07-28.
    c.error(msg::read(2, "demo://missing").stateless(), -32602);
    // Missing required prompt argument.
    c.error(msg::prompt(3, "greet").args(json!({})), -32602);
    c.error(msg::prompt(4, "nope"), -32602);
}

for_each_transport!(resource_not_found_codes);
