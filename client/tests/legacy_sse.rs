//! `Era::Auto` over HTTP against a 2024-11-05 HTTP+SSE server: the Streamable HTTP POST is
//! refused with 405, so the client GETs the same URL, reads the `endpoint` event, POSTs its
//! `initialize` there and reads every answer from the one SSE stream.

use ringmcp_client::{Client, ConnectOptions};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Read one HTTP request: its request line and JSON body.
fn read_request(conn: &TcpStream) -> (String, Value) {
    let mut reader = BufReader::new(conn.try_clone().unwrap_or_else(|e| panic!("{e}")));
    let mut line = String::new();
    reader.read_line(&mut line).unwrap_or(0);
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap_or(0);
        let h = h.trim_end().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap_or_default();
    (line, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn auto_falls_back_to_http_sse_when_the_post_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let stream: Arc<Mutex<Option<TcpStream>>> = Arc::default();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (stream2, seen2) = (stream.clone(), seen.clone());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let (line, body) = read_request(&conn);
            seen2
                .lock()
                .map(|mut s| s.push(format!("{} {}", line.trim(), body["method"])))
                .unwrap_or_default();
            if line.starts_with("GET /sse ") {
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nevent: endpoint\ndata: /messages?sessionId=abc\n\n",
                );
                *stream2.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
                continue;
            }
            if !line.starts_with("POST /messages?sessionId=abc ") {
                let _ = conn.write_all(
                    b"HTTP/1.1 405 No\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                continue;
            }
            let _ = conn.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            let id = body["id"].clone();
            let answer = match body["method"].as_str() {
                Some("initialize") => {
                    json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2024-11-05",
                    "capabilities":{"tools":{}},"serverInfo":{"name":"old","version":"1"}}})
                }
                Some("tools/call") => {
                    json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":"old"}]}})
                }
                _ => continue,
            };
            if let Some(sse) = stream2.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                let _ = sse.write_all(format!("event: message\ndata: {answer}\n\n").as_bytes());
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/sse");
    let mut client = Client::connect_http(&url, ConnectOptions::default())
        .unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(client.version().map(|v| v.as_str()), Some("2024-11-05"));
    let result = client
        .call_tool("t", json!({}))
        .unwrap_or_else(|e| panic!("call: {e}"));
    assert_eq!(result["content"][0]["text"], "old");
    client.close().unwrap_or_else(|e| panic!("close: {e}"));
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    // Streamable HTTP first (refused), then the SSE stream, then the endpoint.
    assert!(seen[0].starts_with("POST /sse "), "{seen:?}");
    let get = seen.iter().position(|s| s.starts_with("GET /sse "));
    let init = seen.iter().position(|s| {
        s.starts_with("POST /messages?sessionId=abc ") && s.ends_with("\"initialize\"")
    });
    assert!(
        matches!((get, init), (Some(g), Some(i)) if g < i),
        "{seen:?}"
    );
}
