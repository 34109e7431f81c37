//! The shard client's harness: run a future on one client shard with a deadline, and a thousand
//! sessions on one shard calling `echo` at once (each transport's test names the URL).

use super::text_of;
use ringmcp::client::{run_on_shards, Shard, ShardClient, ShardConnectOptions, ShardsOptions};
use ringmcp::proto::client::Era;
use ringmcp::proto::ProtocolVersion;
use serde_json::json;
use std::future::Future;
use std::rc::Rc;
use std::sync::mpsc::channel;
use std::time::Duration;

/// Sessions the thousand-session runs hold.
pub const SESSIONS: usize = 1000;

/// Run `f` on one client shard; the test fails (rather than hangs) if it is not done `within`.
pub fn on_one_shard<F, Fut, T>(within: Duration, f: F) -> T
where
    F: Fn(Shard) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_on_shards(ShardsOptions::new(vec![0]), f));
    });
    let mut outputs = rx
        .recv_timeout(within)
        .expect("the shard finished in time")
        .expect("the shard ran");
    outputs.pop().expect("one output")
}

/// A thousand sessions to `url` on one shard, all connected before any calls, then all calling
/// `echo` at once, each with its own text; each must speak `version`. Fails the test with the
/// first few failures.
pub fn thousand_sessions(url: String, era: Era, version: &'static str) {
    let failures = thousand_session_failures(url, era, version);
    assert!(
        failures.is_empty(),
        "{} failures, the first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

fn thousand_session_failures(url: String, era: Era, version: &'static str) -> Vec<String> {
    let failures = on_one_shard(Duration::from_secs(180), move |shard| {
        let url = url.clone();
        async move {
            let mut failures = Vec::new();
            let connecting: Vec<_> = (0..SESSIONS)
                .map(|_| {
                    let (shard, url) = (shard.clone(), url.clone());
                    glommio::spawn_local(async move {
                        ShardClient::connect_url(&shard, &url, ShardConnectOptions::new(era)).await
                    })
                })
                .collect();
            let mut clients = Vec::new();
            for c in connecting {
                match c.await {
                    Ok(client) => clients.push(Rc::new(client)),
                    Err(e) => failures.push(format!("connect: {e}")),
                }
            }
            match clients.first().cloned() {
                Some(first) => match first.list_tools().await {
                    Ok(tools) if tools.iter().any(|t| t["name"] == "echo") => {}
                    other => failures.push(format!("tools/list: {other:?}")),
                },
                None => failures.push("no session connected".into()),
            }
            let calls: Vec<_> = clients
                .iter()
                .enumerate()
                .map(|(i, client)| {
                    let client = client.clone();
                    glommio::spawn_local(async move {
                        if client.version().map(ProtocolVersion::as_str) != Some(version) {
                            return Err(format!("session {i} speaks {:?}", client.version()));
                        }
                        let text = format!("session {i}: ü");
                        let result = client
                            .call_tool("echo", json!({ "text": text }))
                            .await
                            .map_err(|e| format!("session {i}: {e}"))?;
                        if text_of(&result) != text {
                            return Err(format!("session {i} got {result}"));
                        }
                        Ok(())
                    })
                })
                .collect();
            for call in calls {
                if let Err(e) = call.await {
                    failures.push(e);
                }
            }
            for client in clients {
                if let Ok(client) = Rc::try_unwrap(client) {
                    client.close().await;
                }
            }
            failures
        }
    });
    failures
}
