//! A raw HTTP/1.1 client for black-box tests: exact control over headers and bytes, chunked and
//! SSE reading, every read bounded by a timeout, and the checks of a connection the server must
//! refuse or close. Included with `#[path = "common/http.rs"]` beside `mod common` (whose socket
//! helpers it uses); it owns no server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    /// The body for a failure message (cut short).
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(300) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.into_owned(),
        }
    }
    pub fn error_code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code in {:?}", String::from_utf8_lossy(&self.body)))
    }
    /// JSON-RPC messages of an SSE body (or the one JSON body).
    pub fn messages(&self) -> Vec<Value> {
        if self
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
        {
            sse_data(&self.body)
                .iter()
                .map(|d| serde_json::from_str(d).unwrap())
                .collect()
        } else {
            vec![self.json()]
        }
    }
}

pub fn sse_data(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

pub struct HttpClient {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
    pub port: u16,
    /// SSE text read but not yet handed out as events (a chunk may carry several events, or
    /// part of one).
    sse: String,
}

pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// How long a read waits unless a caller sets another timeout on `stream`.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

impl HttpClient {
    /// A client on a connection made elsewhere (a small receive buffer, another source address).
    pub fn on(stream: TcpStream, port: u16) -> HttpClient {
        stream.set_read_timeout(Some(READ_TIMEOUT)).ok();
        stream.set_nodelay(true).ok();
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        HttpClient {
            stream,
            reader,
            port,
            sse: String::new(),
        }
    }

    pub fn connect(port: u16) -> HttpClient {
        HttpClient::on(
            TcpStream::connect(("127.0.0.1", port)).expect("connect"),
            port,
        )
    }

    /// From another loopback address (the server rate-limits per client address).
    pub fn connect_from(ip: Ipv4Addr, port: u16) -> HttpClient {
        HttpClient::on(crate::common::connect_from(ip, port), port)
    }

    /// Exact bytes out; a failed write is returned, for cases that expect the server to hang up.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.write(bytes)
            .unwrap_or_else(|e| panic!("write failed: {e}"));
    }

    /// The bytes of a request; `Host` and `Content-Length` are added unless given.
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            && (!body.is_empty() || method == "POST")
        {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    /// Send a request; `Host` and `Content-Length` are added unless given.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let bytes = self.request_bytes(method, path, headers, body);
        self.send_raw(&bytes);
    }

    /// A POST to /mcp and its response.
    pub fn post(&mut self, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        self.send("POST", "/mcp", headers, body);
        self.read_response()
    }

    fn line(&mut self) -> Result<String, String> {
        let mut raw = Vec::new();
        match self.reader.read_until(b'\n', &mut raw) {
            Ok(0) => Err("the connection closed before a response".into()),
            Ok(_) => Ok(String::from_utf8_lossy(&raw).trim_end().to_owned()),
            Err(e) => Err(format!("no response: {e}")),
        }
    }

    /// The status line and headers; a 100 Continue is returned like any other status.
    pub fn try_head(&mut self) -> Result<(u16, Vec<(String, String)>), String> {
        let line = self.line()?;
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let h = self.line()?;
            if h.is_empty() {
                break;
            }
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("bad header line {h:?}"))?;
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        Ok((status, headers))
    }

    /// Read a status line and headers, past any 100 Continue.
    pub fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        loop {
            match self.try_head() {
                Ok((100, _)) => {}
                Ok(head) => return head,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// One whole response (Content-Length or chunked to its end), past any 100 Continue.
    pub fn try_response(&mut self) -> Result<HttpResponse, String> {
        let (status, headers) = loop {
            match self.try_head()? {
                (100, _) => {}
                head => break head,
            }
        };
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let body = if let Some(len) = get("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len}"))?;
            let mut body = vec![0u8; len];
            self.reader
                .read_exact(&mut body)
                .map_err(|e| format!("body cut short: {e}"))?;
            body
        } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            while let Some(chunk) = self.try_chunk()? {
                body.extend_from_slice(&chunk);
            }
            body
        } else {
            Vec::new()
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Read one whole response (Content-Length or chunked to its end).
    pub fn read_response(&mut self) -> HttpResponse {
        self.try_response().unwrap_or_else(|e| panic!("{e}"))
    }

    /// One chunk of a chunked body; None at the last chunk.
    pub fn try_chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        let size = self.line()?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size:?}"))?;
        let mut data = vec![0u8; n + 2];
        self.reader
            .read_exact(&mut data)
            .map_err(|e| format!("chunk cut short: {e}"))?;
        data.truncate(n);
        Ok((n > 0).then_some(data))
    }

    /// One chunk of a chunked body; None at the last chunk.
    pub fn read_chunk(&mut self) -> Option<Vec<u8>> {
        self.try_chunk().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The next SSE event of a streaming (chunked) response whose head was read; comments skipped.
    /// Events are taken from the stream's text wherever chunks split it.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.try_next_event().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::next_event`], saying why none came (a read timeout between chunks, say).
    pub fn try_next_event(&mut self) -> Result<Option<SseEvent>, String> {
        loop {
            while let Some(end) = self.sse.find("\n\n") {
                let block: String = self.sse.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        ev.id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        ev.event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        has_data = true;
                        ev.data.push_str(v);
                    }
                }
                if has_data {
                    return Ok(Some(ev));
                }
            }
            let Some(chunk) = self.try_chunk()? else {
                return Ok(None);
            };
            self.sse.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The peer closed the connection (EOF) within the read timeout.
    pub fn closed_by_peer(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0))
    }

    /// The server closes the connection within `within` without sending anything more.
    pub fn expect_closed(&mut self, within: Duration) {
        assert!(
            self.reader.buffer().is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(self.reader.buffer())
        );
        self.stream.set_read_timeout(Some(within)).ok();
        let mut buf = [0u8; 4096];
        // (A response already read may have left nothing behind; anything new is a failure.)
        match self.reader.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected the connection to close, got {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) if crate::common::is_reset(&e) => {}
            Err(e) => panic!("the connection was not closed within {within:?}: {e}"),
        }
    }

    /// A refusal: `status`, `Connection: close`, then the connection closes.
    pub fn expect_refusal(&mut self, statuses: &[u16]) -> HttpResponse {
        let r = self.read_response();
        assert!(
            statuses.contains(&r.status),
            "expected {statuses:?}, got {} {:?}",
            r.status,
            r.body_text()
        );
        assert!(
            r.header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close")),
            "a refused request announces Connection: close ({:?})",
            r.headers
        );
        self.expect_closed(Duration::from_secs(3));
        r
    }

    /// Legacy handshake on this connection (`version` must be one the server speaks); returns
    /// the session id.
    pub fn initialize_legacy(&mut self, version: &str) -> String {
        let r = self.post(
            &[JSON, ACCEPT],
            msg::initialize(1, version).text().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(
            r.json()["result"]["protocolVersion"],
            version,
            "{}",
            r.body_text()
        );
        let sid = r.header("mcp-session-id").expect("session id").to_owned();
        let r = self.post(
            &legacy_headers(&sid, version),
            msg::initialized().text().as_bytes(),
        );
        assert_eq!(r.status, 202);
        sid
    }
}

/// The headers of a POST on a legacy session.
pub fn legacy_headers<'a>(sid: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        JSON,
        ACCEPT,
        ("Mcp-Session-Id", sid),
        ("MCP-Protocol-Version", version),
    ]
}

/// The standard headers of a 2026-07-28 POST.
pub fn modern_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", method),
    ];
    if let Some(n) = name {
        h.push(("Mcp-Name", n));
    }
    h
}

/// A 2026-07-28 request body whose `_meta` carries only the revision and empty capabilities.
pub fn modern_body(id: i64, method: &str, params: Value) -> Vec<u8> {
    let params = if params.is_null() { json!({}) } else { params };
    msg::request(id, method)
        .params(params)
        .meta(
            "io.modelcontextprotocol/protocolVersion",
            ringmcp_testkit::STATELESS,
        )
        .meta("io.modelcontextprotocol/clientCapabilities", json!({}))
        .text()
        .into_bytes()
}

pub const JSON: (&str, &str) = ("Content-Type", "application/json");
pub const ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");

/// A 2026-07-28 call of the demo's `approve` tool (single-use `requestState`): the first attempt
/// when `state` is `None`, else the retry carrying the user's approval and that state.
pub fn approve_body(id: i64, action: &str, state: Option<&str>) -> Vec<u8> {
    let mut m = msg::call(id, "approve")
        .args(json!({ "action": action }))
        .meta(
            "io.modelcontextprotocol/protocolVersion",
            ringmcp_testkit::STATELESS,
        )
        .meta(
            "io.modelcontextprotocol/clientCapabilities",
            json!({"elicitation": {}}),
        );
    if let Some(state) = state {
        m = m
            .param(
                "inputResponses",
                json!({"approval": {"action": "accept", "content": {"approved": true}}}),
            )
            .param("requestState", state);
    }
    m.text().into_bytes()
}

/// POST a 2026-07-28 `approve` call to `port` on a fresh connection, as `bearer` if given.
pub fn approve(
    port: u16,
    bearer: Option<&str>,
    id: i64,
    action: &str,
    state: Option<&str>,
) -> HttpResponse {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = modern_headers("tools/call", Some("approve"));
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let mut c = HttpClient::connect(port);
    c.send("POST", "/mcp", &headers, &approve_body(id, action, state));
    c.read_response()
}

/// The `requestState` of a first `approve` attempt's `input_required` answer.
pub fn approve_state(r: &HttpResponse) -> String {
    let body = r.json();
    assert_eq!(body["result"]["resultType"], "input_required", "{body}");
    body["result"]["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState in {body}"))
        .to_owned()
}

/// The JSON-RPC error message of a response, or the tool's text when it succeeded.
pub fn outcome(r: &HttpResponse) -> String {
    let body = r.json();
    match body.get("error") {
        Some(e) => format!(
            "error {}: {}",
            e["code"],
            e["message"].as_str().unwrap_or("")
        ),
        None => body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}
