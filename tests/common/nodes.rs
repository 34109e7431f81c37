//! Cluster nodes as a client sees them: starting `ringmcp serve --cluster` nodes of a kit Redis,
//! waiting for `/ready`, and the requests the cluster tests send (2026-07-28 stateless, legacy
//! sessions on fresh connections so that HAProxy balances each one). Shared by the `cluster*`
//! test targets; the processes themselves (Redis, HAProxy) are `cluster`'s.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::cluster::{ports, Redis, RING};
use super::http::*;
use super::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A 2026-07-28 request through `port` on a fresh connection (HAProxy balances each request, and
/// a fresh connection keeps one request from riding on another's): its response.
pub fn modern_request(
    port: u16,
    id: i64,
    method: &str,
    params: Value,
) -> Result<HttpResponse, String> {
    let mut c = HttpClient::connect(port);
    c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    c.send(
        "POST",
        "/mcp",
        &modern_headers(method, None),
        &modern_body(id, method, params),
    );
    c.try_response()
}

pub fn served_by(r: &HttpResponse) -> String {
    r.header("x-served-by")
        .unwrap_or_else(|| panic!("no X-Served-By in {:?}", r.headers))
        .to_owned()
}

/// What a legacy client of the first cluster tests speaks.
pub const V0618: &str = "2025-06-18";
pub const V1125: &str = "2025-11-25";

/// `ringmcp serve --http 127.0.0.1:0` in cluster mode as node `id` of `redis`, on one core.
pub fn cluster_node(redis: &Redis, id: &str, extra: &[&str]) -> Server {
    let url = redis.url();
    let mut args = vec![
        "--cluster-key",
        RING,
        "--cluster",
        url.as_str(),
        "--node-id",
        id,
        "--cores",
        "1",
    ];
    args.extend_from_slice(extra);
    Server::http(&args)
}

/// Nodes `n1`, `n2`, `n3` of `redis` with options `extra`, each ready (linked to Redis) when
/// this returns.
pub fn cluster_nodes(redis: &Redis, extra: &[&str]) -> [Server; 3] {
    let nodes = ["n1", "n2", "n3"].map(|id| cluster_node(redis, id, extra));
    for port in ports(&nodes) {
        wait_ready(port, Duration::from_secs(10));
    }
    nodes
}

/// `GET /ready` of the node on `port`: its status and body (0 when no answer came).
pub fn ready(port: u16) -> (u16, String) {
    let mut c = HttpClient::connect(port);
    c.stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    c.send("GET", "/ready", &[], b"");
    match c.try_response() {
        Ok(r) => (r.status, r.body_text()),
        Err(e) => (0, e),
    }
}

/// Polls `/ready` until it answers `status`; how long that took.
pub fn wait_ready_status(port: u16, status: u16, within: Duration) -> Duration {
    let began = Instant::now();
    loop {
        let (got, body) = ready(port);
        if got == status {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < within,
            "/ready of node :{port} still answers {got} {body:?} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn wait_ready(port: u16, within: Duration) -> Duration {
    wait_ready_status(port, 200, within)
}

/// A JSON-RPC request.
pub fn rpc(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// `body` POSTed in session `sid` through `port` on a fresh connection (through HAProxy each
/// lands on the next node, round robin).
pub fn legacy(port: u16, sid: &str, version: &str, body: &Value) -> Result<HttpResponse, String> {
    let mut c = HttpClient::connect(port);
    c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    c.send(
        "POST",
        "/mcp",
        &legacy_headers(sid, version),
        body.to_string().as_bytes(),
    );
    c.try_response()
}

/// The answer to request `id` among the messages of `r` (a JSON body or an SSE stream).
pub fn answer(r: &HttpResponse, id: i64) -> Value {
    r.messages()
        .into_iter()
        .find(|m| m["id"] == id && m.get("method").is_none())
        .unwrap_or_else(|| panic!("no answer to {id} in {} {}", r.status, r.body_text()))
}

/// The result of request `id` in `r`, which must be a 200 with a result.
pub fn result_of(r: &HttpResponse, id: i64) -> Value {
    assert_eq!(r.status, 200, "request {id}: {}", r.body_text());
    let a = answer(r, id);
    a.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("request {id} failed: {a}"))
}

/// `initialize` then `notifications/initialized` through `port`, each on a fresh connection:
/// the session id and which node answered the `initialize` (`None` without HAProxy).
pub fn open_session(port: u16, version: &str) -> (String, Option<String>) {
    let mut c = HttpClient::connect(port);
    let r = c.post(
        &[JSON, ACCEPT],
        ringmcp_testkit::msg::initialize(1, version)
            .text()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "initialize: {}", r.body_text());
    assert_eq!(r.json()["result"]["protocolVersion"], version);
    let sid = r.header("mcp-session-id").expect("session id").to_owned();
    let by = r.header("x-served-by").map(str::to_owned);
    let mut c = HttpClient::connect(port);
    let done = c.post(
        &legacy_headers(&sid, version),
        ringmcp_testkit::msg::initialized().text().as_bytes(),
    );
    assert_eq!(done.status, 202, "initialized: {}", done.body_text());
    (sid, by)
}

/// A 2026-07-28 `tools/list` straight to a node: its status.
pub fn stateless_status(port: u16) -> u16 {
    modern_request(port, 1, "tools/list", Value::Null).map_or(0, |r| r.status)
}

/// One tools/call `echo` in session `sid` on keep-alive client `c`: Ok with which node served,
/// or why not.
pub fn echo_on(c: &mut HttpClient, sid: &str, id: i64) -> Result<String, String> {
    let body = rpc(
        id,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": sid}}),
    );
    c.send(
        "POST",
        "/mcp",
        &legacy_headers(sid, V0618),
        body.to_string().as_bytes(),
    );
    let r = c.try_response()?;
    if r.status != 200 {
        return Err(format!("{} {}", r.status, r.body_text()));
    }
    let a = answer(&r, id);
    if a["result"]["content"][0]["text"] != sid {
        return Err(format!("wrong answer {a}"));
    }
    Ok(r.header("x-served-by").unwrap_or("?").to_owned())
}

/// Sends `sig` to the process `pid` (a Redis this test started).
pub fn signal_pid(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started; no memory is shared.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}
