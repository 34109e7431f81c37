//! What one node hands another over the bus (Redis pub/sub): a cancellation sent through another
//! node stops the handler where it runs, and a 2024-11-05 client's posts reach the node holding
//! its `/sse` stream. Answers to elicitation and resource notifications across nodes are in
//! `cluster_sdk.rs`, with the official clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::nodes::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `notifications/cancelled` carries only the client's request id: sent through another node, it
/// still stops the handler on the node running the request (the bus tells every node).
#[test]
fn a_cancel_through_another_node_stops_the_handler() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, _] = ports(&nodes);
    let mut c = HttpClient::connect(n1);
    let sid = c.initialize_legacy(V0618);
    let sid_n2 = sid.clone();
    let call = rpc(
        7,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 20000}}),
    );
    let running = std::thread::spawn(move || {
        let began = Instant::now();
        let r = legacy(n1, &sid, V0618, &call);
        (r, began.elapsed(), sid)
    });
    std::thread::sleep(Duration::from_millis(300));
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 7, "reason": "changed my mind"}});
    // The same session through n2, which loads it from Redis.
    let r = legacy(n2, &sid_n2, V0618, &cancel).unwrap();
    assert_eq!(r.status, 202, "{}", r.body_text());
    let (r, took, sid) = running.join().unwrap();
    assert_eq!(sid, sid_n2);
    let r = r.unwrap_or_else(|e| panic!("the cancelled call's response: {e}"));
    eprintln!("cancel through n2: the call on n1 ended after {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "the handler stopped long before its 20 s: {took:?}"
    );
    assert!(
        !r.body_text().contains("slept"),
        "a cancelled request gets no result: {}",
        r.body_text()
    );
}

/// A 2024-11-05 HTTP+SSE client whose `/sse` stream is on one node while its `POST /messages`
/// land on the others: every answer arrives on the stream.
#[test]
fn a_2024_11_05_client_posts_through_any_node() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, n3] = ports(&nodes);
    let mut stream = HttpClient::connect(n1);
    stream.send("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    let (status, _) = stream.read_head();
    assert_eq!(status, 200);
    let endpoint = stream.next_event().unwrap();
    let path = endpoint.data.clone();
    assert!(path.starts_with("/messages?sessionId=n1."), "{path}");
    let send = |port: u16, body: Value| {
        let mut c = HttpClient::connect(port);
        c.send("POST", &path, &[JSON], body.to_string().as_bytes());
        c.read_response().status
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "sse", "version": "1"}}});
    assert_eq!(send(n2, init), 202);
    let answer: Value = serde_json::from_str(&stream.next_event().unwrap().data).unwrap();
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
    assert_eq!(
        send(
            n3,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        ),
        202
    );
    for (i, port) in [n2, n3, n1, n2].into_iter().enumerate() {
        let text = format!("via {port}");
        let call = rpc(
            2 + i as i64,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": text}}),
        );
        assert_eq!(send(port, call), 202);
        let ev: Value = serde_json::from_str(&stream.next_event().unwrap().data).unwrap();
        assert_eq!(ev["result"]["content"][0]["text"], text, "{ev}");
    }
    // An id of no node, or an unknown one of the node asked, is 404.
    for id in ["00nope", "n3.00nope"] {
        let mut c = HttpClient::connect(n3);
        c.send("POST", &format!("/messages?sessionId={id}"), &[JSON], b"{}");
        assert_eq!(c.read_response().status, 404, "{id}");
    }
}
