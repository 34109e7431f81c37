//! What the load generator says and how it reads the answers: the bytes of one request for a
//! transport and workload, the set-up exchange of a connection (initialize, subscribe), and
//! [`ResponseReader`], which finds complete answers in received bytes (ndjson lines, or HTTP/1.1
//! responses framed by `Content-Length` or chunked coding) and says whether each is an error.
//! It does no I/O of its own except in [`handshake`], which runs on a blocking socket before the
//! connection joins a worker's ring.

use ringmcp_testkit::msg::{self, Msg};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;

/// How requests travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Newline-delimited JSON-RPC over TCP.
    Tcp,
    /// Streamable HTTP: one POST per request on keep-alive connections.
    Http,
}

/// What each connection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// A 100-byte line echoed back (raw echo servers; TCP only).
    Line,
    /// `tools/call echo` with 64 bytes of text on a legacy session (initialize first).
    Echo,
    /// `tools/call echo` as a stateless 2026-07-28 request.
    EchoModern,
    /// `ping` on a legacy session.
    Ping,
    /// `server/discover` as a stateless 2026-07-28 request.
    Discover,
    /// Subscribers of `demo://counter` waiting for updates (see `--updates-per-sec`): legacy
    /// sessions with `resources/subscribe` over TCP, 2026-07-28 `subscriptions/listen` streams
    /// over HTTP (a legacy HTTP session would need a GET stream besides).
    Listen,
    /// Connect, initialize, close, as fast as possible.
    Connect,
    /// `initialize` only: every request leaves a session behind (HTTP; memory per session).
    Sessions,
    /// A legacy session per connection, the connections spread evenly over [`MIXED`]: tool
    /// calls, pings, listings, resource reads, template reads and prompts in one run.
    Mixed,
}

/// The requests of the `mixed` workload; connection `i` repeats `MIXED[i % MIXED.len()]`.
pub const MIXED: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"demo://counter"}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"demo://greeting/ada"}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"greet","arguments":{"name":"ada"}}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#,
];

impl Workload {
    /// Whether the workload runs on a legacy session (initialize before the first request).
    pub fn needs_session(self) -> bool {
        matches!(
            self,
            Workload::Echo
                | Workload::Ping
                | Workload::Listen
                | Workload::Connect
                | Workload::Mixed
        )
    }
}

const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";

/// `_meta` of the 2026-07-28 requests: the revision and empty client capabilities, nothing more
/// (the figures in docs/BENCHMARKS.md were measured with exactly these bytes).
fn stateless(msg: Msg) -> Msg {
    msg.meta("io.modelcontextprotocol/protocolVersion", MODERN)
        .meta("io.modelcontextprotocol/clientCapabilities", json!({}))
}

/// The JSON-RPC body of the request connection number `index` repeats in `workload`.
fn body(workload: Workload, index: usize) -> String {
    let echo = || msg::call(1, "echo").args(json!({ "text": "x".repeat(64) }));
    match workload {
        Workload::Line => "y".repeat(99),
        Workload::Echo | Workload::Listen | Workload::Connect => echo().text(),
        Workload::EchoModern => stateless(echo()).text(),
        Workload::Ping => msg::request(1, "ping").text(),
        Workload::Discover => stateless(msg::request(1, "server/discover")).text(),
        Workload::Sessions => initialize_body(),
        Workload::Mixed => MIXED[index % MIXED.len()].to_owned(),
    }
}

fn initialize_body() -> String {
    msg::initialize(0, LEGACY)
        .param(
            "clientInfo",
            json!({"name": "ringmcp-load", "version": "1"}),
        )
        .text()
}

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Frame a JSON-RPC body of a legacy session (or before one) for the transport.
pub fn frame(
    transport: Transport,
    path: &str,
    host: &str,
    session: Option<&str>,
    json: &str,
) -> Vec<u8> {
    frame_with(transport, path, host, session, None, json)
}

/// The 2026-07-28 HTTP headers of a workload's request: `Mcp-Method` and `Mcp-Name`.
fn modern_headers(workload: Workload) -> Option<(&'static str, Option<&'static str>)> {
    match workload {
        Workload::EchoModern => Some(("tools/call", Some("echo"))),
        Workload::Discover => Some(("server/discover", None)),
        _ => None,
    }
}

fn frame_with(
    transport: Transport,
    path: &str,
    host: &str,
    session: Option<&str>,
    modern: Option<(&str, Option<&str>)>,
    json: &str,
) -> Vec<u8> {
    match transport {
        Transport::Tcp => {
            let mut line = json.as_bytes().to_vec();
            line.push(b'\n');
            line
        }
        Transport::Http => {
            let mut head = format!(
                "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
                json.len()
            );
            if let Some(s) = session {
                head.push_str(&format!(
                    "Mcp-Session-Id: {s}\r\nMCP-Protocol-Version: {LEGACY}\r\n"
                ));
            }
            if let Some((method, name)) = modern {
                head.push_str(&format!(
                    "MCP-Protocol-Version: {MODERN}\r\nMcp-Method: {method}\r\n"
                ));
                if let Some(name) = name {
                    head.push_str(&format!("Mcp-Name: {name}\r\n"));
                }
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(json.as_bytes());
            bytes
        }
    }
}

/// The request connection number `index` repeats.
pub fn request(
    transport: Transport,
    workload: Workload,
    index: usize,
    path: &str,
    host: &str,
    session: Option<&str>,
) -> Vec<u8> {
    frame_with(
        transport,
        path,
        host,
        session,
        modern_headers(workload),
        &body(workload, index),
    )
}

/// One complete thing read from a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The answer to a request; `true` when it is a JSON-RPC error or an HTTP error status.
    Response(bool),
    /// A server notification (listen).
    Notification,
}

#[derive(Debug)]
enum HttpBody {
    Length(usize),
    Chunked,
}

/// Finds complete answers in received bytes.
#[derive(Debug)]
pub struct ResponseReader {
    transport: Transport,
    buf: Vec<u8>,
    /// HTTP: the body being read, and whether the response so far is an error.
    body: Option<(HttpBody, bool)>,
    /// HTTP: the `Mcp-Session-Id` of the last response head that carried one.
    pub session: Option<String>,
}

/// Whether a listener of `workload` over `transport` holds a 2026-07-28 listen stream.
pub fn listens_on_stream(transport: Transport, workload: Workload) -> bool {
    transport == Transport::Http && workload == Workload::Listen
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn has_error(bytes: &[u8]) -> bool {
    contains(bytes, b"\"error\":")
}

fn is_notification(line: &[u8]) -> bool {
    contains(line, b"\"method\":\"notifications")
}

impl ResponseReader {
    /// A reader for one connection.
    pub fn new(transport: Transport) -> Self {
        ResponseReader {
            transport,
            buf: Vec::new(),
            body: None,
            session: None,
        }
    }

    /// A reader for a connection set up by [`handshake`]: on a 2026-07-28 listen stream it
    /// starts inside the chunked body whose head the handshake already read.
    pub fn after_handshake(transport: Transport, workload: Workload) -> Self {
        let mut reader = ResponseReader::new(transport);
        if listens_on_stream(transport, workload) {
            reader.body = Some((HttpBody::Chunked, false));
        }
        reader
    }

    /// Feed received bytes; `on_answer` is called once per complete answer. `Err` when the bytes
    /// cannot be framed (the connection is then useless).
    pub fn feed(&mut self, data: &[u8], mut on_answer: impl FnMut(Answer)) -> Result<(), String> {
        match self.transport {
            Transport::Tcp => {
                let mut rest = data;
                while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
                    let line: &[u8] = if self.buf.is_empty() {
                        &rest[..pos]
                    } else {
                        self.buf.extend_from_slice(&rest[..pos]);
                        &self.buf
                    };
                    let answer = if is_notification(line) {
                        Answer::Notification
                    } else {
                        Answer::Response(has_error(line))
                    };
                    on_answer(answer);
                    self.buf.clear();
                    rest = &rest[pos + 1..];
                }
                self.buf.extend_from_slice(rest);
                Ok(())
            }
            Transport::Http => {
                self.buf.extend_from_slice(data);
                let mut pos = 0;
                while let Some((used, answer)) = self.http_step(pos)? {
                    pos = used;
                    if let Some(a) = answer {
                        on_answer(a);
                    }
                }
                self.buf.drain(..pos);
                Ok(())
            }
        }
    }

    /// One step of HTTP framing from `pos`: `Some((new_pos, answer))` when progress was made.
    fn http_step(&mut self, pos: usize) -> Result<Option<(usize, Option<Answer>)>, String> {
        let data = &self.buf[pos..];
        match &mut self.body {
            None => {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut resp = httparse::Response::new(&mut headers);
                let n = match resp.parse(data) {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) => return Ok(None),
                    Err(e) => return Err(format!("bad HTTP response: {e}")),
                };
                let status = resp.code.unwrap_or(0);
                let mut length = None;
                let mut chunked = false;
                for h in resp.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.trim().parse::<usize>().ok());
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = h.value.eq_ignore_ascii_case(b"chunked");
                    } else if h.name.eq_ignore_ascii_case("mcp-session-id") {
                        self.session = std::str::from_utf8(h.value).ok().map(str::to_owned);
                    }
                }
                let error = status >= 400;
                if status == 100 {
                    return Ok(Some((pos + n, None)));
                }
                self.body = Some(match (chunked, length) {
                    (true, _) => (HttpBody::Chunked, error),
                    (false, Some(l)) => (HttpBody::Length(l), error),
                    (false, None) => (HttpBody::Length(0), error),
                });
                Ok(Some((pos + n, None)))
            }
            Some((HttpBody::Length(len), error)) => {
                let len = *len;
                if data.len() < len {
                    return Ok(None);
                }
                let failed = *error || has_error(&data[..len]);
                self.body = None;
                Ok(Some((pos + len, Some(Answer::Response(failed)))))
            }
            Some((HttpBody::Chunked, error)) => {
                let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                let size_text = std::str::from_utf8(&data[..eol]).map_err(|e| e.to_string())?;
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
                let need = eol + 2 + size + 2;
                if data.len() < need {
                    return Ok(None);
                }
                if size == 0 {
                    let failed = *error;
                    self.body = None;
                    return Ok(Some((pos + need, Some(Answer::Response(failed)))));
                }
                let chunk = &data[eol + 2..eol + 2 + size];
                if has_error(chunk) {
                    *error = true;
                }
                // An SSE event carrying a notification (a listen stream's update, a progress
                // notice ahead of an answer); a stream sends one event a chunk.
                let notice = is_notification(chunk).then_some(Answer::Notification);
                Ok(Some((pos + need, notice)))
            }
        }
    }
}

/// Read from a blocking socket until `want` answers arrived; returns them.
fn read_answers(
    stream: &mut TcpStream,
    reader: &mut ResponseReader,
    want: usize,
) -> Result<Vec<Answer>, String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while got.len() < want {
        let n = stream.read(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "no answer within the set-up read timeout".to_string()
            }
            _ => e.to_string(),
        })?;
        if n == 0 {
            return Err("connection closed during set-up".into());
        }
        reader.feed(&buf[..n], |a| {
            if let Answer::Response(_) = a {
                got.push(a)
            }
        })?;
    }
    Ok(got)
}

/// Set a fresh connection up for `workload`: initialize and `notifications/initialized` on
/// legacy sessions, subscribe listeners. Returns the HTTP session id, if the server gave one.
pub fn handshake(
    stream: &mut TcpStream,
    transport: Transport,
    workload: Workload,
    path: &str,
    host: &str,
) -> Result<Option<String>, String> {
    if listens_on_stream(transport, workload) {
        return listen_stream(stream, path, host).map(|()| None);
    }
    if !workload.needs_session() {
        return Ok(None);
    }
    let mut reader = ResponseReader::new(transport);
    let send = |stream: &mut TcpStream, bytes: Vec<u8>| {
        stream
            .write_all(&bytes)
            .map_err(|e| format!("set-up write: {e}"))
    };
    send(
        stream,
        frame(transport, path, host, None, &initialize_body()),
    )?;
    if read_answers(stream, &mut reader, 1)? != [Answer::Response(false)] {
        return Err("initialize failed".into());
    }
    let session = reader.session.clone();
    send(
        stream,
        frame(transport, path, host, session.as_deref(), INITIALIZED),
    )?;
    if transport == Transport::Http {
        // 202 Accepted, no body.
        read_answers(stream, &mut reader, 1)?;
    }
    if workload == Workload::Listen {
        let subscribe = msg::request(1, "resources/subscribe")
            .param("uri", "demo://counter")
            .text();
        send(
            stream,
            frame(transport, path, host, session.as_deref(), &subscribe),
        )?;
        let got = read_answers(stream, &mut reader, 1)?;
        if got != [Answer::Response(false)] {
            return Err(format!("resources/subscribe failed: {got:?}"));
        }
    }
    Ok(session)
}

/// Open a 2026-07-28 `subscriptions/listen` stream for `demo://counter` and wait for its
/// acknowledgement, so that the listener hears every update sent after set-up.
fn listen_stream(stream: &mut TcpStream, path: &str, host: &str) -> Result<(), String> {
    let listen = stateless(msg::request(1, "subscriptions/listen").param(
        "notifications",
        json!({ "resourceSubscriptions": ["demo://counter"] }),
    ))
    .text();
    let bytes = frame_with(
        Transport::Http,
        path,
        host,
        None,
        Some(("subscriptions/listen", None)),
        &listen,
    );
    stream
        .write_all(&bytes)
        .map_err(|e| format!("set-up write: {e}"))?;
    let mut reader = ResponseReader::new(Transport::Http);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "no listen acknowledgement within the set-up read timeout".to_string()
            }
            _ => e.to_string(),
        })?;
        if n == 0 {
            return Err("connection closed during set-up".into());
        }
        let mut got = None;
        reader.feed(&buf[..n], |a| got = got.or(Some(a)))?;
        match got {
            Some(Answer::Notification) => return Ok(()),
            // An answer ends the stream: the server refused the listen.
            Some(Answer::Response(_)) => return Err("subscriptions/listen was refused".into()),
            None => {}
        }
    }
}

/// The body of a `bump` call (the demo tool that updates `demo://counter` on every shard).
pub fn bump(transport: Transport, path: &str, host: &str, session: Option<&str>) -> Vec<u8> {
    let json = msg::call(2, "bump").args(json!({})).text();
    frame(transport, path, host, session, &json)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bodies_are_the_bytes_the_published_figures_were_measured_with() {
        let x = "x".repeat(64);
        assert_eq!(
            body(Workload::Echo, 0),
            format!(
                r#"{{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{{"arguments":{{"text":"{x}"}},"name":"echo"}}}}"#
            )
        );
        assert_eq!(
            body(Workload::EchoModern, 0),
            format!(
                r#"{{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{{"_meta":{{"io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"arguments":{{"text":"{x}"}},"name":"echo"}}}}"#
            )
        );
        assert_eq!(
            body(Workload::Ping, 0),
            r#"{"id":1,"jsonrpc":"2.0","method":"ping"}"#
        );
    }

    #[test]
    fn mixed_spreads_connections_over_distinct_requests() {
        let methods: std::collections::BTreeSet<String> = MIXED
            .iter()
            .map(|b| {
                let v: serde_json::Value = serde_json::from_str(b).unwrap();
                assert_eq!(v["jsonrpc"], "2.0");
                assert_eq!(v["id"], 1);
                v["method"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(methods.len() >= 5, "{methods:?}");
        for i in 0..2 * MIXED.len() {
            assert_eq!(body(Workload::Mixed, i), MIXED[i % MIXED.len()]);
        }
        assert_ne!(body(Workload::Mixed, 0), body(Workload::Mixed, 1));
        assert!(Workload::Mixed.needs_session());
    }

    fn answers(t: Transport, chunks: &[&[u8]]) -> Vec<Answer> {
        let mut r = ResponseReader::new(t);
        let mut out = Vec::new();
        for c in chunks {
            r.feed(c, |a| out.push(a)).unwrap();
        }
        out
    }

    #[test]
    fn lines_split_anywhere() {
        let a = answers(
            Transport::Tcp,
            &[
                b"{\"id\":1,\"result\":{}}\n{\"id\":2,\"er",
                b"ror\":{}}\n{\"method\":\"notifications/x\"}\n",
            ],
        );
        assert_eq!(
            a,
            [
                Answer::Response(false),
                Answer::Response(true),
                Answer::Notification
            ]
        );
    }

    #[test]
    fn http_length_and_chunked() {
        let json =
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nMcp-Session-Id: s1\r\n\r\n{\"result\":1}";
        let sse = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:\r\n9\r\n\"error\":1\r\n0\r\n\r\n";
        let mut r = ResponseReader::new(Transport::Http);
        let mut out = Vec::new();
        for piece in json[..json.len() - 1].chunks(7) {
            r.feed(piece, |a| out.push(a)).unwrap();
        }
        r.feed(&json[json.len() - 1..], |a| out.push(a)).unwrap();
        assert_eq!(r.session.as_deref(), Some("s1"));
        r.feed(sse, |a| out.push(a)).unwrap();
        r.feed(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            |a| out.push(a),
        )
        .unwrap();
        assert_eq!(
            out,
            [
                Answer::Response(false),
                Answer::Response(true),
                Answer::Response(true)
            ]
        );
    }

    #[test]
    fn listen_stream_events_are_notifications() {
        let update = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\"}\n\n";
        let mut stream = format!("{:x}\r\n", update.len()).into_bytes();
        stream.extend_from_slice(update);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(b"f\r\n: keep-alive\n\n\n\r\n");
        stream.extend_from_slice(&stream.clone());
        let mut r = ResponseReader::after_handshake(Transport::Http, Workload::Listen);
        let mut out = Vec::new();
        for piece in stream.chunks(5) {
            r.feed(piece, |a| out.push(a)).unwrap();
        }
        assert_eq!(out, [Answer::Notification, Answer::Notification]);
    }
}
