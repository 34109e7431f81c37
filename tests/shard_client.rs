//! The shard client (`ringmcp::client`): MCP client sessions on a shard's own net ring. One shard
//! holds a thousand sessions to `ringmcp serve --tcp` at once, in each era, each calling `echo`
//! with its own text and checking its own answer; a server that hangs up fails the calls still
//! waiting with a typed error (after a dropped call was cancelled on the wire); a refused dial is
//! a typed error too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::shard::*;
use common::*;
use ringmcp::client::{ShardClient, ShardClientError, ShardConnectOptions};
use ringmcp::proto::client::Era;
use ringmcp::proto::ProtocolVersion;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::channel;
use std::time::Duration;

#[test]
fn one_shard_holds_a_thousand_modern_sessions() {
    let server = Server::tcp(&[]);
    thousand_sessions(
        format!("tcp://127.0.0.1:{}", server.port.unwrap()),
        Era::Auto,
        MODERN,
    );
}

#[test]
fn one_shard_holds_a_thousand_legacy_sessions() {
    let legacy = ProtocolVersion::parse("2025-11-25").unwrap();
    let server = Server::tcp(&[]);
    thousand_sessions(
        format!("tcp://127.0.0.1:{}", server.port.unwrap()),
        Era::Fixed(legacy),
        "2025-11-25",
    );
}

/// A legacy server that answers `initialize`, reads `count` more lines (returned through the
/// channel, parsed) and hangs up without answering them.
fn hanging_up_server(count: usize) -> (SocketAddr, std::sync::mpsc::Receiver<Vec<Value>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut read = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            serde_json::from_str::<Value>(&line).unwrap()
        };
        let init = read();
        assert_eq!(init["method"], "initialize");
        let answer = json!({
            "jsonrpc": "2.0",
            "id": init["id"],
            "result": {
                "protocolVersion": "2025-11-25",
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "hangs-up", "version": "0" },
            },
        });
        writeln!(stream, "{answer}").unwrap();
        let lines: Vec<Value> = (0..count).map(|_| read()).collect();
        drop(reader);
        drop(stream);
        let _ = tx.send(lines);
    });
    (addr, rx)
}

#[test]
fn a_server_that_hangs_up_fails_the_waiting_calls() {
    // initialized, the dropped call, its cancellation, then calls a and b.
    let (addr, seen) = hanging_up_server(5);
    let legacy = ProtocolVersion::parse("2025-11-25").unwrap();
    let outcome = on_one_shard(TIMEOUT * 3, move |shard| async move {
        let client =
            ShardClient::connect(&shard, addr, ShardConnectOptions::new(Era::Fixed(legacy)))
                .await
                .map_err(|e| format!("connect: {e}"))?;
        // Polled once (so it is sent), then dropped: it is cancelled, not leaked.
        let dropped = client.call_tool("echo", json!({ "text": "dropped" }));
        if futures_lite::future::poll_once(dropped).await.is_some() {
            return Err("the dropped call was answered".to_string());
        }
        let a = client.call_tool("echo", json!({ "text": "a" }));
        let b = client.call_tool("echo", json!({ "text": "b" }));
        let (a, b) = futures_lite::future::zip(a, b).await;
        // The session is down now: a new call fails at once.
        let c = client.call_tool("echo", json!({ "text": "c" })).await;
        Ok([a, b, c].map(|r| match r {
            Err(ShardClientError::Closed(why)) => Ok(why),
            other => Err(format!("{other:?}")),
        }))
    })
    .expect("connected");
    for r in &outcome {
        assert!(r.is_ok(), "not a Closed error: {outcome:?}");
    }
    let lines = seen
        .recv_timeout(TIMEOUT)
        .expect("the server read five lines");
    assert_eq!(lines[0]["method"], "notifications/initialized");
    assert_eq!(lines[1]["method"], "tools/call");
    assert_eq!(lines[2]["method"], "notifications/cancelled", "{lines:?}");
    assert_eq!(lines[2]["params"]["requestId"], lines[1]["id"]);
    assert_eq!(lines[3]["params"]["arguments"]["text"], "a");
    assert_eq!(lines[4]["params"]["arguments"]["text"], "b");
}

#[test]
fn a_refused_dial_is_a_connect_error() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let outcome = on_one_shard(TIMEOUT, move |shard| async move {
        match ShardClient::connect(&shard, addr, ShardConnectOptions::default()).await {
            Err(ShardClientError::Connect(e)) => Ok(e.kind()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(outcome, Ok(std::io::ErrorKind::ConnectionRefused));
}

/// `relay`'s arguments: the port of an echo server, and the text.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Relay {
    port: u16,
    text: String,
}

/// A server (in this process, on one shard) whose `relay` tool calls `echo` on another server
/// from its handler, through a client session on its own shard's net ring.
fn relay_server() -> SocketAddr {
    use ringmcp::sdk::HandlerError;
    use ringmcp::{serve, ServeOptions, ServerBuilder, Transport};
    let fail = |e: ShardClientError| HandlerError::Failed(e.to_string());
    let registry = ServerBuilder::new("relay", "1.0.0")
        .tool(
            "relay",
            "Echoes through another server",
            move |ctx, a: Relay| async move {
                let shard = ctx
                    .shard()
                    .ok_or_else(|| HandlerError::Failed("this shard does not dial".into()))?;
                let addr: SocketAddr = ([127, 0, 0, 1], a.port).into();
                let client = ShardClient::connect(&shard, addr, ShardConnectOptions::default())
                    .await
                    .map_err(fail)?;
                let echoed = client
                    .call_tool("echo", json!({ "text": a.text }))
                    .await
                    .map_err(fail)?;
                client.close().await;
                Ok(ringmcp::proto::types::CallToolResult::text(format!(
                    "relayed: {}",
                    text_of(&echoed)
                )))
            },
        )
        .build()
        .unwrap();
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut options = ServeOptions::new(Transport::Tcp(addr));
    options.cores = 1;
    // Left running until the test process ends (it stops on a signal only).
    std::thread::spawn(move || serve(registry, options));
    addr
}

#[test]
fn a_serving_shard_calls_another_server_from_a_handler() {
    let echo = Server::tcp(&[]);
    let echo_port = echo.port.unwrap();
    let relay = relay_server();
    let outcome = on_one_shard(TIMEOUT * 2, move |shard| async move {
        // The relay server starts in the background: try until it listens.
        let mut client = None;
        for _ in 0..100 {
            match ShardClient::connect(&shard, relay, ShardConnectOptions::default()).await {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(ShardClientError::Connect(_)) => {
                    glommio::timer::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let client = client.ok_or("the relay server never listened")?;
        let result = client
            .call_tool("relay", json!({ "port": echo_port, "text": "über" }))
            .await
            .map_err(|e| e.to_string())?;
        Ok(text_of(&result))
    });
    assert_eq!(outcome, Ok("relayed: über".to_string()));
}
