//! Cluster mode with real HAProxy and Redis (issue 12): three `ringmcp serve` nodes sharing one key
//! ring behind the shipped `tuning/cluster/haproxy.cfg` (round robin, health checks on `/ready`),
//! and a Redis of the shipped `redis.conf`. In cluster mode (`--cluster`) legacy sessions live in
//! Redis: any node serves any session, a change made through one node holds on the others within
//! a measured window, a DELETE ends it everywhere, a node killed loses no session, a Redis
//! restart loses no acknowledged one, and a node id is never shared by two live nodes. These
//! tests need the kit of `common/cluster.rs`: the tools are found or installed, never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::Server;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A 2026-07-28 request through `port` on a fresh connection (HAProxy balances each request, and
/// a fresh connection keeps one request from riding on another's): its response.
fn modern_request(port: u16, id: i64, method: &str, params: Value) -> Result<HttpResponse, String> {
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

fn served_by(r: &HttpResponse) -> String {
    r.header("x-served-by")
        .unwrap_or_else(|| panic!("no X-Served-By in {:?}", r.headers))
        .to_owned()
}

/// Every page of a 2026-07-28 `tools/list` through `port`: the tool names, and which node served
/// each page.
fn all_tools(port: u16) -> (Vec<String>, Vec<String>) {
    let (mut names, mut nodes) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for id in 1..=100 {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let r = modern_request(port, id, "tools/list", params).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 200, "page {id}: {}", r.body_text());
        let body = r.json();
        let tools = body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("page {id}: {body}"));
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        if let Some(n) = r.header("x-served-by") {
            nodes.push(n.to_owned());
        }
        match body["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (names, nodes),
        }
    }
    panic!("tools/list did not end within 100 pages");
}

#[test]
fn three_nodes_behind_haproxy_round_robin() {
    let nodes = three_nodes(&["--page-size", "1"]);
    let mut lb = Haproxy::start(ports(&nodes));
    // Give the health checks (every 200 ms, two to fall) time to take out a node they refuse.
    std::thread::sleep(Duration::from_millis(800));

    // (a) Health checks pass: every node serves its share, round robin.
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    let requests = 60;
    for id in 0..requests {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
        *spread.entry(served_by(&r)).or_default() += 1;
    }
    eprintln!("spread over {requests} requests: {spread:?}");
    assert_eq!(
        spread.keys().map(String::as_str).collect::<Vec<_>>(),
        ["n1", "n2", "n3"],
        "every node is up and serves ({:?})",
        lb.log()
    );
    for (node, n) in &spread {
        assert!(
            n.abs_diff(requests as usize / 3) <= 2,
            "{node} served {n} of {requests}: {spread:?}"
        );
    }
    for n in ["n1", "n2", "n3"] {
        assert!(
            !lb.saw_down(n),
            "{n} failed its health check: {:?}",
            lb.log()
        );
    }

    // (b) A paginated 2026-07-28 list works although its pages land on different nodes: the
    // nodes share the key ring that seals the cursors.
    let (through_lb, served) = all_tools(lb.port);
    let (direct, _) = all_tools(nodes[0].port.unwrap());
    assert!(
        through_lb.len() >= 3,
        "one tool per page: several pages ({through_lb:?})"
    );
    assert_eq!(through_lb, direct, "the same list, page by page");
    let distinct: BTreeSet<&String> = served.iter().collect();
    assert!(
        distinct.len() >= 2,
        "consecutive pages went to different nodes: {served:?}"
    );
}

#[test]
fn a_killed_node_leaves_the_rotation_within_a_second() {
    let mut nodes = three_nodes(&[]);
    let mut lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    for id in 0..6 {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
    }

    // kill -9 of n2.
    nodes[1].child.kill().unwrap();
    let killed = Instant::now();
    nodes[1].child.wait().unwrap();

    // Until 20 requests in a row succeed: when the run began (after the kill), when it ended,
    // and what failed before it.
    let (mut streak, mut run_began, mut failures) = (0, Duration::ZERO, Vec::new());
    let mut down_at = None;
    let mut id = 100;
    while streak < 20 && killed.elapsed() < Duration::from_secs(5) {
        id += 1;
        let sent = killed.elapsed();
        match modern_request(lb.port, id, "tools/list", Value::Null) {
            Ok(r) if r.status == 200 => {
                assert_ne!(served_by(&r), "n2", "a dead node cannot answer");
                if streak == 0 {
                    run_began = sent;
                }
                streak += 1;
            }
            Ok(r) => {
                failures.push(format!("{sent:?}: {} {}", r.status, r.body_text()));
                streak = 0;
            }
            Err(e) => {
                failures.push(format!("{sent:?}: {e}"));
                streak = 0;
            }
        }
        if down_at.is_none() && lb.saw_down("n2") {
            down_at = Some(killed.elapsed());
        }
    }
    let run_ended = killed.elapsed();
    assert_eq!(
        streak, 20,
        "no 20 successes in a row within 5 s: {failures:?}"
    );
    while down_at.is_none() && killed.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
        if lb.saw_down("n2") {
            down_at = Some(killed.elapsed());
        }
    }
    eprintln!(
        "after kill -9 of n2: HAProxy marked it DOWN after {down_at:?}; 20 successes in a row \
         from {run_began:?} to {run_ended:?}; {} failed before: {failures:?}",
        failures.len()
    );
    let down_at = down_at.unwrap_or_else(|| panic!("HAProxy never marked n2 DOWN: {:?}", lb.log()));
    assert!(
        down_at <= Duration::from_secs(1),
        "the health checks take a dead node out within 1 s: {down_at:?}"
    );
    // No request was in flight on n2 when it died: none may fail (a refused connection is
    // redispatched, one the dying node accepted but never answered is retried).
    assert!(
        failures.is_empty(),
        "requests failed after the kill: {failures:?}"
    );
    assert!(
        run_began <= Duration::from_secs(1) && run_ended <= Duration::from_secs(2),
        "requests all succeed again within 1 s of the kill: from {run_began:?} to {run_ended:?}"
    );
    // Once out, the dead node gets nothing: the survivors share the load.
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    for id in 200..230 {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
        *spread.entry(served_by(&r)).or_default() += 1;
    }
    assert_eq!(
        spread.keys().map(String::as_str).collect::<Vec<_>>(),
        ["n1", "n3"],
        "{spread:?}"
    );
}

#[test]
fn redis_of_the_shipped_configuration() {
    let mut redis = Redis::new();
    assert_eq!(redis.cmd(&["PING"]), "PONG");
    assert_eq!(redis.cmd(&["DBSIZE"]), "0");
    assert_eq!(redis.cmd(&["SET", "ringmcp:test", "kept"]), "OK");
    assert_eq!(redis.cmd(&["DBSIZE"]), "1");
    assert_eq!(
        redis.cmd(&["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nnoeviction",
        "sessions are never evicted to make room"
    );
    assert_eq!(
        redis.cmd(&["CONFIG", "GET", "appendfsync"]),
        "appendfsync\neverysec"
    );
    assert!(matches!(redis.reply(&["NOSUCHCOMMAND"]), Reply::Error(_)));
    // SIGTERM, then a start on the same port and directory: the AOF brings the key back.
    redis.stop();
    assert!(redis.pid().is_none());
    redis.start();
    assert_eq!(redis.cmd(&["GET", "ringmcp:test"]), "kept");
    assert_eq!(redis.cmd(&["GET", "ringmcp:none"]), "");
    redis.kill();
    assert!(std::net::TcpStream::connect(("127.0.0.1", redis.port)).is_err());
}

// ------------------------------------------------------------------------------------------------
// Cluster mode: legacy sessions in Redis
// ------------------------------------------------------------------------------------------------

/// What a legacy client of the first cluster tests speaks.
const V0618: &str = "2025-06-18";
const V1125: &str = "2025-11-25";

/// `ringmcp serve --http 127.0.0.1:0` in cluster mode as node `id` of `redis`, on one core.
fn cluster_node(redis: &Redis, id: &str, extra: &[&str]) -> Server {
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
fn cluster_nodes(redis: &Redis, extra: &[&str]) -> [Server; 3] {
    let nodes = ["n1", "n2", "n3"].map(|id| cluster_node(redis, id, extra));
    for port in ports(&nodes) {
        wait_ready(port, Duration::from_secs(10));
    }
    nodes
}

/// `GET /ready` of the node on `port`: its status and body (0 when no answer came).
fn ready(port: u16) -> (u16, String) {
    let mut c = HttpClient::connect(port);
    c.stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    c.send("GET", "/ready", &[], b"");
    match c.try_response() {
        Ok(r) => (r.status, r.body_text()),
        Err(e) => (0, e),
    }
}

/// Polls `/ready` until it answers `status`; how long that took.
fn wait_ready_status(port: u16, status: u16, within: Duration) -> Duration {
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

fn wait_ready(port: u16, within: Duration) -> Duration {
    wait_ready_status(port, 200, within)
}

/// A JSON-RPC request.
fn rpc(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// `body` POSTed in session `sid` through `port` on a fresh connection (through HAProxy each
/// lands on the next node, round robin).
fn legacy(port: u16, sid: &str, version: &str, body: &Value) -> Result<HttpResponse, String> {
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
fn answer(r: &HttpResponse, id: i64) -> Value {
    r.messages()
        .into_iter()
        .find(|m| m["id"] == id && m.get("method").is_none())
        .unwrap_or_else(|| panic!("no answer to {id} in {} {}", r.status, r.body_text()))
}

/// The result of request `id` in `r`, which must be a 200 with a result.
fn result_of(r: &HttpResponse, id: i64) -> Value {
    assert_eq!(r.status, 200, "request {id}: {}", r.body_text());
    let a = answer(r, id);
    a.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("request {id} failed: {a}"))
}

/// `initialize` then `notifications/initialized` through `port`, each on a fresh connection:
/// the session id and which node answered the `initialize` (`None` without HAProxy).
fn open_session(port: u16, version: &str) -> (String, Option<String>) {
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

/// Calls the demo `log` tool at `level` in session `sid` on the node at `port`, asking for an
/// SSE answer so that the log notification travels with it: whether the message came back.
fn log_arrives(port: u16, sid: &str, version: &str, id: i64, level: &str) -> bool {
    let text = format!("probe {id} at {level}");
    let call = rpc(
        id,
        "tools/call",
        json!({"name": "log", "arguments": {"level": level, "message": text}}),
    );
    let r = legacy(port, sid, version, &call).unwrap_or_else(|e| panic!("log {id}: {e}"));
    result_of(&r, id);
    r.messages()
        .iter()
        .any(|m| m["method"] == "notifications/message" && m["params"]["data"] == text.as_str())
}

/// The Redis key of a legacy session.
fn session_key(sid: &str) -> String {
    format!("ringmcp:{{{sid}}}:session")
}

/// A 2026-07-28 `tools/list` straight to a node: its status.
fn stateless_status(port: u16) -> u16 {
    modern_request(port, 1, "tools/list", Value::Null).map_or(0, |r| r.status)
}

/// Requests of every kind in a legacy session: tools, resources, prompts.
fn kinds_of_request(id: i64) -> Value {
    match id % 4 {
        0 => rpc(id, "tools/list", json!({})),
        1 => rpc(
            id,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": format!("echo {id}")}}),
        ),
        2 => rpc(id, "resources/read", json!({"uri": "demo://readme"})),
        _ => rpc(
            id,
            "prompts/get",
            json!({"name": "greet", "arguments": {"name": "ada"}}),
        ),
    }
}

/// Checks the result of [`kinds_of_request`]`(id)`.
fn check_kind(id: i64, result: &Value) {
    match id % 4 {
        0 => assert!(
            result["tools"].as_array().is_some_and(|t| !t.is_empty()),
            "{result}"
        ),
        1 => assert_eq!(result["content"][0]["text"], format!("echo {id}")),
        2 => assert!(
            result["contents"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("ringmcp demo")),
            "{result}"
        ),
        _ => assert_eq!(
            result["messages"][0]["content"]["text"], "Hello, ada!",
            "{result}"
        ),
    }
}

#[test]
fn legacy_sessions_are_served_by_every_node() {
    let redis = Redis::new();
    // Sessions live 10 s after their last use: their time to live is refreshed every second.
    let nodes = cluster_nodes(&redis, &["--session-idle-secs", "10"]);
    let direct = ports(&nodes);
    let lb = Haproxy::start(direct);
    let front = lb.port;

    // Sessions opened through the front; each id names the node that minted it.
    let (sid, by) = open_session(front, V0618);
    let by = by.expect("X-Served-By");
    assert!(
        sid.starts_with(&format!("{by}.")),
        "a session id minted by {by} starts with its node id: {sid}"
    );
    let (sid2, by2) = open_session(front, V1125);
    let by2 = by2.expect("X-Served-By");
    assert!(sid2.starts_with(&format!("{by2}.")), "{sid2} from {by2}");
    assert_eq!(
        redis.cmd(&["HGET", &session_key(&sid), "v"]),
        V0618,
        "the session is in Redis once initialize is answered"
    );

    // Requests of every kind, each on a fresh connection: round robin over the three nodes,
    // all served from the one stored session.
    for (sid, version) in [(&sid, V0618), (&sid2, V1125)] {
        let mut served: BTreeMap<String, usize> = BTreeMap::new();
        for id in 10..26 {
            let r = legacy(front, sid, version, &kinds_of_request(id))
                .unwrap_or_else(|e| panic!("{version} request {id}: {e}"));
            check_kind(id, &result_of(&r, id));
            *served.entry(served_by(&r)).or_default() += 1;
        }
        eprintln!("{version} session {sid}: served {served:?}");
        assert_eq!(
            served.keys().map(String::as_str).collect::<Vec<_>>(),
            ["n1", "n2", "n3"],
            "every node served the {version} session"
        );
    }

    // Every node holds a copy now, and sends info-level logs (the default level).
    for (i, port) in direct.into_iter().enumerate() {
        assert!(
            log_arrives(port, &sid, V0618, 100 + i as i64, "info"),
            "n{}: info logs arrive before setLevel",
            i + 1
        );
    }

    // logging/setLevel through n1; n2 and n3 answer from their copies, which Redis's
    // invalidation marks stale: the level must hold there within the window.
    let r = legacy(
        direct[0],
        &sid,
        V0618,
        &rpc(200, "logging/setLevel", json!({"level": "error"})),
    )
    .unwrap();
    result_of(&r, 200);
    let answered = Instant::now();
    let pollers: Vec<_> = direct[1..]
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            let sid = sid.clone();
            std::thread::spawn(move || {
                let mut id = 1000 * (i as i64 + 3);
                loop {
                    id += 1;
                    if !log_arrives(port, &sid, V0618, id, "info") {
                        return answered.elapsed();
                    }
                    assert!(
                        answered.elapsed() < Duration::from_secs(3),
                        "n{}: info logs still arrive 3 s after setLevel error",
                        i + 2
                    );
                }
            })
        })
        .collect();
    let windows: Vec<Duration> = pollers.into_iter().map(|t| t.join().unwrap()).collect();
    let window = windows.iter().max().copied().unwrap_or_default();
    eprintln!(
        "log level propagation window: n2 {:?}, n3 {:?}, max {window:?}",
        windows[0], windows[1]
    );
    assert!(
        window < Duration::from_millis(500),
        "a log level set through n1 holds on the others within 500 ms: {windows:?}"
    );
    for (i, port) in direct.into_iter().enumerate() {
        let id = 300 + 10 * i as i64;
        assert!(
            !log_arrives(port, &sid, V0618, id, "info"),
            "n{}: no info after setLevel error",
            i + 1
        );
        assert!(
            !log_arrives(port, &sid, V0618, id + 1, "warning"),
            "n{}: no warning after setLevel error",
            i + 1
        );
        assert!(
            log_arrives(port, &sid, V0618, id + 2, "error"),
            "n{}: errors still arrive",
            i + 1
        );
    }

    // A subscription made through n2 is written through to Redis.
    let r = legacy(
        direct[1],
        &sid,
        V0618,
        &rpc(400, "resources/subscribe", json!({"uri": "demo://counter"})),
    )
    .unwrap();
    result_of(&r, 400);
    let stored = redis.cmd(&["HGETALL", &session_key(&sid)]);
    let fields: Vec<&str> = stored.lines().collect();
    assert!(
        fields.contains(&"sub:demo://counter"),
        "HGETALL shows the subscription: {fields:?}"
    );
    let level = fields
        .iter()
        .position(|f| *f == "lvl")
        .map(|i| fields[i + 1]);
    assert_eq!(level, Some("error"), "HGETALL shows the level: {fields:?}");

    // DELETE through n3: once answered, no node serves the session, at the first try.
    let mut c = HttpClient::connect(direct[2]);
    c.send(
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &sid), ("MCP-Protocol-Version", V0618)],
        b"",
    );
    let r = c.read_response();
    assert_eq!(r.status, 204, "DELETE: {}", r.body_text());
    for (i, port) in direct.into_iter().enumerate() {
        let r = legacy(port, &sid, V0618, &rpc(500, "tools/list", json!({}))).unwrap();
        assert_eq!(
            r.status,
            404,
            "n{}: the deleted session at the first request: {}",
            i + 1,
            r.body_text()
        );
    }
    assert_eq!(redis.cmd(&["EXISTS", &session_key(&sid)]), "0");
    // The other session goes on.
    let r = legacy(front, &sid2, V1125, &kinds_of_request(501)).unwrap();
    check_kind(501, &result_of(&r, 501));

    // A node that refreshed a session's time to live (a batched PEXPIRE, a write) still hears
    // of a change made through another node afterwards.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(log_arrives(direct[0], &sid2, V1125, 700, "info"));
    std::thread::sleep(Duration::from_millis(1500));
    let r = legacy(
        direct[1],
        &sid2,
        V1125,
        &rpc(701, "logging/setLevel", json!({"level": "error"})),
    )
    .unwrap();
    result_of(&r, 701);
    let answered = Instant::now();
    let mut id = 702;
    while log_arrives(direct[0], &sid2, V1125, id, "info") {
        id += 1;
        assert!(
            answered.elapsed() < Duration::from_millis(500),
            "n1 touched the session, then missed a level set through n2"
        );
    }

    // No session id: 400; an id no node minted or knows: 404.
    let mut c = HttpClient::connect(front);
    let r = c.post(
        &[JSON, ACCEPT, ("MCP-Protocol-Version", V0618)],
        rpc(600, "tools/list", json!({})).to_string().as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.body_text());
    let unknown = format!("n1.00{}", "0".repeat(32));
    for port in std::iter::once(front).chain(direct) {
        let r = legacy(port, &unknown, V0618, &rpc(601, "tools/list", json!({}))).unwrap();
        assert_eq!(r.status, 404, "unknown id on :{port}: {}", r.body_text());
    }
}

/// One tools/call `echo` in session `sid` on keep-alive client `c`: Ok with which node served,
/// or why not.
fn echo_on(c: &mut HttpClient, sid: &str, id: i64) -> Result<String, String> {
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

#[test]
fn a_node_killed_with_many_sessions_loses_none() {
    // 600 sessions over 30 keep-alive connections (HAProxy balances each request of them).
    const CLIENTS: usize = 30;
    const PER_CLIENT: usize = 20;
    let redis = Redis::new();
    let mut nodes = cluster_nodes(&redis, &[]);
    let lb = Haproxy::start(ports(&nodes));
    let front = lb.port;

    let opened = Instant::now();
    let clients: Vec<(HttpClient, Vec<String>)> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = HttpClient::connect(front);
                let sids: Vec<String> = (0..PER_CLIENT)
                    .map(|i| {
                        let sid = c.initialize_legacy(V0618);
                        echo_on(&mut c, &sid, i as i64).unwrap_or_else(|e| panic!("{e}"));
                        sid
                    })
                    .collect();
                (c, sids)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("a client failed before the kill"))
        .collect();
    let by_dead = clients
        .iter()
        .flat_map(|(_, sids)| sids)
        .filter(|s| s.starts_with("n2."))
        .count();
    eprintln!(
        "{} sessions opened in {:?}, {by_dead} of them minted by n2",
        CLIENTS * PER_CLIENT,
        opened.elapsed()
    );
    assert!(by_dead > 0, "some sessions were minted by n2");

    // kill -9 of n2, then every session's next request through the front.
    nodes[1].child.kill().unwrap();
    let killed = Instant::now();
    nodes[1].child.wait().unwrap();
    let outcomes: Vec<(String, Duration, Result<String, String>)> = clients
        .into_iter()
        .map(|(mut c, sids)| {
            std::thread::spawn(move || {
                sids.into_iter()
                    .enumerate()
                    .map(|(i, sid)| {
                        let result = echo_on(&mut c, &sid, 1000 + i as i64);
                        if result.is_err() {
                            // The connection may be unusable: the next session gets a new one.
                            c = HttpClient::connect(front);
                        }
                        (sid, killed.elapsed(), result)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread failed"))
        .collect();
    let first = outcomes
        .iter()
        .filter(|(_, _, r)| r.is_ok())
        .map(|(_, at, _)| *at)
        .min();
    let all_done = outcomes
        .iter()
        .map(|(_, at, _)| *at)
        .max()
        .unwrap_or_default();
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(sid, at, r)| r.as_ref().err().map(|e| format!("{sid} at {at:?}: {e}")))
        .collect();
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, r) in &outcomes {
        if let Ok(by) = r {
            *spread.entry(by.clone()).or_default() += 1;
        }
    }
    eprintln!(
        "after kill -9 of n2: first success {first:?} after the kill, all {} sessions done \
         after {all_done:?}; {} failed; served by {spread:?}",
        outcomes.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "sessions lost after the kill: {failed:?}"
    );
    assert!(
        !spread.contains_key("n2"),
        "a dead node cannot answer: {spread:?}"
    );
    let continued = outcomes
        .iter()
        .filter(|(sid, _, r)| sid.starts_with("n2.") && r.is_ok())
        .count();
    assert_eq!(
        continued, by_dead,
        "every session minted by the dead node goes on through the others"
    );
    assert!(
        first.is_some_and(|f| f < Duration::from_secs(1)),
        "the first success came within 1 s of the kill: {first:?}"
    );
    assert!(
        all_done < Duration::from_secs(20),
        "all sessions done within 20 s: {all_done:?}"
    );
}

#[test]
fn redis_restart_keeps_acknowledged_sessions_and_nodes_recover() {
    let mut redis = Redis::new();
    let nodes = [
        cluster_node(&redis, "n1", &[]),
        cluster_node(&redis, "n2", &[]),
    ];
    let direct = [nodes[0].port.unwrap(), nodes[1].port.unwrap()];
    for port in direct {
        wait_ready(port, Duration::from_secs(10));
    }
    // 50 sessions, every other one through each node, each used once where it was opened.
    let sessions: Vec<(String, usize)> = (0..50)
        .map(|i| {
            let node = i % 2;
            let mut c = HttpClient::connect(direct[node]);
            let sid = c.initialize_legacy(V0618);
            echo_on(&mut c, &sid, i as i64).unwrap_or_else(|e| panic!("{e}"));
            (sid, node)
        })
        .collect();
    let stored = redis.cmd(&["KEYS", "ringmcp:{*}:session"]);
    assert_eq!(stored.lines().count(), 50, "{stored}");
    // A session of n1 that n2 never held.
    let (foreign, _) = sessions.iter().find(|(_, node)| *node == 0).unwrap();

    redis.stop();
    let stopped = Instant::now();
    for port in direct {
        wait_ready_status(port, 503, Duration::from_secs(3));
        let (_, body) = ready(port);
        assert!(
            body.contains("session store unavailable"),
            "/ready says why: {body:?}"
        );
    }
    let r = legacy(direct[1], foreign, V0618, &rpc(1, "tools/list", json!({}))).unwrap();
    assert_eq!(
        r.status,
        503,
        "a miss while Redis is down is 503, never 404: {}",
        r.body_text()
    );
    assert_eq!(r.error_code(), -32000, "{}", r.body_text());
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        message.contains("state store unavailable"),
        "the error names the cause: {message}"
    );
    for port in direct {
        assert_eq!(
            stateless_status(port),
            200,
            "2026-07-28 requests need no store"
        );
    }

    // Down for two seconds at least: long enough for the nodes' reconnect back-off to grow.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(stopped.elapsed()));
    redis.start();
    let restarted = Instant::now();
    let recovered: Vec<Duration> = direct
        .iter()
        .map(|&port| wait_ready(port, Duration::from_secs(10)))
        .collect();
    let recovery = restarted.elapsed();
    eprintln!(
        "Redis down for {:?}; nodes ready again {recovery:?} after its restart ({recovered:?})",
        restarted.duration_since(stopped)
    );
    assert!(
        recovery < Duration::from_secs(5),
        "nodes recover within 5 s of Redis's restart: {recovery:?}"
    );
    assert_eq!(
        redis.cmd(&["KEYS", "ringmcp:{*}:session"]).lines().count(),
        50,
        "no acknowledged session was lost"
    );
    for (i, port) in direct.into_iter().enumerate() {
        let mut c = HttpClient::connect(port);
        for (j, (sid, _)) in sessions.iter().enumerate() {
            echo_on(&mut c, sid, 100 + j as i64)
                .unwrap_or_else(|e| panic!("n{} session {j} after the restart: {e}", i + 1));
        }
    }
}

/// `ringmcp serve --http 127.0.0.1:0 <args>` expected to refuse to start: its exit status
/// (`None`: still running after `within`, then killed) and everything it wrote to stderr.
fn refused(args: &[&str], within: Duration) -> (Option<i32>, String, Duration) {
    let began = Instant::now();
    let mut child = std::process::Command::new(common::bin())
        .args(["serve", "--http", "127.0.0.1:0"])
        .args(args)
        .env_remove("RINGMCP_CLUSTER_KEY")
        .env_remove("RINGMCP_CLUSTER_KEY_FILE")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ringmcp");
    let lines = common::lines_of(child.stderr.take().expect("stderr"));
    let mut status = None;
    while began.elapsed() < within {
        if let Ok(Some(s)) = child.try_wait() {
            status = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = began.elapsed();
    // Nothing to kill when it exited; a wait then returns the status it already reaped.
    let _ = child.kill();
    let _ = child.wait();
    let mut text = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        text.push_str(&line);
        text.push('\n');
    }
    (status, text, took)
}

#[test]
fn a_node_id_is_not_shared_by_live_nodes() {
    let redis = Redis::new();
    let mut first = cluster_node(&redis, "n1", &[]);
    wait_ready(first.port.unwrap(), Duration::from_secs(10));
    let holder = redis.cmd(&["GET", "ringmcp:node:n1"]);
    assert!(!holder.is_empty(), "n1 holds its lease");

    let url = redis.url();
    let args = [
        "--cluster-key",
        RING,
        "--cluster",
        url.as_str(),
        "--node-id",
        "n1",
        "--cores",
        "1",
    ];
    let (status, stderr, took) = refused(&args, Duration::from_secs(15));
    eprintln!("a second n1 refused after {took:?}");
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("held by a live node"), "{stderr}");
    assert_eq!(
        redis.cmd(&["GET", "ringmcp:node:n1"]),
        holder,
        "the refused node left the lease alone"
    );

    // A clean stop gives the id back: the next n1 starts at once.
    let pid = libc::pid_t::try_from(first.child.id()).unwrap();
    // SAFETY: `first` still holds its child, not yet reaped, so the pid is ours.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    assert!(
        first.wait_exit(Duration::from_secs(10)).is_some(),
        "n1 stops on SIGTERM"
    );
    assert_eq!(
        redis.cmd(&["EXISTS", "ringmcp:node:n1"]),
        "0",
        "n1 gave its id back"
    );
    let began = Instant::now();
    let second = cluster_node(&redis, "n1", &[]);
    wait_ready(second.port.unwrap(), Duration::from_secs(10));
    let took = began.elapsed();
    eprintln!("the next n1 started in {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "a released id is taken at once: {took:?}"
    );
}

#[test]
fn cluster_mode_needs_the_cluster_key() {
    let quick = Duration::from_secs(10);
    let (status, stderr, _) = refused(
        &["--cluster", "redis://127.0.0.1:6379", "--node-id", "n1"],
        quick,
    );
    assert!(status.is_some_and(|s| s != 0), "{status:?}: {stderr}");
    assert!(stderr.contains("cluster key"), "{stderr}");

    let (status, stderr, _) = refused(
        &[
            "--cluster-key",
            RING,
            "--cluster",
            "rediss://127.0.0.1:6380",
            "--node-id",
            "n1",
        ],
        quick,
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TLS"), "{stderr}");
    assert!(stderr.contains("not supported yet"), "{stderr}");

    let closed = free_port();
    let url = format!("redis://127.0.0.1:{closed}");
    let (status, stderr, _) = refused(
        &["--cluster-key", RING, "--cluster", &url, "--node-id", "n1"],
        quick,
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("cannot use Redis"), "{stderr}");
}

/// Sends `sig` to the process `pid` (a Redis this test started).
fn signal_pid(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started; no memory is shared.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

#[test]
fn a_stalled_redis_costs_a_bounded_wait_and_a_full_queue_sheds() {
    let redis = Redis::new();
    let n1 = cluster_node(&redis, "n1", &[]);
    let n2 = cluster_node(
        &redis,
        "n2",
        &["--redis-timeout-ms", "500", "--redis-max-in-flight", "4"],
    );
    let (p1, p2) = (n1.port.unwrap(), n2.port.unwrap());
    wait_ready(p1, Duration::from_secs(10));
    wait_ready(p2, Duration::from_secs(10));
    // Sessions of n1 that n2 has never held: each request for one on n2 needs Redis.
    let sids: Vec<String> = (0..12)
        .map(|_| HttpClient::connect(p1).initialize_legacy(V0618))
        .collect();
    let pid = redis.pid().expect("redis runs");
    signal_pid(pid, libc::SIGSTOP);
    let began = Instant::now();
    let waits: Vec<_> = sids
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, sid)| {
            std::thread::spawn(move || {
                let r = legacy(p2, &sid, V0618, &rpc(i as i64, "tools/list", json!({})));
                (r, began.elapsed())
            })
        })
        .collect();
    let mut shed = 0;
    let mut timed_out = 0;
    for wait in waits {
        let (r, took) = wait.join().unwrap();
        let r = r.unwrap_or_else(|e| panic!("no answer while Redis stalls: {e}"));
        assert_eq!(r.status, 503, "{}", r.body_text());
        let error = &r.json()["error"];
        assert_eq!(error["code"], -32000, "{error}");
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            took < Duration::from_secs(3),
            "answered after {took:?}: {message}"
        );
        if message.contains("overloaded") {
            shed += 1;
        } else if message.contains("did not answer within 500 ms") {
            assert!(
                took >= Duration::from_millis(400),
                "timed out early: {took:?}"
            );
            timed_out += 1;
        }
    }
    eprintln!("stalled Redis: {shed} shed at once, {timed_out} timed out after 500 ms");
    assert!(
        shed >= 1,
        "past 4 commands in flight, requests are shed at once"
    );
    assert!(
        timed_out >= 1,
        "commands in flight fail after --redis-timeout-ms"
    );
    // What needs no Redis goes on.
    assert_eq!(stateless_status(p2), 200);
    signal_pid(pid, libc::SIGCONT);
    let back = wait_ready(p2, Duration::from_secs(10));
    eprintln!("stalled Redis: n2 ready again {back:?} after SIGCONT");
    for (i, sid) in sids.iter().enumerate() {
        let r = legacy(
            p2,
            sid,
            V0618,
            &rpc(100 + i as i64, "tools/list", json!({})),
        )
        .unwrap();
        result_of(&r, 100 + i as i64);
    }
}

/// A rolling restart: SIGTERM to n2 with `--drain-ms`, while clients keep using their legacy
/// sessions through HAProxy. n2 answers `/ready` with 503 at once, HAProxy moves the traffic to
/// n1 and n3 while n2 still serves, and n2 exits at the end of its drain: no request fails.
#[test]
fn a_rolling_restart_through_haproxy_fails_no_request() {
    let redis = Redis::new();
    let mut nodes = cluster_nodes(&redis, &["--drain-ms", "1500"]);
    let mut lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    let sids: Vec<String> = (0..6).map(|_| open_session(lb.port, V0618).0).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = sids
        .into_iter()
        .enumerate()
        .map(|(k, sid)| {
            let (port, stop) = (lb.port, stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut by) = (0, Vec::new(), BTreeMap::new());
                let mut id = 1000 * k as i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    id += 1;
                    match legacy(port, &sid, V0618, &rpc(id, "tools/list", json!({}))) {
                        Ok(r) if r.status == 200 => {
                            ok += 1;
                            *by.entry(served_by(&r)).or_insert(0) += 1;
                        }
                        Ok(r) => failed.push(format!("{} {}", r.status, r.body_text())),
                        Err(e) => failed.push(e),
                    }
                }
                (ok, failed, by)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let pid = nodes[1].child.id();
    signal_pid(pid, libc::SIGTERM);
    let exit = nodes[1].wait_exit(Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed, mut by) = (0, Vec::new(), BTreeMap::new());
    for client in clients {
        let (o, f, b) = client.join().unwrap();
        ok += o;
        failed.extend(f);
        for (node, n) in b {
            *by.entry(node).or_insert(0) += n;
        }
    }
    eprintln!(
        "rolling restart: {ok} requests served {by:?}, {} failed",
        failed.len()
    );
    assert_eq!(exit, Some(0), "n2 stops cleanly at the end of its drain");
    assert!(
        lb.saw_down("n2"),
        "HAProxy took the draining node out: {:?}",
        lb.log()
    );
    assert!(
        failed.is_empty(),
        "requests failed during the restart: {failed:?}"
    );
    assert!(ok > 30, "the clients kept going: {ok}");
    assert!(by.len() == 3, "every node served before n2 left: {by:?}");
}

/// Behind HAProxy every connection comes from HAProxy's address: with `--trusted-proxy` a node
/// takes the client from `X-Forwarded-For` (the shipped configuration has `option forwardfor`),
/// so each client keeps its own rate-limit bucket instead of all sharing HAProxy's.
#[test]
fn per_client_limits_hold_behind_haproxy() {
    let nodes = three_nodes(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--rate-limit-rps",
        "0.5",
        "--rate-limit-burst",
        "2",
    ]);
    let lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    let request = |from: [u8; 4], id: i64| {
        let mut c = HttpClient::connect_from(std::net::Ipv4Addr::from(from), lb.port);
        c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        c.send(
            "POST",
            "/mcp",
            &modern_headers("tools/list", None),
            &modern_body(id, "tools/list", json!({})),
        );
        c.try_response().map(|r| r.status).unwrap_or(0)
    };
    // Client A spends its bucket on every node (burst 2 on each of three).
    let statuses: Vec<u16> = (0..12).map(|id| request([127, 0, 0, 2], id)).collect();
    assert!(statuses.contains(&429), "client A is limited: {statuses:?}");
    assert!(
        statuses.iter().filter(|&&s| s == 200).count() >= 3,
        "before its limit: {statuses:?}"
    );
    // Client B, through the same HAProxy, has its own bucket.
    let b: Vec<u16> = (100..103).map(|id| request([127, 0, 0, 3], id)).collect();
    assert_eq!(b, [200, 200, 200], "client B is not limited by client A");
}

#[test]
fn a_single_use_request_state_is_spent_on_every_node() {
    let mut redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, n3] = ports(&nodes);
    let used = "error -32602: Invalid params: requestState already used";

    // Asked on n1, answered on n2: the state opens anywhere (one key ring), and is spent there.
    let state = approve_state(&approve(n1, None, 1, "release", None));
    assert_eq!(
        outcome(&approve(n2, None, 2, "release", Some(&state))),
        "approved: release"
    );
    for (id, port) in [(3, n1), (4, n2), (5, n3)] {
        let r = approve(port, None, id, "release", Some(&state));
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(outcome(&r), used, "request {id}");
    }
    // The spent nonce is one key, kept no longer than the state could open.
    let keys = redis.cmd(&["KEYS", "ringmcp:once:*"]);
    assert_eq!(keys.lines().count(), 1, "{keys}");
    let ttl: i64 = redis.cmd(&["PTTL", keys.trim()]).parse().unwrap();
    assert!(ttl > 0 && ttl <= 600_000, "PTTL {ttl}");

    // Without Redis a single-use retry is refused with -32000 naming the cause, never run.
    let fresh = approve_state(&approve(n3, None, 6, "rollback", None));
    redis.stop();
    let r = approve(n1, None, 7, "rollback", Some(&fresh));
    let text = outcome(&r);
    assert!(text.starts_with("error -32000: "), "{text}");
    assert!(!text.contains("approved"), "{text}");
}

/// `notifications/cancelled` carries only the client's request id: sent through another node, it
/// still stops the handler on the node running the request (the bus tells every node).
#[test]
fn a_cancel_through_another_node_stops_the_handler() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, _] = ports(&nodes);
    let mut c = HttpClient::connect(n1);
    let sid = c.initialize_legacy(V0618);
    let sid_n2 = sid.clone();
    let call = rpc(
        7,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 20000}}),
    );
    let running = std::thread::spawn(move || {
        let began = Instant::now();
        let r = legacy(n1, &sid, V0618, &call);
        (r, began.elapsed(), sid)
    });
    std::thread::sleep(Duration::from_millis(300));
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 7, "reason": "changed my mind"}});
    // The same session through n2, which loads it from Redis.
    let r = legacy(n2, &sid_n2, V0618, &cancel).unwrap();
    assert_eq!(r.status, 202, "{}", r.body_text());
    let (r, took, sid) = running.join().unwrap();
    assert_eq!(sid, sid_n2);
    let r = r.unwrap_or_else(|e| panic!("the cancelled call's response: {e}"));
    eprintln!("cancel through n2: the call on n1 ended after {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "the handler stopped long before its 20 s: {took:?}"
    );
    assert!(
        !r.body_text().contains("slept"),
        "a cancelled request gets no result: {}",
        r.body_text()
    );
}

/// A 2024-11-05 HTTP+SSE client whose `/sse` stream is on one node while its `POST /messages`
/// land on the others: every answer arrives on the stream.
#[test]
fn a_2024_11_05_client_posts_through_any_node() {
    let redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, n3] = ports(&nodes);
    let mut stream = HttpClient::connect(n1);
    stream.send("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    let (status, _) = stream.read_head();
    assert_eq!(status, 200);
    let endpoint = stream.next_event().unwrap();
    let path = endpoint.data.clone();
    assert!(path.starts_with("/messages?sessionId=n1."), "{path}");
    let send = |port: u16, body: Value| {
        let mut c = HttpClient::connect(port);
        c.send("POST", &path, &[JSON], body.to_string().as_bytes());
        c.read_response().status
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "sse", "version": "1"}}});
    assert_eq!(send(n2, init), 202);
    let answer: Value = serde_json::from_str(&stream.next_event().unwrap().data).unwrap();
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
    assert_eq!(
        send(
            n3,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        ),
        202
    );
    for (i, port) in [n2, n3, n1, n2].into_iter().enumerate() {
        let text = format!("via {port}");
        let call = rpc(
            2 + i as i64,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": text}}),
        );
        assert_eq!(send(port, call), 202);
        let ev: Value = serde_json::from_str(&stream.next_event().unwrap().data).unwrap();
        assert_eq!(ev["result"]["content"][0]["text"], text, "{ev}");
    }
    // An id of no node, or an unknown one of the node asked, is 404.
    for id in ["00nope", "n3.00nope"] {
        let mut c = HttpClient::connect(n3);
        c.send("POST", &format!("/messages?sessionId={id}"), &[JSON], b"{}");
        assert_eq!(c.read_response().status, 404, "{id}");
    }
}
