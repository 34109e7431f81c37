//! What the load generator says: the bytes of one request for a transport and workload (HTTP
//! heads written by the client's own [`write_request_head`], with the Streamable HTTP header
//! names of `ringmcp-proto`), and the set-up exchange of a connection (initialize, subscribe).
//! How answers are read is [`ResponseReader`]'s. It does no I/O of its own except in
//! [`handshake`], which runs on a blocking socket before the connection joins a worker's ring.

use ringmcp_proto::framing::http::write_request_head;
use ringmcp_proto::streamable_http::{METHOD_HEADER, NAME_HEADER, SESSION_HEADER, VERSION_HEADER};
use ringmcp_testkit::msg::{self, Msg};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;

mod reader;

pub use reader::{Answer, ReadError, ResponseReader};

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
            let mut headers = vec![
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ];
            if let Some(s) = session {
                headers.extend([(SESSION_HEADER, s), (VERSION_HEADER, LEGACY)]);
            }
            if let Some((method, name)) = modern {
                headers.extend([(VERSION_HEADER, MODERN), (METHOD_HEADER, method)]);
                headers.extend(name.map(|name| (NAME_HEADER, name)));
            }
            let mut bytes = Vec::new();
            write_request_head(&mut bytes, "POST", path, host, &headers, Some(json.len()));
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

/// Whether a listener of `workload` over `transport` holds a 2026-07-28 listen stream.
pub fn listens_on_stream(transport: Transport, workload: Workload) -> bool {
    transport == Transport::Http && workload == Workload::Listen
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
        let n = read_some(stream, &mut buf, "no answer within the set-up read timeout")?;
        reader
            .feed(&buf[..n], |a| {
                if let Answer::Response(_) = a {
                    got.push(a)
                }
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(got)
}

/// One blocking read of set-up answers; `Err` on a timeout (`timeout` says which), an error or
/// the peer's close.
fn read_some(stream: &mut TcpStream, buf: &mut [u8], timeout: &str) -> Result<usize, String> {
    let n = stream.read(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => timeout.to_owned(),
        _ => e.to_string(),
    })?;
    if n == 0 {
        return Err("connection closed during set-up".into());
    }
    Ok(n)
}

/// Send one request of the set-up and tell `reader` it went.
fn send(stream: &mut TcpStream, reader: &mut ResponseReader, bytes: &[u8]) -> Result<(), String> {
    stream
        .write_all(bytes)
        .map_err(|e| format!("set-up write: {e}"))?;
    reader.sent(1);
    Ok(())
}

/// Set a fresh connection up for `workload`: initialize and `notifications/initialized` on
/// legacy sessions, subscribe listeners. Returns the connection's reader, which goes on from
/// where the set-up left the connection (on a listen stream, inside its body) and holds the HTTP
/// session id, if the server gave one.
pub fn handshake(
    stream: &mut TcpStream,
    transport: Transport,
    workload: Workload,
    path: &str,
    host: &str,
) -> Result<ResponseReader, String> {
    let mut reader = ResponseReader::new(transport);
    if listens_on_stream(transport, workload) {
        listen_stream(stream, &mut reader, path, host)?;
        return Ok(reader);
    }
    if !workload.needs_session() {
        return Ok(reader);
    }
    let initialize = frame(transport, path, host, None, &initialize_body());
    send(stream, &mut reader, &initialize)?;
    if read_answers(stream, &mut reader, 1)? != [Answer::Response(false)] {
        return Err("initialize failed".into());
    }
    let session = reader.session.clone();
    let initialized = frame(transport, path, host, session.as_deref(), INITIALIZED);
    send(stream, &mut reader, &initialized)?;
    if transport == Transport::Http {
        // 202 Accepted, no body.
        read_answers(stream, &mut reader, 1)?;
    }
    if workload == Workload::Listen {
        let subscribe = msg::request(1, "resources/subscribe")
            .param("uri", "demo://counter")
            .text();
        let subscribe = frame(transport, path, host, session.as_deref(), &subscribe);
        send(stream, &mut reader, &subscribe)?;
        let got = read_answers(stream, &mut reader, 1)?;
        if got != [Answer::Response(false)] {
            return Err(format!("resources/subscribe failed: {got:?}"));
        }
    }
    Ok(reader)
}

/// Open a 2026-07-28 `subscriptions/listen` stream for `demo://counter` and wait for its
/// acknowledgement, so that the listener hears every update sent after set-up. The stream's
/// response stays open in `reader`, which reads its later events.
fn listen_stream(
    stream: &mut TcpStream,
    reader: &mut ResponseReader,
    path: &str,
    host: &str,
) -> Result<(), String> {
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
    send(stream, reader, &bytes)?;
    let mut buf = [0u8; 4096];
    loop {
        let timeout = "no listen acknowledgement within the set-up read timeout";
        let n = read_some(stream, &mut buf, timeout)?;
        let mut got = None;
        reader
            .feed(&buf[..n], |a| got = got.or(Some(a)))
            .map_err(|e| e.to_string())?;
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

    /// The headers of a request as (lower-case name, value), sorted, and its body.
    fn parsed(bytes: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let n = match req.parse(bytes).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("incomplete head"),
        };
        assert_eq!((req.method, req.path), (Some("POST"), Some("/mcp")));
        let mut list: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| {
                let value = std::str::from_utf8(h.value).unwrap();
                (h.name.to_ascii_lowercase(), value.to_owned())
            })
            .collect();
        list.sort();
        (list, bytes[n..].to_vec())
    }

    #[test]
    fn http_requests_carry_the_headers_they_always_did() {
        let owned = |pairs: &[(&str, &str)]| {
            let mut v: Vec<(String, String)> = pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            v.sort();
            v
        };
        let host = "127.0.0.1:7612";
        let common = [
            ("host", host),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        let echo = body(Workload::Echo, 0);
        let legacy = request(
            Transport::Http,
            Workload::Echo,
            0,
            "/mcp",
            host,
            Some("s-1"),
        );
        let len = echo.len().to_string();
        let mut want = common.to_vec();
        want.extend([
            ("content-length", len.as_str()),
            ("mcp-session-id", "s-1"),
            ("mcp-protocol-version", LEGACY),
        ]);
        assert_eq!(parsed(&legacy), (owned(&want), echo.into_bytes()));

        let modern = body(Workload::EchoModern, 0);
        let bytes = request(Transport::Http, Workload::EchoModern, 0, "/mcp", host, None);
        let len = modern.len().to_string();
        let mut want = common.to_vec();
        want.extend([
            ("content-length", len.as_str()),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ]);
        assert_eq!(parsed(&bytes), (owned(&want), modern.into_bytes()));

        let tcp = request(Transport::Tcp, Workload::Ping, 0, "/mcp", host, None);
        assert_eq!(tcp, format!("{}\n", body(Workload::Ping, 0)).into_bytes());
    }
}
