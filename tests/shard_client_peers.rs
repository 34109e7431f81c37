//! The shard client against other MCP servers, in each era they speak: rmcp's server (3.11.0)
//! over Streamable HTTP with sessions (SSE answers) and over TCP, the TypeScript SDK 1.x with
//! sessions (SSE answers, session-based revisions only), and the TypeScript SDK 2.x (2026-07-28,
//! and 2025-11-25 through its stateless fallback). Peers from `bench/peers/`, started by the
//! harness the blocking client's peer tests share (`tests/common/peers.rs`). In each era a few
//! sessions run at once on one shard: each lists the tools, calls `echo` with its own text and
//! closes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/peers.rs"]
mod peer_servers;

use peer_servers::{node_server, rmcp_server};
use ringmcp::client::{run_on_shards, ShardClient, ShardConnectOptions, ShardsOptions};
use ringmcp::proto::client::Era;
use ringmcp::proto::ProtocolVersion;
use serde_json::{json, Value};
use std::sync::mpsc::channel;
use std::time::Duration;
use ProtocolVersion::{V2024_11_05, V2025_03_26, V2025_11_25, V2026_07_28};

/// Sessions at once in each era.
const SESSIONS: usize = 8;

/// What one session saw, or why it failed.
type Outcome = Result<(Option<ProtocolVersion>, Value, Vec<Value>, Value), String>;

/// [`SESSIONS`] sessions to `url` in `era` on one client shard, at once; under a deadline, so a
/// client that hangs fails the test.
fn sessions(url: &str, era: Era) -> Vec<Outcome> {
    let url = url.to_owned();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let ran = run_on_shards(ShardsOptions::new(vec![0]), move |shard| {
            let url = url.clone();
            async move {
                let runs: Vec<_> = (0..SESSIONS)
                    .map(|i| {
                        let (shard, url) = (shard.clone(), url.clone());
                        glommio::spawn_local(async move {
                            let options = ShardConnectOptions::new(era);
                            let client = ShardClient::connect_url(&shard, &url, options)
                                .await
                                .map_err(|e| format!("connect: {e}"))?;
                            let name = client
                                .server()
                                .server_info
                                .and_then(|info| info.get("name").cloned())
                                .unwrap_or(Value::Null);
                            let tools = client
                                .list_tools()
                                .await
                                .map_err(|e| format!("tools/list: {e}"))?;
                            let text = format!("session {i} in {era:?} ✓");
                            let echoed = client
                                .call_tool("echo", json!({ "text": text }))
                                .await
                                .map_err(|e| format!("tools/call: {e}"))?;
                            let version = client.version();
                            client.close().await;
                            Ok((version, name, tools, echoed))
                        })
                    })
                    .collect();
                let mut outcomes = Vec::new();
                for run in runs {
                    outcomes.push(run.await);
                }
                outcomes
            }
        });
        let _ = tx.send(ran);
    });
    let mut per_shard = rx
        .recv_timeout(Duration::from_secs(90))
        .unwrap_or_else(|_| panic!("the sessions in {era:?} did not finish in time"))
        .expect("the shard ran");
    per_shard.pop().expect("one shard")
}

/// Every session in `era` settles on `expected` with `server_name`'s echo tool.
fn assert_speaks(url: &str, era: Era, expected: ProtocolVersion, server_name: &str) {
    for (i, outcome) in sessions(url, era).into_iter().enumerate() {
        let (version, name, tools, echoed) =
            outcome.unwrap_or_else(|e| panic!("{server_name} in {era:?}, session {i}: {e}"));
        assert_eq!(version, Some(expected), "{server_name} in {era:?}");
        assert_eq!(name, json!(server_name), "{era:?}");
        let names: Vec<&Value> = tools.iter().map(|tool| &tool["name"]).collect();
        assert_eq!(names, [&json!("echo")], "{server_name} in {era:?}");
        assert_eq!(
            echoed["content"],
            json!([{ "type": "text", "text": format!("session {i} in {era:?} ✓") }]),
            "{server_name} in {era:?}"
        );
    }
}

#[test]
fn rmcp_over_http_with_sessions() {
    let server = rmcp_server(|port| {
        ["--http", &format!("127.0.0.1:{port}"), "--mode", "stateful"]
            .map(str::to_owned)
            .to_vec()
    });
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    assert_speaks(&url, Era::Auto, V2026_07_28, "rmcp");
    for v in [V2025_03_26, V2025_11_25] {
        assert_speaks(&url, Era::Fixed(v), v, "rmcp");
    }
}

#[test]
fn rmcp_over_tcp() {
    let server = rmcp_server(|port| vec!["--tcp".into(), format!("127.0.0.1:{port}")]);
    let url = format!("tcp://127.0.0.1:{}", server.port);
    assert_speaks(&url, Era::Auto, V2026_07_28, "rmcp");
    assert_speaks(&url, Era::Fixed(V2024_11_05), V2024_11_05, "rmcp");
}

#[test]
fn typescript_sdk_1_with_sessions() {
    let server = node_server("ts", "ts-server", &["--mode", "stateful"]);
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    assert_speaks(&url, Era::Auto, V2025_11_25, "ts-echo-peer");
    assert_speaks(&url, Era::Fixed(V2025_03_26), V2025_03_26, "ts-echo-peer");
}

#[test]
fn typescript_sdk_2_both_eras() {
    let server = node_server("ts2", "ts2-server", &[]);
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    assert_speaks(&url, Era::Auto, V2026_07_28, "ts2-echo-peer");
    assert_speaks(&url, Era::Fixed(V2025_11_25), V2025_11_25, "ts2-echo-peer");
}
