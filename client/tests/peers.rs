//! The blocking client against other MCP servers, in each era they speak: rmcp's server (the
//! official Rust SDK, 3.11.0, which speaks 2026-07-28 and every session-based revision) over
//! Streamable HTTP with and without sessions and over TCP, the TypeScript SDK 1.x (session-based
//! revisions only) with and without sessions, and the TypeScript SDK 2.x (2026-07-28, and the
//! older revisions through its stateless fallback, or refused). The peers are the benchmark's
//! (`bench/peers/`), started by the harness the shard client's tests share
//! (`tests/common/peers.rs`). Each test starts its server, lists the tools, calls `echo`, closes,
//! and kills the server when done, also when an assertion fails.
#![allow(clippy::expect_used)]

#[path = "../../tests/common/peers.rs"]
mod peer_servers;

use peer_servers::{node_server, rmcp_server, Server};
use ringmcp_client::stream::LineTransport;
use ringmcp_client::{Client, ClientError, ConnectOptions, Era};
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use ProtocolVersion::{V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25, V2026_07_28};

/// How long one client run (connect, list, call, close) may take before the test fails.
const CLIENT_DEADLINE: Duration = Duration::from_secs(60);

/// The session-based revisions a Streamable HTTP server can be asked for. 2024-11-05 is left out
/// over HTTP: its HTTP transport is the older HTTP+SSE, which none of these servers serves; it is
/// exercised over rmcp's TCP transport instead.
const LEGACY_OVER_HTTP: [ProtocolVersion; 3] = [V2025_03_26, V2025_06_18, V2025_11_25];

/// Where the client connects.
#[derive(Clone, Debug)]
enum Target {
    /// Streamable HTTP.
    Http(String),
    /// Newline-delimited JSON over TCP (`host:port`).
    Tcp(String),
}

fn http(server: &Server) -> Target {
    Target::Http(format!("http://127.0.0.1:{}/mcp", server.port))
}

fn tcp(server: &Server) -> Target {
    Target::Tcp(format!("127.0.0.1:{}", server.port))
}

fn connect(target: &Target, era: Era) -> Result<Client, ClientError> {
    let options = ConnectOptions {
        era,
        ..ConnectOptions::default()
    };
    match target {
        Target::Http(url) => Client::connect_http(url, options),
        Target::Tcp(addr) => Client::connect(Box::new(LineTransport::tcp(addr)?), options),
    }
}

/// What the client saw in one run against a peer.
#[derive(Debug)]
struct Seen {
    version: Option<ProtocolVersion>,
    server_name: Option<Value>,
    tools: Vec<Value>,
    echoed: Value,
}

/// Connect in `era`, list the tools, call `echo` with `text`, close; under [`CLIENT_DEADLINE`],
/// so a client that hangs fails the test instead of stalling it.
fn run_client(target: &Target, era: Era, text: &str) -> Result<Seen, ClientError> {
    let (send, recv) = mpsc::channel();
    let (target, text) = (target.clone(), text.to_owned());
    std::thread::spawn(move || {
        let run = || -> Result<Seen, ClientError> {
            let mut client = connect(&target, era)?;
            let version = client.version();
            let server_name = client
                .server()
                .server_info
                .as_ref()
                .and_then(|info| info.get("name").cloned());
            let tools = client.list_tools()?;
            let echoed = client.call_tool("echo", json!({ "text": text }))?;
            client.close()?;
            Ok(Seen {
                version,
                server_name,
                tools,
                echoed,
            })
        };
        let _ = send.send(run());
    });
    recv.recv_timeout(CLIENT_DEADLINE).unwrap_or_else(|_| {
        panic!("the client did not finish within {CLIENT_DEADLINE:?} in {era:?}")
    })
}

/// The client speaks `era` with the server, which settles on `expected`; the answers are the
/// peer's echo tool and `server_name`'s.
fn assert_speaks(target: &Target, era: Era, expected: ProtocolVersion, server_name: &str) {
    let text = format!("hello {server_name} in {era:?} ✓");
    let seen = run_client(target, era, &text)
        .unwrap_or_else(|e| panic!("{server_name} at {target:?} in {era:?}: {e}"));
    assert_eq!(
        seen.version,
        Some(expected),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.server_name,
        Some(json!(server_name)),
        "{era:?}: {seen:?}"
    );
    let names: Vec<&Value> = seen.tools.iter().map(|tool| &tool["name"]).collect();
    assert_eq!(
        names,
        [&json!("echo")],
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.tools[0]["inputSchema"]["properties"]["text"]["type"],
        json!("string"),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.echoed["content"],
        json!([{ "type": "text", "text": text }]),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_ne!(
        seen.echoed["isError"],
        json!(true),
        "{server_name} in {era:?}"
    );
}

/// A fixed era the server does not speak fails (a fixed era never falls back), at the handshake
/// or at the first call.
fn assert_refuses(target: &Target, era: Era, server_name: &str) {
    let outcome = run_client(target, era, "refused");
    assert!(
        outcome.is_err(),
        "{server_name} was expected to refuse {era:?}: {outcome:?}"
    );
}

/// rmcp over Streamable HTTP: `Auto` settles on 2026-07-28, and each fixed revision works.
fn rmcp_over_http(mode: &'static str) {
    let server = rmcp_server(|port| {
        ["--http", &format!("127.0.0.1:{port}"), "--mode", mode]
            .map(str::to_owned)
            .to_vec()
    });
    // rmcp fills serverInfo from its own crate's name.
    assert_speaks(&http(&server), Era::Auto, V2026_07_28, "rmcp");
    for v in LEGACY_OVER_HTTP.into_iter().chain([V2026_07_28]) {
        assert_speaks(&http(&server), Era::Fixed(v), v, "rmcp");
    }
}

#[test]
fn rmcp_streamable_http_with_sessions() {
    // Sessions for the legacy revisions, answers as SSE streams (rmcp's default).
    rmcp_over_http("stateful");
}

#[test]
fn rmcp_streamable_http_without_sessions() {
    // No sessions, JSON answers.
    rmcp_over_http("stateless");
}

#[test]
fn rmcp_tcp_every_revision() {
    let server = rmcp_server(|port| vec!["--tcp".into(), format!("127.0.0.1:{port}")]);
    assert_speaks(&tcp(&server), Era::Auto, V2026_07_28, "rmcp");
    for v in [
        V2024_11_05,
        V2025_03_26,
        V2025_06_18,
        V2025_11_25,
        V2026_07_28,
    ] {
        assert_speaks(&tcp(&server), Era::Fixed(v), v, "rmcp");
    }
}

/// The TypeScript SDK 1.32.2 has no 2026-07-28: `Auto` falls back to `initialize` at 2025-11-25
/// (its discover is refused), the session-based revisions work, a fixed 2026-07-28 fails.
fn typescript_sdk_1(mode: &'static str) {
    let server = node_server(
        "ts",
        "ts-server",
        if mode == "stateful" {
            &["--mode", "stateful"]
        } else {
            &["--mode", "stateless"]
        },
    );
    assert_speaks(&http(&server), Era::Auto, V2025_11_25, "ts-echo-peer");
    for v in LEGACY_OVER_HTTP {
        assert_speaks(&http(&server), Era::Fixed(v), v, "ts-echo-peer");
    }
    assert_refuses(&http(&server), Era::Fixed(V2026_07_28), "ts-echo-peer");
}

#[test]
fn typescript_sdk_1_with_sessions() {
    typescript_sdk_1("stateful");
}

#[test]
fn typescript_sdk_1_without_sessions() {
    typescript_sdk_1("stateless");
}

#[test]
fn typescript_sdk_2_both_eras() {
    // 2026-07-28 natively; 2025-era requests through the SDK's stateless fallback.
    let server = node_server("ts2", "ts2-server", &[]);
    assert_speaks(&http(&server), Era::Auto, V2026_07_28, "ts2-echo-peer");
    for v in LEGACY_OVER_HTTP.into_iter().chain([V2026_07_28]) {
        assert_speaks(&http(&server), Era::Fixed(v), v, "ts2-echo-peer");
    }
}

#[test]
fn typescript_sdk_2_modern_only() {
    // `legacy: 'reject'`: an `initialize` is answered with the unsupported-version error.
    let server = node_server("ts2", "ts2-server", &["--legacy", "reject"]);
    assert_speaks(&http(&server), Era::Auto, V2026_07_28, "ts2-echo-peer");
    assert_speaks(
        &http(&server),
        Era::Fixed(V2026_07_28),
        V2026_07_28,
        "ts2-echo-peer",
    );
    for v in LEGACY_OVER_HTTP {
        assert_refuses(&http(&server), Era::Fixed(v), "ts2-echo-peer");
    }
}
