//! The blocking client over newline JSON (TCP here; stdio shares the transport) against a
//! scripted server: `Era::Auto` falls back to `initialize` when `server/discover` is unknown, and
//! a server request sent in the middle of a call is answered before the call's result arrives.

use ringmcp_client::stream::LineTransport;
use ringmcp_client::{Client, ConnectOptions};
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

#[test]
fn auto_falls_back_over_tcp_and_answers_server_requests() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = std::thread::spawn(move || -> Vec<Value> {
        let (conn, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
        let mut out = conn.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut seen = Vec::new();
        let mut send = |v: Value| {
            let _ = out.write_all(format!("{v}\n").as_bytes());
        };
        for line in BufReader::new(conn).lines() {
            let Ok(line) = line else { break };
            let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            seen.push(msg.clone());
            let id = msg["id"].clone();
            match msg["method"].as_str() {
                Some("server/discover") => send(
                    json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}}),
                ),
                Some("initialize") => send(
                    json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"m","version":"1"}}}),
                ),
                Some("tools/call") => {
                    send(
                        json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}),
                    );
                    send(json!({"jsonrpc":"2.0","id":"r1","method":"roots/list"}));
                    seen.push(json!({"pending_call": id}));
                }
                None if msg["id"] == "r1" => {
                    let call = seen
                        .iter()
                        .find_map(|m| m.get("pending_call"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    send(
                        json!({"jsonrpc":"2.0","id":call,"result":{"content":[{"type":"text","text":"done"}]}}),
                    );
                }
                _ => {}
            }
        }
        seen
    });
    let transport =
        LineTransport::tcp(&addr.to_string()).unwrap_or_else(|e| panic!("connect: {e}"));
    let mut client = Client::connect(Box::new(transport), ConnectOptions::default())
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    assert_eq!(client.version(), Some(ProtocolVersion::V2025_06_18));
    let result = client
        .call_tool("t", json!({"x": 1}))
        .unwrap_or_else(|e| panic!("call: {e}"));
    assert_eq!(result["content"][0]["text"], "done");
    client.close().unwrap_or_else(|e| panic!("close: {e}"));
    let seen = server.join().unwrap_or_default();
    let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(
        methods,
        [
            "server/discover",
            "initialize",
            "notifications/initialized",
            "tools/call"
        ]
    );
    let roots = seen
        .iter()
        .find(|m| m["id"] == "r1")
        .unwrap_or_else(|| panic!("no roots answer"));
    assert_eq!(roots["result"], json!({"roots": []}));
    let ids: Vec<&Value> = seen
        .iter()
        .filter(|m| m.get("method").is_some())
        .filter_map(|m| m.get("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] != w[1]), "ids reused: {ids:?}");
}
