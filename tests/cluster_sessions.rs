//! Legacy sessions in Redis (issue 12): any node serves any session, a change made through one
//! node holds on the others within a measured window, a DELETE ends it everywhere, a node killed
//! loses no session, a Redis restart loses no acknowledged one, a stalled Redis costs a bounded
//! wait, and single-use request state is spent on every node. Real Redis, HAProxy and nodes,
//! started by the kit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::nodes::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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
