//! A scripted in-process HTTP server for the client's tests: each request is logged and answered
//! by the test's script (status, content type, body), then the connection closes, so an SSE
//! body is a stream that ends after its events.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request the server saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Value,
    pub(crate) at: Instant,
}

pub(crate) type Log = Arc<Mutex<Vec<Seen>>>;
/// Status, content type and body (the connection closes after it).
pub(crate) type Reply = (u16, &'static str, String);

pub(crate) fn serve(
    script: impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static,
) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let url = format!(
        "http://localhost:{}/mcp",
        listener.local_addr().map(|a| a.port()).unwrap_or(0)
    );
    let log: Log = Arc::default();
    let script = Arc::new(script);
    let log2 = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (log, script) = (log2.clone(), script.clone());
            std::thread::spawn(move || handle(conn, &log, &*script));
        }
    });
    (url, log)
}

fn handle(conn: TcpStream, log: &Log, script: &dyn Fn(&Seen, &[Seen]) -> Reply) {
    let mut reader = BufReader::new(conn.try_clone().unwrap_or_else(|e| panic!("{e}")));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let method = line.split(' ').next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap_or(0);
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap_or_default();
    let seen = Seen {
        method,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    let earlier = log.lock().map(|l| l.clone()).unwrap_or_default();
    log.lock()
        .map(|mut l| l.push(seen.clone()))
        .unwrap_or_default();
    let (status, ctype, body) = script(&seen, &earlier);
    let mut conn = conn;
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\nmcp-session-id: s-1\r\nconnection: close\r\n\r\n"
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
}

pub(crate) fn sse(events: &[String]) -> String {
    events.concat()
}

pub(crate) fn message(v: Value) -> String {
    format!("event: message\ndata: {v}\n\n")
}
