//! The Streamable HTTP side of `common::Client`: a well-behaved client of `ringmcp serve --http`
//! that turns POST answers (one JSON body or an SSE stream) and the session's GET stream into the
//! same queue of JSON-RPC messages that stdio and TCP deliver, so one feature scenario runs on
//! every transport. It never sends malformed HTTP (`common::http::HttpClient` does that) and owns
//! no server.
//!
//! What a client of each revision sends:
//! - a single message whose `_meta` names a protocol version, or any request before a legacy
//!   session exists, is a 2026-07-28 POST: `MCP-Protocol-Version` (the `_meta` revision, else
//!   2026-07-28), `Mcp-Method` and, where the method names something, `Mcp-Name`;
//! - `initialize` opens a legacy session: its answer is read at once for `Mcp-Session-Id` and the
//!   negotiated revision, which every later POST carries;
//! - after `notifications/initialized` is accepted, GET /mcp opens the stream on which messages
//!   that belong to no request (resource updates, list changes) arrive.
//!
//! Requests are answered on their own connection, read by a thread of their own, so that a
//! request still running (a sleep, a cancelled call, a listen stream) blocks nothing else; what
//! they read joins the client's queue as the JSON text the server wrote (an error status still
//! carries a JSON-RPC error, which is what the scenarios check). An answer that is no JSON-RPC at
//! all joins it as a line starting with `HTTP transport:`, on which the client's reader fails the
//! test with the status and body.

use super::http::{HttpClient, ACCEPT, JSON};
use serde_json::Value;
use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

/// A Streamable HTTP client: a legacy session once initialized, 2026-07-28 requests otherwise.
pub struct Streamable {
    port: u16,
    session: Option<String>,
    version: Option<String>,
    listening: bool,
    queue: Sender<String>,
    /// Every connection opened, shut down on drop so that reader threads end and the server sees
    /// the client go.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl Drop for Streamable {
    fn drop(&mut self) {
        for s in self
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// The `_meta` revision of a single message, if it names one.
fn meta_version(msg: &Value) -> Option<&str> {
    msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].as_str()
}

fn is_request(msg: &Value) -> bool {
    msg.get("id").is_some() && msg.get("method").is_some()
}

impl Streamable {
    pub fn new(port: u16, queue: Sender<String>) -> Streamable {
        Streamable {
            port,
            session: None,
            version: None,
            listening: false,
            queue,
            sockets: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A new connection, remembered for drop.
    fn connect(&self) -> HttpClient {
        let c = HttpClient::connect(self.port);
        if let Ok(s) = c.stream.try_clone() {
            self.sockets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(s);
        }
        c
    }

    /// The headers a client of this revision sends with `msg` (None: unparsable bytes).
    fn headers(&self, msg: Option<&Value>) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = [JSON, ACCEPT]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let modern_version = msg.and_then(|m| {
            meta_version(m).map(str::to_owned).or_else(|| {
                (self.session.is_none() && is_request(m) && m["method"] != "initialize")
                    .then(|| ringmcp_testkit::STATELESS.to_owned())
            })
        });
        match (modern_version, msg) {
            (Some(version), Some(m)) => {
                h.push(("MCP-Protocol-Version".into(), version));
                if let Some(method) = m["method"].as_str() {
                    h.push(("Mcp-Method".into(), method.to_owned()));
                    let name = match method {
                        "tools/call" | "prompts/get" => m["params"]["name"].as_str(),
                        "resources/read" => m["params"]["uri"].as_str(),
                        "tasks/get" | "tasks/update" | "tasks/cancel" => {
                            m["params"]["taskId"].as_str()
                        }
                        _ => None,
                    };
                    if let Some(name) = name {
                        h.push(("Mcp-Name".into(), name.to_owned()));
                    }
                }
            }
            _ => {
                if let Some(sid) = &self.session {
                    h.push(("Mcp-Session-Id".into(), sid.clone()));
                }
                if let Some(v) = &self.version {
                    h.push(("MCP-Protocol-Version".into(), v.clone()));
                }
            }
        }
        h
    }

    /// POST one message (or batch, or any bytes) the way a client would.
    pub fn post(&mut self, body: &[u8]) {
        let msg: Option<Value> = serde_json::from_slice(body).ok();
        let headers = self.headers(msg.as_ref());
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let expects_answer = match &msg {
            None => true,
            Some(Value::Array(items)) => items.iter().any(|m| !m.is_object() || is_request(m)),
            Some(m) => is_request(m) || m.get("method").is_none() && m.get("id").is_none(),
        };
        let method = msg
            .as_ref()
            .and_then(|m| m["method"].as_str())
            .map(str::to_owned);
        let mut c = self.connect();
        c.send("POST", "/mcp", &headers, body);
        if method.as_deref() == Some("initialize")
            && meta_version(msg.as_ref().unwrap_or(&Value::Null)).is_none()
        {
            // The session id and revision are needed before anything else is sent.
            let r = c.read_response();
            self.session = r
                .header("mcp-session-id")
                .map(str::to_owned)
                .or(self.session.take());
            for m in forwardable(r.status, r.header("content-type"), &r.body) {
                let answer: Value = serde_json::from_str(&m).unwrap_or_default();
                if let Some(v) = answer["result"]["protocolVersion"].as_str() {
                    self.version = Some(v.to_owned());
                }
                send(&self.queue, m);
            }
            return;
        }
        if !expects_answer {
            let r = c.read_response();
            if r.status != 202 {
                for m in forwardable(r.status, r.header("content-type"), &r.body) {
                    send(&self.queue, m);
                }
            } else if method.as_deref() == Some("notifications/initialized") && !self.listening {
                self.listen();
            }
            return;
        }
        let queue = self.queue.clone();
        std::thread::spawn(move || read_answer(c, &queue));
    }

    /// GET /mcp: the session's stream for messages that belong to no request. Its head is read
    /// here, so the server has attached the stream before the test goes on.
    fn listen(&mut self) {
        let Some(sid) = self.session.clone() else {
            return;
        };
        let version = self.version.clone().unwrap_or_default();
        let mut c = self.connect();
        c.send(
            "GET",
            "/mcp",
            &[
                ("Accept", "text/event-stream"),
                ("Mcp-Session-Id", &sid),
                ("MCP-Protocol-Version", &version),
            ],
            b"",
        );
        let (status, headers) = c.read_head();
        assert_eq!(status, 200, "GET /mcp: {headers:?}");
        self.listening = true;
        let queue = self.queue.clone();
        std::thread::spawn(move || {
            c.stream.set_read_timeout(None).ok();
            read_events(&mut c, &headers, &queue);
        });
    }
}

/// Read one POST answer to its end: a JSON body or an SSE stream of messages.
fn read_answer(mut c: HttpClient, queue: &Sender<String>) {
    // A request may legitimately run long (a listen stream, a cancelled call): wait as long as
    // the connection lives; the client shuts it down when dropped.
    c.stream.set_read_timeout(None).ok();
    let (status, headers) = match c.try_head() {
        Ok((100, _)) => match c.try_head() {
            Ok(head) => head,
            Err(e) => return send(queue, format!("HTTP transport: {e}")),
        },
        Ok(head) => head,
        Err(e) => return send(queue, format!("HTTP transport: {e}")),
    };
    let content_type = header(&headers, "content-type");
    if status == 200 && content_type.is_some_and(|t| t.starts_with("text/event-stream")) {
        return read_events(&mut c, &headers, queue);
    }
    let mut body = Vec::new();
    if let Some(len) = header(&headers, "content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        if let Err(e) = c.reader.read_exact(&mut body) {
            return send(queue, format!("HTTP transport: body cut short: {e}"));
        }
    } else if header(&headers, "transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            match c.try_chunk() {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return send(queue, format!("HTTP transport: {e}")),
            }
        }
    }
    for m in forwardable(status, content_type, &body) {
        send(queue, m);
    }
}

/// Forward each SSE event's data (a JSON-RPC message) until the stream ends.
fn read_events(c: &mut HttpClient, headers: &[(String, String)], queue: &Sender<String>) {
    let chunked =
        header(headers, "transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let mut buf = String::new();
    loop {
        let bytes = if chunked {
            match c.try_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) | Err(_) => return,
            }
        } else {
            let mut tmp = vec![0u8; 16 * 1024];
            match c.reader.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    tmp.truncate(n);
                    tmp
                }
            }
        };
        buf.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if data.is_empty() {
                continue; // a comment (keep-alive) or an event without data
            }
            let data = data.join("\n");
            if queue.send(as_sent(data)).is_err() {
                return;
            }
        }
    }
}

/// The JSON-RPC messages of a plain answer, as sent: its JSON body (an error status still
/// carries a JSON-RPC error), or a description of what came instead.
fn forwardable(status: u16, content_type: Option<&str>, body: &[u8]) -> Vec<String> {
    if content_type.is_some_and(|t| t.starts_with("text/event-stream")) {
        return super::http::sse_data(body)
            .into_iter()
            .map(as_sent)
            .collect();
    }
    let text = String::from_utf8_lossy(body).into_owned();
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_array() || v.get("jsonrpc").is_some() => vec![text],
        _ => vec![format!("HTTP transport: status {status} with {text}")],
    }
}

/// A message as the server wrote it (ids beyond 64 bits and all), or what it was instead.
fn as_sent(data: String) -> String {
    match serde_json::from_str::<Value>(&data) {
        Ok(_) => data,
        Err(e) => format!("HTTP transport: SSE data is not JSON ({e}): {data}"),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn send(queue: &Sender<String>, line: String) {
    let _ = queue.send(line);
}
